"""Time to the first training step: `tui-ae train` in fresh processes, timed from inside each one.

    python benchmarks/first_step.py --data-dir ../shared/data [--runs 7] [--device cpu] [--threads N]
                                    [-- more train options]

Each run starts `tui-ae train` (as the console script does, through tui_ae.cli.main) in a new
Python process, with timers put around the product's own functions from outside (the package
carries none), and ends that process as soon as the first training step is done. Printed per
run and as medians over --runs:

- Python start: from just before the process is spawned to its first line (the parent's and
  the child's clocks are the same one, CLOCK_MONOTONIC);
- to the first step: from the child's first line to the end of its first step (a device sync
  on CUDA), minus the process's own import of torch: the issue's goal is at most 0.4 s on the CPU;
- and where those seconds went: the torch import (the execution of torch/__init__, timed by an
  import hook, wherever in the program it happens), finding and reading the IDX files, the data
  split and its loaders, building the model and the optimizer, the first step itself, and the
  rest (the CLI's own imports and parsing, tui-ae's modules, the progress display);
- whether torch._dynamo or sympy had been imported by then (neither should be).

--modules prints, for the first run, every module imported by the end of the first step.
It runs older trees too (before issue 16, build_optimizer made torch's AdamW): copy it into one.
--to-the-end lets each run train to its end (CUDA: past the capture and the replays, through
the checkpoints) and reports the modules imported by then instead.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _bench import machine_line  # noqa: E402

# Runs in the child. Its first line notes the time; hooks time torch's import and, once tui-ae's
# modules are imported, wrap the functions whose seconds are reported; the first TrainStep call
# writes the figures and ends the process.
CHILD = r"""
import time; first_line = time.perf_counter()
import importlib.abc, importlib.util, json, os, sys

out, to_the_end, sys.argv = sys.argv[1], sys.argv[2] == "end", ["tui-ae", *sys.argv[3:]]
spent = {"torch import": 0.0, "read the IDX files": 0.0, "split and loaders": 0.0, "model and optimizer": 0.0}

def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started
    return wrapper

def first_step(call):
    def wrapper(step, idx):
        if "first step" in spent:
            return call(step, idx)
        started = time.perf_counter()
        call(step, idx)
        if idx.is_cuda:
            import torch
            torch.cuda.synchronize(idx.device)
        ended = time.perf_counter()
        spent["first step"] = ended - started
        figures.update({"first line": first_line, "first step ended": ended, "spent": spent,
                        "modules": sorted(sys.modules)})
        if not to_the_end:
            write_figures()
            os._exit(0)  # the figures are taken: no need to train on
    return wrapper

figures = {}

def write_figures():
    if to_the_end:
        figures["modules"] = sorted(sys.modules)
    with open(out, "w") as f:
        json.dump(figures, f)


PATCHES = {
    "tui_ae.data": lambda m: [setattr(m, "locate", timed("read the IDX files", m.locate)),
                              setattr(m, "read_split", timed("read the IDX files", m.read_split)),
                              setattr(m, "train_val_split", timed("split and loaders", m.train_val_split)),
                              setattr(m, "DeviceLoader", timed("split and loaders", m.DeviceLoader))],
    "tui_ae.train": lambda m: [setattr(m, name, timed("model and optimizer", getattr(m, name)))
                               for name in ("build_model", "AdamW", "build_optimizer") if hasattr(m, name)],
    "tui_ae.step": lambda m: setattr(m.TrainStep, "__call__", first_step(m.TrainStep.__call__)),
}

class Hooks(importlib.abc.MetaPathFinder):
    # Times torch's import, and patches tui-ae's modules once they have run.
    def find_spec(self, name, path, target=None):
        if name != "torch" and name not in PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        run = spec.loader.exec_module

        def exec_module(module):
            started = time.perf_counter()
            run(module)
            if name == "torch":
                spent["torch import"] += time.perf_counter() - started
            else:
                PATCHES[name](module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hooks())
if to_the_end:
    import atexit
    atexit.register(write_figures)
from tui_ae.cli import main
main()
"""


def one_run(argv: list[str], device: str, to_the_end: bool, threads: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        args = [*argv, "--device", device, "--out", f"{tmp}/m.safetensors"]
        env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
        spawned = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, str(out), "end" if to_the_end else "first", "train", *args],
                              capture_output=True, text=True, env=env)  # fmt: skip
        figures = json.loads(out.read_text()) if out.exists() else {}
        if "spent" not in figures or done.returncode:
            sys.exit(f"the run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    spent = figures["spent"]
    total = figures["first step ended"] - figures["first line"]
    spent["rest"] = total - sum(spent.values())
    return {
        "python start": figures["first line"] - spawned,
        "to the first step, less torch": total - spent["torch import"],
        **spent,
        "torch._dynamo imported": "torch._dynamo" in figures["modules"],
        "sympy imported": "sympy" in figures["modules"],
        "modules": figures["modules"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="ae")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS (default: torch's, one a core)")
    parser.add_argument("--modules", action="store_true", help="list the modules imported by the first step")
    parser.add_argument("--to-the-end", action="store_true", help="train on; report the modules imported by the end")
    parser.add_argument("extra", nargs="*", help="more train options, after --, e.g. -- --recipe best")
    args = parser.parse_args()
    argv = ["--model", args.model, "--data-dir", str(args.data_dir), *args.extra]
    # The package's bytecode, as an installed tui-ae has it (pip compiles it; so does a first start unless
    # PYTHONDONTWRITEBYTECODE is set, as here): otherwise every start compiles each module of it.
    compileall.compile_dir(Path(__file__).parent.parent / "tui_ae", quiet=1)
    print(machine_line() + (f"; OMP_NUM_THREADS={args.threads}" if args.threads else ""))
    print(f"`tui-ae train {' '.join(argv)} --device {args.device}`, {args.runs} fresh processes "
          f"(PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})")  # fmt: skip
    runs = [one_run(argv, args.device, args.to_the_end, args.threads) for _ in range(args.runs)]
    names = [name for name, value in runs[0].items() if isinstance(value, float)]
    for name in names:
        values = [run[name] for run in runs]
        print(f"  {name:32s} median {statistics.median(values):6.3f} s  ({', '.join(f'{v:.3f}' for v in values)})")
    by = "the end of the run" if args.to_the_end else "the first step"
    for flag in ("torch._dynamo imported", "sympy imported"):
        print(f"  {flag + ' by ' + by:32s} {sum(run[flag] for run in runs)} of {len(runs)} runs")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.modules:
        print(f"modules imported by {by}:", " ".join(runs[0]["modules"]))


if __name__ == "__main__":
    main()
