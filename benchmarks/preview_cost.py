"""What the live preview strip costs `tui-ae train`: epochs with it and without, alternating in one run.

    python benchmarks/preview_cost.py --data-dir ../shared/data [--model vae] [--epochs 11] [--every 1]
                                      [--size 120x40] [--color truecolor] [--device auto] [--threads N]

One training run (the seed recipe's settings, real MNIST), drawn by the CLI's own display
(progress.display) on a terminal console of --size whose output goes to /dev/null, so
Rich's refresh thread does all its real work. Epoch 1 is a warm-up with the preview off,
printed but left out of the figures; then the preview is on for --every epochs, off for
--every, and so on. On: the reconstructions' forward pass at each epoch's end, and the
strip shown above the bar (built once per preview on the refresh thread, and written with
the epoch's line once the pause after the last write is over: strip_above.py); off: no
forward pass, no strip. On a GPU, where an epoch is shorter than that pause, give --every
10 or more so that the writes fall into the blocks, and read the means. Printed:
- each epoch's wall time, from one EpochDone to the next as the display receives them, so
  whatever the display does with the events (it is what the loop waits for) counts, and the
  process's CPU time over the same span (all threads); medians, means, and paired
  differences (each epoch with the preview minus the mean of those without around it);
- how long the display took to handle each EpochDone (print the epoch line, store the preview);
- the previews' forward pass (the loop's launch and collect calls);
- each build of the strip's lines: its time and the thread it ran on;
- Python's full garbage collections (they stop every thread): duration, thread, epoch;
- one refresh of the live area (the bar), and one write of the strip: time and bytes, as Rich writes them.
Runs without textual. Timers wrap library functions from outside, so the package carries none.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.text import Text

from tui_ae import preview as preview_module
from tui_ae import progress, strip_above
from tui_ae import train as train_module
from tui_ae.config import TrainConfig, resolve_device
from tui_ae.preview import PreviewStrip
from tui_ae.strip_above import StripAbove
from tui_ae.train import EpochDone, Started

COLOR_SYSTEMS = {"truecolor": "truecolor", "256": "256", "16": "standard", "mono": None}


class Toggle:
    on = True  # Started's preview is made; Alternating turns it off for epoch 1
    every = 1  # epochs on, then as many off


class ToggledPreviewer(train_module._Previewer):
    """The loop's previewer, doing nothing in the epochs the toggle is off; times its two calls."""

    seconds: list[float] = []  # launch + collect, per preview made (on a GPU, collect also waits for the queue)

    def launch(self):
        started = time.perf_counter()
        result = super().launch() if Toggle.on else None
        self.spent = time.perf_counter() - started
        return result

    def collect(self, reconstructions):
        if reconstructions is None:
            return None
        started = time.perf_counter()
        try:
            return super().collect(reconstructions)
        finally:
            ToggledPreviewer.seconds.append(self.spent + time.perf_counter() - started)


class Alternating:
    """train()'s events, the preview on and off by turns; each epoch's wall time and handling time."""

    def __init__(self) -> None:
        self.epochs: list[dict] = []
        self.latest = None  # the latest preview made

    def __call__(self, events):
        last = (time.perf_counter(), time.process_time())
        for event in events:
            if isinstance(event, Started):
                self.latest, Toggle.on = event.preview, False
                last = (time.perf_counter(), time.process_time())
            elif isinstance(event, EpochDone):
                now = (time.perf_counter(), time.process_time())
                wall, cpu = now[0] - last[0], now[1] - last[1]
                self.epochs.append({"epoch": event.epoch, "on": Toggle.on, "wall": wall, "cpu": cpu, "end": now[0]})
                last = now
                self.latest = event.preview or self.latest
                Toggle.on = (event.epoch - 1) // Toggle.every % 2 == 0  # the next epoch's: from epoch 2, on first
                event = replace(event, preview=self.latest if Toggle.on else None)
            handed = time.perf_counter()
            yield event
            if isinstance(event, EpochDone):
                self.epochs[-1]["handled"] = time.perf_counter() - handed


