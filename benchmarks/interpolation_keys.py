"""How fast the interpolation view opens and answers ←/→, and how many bytes a press writes.

    python benchmarks/interpolation_keys.py [--ae checkpoints/ae.safetensors] [--vae ...] [--data-dir DIR]
                                            [--presses 200] [--opens 10]

This checkout's code, in-process under Textual's Pilot (headless), 120x40, truecolor, both
models loaded, compare mode on the data set's test images. Opening: from just before `b`
(test image 1 marked A, image 2 or 3 B, in turn) to the end of the last frame it produced,
both strips decoded. A marker press: the same for `←`/`→`, marching from A to B and back,
every press a move. Frames are encoded to the terminal's escape sequences as the real
driver would (_bench.record_frames, as in explore_latency.py) and their bytes counted.
Pilot's own idle waits are not part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from _bench import machine_line, percentiles, record_frames, settle

ROOT = Path(__file__).resolve().parent.parent  # this checkout: measured, not an installed tui-ae
sys.path.insert(0, str(ROOT))

COLUMNS, ROWS = 120, 40


async def measure(ae: Path, vae: Path, data_dir: Path | None, presses: int, opens: int) -> None:
    from tui_ae.tui.color_system import use_color_system

    use_color_system("truecolor")
    from tui_ae.tui.app import ExplorerApp

    app = ExplorerApp(ae, vae, color_mode="truecolor", data_dir=data_dir)
    frames = record_frames(app)

    async def timed(key: str) -> tuple[float, int]:
        frames.clear()
        start = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        if not frames:
            raise RuntimeError(f"{key} produced no frame")
        return frames[-1].time - start, sum(frame.size for frame in frames)

    async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
        await settle(pilot)
        assert all(s.model is not None for s in app.slots.values() if s.usable), "models did not load"
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("a", "n")
        open_times, open_bytes = [], []
        for i in range(opens + 2):
            latency, size = await timed("b")
            if i >= 2:  # warm-up
                open_times.append(latency)
                open_bytes.append(size)
            await pilot.press("escape", "n" if i % 2 == 0 else "p")
        await pilot.press("b")
        view = app.interpolation
        steps = view.steps
        pattern = ["right"] * (steps - 1) + ["left"] * (steps - 1)
        latencies, sizes = [], []
        for i in range(presses + 10):
            latency, size = await timed(pattern[i % len(pattern)])
            if i >= 10:
                latencies.append(latency)
                sizes.append(size)
    sizes.sort()
    open_bytes.sort()
    print(f"open (b), {len(open_times)} times, {steps} steps a strip: {percentiles(open_times)}")
    print(f"  bytes written by opening:        median {open_bytes[len(open_bytes) // 2]:,}")
    print(f"marker press, {len(latencies)} presses:      {percentiles(latencies)}")
    print(f"  bytes written per press:         median {sizes[len(sizes) // 2]:,}  max {sizes[-1]:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ae", type=Path, default=Path("checkpoints/ae.safetensors"))
    parser.add_argument("--vae", type=Path, default=Path("checkpoints/vae.safetensors"))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--opens", type=int, default=10)
    args = parser.parse_args()
    print(machine_line((COLUMNS, ROWS)))
    asyncio.run(measure(args.ae, args.vae, args.data_dir, args.presses, args.opens))


if __name__ == "__main__":
    main()
