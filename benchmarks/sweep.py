"""Train candidate recipes over several seeds on real MNIST and print a table of their quality.

    python benchmarks/sweep.py --data-dir ../shared/data --model ae --candidates seed best --seeds 0 1 2

A candidate is a recipe plus overrides (CANDIDATES below). One row per run:
validation and test figures after the last epoch, and the training time; then
the mean and spread of each candidate. The homework reports a validation MSE of
0.032616 for its AE.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tui_ae.config import TrainConfig
from tui_ae.evaluation import evaluate_checkpoint
from tui_ae.train import EpochDone, train


def _onecycle(lr: float, batch_size: int, epochs: int, **more) -> dict:
    return {"recipe": "seed", "schedule": "onecycle", "lr": lr, "batch_size": batch_size, "epochs": epochs, **more}


CANDIDATES: dict[str, dict] = {
    "seed": {"recipe": "seed"},
    "best": {"recipe": "best"},
    # what was tried on the way to "best" (BENCHMARKS.md has the figures)
    "oc3e-3-b128-10ep": _onecycle(3e-3, 128, 10),
    "oc1e-2-b128-10ep": _onecycle(1e-2, 128, 10),
    "oc2e-2-b128-10ep": _onecycle(2e-2, 128, 10),
    "oc1e-2-b256-10ep": _onecycle(1e-2, 256, 10),
    "oc5e-3-b64-10ep": _onecycle(5e-3, 64, 10),
    "oc1e-2-b64-10ep": _onecycle(1e-2, 64, 10),
    "oc2e-2-b64-10ep": _onecycle(2e-2, 64, 10),
    "oc3e-3-b32-10ep": _onecycle(3e-3, 32, 10),
    "oc3e-3-b128-30ep": _onecycle(3e-3, 128, 30),
    "oc3e-3-b128-60ep": _onecycle(3e-3, 128, 60),
    "oc1e-2-b64-80ep": _onecycle(1e-2, 64, 80),
    "oc2e-3-b128-10ep": _onecycle(2e-3, 128, 10),
    "oc1e-3-b64-10ep": _onecycle(1e-3, 64, 10),
}

FIGURES = {"ae": ("mse",), "vae": ("loss", "recon", "kl", "mse")}


def run(kind: str, candidate: str, seed: int, data_dir: Path, device: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        config = TrainConfig(model=kind, seed=seed, data_dir=data_dir, device=device, out=path, **CANDIDATES[candidate])
        started = time.perf_counter()
        done = [e for e in train(config, notify=lambda _: None) if isinstance(e, EpochDone)]
        seconds = time.perf_counter() - started
        _, test = evaluate_checkpoint(path, data_dir, device)
    row = {f"val {k}": done[-1].val[k] for k in FIGURES[kind]}
    row.update({f"test {k}": test[k] for k in FIGURES[kind]})
    row["best val epoch"] = min(done, key=lambda e: e.val["loss"]).epoch
    row["seconds"] = seconds
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="ae")
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=["seed", "best"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    names = None
    for candidate in args.candidates:
        rows = []
        for seed in args.seeds:
            row = run(args.model, candidate, seed, args.data_dir, args.device)
            if names is None:
                names = list(row)
                print(f"{args.model.upper()} on real MNIST, device {args.device}")
                print("| candidate | seed | " + " | ".join(names) + " |")
                print("|---" * (len(names) + 2) + "|")
            print(f"| {candidate} | {seed} | " + " | ".join(f"{row[n]:.6g}" for n in names) + " |", flush=True)
            rows.append(row)
        if len(rows) > 1:
            cells = [
                f"{statistics.mean(r[n] for r in rows):.6g} ± {statistics.stdev(r[n] for r in rows):.2g}" for n in names
            ]
            print(f"| {candidate} | mean ± sd | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