class FullCollections:
    """Python's generation-2 garbage collections: when, how long, on which thread (they stop every thread)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float, str]] = []  # (start, seconds, thread)
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seen.append((self._started, time.perf_counter() - self._started, threading.current_thread().name))


def timed_builds(builds: list[tuple[float, str]]):
    real = preview_module.strip_lines

    def strip_lines(*args):
        started = time.perf_counter()
        try:
            return real(*args)
        finally:
            builds.append((time.perf_counter() - started, threading.current_thread().name))

    return strip_lines


def epoch_at(epochs: list[dict], moment: float) -> str:
    """Which epoch a perf_counter() moment fell in, and whether the preview was on."""
    epoch = next((e for e in epochs if moment <= e["end"]), None)
    return "after the last epoch" if epoch is None else f"epoch {epoch['epoch']}, {'on' if epoch['on'] else 'off'}"


def paired_differences(epochs: list[dict], every: int, key: str = "wall") -> list[float]:
    """Each on-epoch's time minus the mean of the off-epochs `every` before and after it."""
    wall = {e["epoch"]: e[key] for e in epochs}
    state = {e["epoch"]: e["on"] for e in epochs}
    differences = []
    for epoch, on in state.items():
        neighbours = [wall[n] for n in (epoch - every, epoch + every) if n in wall and not state[n]]
        if on and len(neighbours) == 2:
            differences.append(wall[epoch] - statistics.mean(neighbours))
    return differences


def compare(epochs: list[dict], key: str, name: str) -> None:
    on = [e[key] for e in epochs if e["on"]]
    off = [e[key] for e in epochs if not e["on"]]
    print(f"{name} per epoch")
    print(f"  with the preview:    {spread(on)}")
    print(f"  without it:          {spread(off)}")
    if not (on and off):
        return
    for average_name, average in (("medians", statistics.median), ("means", statistics.mean)):
        difference = average(on) - average(off)
        print(f"  difference of the {average_name}: {difference * 1e3:+.1f} ms per epoch "
              f"({difference / average(off):+.1%})")  # fmt: skip
    paired = paired_differences(epochs, Toggle.every, key)
    if paired:
        print(f"  paired (each epoch with the preview minus the mean of those without it {Toggle.every} before and "
              f"after: a drift in the load cancels): median {statistics.median(paired) * 1e3:+.1f} ms, "
              f"min {min(paired) * 1e3:+.1f}, max {max(paired) * 1e3:+.1f}, n {len(paired)}")  # fmt: skip


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"median {statistics.median(values):.3f} s, mean {statistics.mean(values):.3f}, "
            f"min {min(values):.3f}, max {max(values):.3f}, n {len(values)}")  # fmt: skip


