"""Whole processes on the CPU: `tui-ae train` against the homework's pipeline, the same epochs of the same AE.

    python benchmarks/cpu_ratio.py --data-dir ../shared/data [--model ae] [--epochs 3] [--runs 5] [--threads N]

Each run is a fresh Python process timed from outside, from its spawn to its exit, imports
and all: `python -m tui_ae train --model M --epochs N --device cpu` (output to a pipe), and the
homework's pipeline as a course notebook writes it (HOMEWORK below: torchvision's MNIST with
ToTensor, random_split, DataLoader(batch_size=256, shuffle=True), Adam(lr=5e-4), .item() on
every step, the validation loss after each epoch, the weights saved at the end). The two
alternate, --runs times each, so a change in the machine's load falls on both; the medians
and their ratio are printed, with the load average before each run. Goal (issue 16): tui-ae
at least 1.8 times as fast, for the AE over 3 epochs. --threads N sets OMP_NUM_THREADS for
both (torch's default otherwise: one per core): on a machine shared with other jobs, two
threads on two busy cores wait on each other, and a run's time says more of the load than of it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _bench import machine_line  # noqa: E402

REPO = Path(__file__).parent.parent

HOMEWORK = r"""
import sys
import torch
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms
from tui_ae.models import build_model  # the same model, as the homework prints it

data_dir, kind, epochs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
dataset = datasets.MNIST(data_dir, train=True, download=False, transform=transforms.ToTensor())
train_set, val_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))  # 48,000 + 12,000
train_loader = DataLoader(train_set, batch_size=256, shuffle=True)
val_loader = DataLoader(val_set, batch_size=256)
torch.manual_seed(0)
model = build_model(kind)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
for epoch in range(1, epochs + 1):
    model.train()
    for x, _ in train_loader:
        _, losses = model(x)
        optimizer.zero_grad()
        losses["loss"].backward()
        optimizer.step()
        train_loss = losses["loss"].item()
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, _ in val_loader:
            total += model(x)[1]["loss"].item() * len(x)
    print(f"epoch {epoch}: train loss {train_loss:.5f}, validation loss {total / len(val_set):.5f}", flush=True)
torch.save(model.state_dict(), out)
"""


def timed(command: list[str], threads: int | None) -> float:
    """Seconds from spawn to exit; the command's output goes to a pipe, as a logged run's would."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{' '.join(command[:4])} ... failed:\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="ae")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for both (default: torch's)")
    args = parser.parse_args()
    print(machine_line() + (f"; OMP_NUM_THREADS={args.threads}" if args.threads else ""))
    times: dict[str, list[float]] = {"tui-ae": [], "homework": []}
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "tui-ae": [sys.executable, "-m", "tui_ae", "train", "--model", args.model, "--epochs", str(args.epochs),
                       "--data-dir", str(args.data_dir), "--device", "cpu", "--out", f"{tmp}/m.safetensors", "--force"],
            "homework": [sys.executable, "-c", HOMEWORK, str(args.data_dir), args.model, str(args.epochs),
                         f"{tmp}/m.pt"],
        }  # fmt: skip
        for run in range(1, args.runs + 1):
            for name, command in commands.items():
                load = os.getloadavg()[0]
                times[name].append(timed(command, args.threads))
                print(f"run {run} {name:8s} {times[name][-1]:7.2f} s  (load average {load:.1f} before)", flush=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:8s} median {medians[name]:7.2f} s  ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"{args.model.upper()}, {args.epochs} epochs, whole processes: tui-ae is "
          f"{medians['homework'] / medians['tui-ae']:.2f}x as fast as the homework's pipeline "
          f"(medians of {args.runs} alternating runs); load average after {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
