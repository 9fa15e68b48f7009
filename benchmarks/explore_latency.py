"""How fast `tui-ae explore` opens, answers a key, and how much memory it holds.

    python benchmarks/explore_latency.py [--ae checkpoints/ae.safetensors] [--vae ...] [--runs 5] [--presses 200]
        [--parts start memory pilot terminal]

Every part runs this checkout's code (not an installed tui-ae, which may be another checkout's).

1. Start-up: `python -m tui_ae explore` (its bytecode compiled first, as an installed
   tui-ae's is) is spawned in a pseudo-terminal (120x40, truecolor) and its output read
   until it holds the whole first frame: both maps' titles, the legend's last entry and
   the footer, with the digit panels still loading (ANSI escapes stripped before matching).
   Timed from just before the spawn, so Python's start-up and every import are included.
   Then until the decoded digits arrive.
2. Memory: the same process's VmRSS (and peak VmHWM) from /proc once both models
   are loaded and the nearest validation images shown beside them, after compare mode
   has loaded the test images, and after grid mode.
3. Key latency: the app in-process under Textual's Pilot (headless), both models
   decoding. Per arrow press: from just before `pilot.press(key)` to the end of the
   last frame that press produced, the frame encoded to the terminal's escape
   sequences as the real driver would (headless Textual skips that step; it is
   added back here, and its bytes counted). Pilot's own idle-waiting after a press
   (>= 20 ms of sleeping) is not part of the figure; its wall time is reported apart.
   So are the frames a press made: one, where the map's crosshair repaints with the digit.
   The thumbnails of the nearest validation images follow once the keys rest (0.1 s), so
   not within a burst: the frame they make after the last press is reported apart.
4. Key latency in a terminal: the same presses written to `tui-ae explore` in a
   pseudo-terminal (the real driver), each timed to the end mark of the frame it caused.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from _bench import machine_line, percentiles, record_frames, settle

ROOT = Path(__file__).resolve().parent.parent  # this checkout: measured, not an installed tui-ae
sys.path.insert(0, str(ROOT))

CAPTION = re.compile(rb"\d \d+\.\d+\xc3\x97")  # a thumbnail's caption, "7 0.83\u00d7": the nearest images are shown
ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[@-Z\\-_])")
FIRST_FRAME = [b"AE latent space", b"VAE latent space", b"\xe2\x97\x8f 9", b"Quit", b"loading the"]
COLUMNS, ROWS = 120, 40
# Textual asks the terminal whether it synchronises output (DEC mode 2026) and, where it does, brackets
# each frame in begin/end marks: answering yes, as xterm, kitty, WezTerm and tmux >= 3.4 do, makes
# every finished frame visible in the byte stream.
SYNC_QUERY, SYNC_SUPPORTED, SYNC_END = b"\x1b[?2026$p", b"\x1b[?2026;2$y", b"\x1b[?2026l"
ARROWS = {"right": b"\x1b[C", "left": b"\x1b[D", "up": b"\x1b[A", "down": b"\x1b[B"}
PARTS = ["start", "memory", "pilot", "terminal"]  # the numbered parts above
PATTERN = ["right"] * 25 + ["up"] * 12 + ["left"] * 25 + ["down"] * 12  # a loop: every press moves


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Terminal:
    """A program in a pseudo-terminal; `wait_for` reads its screen output until a pattern shows."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
        self.start = time.perf_counter()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True
        )
        os.close(slave)
        self.text = b""  # everything written so far, escapes stripped

    def wait_for(self, patterns: list[bytes | re.Pattern], since: int = 0, timeout: float = 30.0) -> float:
        """Seconds from the spawn until every pattern (bytes or a regular expression) is in the output after since."""
        raw = b""
        deadline = time.perf_counter() + timeout

        def found(pattern: bytes | re.Pattern) -> bool:
            if isinstance(pattern, re.Pattern):
                return bool(pattern.search(self.text, since))
            return pattern in self.text[since:]

        while not all(found(p) for p in patterns):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no {patterns} in {self.text[since:][-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    raw += os.read(self.master, 1 << 16)
                except OSError:
                    break
                self.text = ANSI.sub(b"", raw) if not since else self.text[:since] + ANSI.sub(b"", raw)
        return time.perf_counter() - self.start

    def send(self, keys: bytes) -> int:
        offset = len(self.text)
        os.write(self.master, keys)
        return offset

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        os.close(self.master)


def startup(argv: list[str], cwd: Path, runs: int, memory: bool = True) -> None:
    # The package's bytecode, as an installed tui-ae has it (pip compiles it; so does a first start,
    # unless PYTHONDONTWRITEBYTECODE is set): otherwise each start compiles every module, about 40 ms.
    compileall.compile_dir(cwd / "tui_ae", quiet=1)
    firsts, loaded = [], []
    for run in range(runs):
        term = Terminal(argv, cwd)
        try:
            firsts.append(term.wait_for(FIRST_FRAME))
            loaded.append(term.wait_for([b"\xe2\x96\x80" * 8]))  # a decoded digit's half blocks
            if memory and run == runs - 1:
                term.wait_for([CAPTION])
                time.sleep(0.5)
                rss, hwm = rss_mb(term.process.pid)
                print(f"memory, models loaded:          VmRSS {rss:6.0f} MB  (peak {hwm:.0f} MB)")
                since = term.send(b"c")
                term.wait_for([b"MSE"], since)
                time.sleep(0.3)
                rss, hwm = rss_mb(term.process.pid)
                print(f"memory, compare mode (tests):   VmRSS {rss:6.0f} MB  (peak {hwm:.0f} MB)")
                since = term.send(b"cg")
                term.wait_for([b"shrunk"], since)
                time.sleep(0.5)
                rss, hwm = rss_mb(term.process.pid)
                print(f"memory, grid mode:              VmRSS {rss:6.0f} MB  (peak {hwm:.0f} MB)")
        finally:
            term.close()
    firsts.sort()
    loaded.sort()
    print(
        f"first full frame ({runs} runs):      median {firsts[len(firsts) // 2] * 1000:6.0f} ms  "
        f"min {firsts[0] * 1000:.0f}  max {firsts[-1] * 1000:.0f}"
    )
    print(
        f"digits decoded ({runs} runs):        median {loaded[len(loaded) // 2] * 1000:6.0f} ms  "
        f"min {loaded[0] * 1000:.0f}  max {loaded[-1] * 1000:.0f}"
    )


async def key_latency(ae: Path | None, vae: Path | None, presses: int) -> None:
    from tui_ae.tui.color_system import use_color_system

    use_color_system("truecolor")  # as `explore --color truecolor` does, before textual is imported
    from tui_ae.tui import explore_view
    from tui_ae.tui.app import ExplorerApp

    app = ExplorerApp(ae, vae, color_mode="truecolor")
    assert app.console.color_system == "truecolor", app.console.color_system
    frames = record_frames(app)  # each frame encoded to the terminal's escape sequences: see _bench.py
    pattern = PATTERN
    async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
        await settle(pilot)
        assert all(s.model is not None for s in app.slots.values() if s.usable), "models did not load"
        latencies, cpu, walls, sizes, counts, by_key = [], [], [], [], [], {}
        for i in range(presses + 10):
            key = pattern[i % len(pattern)]
            frames.clear()
            start, start_cpu = time.perf_counter(), time.thread_time()
            await pilot.press(key)
            await pilot.pause()
            wall = time.perf_counter() - start
            if i < 10:  # warm-up
                continue
            if not frames:
                raise RuntimeError(f"press {i} ({key}) produced no frame")
            latencies.append(frames[-1].time - start)
            cpu.append(frames[-1].cpu - start_cpu)
            by_key.setdefault(key in ("left", "right"), []).append(latencies[-1])
            walls.append(wall)
            sizes.append(sum(frame.size for frame in frames))
            counts.append(len(frames))
        frames.clear()
        rested = time.perf_counter()
        await pilot.pause(5 * explore_view.REST)  # the keys rest: the thumbnails follow
        rest_frames = list(frames)
    sizes.sort()
    n = len(latencies)
    print(f"key -> frame, {n} arrow presses:  {percentiles(latencies)}")
    print(
        f"  main thread's CPU time in that:  {percentiles(cpu, top=False)}"
        f"  (the work itself, whatever else the machine is doing)"
    )
    for sideways, values in sorted(by_key.items()):
        keys = "left/right" if sideways else "up/down"
        print(f"  {keys:10s} ({len(values):3d} presses):    {percentiles(values, top=False)}")
    print(
        f"bytes written per press:          median {sizes[n // 2]:,}  max {sizes[-1]:,}  (full screen {COLUMNS}x{ROWS})"
    )
    counts.sort()
    print(f"frames per press:                 median {counts[n // 2]}  max {counts[-1]}  (a move is drawn in one)")
    print(f"pilot.press + pause wall time:    median {sorted(walls)[n // 2] * 1000:5.1f} ms (Pilot's idle waits)")
    if rest_frames:
        after = (rest_frames[-1].time - rested) * 1000
        print(
            f"once the keys rest, the thumbnails: {sum(frame.size for frame in rest_frames):,} bytes, "
            f"{after:.0f} ms after the last press ({explore_view.REST * 1000:.0f} ms of rest)"
        )


def terminal_keys(argv: list[str], cwd: Path, presses: int) -> None:
    """Key to finished frame as a terminal sees it: `tui-ae explore` in a pseudo-terminal, its real driver.

    Each arrow key's escape sequence is written to the terminal, and the time taken until the
    last frame it caused has ended (its end-of-frame mark read back), once 40 ms have passed
    with no more output. The next key follows then: faster than the thumbnails' rest, as in a
    burst of key repeats. Includes what Pilot leaves out (the driver's reading and parsing of
    the key, its writer thread) and leaves out what Pilot adds (its idle waits between events).
    """
    term = Terminal(argv, cwd)
    raw = bytearray()

    def read(timeout: float) -> float | None:
        """Read what is there within the timeout; the time it arrived, or None."""
        ready, _, _ = select.select([term.master], [], [], timeout)
        if not ready:
            return None
        raw.extend(os.read(term.master, 1 << 16))
        return time.perf_counter()

    def read_until(done, timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"waiting in {bytes(raw[-500:])!r}")
            read(0.05)

    try:
        read_until(lambda: SYNC_QUERY in raw)
        os.write(term.master, SYNC_SUPPORTED)
        # A decoded digit's half blocks, escapes stripped (each cell may have colours of its own): the models are in.
        read_until(lambda: b"\xe2\x96\x80" * 8 in ANSI.sub(b"", bytes(raw)))
        try:  # the nearest images' thumbnails shown (a version of tui-ae without them: on after 10 s)
            read_until(lambda: CAPTION.search(ANSI.sub(b"", bytes(raw))) is not None, timeout=10)
        except TimeoutError:
            pass
        while read(0.3) is not None:  # at rest
            pass
        latencies, sizes, by_key = [], [], {}
        for i in range(presses + 10):
            key = PATTERN[i % len(PATTERN)]
            start, frame_end = len(raw), None
            sent = time.perf_counter()
            os.write(term.master, ARROWS[key])
            while True:
                seen = len(raw)
                arrived = read(0.04 if frame_end else 2.0)
                if arrived is None:
                    break
                if raw.find(SYNC_END, max(start, seen - len(SYNC_END))) >= 0:
                    frame_end = arrived
            if i < 10:  # warm-up
                continue
            if frame_end is None:
                raise RuntimeError(f"press {i} ({key}) produced no frame")
            latencies.append(frame_end - sent)
            by_key.setdefault(key in ("left", "right"), []).append(latencies[-1])
            sizes.append(len(raw) - start)
    finally:
        term.close()
    sizes.sort()
    n = len(latencies)
    print(f"in a terminal, key -> frame, {n} presses:  {percentiles(latencies)}")
    for sideways, values in sorted(by_key.items()):
        keys = "left/right" if sideways else "up/down"
        print(f"  {keys:10s} ({len(values):3d} presses):    {percentiles(values, top=False)}")
    print(f"  bytes written per press:        median {sizes[n // 2]:,}  max {sizes[-1]:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ae", type=Path, default=Path("checkpoints/ae.safetensors"))
    parser.add_argument("--vae", type=Path, default=Path("checkpoints/vae.safetensors"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--keys-only", action="store_true", help="only the key latency (--parts pilot terminal)")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=PARTS,
        help="which to run (memory: in the start-up's last run; a tui-ae without the thumbnails: leave it out)",
    )
    args = parser.parse_args()
    parts = {"pilot", "terminal"} if args.keys_only else set(args.parts)
    print(machine_line((COLUMNS, ROWS)))
    argv = [sys.executable, "-m", "tui_ae", "explore", "--ae", str(args.ae.resolve()), "--vae", str(args.vae.resolve())]
    if parts & {"start", "memory"}:
        startup(argv, ROOT, args.runs, memory="memory" in parts)
    if "pilot" in parts:
        asyncio.run(key_latency(args.ae, args.vae, args.presses))
    if "terminal" in parts:
        terminal_keys(argv, ROOT, args.presses)


if __name__ == "__main__":
    main()