def write_costs(preview, width: int, height: int, mode: str, repeats: int = 50):
    """(seconds, bytes) of one refresh of the bar alone, and of one epoch line printed with the strip under it."""
    file = io.StringIO()
    console = Console(file=file, width=width, height=height, force_terminal=True, color_system=COLOR_SYSTEMS[mode])
    above = StripAbove(console, PreviewStrip(mode))
    above.strip.show(preview, 3)
    above.strip.lines(width, height)  # the strip's one build, not counted
    bar = progress.training_progress(console)
    bar.live.auto_refresh = False  # no refresh thread: only the writes made here
    costs = []
    with above.around(bar):
        bar.add_task(
            "", total=188, completed=90, epoch=3, epochs=10, speed="14,000", metrics="loss 166.4 recon 161.5 kl 4.9"
        )
        for write in (bar.refresh, lambda: console.print(Text("Epoch 3/10  train loss 166.4  val loss 165.2"))):
            file.seek(0)
            file.truncate()
            started = time.perf_counter()
            for _ in range(repeats):
                write()
            costs.append(((time.perf_counter() - started) / repeats, len(file.getvalue().encode()) / repeats))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="vae")
    parser.add_argument("--epochs", type=int, default=11)
    parser.add_argument("--size", default="120x40", help="the terminal's COLSxROWS")
    parser.add_argument("--color", choices=list(COLOR_SYSTEMS), default="truecolor")
    parser.add_argument("--every", type=int, default=1, help="epochs on, then as many off")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.epochs < 2 * args.every + 1:
        parser.error("--epochs must leave, after the warm-up epoch, at least one block with and one without")
    if args.threads:
        torch.set_num_threads(args.threads)
    Toggle.every = args.every
    width, height = map(int, args.size.split("x"))

    builds: list[tuple[float, str]] = []
    train_module._Previewer = ToggledPreviewer
    preview_module.strip_lines = timed_builds(builds)
    collections = FullCollections()
    gc.callbacks.append(collections)
    alternating = Alternating()
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull:
        console = Console(file=devnull, width=width, height=height, force_terminal=True,
                          color_system=COLOR_SYSTEMS[args.color], highlight=False)  # fmt: skip
        config = TrainConfig(model=args.model, epochs=args.epochs, data_dir=args.data_dir, device=args.device,
                             out=Path(tmp) / "m.safetensors", preview=True)  # fmt: skip
        events = train_module.train(config, notify=lambda message: console.print(message, markup=False))
        progress.display(alternating(events), config, console, args.color)
    device = resolve_device(args.device)
    device = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    print(f"{args.model.upper()} on {device} ({torch.get_num_threads()} CPU threads), {args.epochs} epochs, "
          f"terminal {width}x{height} {args.color}, load average {os.getloadavg()[0]:.2f} at the end")  # fmt: skip
    print("epoch  preview  wall s   CPU s  EpochDone handled in")
    for e in alternating.epochs:
        print(f"{e['epoch']:5d}  {'on ' if e['on'] else 'off'}    {e['wall']:7.3f} {e['cpu']:7.3f}  "
              f"{e['handled'] * 1e3:.2f} ms")  # fmt: skip
    measured = alternating.epochs[1:]  # epoch 1 warms up
    for key, name in (("wall", "wall time"), ("cpu", "CPU time (the process, all its threads)")):
        compare(measured, key, name)
    handled = {state: [e["handled"] for e in measured if e["on"] == state] for state in (True, False)}
    print(f"EpochDone handled in (median): {statistics.median(handled[True]) * 1e3:.2f} ms with the preview, "
          f"{statistics.median(handled[False]) * 1e3:.2f} ms without")  # fmt: skip
    made = ToggledPreviewer.seconds
    print(f"the previews' forward pass (launch + collect): median {statistics.median(made) * 1e3:.2f} ms, "
          f"max {max(made) * 1e3:.2f}, n {len(made)}")  # fmt: skip
    print("strip builds: " + ", ".join(f"{seconds * 1e3:.1f} ms ({thread})" for seconds, thread in builds))
    gc.callbacks.remove(collections)
    print(f"full garbage collections during the run: {len(collections.seen)}" + "".join(
        f"; {seconds * 1e3:.0f} ms ({thread}, {epoch_at(alternating.epochs, start)})"
        for start, seconds, thread in collections.seen))  # fmt: skip
    (bar_seconds, bar_size), (strip_seconds, strip_size) = write_costs(alternating.latest, width, height, args.color)
    rate = 10  # Rich's refreshes a second
    print(
        f"one refresh of the bar: {bar_seconds * 1e3:.2f} ms, {bar_size / 1024:.2f} KiB; at {rate} a second: "
        f"{bar_seconds * rate:.1%} of a core, {bar_size * rate / 1024:.1f} KiB/s to the terminal"
    )
    strip = PreviewStrip(args.color)
    strip.show(alternating.latest, args.epochs)
    alone = strip_above.encoded_size(strip.lines(width, height), COLOR_SYSTEMS[args.color])
    pause = max(strip_above.MIN_SECONDS, alone / strip_above.STRIP_BYTES_PER_SECOND)
    print(
        f"one epoch line with the strip under it (and the bar): {strip_seconds * 1e3:.2f} ms, "
        f"{strip_size / 1024:.1f} KiB, the strip alone {alone / 1024:.1f} KiB; then a pause of {pause:.1f} s at least"
    )


if __name__ == "__main__":
    main()
