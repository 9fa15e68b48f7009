"""Where the seconds of `tui-ae train` go: the whole command's wall time, then a breakdown of one run.

    python benchmarks/train_wall.py --data-dir ../shared/data [--model ae] [--runs 3] [-- more train options]

1. Wall time of `python -m tui_ae train ...` as a user runs it (output to a pipe, so the
   progress prints plain lines), Python's start-up and every import included: median of --runs.
2. The same training in this process, with a timer around each phase: importing torch,
   finding and reading the IDX files, building the model and optimizer and capturing the
   step (up to the Started event), the training steps, validation, encoding the map,
   copying the checkpoint to the CPU (what the loop waits for; the file is written from a
   background thread), and what is left (progress events, the rest of the loop).
The timers wrap library functions from outside (monkeypatching), so the package carries none.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def wall_times(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tui_ae", "train", *argv, "--out", f"{tmp}/m.safetensors"],
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            times.append(time.perf_counter() - started)
    return times


def start_up_costs() -> None:
    """Seconds of a bare Python that imports torch, then also torch._dynamo, then makes a CUDA context."""
    steps = {
        "python -c 'import torch'": "import torch",
        "... and import torch._dynamo (now only --compile does)": "import torch, torch._dynamo",
        "... and create a CUDA context": "import torch; torch.zeros(1, device='cuda')",
    }
    for label, code in steps.items():
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True)
        print(f"  {label:60s} {time.perf_counter() - started:6.2f} s{'' if done.returncode == 0 else ' (failed)'}")


def timed(spent: dict[str, float], name: str, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    return wrapper


def breakdown(model: str, data_dir: Path, extra: list[str]) -> None:
    spent: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    import torch

    spent["import torch"] = time.perf_counter() - started
    from tui_ae import checkpoint, data
    from tui_ae import step as step_module
    from tui_ae import train as train_module
    from tui_ae.config import TrainConfig

    data.read_split = timed(spent, "read the IDX files", data.read_split)
    data.locate = timed(spent, "locate the data", data.locate)
    train_module.evaluate_and_encode = timed(spent, "validation (losses and codes)", train_module.evaluate_and_encode)
    train_module.map_of = timed(spent, "the codes to the CPU", train_module.map_of)
    checkpoint.contents = timed(spent, "checkpoint copy (main thread)", checkpoint.contents)
    step_module.capture = timed(spent, "capture the step", step_module.capture)
    options = {k.lstrip("-").replace("-", "_"): type_of(k)(v) for k, v in zip(extra[::2], extra[1::2])}
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(model=model, data_dir=data_dir, out=Path(tmp) / "m.safetensors", **options)
        loop_started = time.perf_counter()
        events = train_module.train(config, notify=print)
        first = next(events)
        to_started = time.perf_counter() - loop_started
        for _ in events:
            pass
        history = checkpoint.read_header(config.checkpoint_path).meta["history"]
    total = time.perf_counter() - started
    steps = sum(h["train_seconds"] for h in history)
    device = torch.cuda.get_device_name() if first.device.startswith("cuda") else first.device
    print(f"in-process run on {device} (steps captured: {first.cuda_graphs}), {len(history)} epochs: {total:.2f} s")
    setup = ("locate the data", "read the IDX files", "capture the step")
    per_epoch = ("validation (losses and codes)", "the codes to the CPU", "checkpoint copy (main thread)")
    rows = [("import torch", spent["import torch"]), ("up to Started", to_started)]
    rows += [(f"  of which {name}", spent[name]) for name in setup]
    rows += [("training steps", steps)] + [(name, spent[name]) for name in per_epoch]
    rows.append(("the rest (events, loop, writer)", total - sum(s for n, s in rows if not n.startswith(" "))))
    for name, seconds in rows:
        print(f"  {name:40s} {seconds:7.3f} s")


def type_of(option: str):
    return {"--epochs": int, "--batch-size": int, "--lr": float, "--recipe": str, "--device": str}.get(option, str)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="ae")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more train options as OPTION VALUE pairs, e.g. -- --recipe best")
    args = parser.parse_args()
    if len(args.extra) % 2 or not all(option.startswith("--") for option in args.extra[::2]):
        parser.error("more train options come as OPTION VALUE pairs (flags such as --no-cuda-graphs are not taken)")
    argv = ["--model", args.model, "--data-dir", str(args.data_dir), *args.extra]
    times = wall_times(argv, args.runs)
    print(f"`tui-ae train {' '.join(argv)}`: wall median {statistics.median(times):.2f} s "
          f"({', '.join(f'{t:.2f}' for t in times)})")  # fmt: skip
    print("start-up costs, each in a fresh process:")
    start_up_costs()
    breakdown(args.model, args.data_dir, args.extra)


if __name__ == "__main__":
    main()
