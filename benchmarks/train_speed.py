"""Training throughput: tui-ae's loop against the homework's pipeline and a tuned DataLoader, same model.

    python benchmarks/train_speed.py --data-dir ../shared/data [--model ae] [--batch-size 256] [--epochs 3]
                                     [--device auto] [--peers homework tuned] [--repeats 5]

Peers, all training the same model with Adam(lr=5e-4) on the same 48,000 images:
- homework: torchvision MNIST + ToTensor + random_split + DataLoader(shuffle=True), a
  per-batch loop with .item() on every step (as course notebooks write it);
- tuned: the same DataLoader with 4 workers, pinned memory and non-blocking copies, and
  no per-step .item();
- tui-ae eager: tui_ae.train.train() with --no-cuda-graphs (the data held on the device as
  uint8, one randperm per epoch);
- tui-ae graphs: train() as it runs by default on CUDA, each step a replay of a captured graph;
  and the same with --amp (bf16 autocast), to show what it does to these small models.
Every pipeline is timed the same way, from outside its steps: an epoch from the moment its
steps may start to the end of its last step, up to a device synchronisation; validation and
checkpoints are outside that span (tui-ae's: the epoch ends at the Step event of its last
batch, whose metrics read is the sync, and validation and the checkpoint come after it).
The first epoch of each pipeline is a warm-up, reported but not counted. With --repeats N
the pipelines run in turn N times (alternating, so a change in the machine's load falls on
each), and the medians of their steady rates are compared.
Everything runs in float32 (with the TF32 cuDNN allows by default) but the bf16 line.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from tui_ae.config import TrainConfig, resolve_device
from tui_ae.models import build_model
from tui_ae.train import EpochDone, Started, Step, train

SPLIT = [48000, 12000]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def dataloader_pipeline(kind: str, data_dir: Path, epochs: int, device: torch.device, batch_size: int,
                        tuned: bool) -> list[float]:  # fmt: skip
    """Images per second per epoch of a DataLoader pipeline: the homework's, or a tuned one."""
    from torch.utils.data import DataLoader, random_split
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(str(data_dir), train=True, download=False, transform=transforms.ToTensor())
    train_set, _ = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))  # SPLIT of MNIST
    extra = dict(num_workers=4, pin_memory=device.type == "cuda", persistent_workers=True) if tuned else {}
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, **extra)
    torch.manual_seed(0)
    model = build_model(kind).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    rates = []
    for _ in range(epochs):
        sync(device)
        started, seen = time.perf_counter(), 0
        for x, _ in loader:
            x = x.to(device, non_blocking=tuned)
            _, losses = model(x)
            optimizer.zero_grad()
            losses["loss"].backward()
            optimizer.step()
            if not tuned:
                losses["loss"].item()  # the notebooks' per-batch loss print/append
            seen += len(x)
        sync(device)
        rates.append(seen / (time.perf_counter() - started))
    return rates


def tui_ae_loop(kind: str, data_dir: Path, epochs: int, device: str, batch_size: int, graphs: bool,
                amp: bool = False) -> list[float]:  # fmt: skip
    """Images per second per epoch of tui_ae.train.train(), timed from outside as the peers are.

    An epoch's steps start when the loop is asked for the event after Started or EpochDone;
    they end with the epoch's last Step event, whose metrics read waits for the device.
    """
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(model=kind, epochs=epochs, batch_size=batch_size, data_dir=data_dir, device=device,
                             out=Path(tmp) / "bench.safetensors", cuda_graphs=graphs, amp=amp)  # fmt: skip
        rates, steps_per_epoch, began = [], 0, 0.0
        for event in train(config, notify=print):
            if isinstance(event, Started):
                steps_per_epoch = event.steps_per_epoch
            if isinstance(event, Step) and event.step == steps_per_epoch:
                rates.append(event.images / (time.perf_counter() - began))
            if isinstance(event, (Started, EpochDone)):
                began = time.perf_counter()  # the next epoch's steps start with the next request
    return rates


TUI_AE = {"tui-ae eager": (False, False), "tui-ae graphs": (True, False), "graphs + bf16": (True, True)}  # graphs, amp


def run_pipeline(label: str, args: argparse.Namespace, device: torch.device) -> list[float]:
    """Images per second per epoch of the pipeline named `label`: a DataLoader peer or a tui-ae variant."""
    if label in ("homework", "tuned"):
        return dataloader_pipeline(args.model, args.data_dir, args.epochs, device, args.batch_size, label == "tuned")
    graphs, amp = TUI_AE[label]
    return tui_ae_loop(args.model, args.data_dir, args.epochs, str(device), args.batch_size, graphs, amp)


def steady(rates: list[float]) -> float:
    return sum(rates[1:]) / len(rates[1:]) if len(rates) > 1 else rates[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="ae")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3, help="per pipeline, the first being a warm-up")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--peers", nargs="*", choices=["homework", "tuned"], default=None,
                        help="default: both on CUDA, the homework's alone elsewhere")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=1, help="run the pipelines in turn this many times")
    args = parser.parse_args()
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    peers = args.peers if args.peers is not None else (["homework", "tuned"] if cuda else ["homework"])
    name = torch.cuda.get_device_name() if cuda else f"{platform.processor() or platform.machine()}"
    print(f"device: {device} ({name}), {torch.get_num_threads()} CPU threads; torch {torch.__version__}; "
          f"model {args.model}; batch {args.batch_size}; epochs {args.epochs} (first = warm-up); "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip

    labels = [*peers, "tui-ae eager", *(["tui-ae graphs", "graphs + bf16"] if cuda else [])]
    rates: dict[str, list[float]] = {label: [] for label in labels}  # steady rates, one per repeat
    for repeat in range(1, args.repeats + 1):
        for label in labels:
            per_epoch = run_pipeline(label, args, device)
            rates[label].append(steady(per_epoch))
            print(
                f"{label:14s} "
                + "  ".join(f"{r:10,.0f}" for r in per_epoch)
                + " img/s per epoch"
                + (f"  (repeat {repeat}, load average {os.getloadavg()[0]:.1f})" if args.repeats > 1 else "")
            )
    median = {label: statistics.median(values) for label, values in rates.items()}
    print("steady state" + (f", medians of {args.repeats} alternating repeats:" if args.repeats > 1 else ":"))
    for label in labels:
        ratios = "  ".join(f"{median[label] / median[p]:5.2f}x {p}" for p in peers if p != label)
        spread = f"  ({', '.join(f'{r:,.0f}' for r in rates[label])})" if args.repeats > 1 else ""
        print(f"  {label:14s} {median[label]:10,.0f} img/s  {ratios}{spread}")
    best = max(median, key=median.get)
    print(f"10 epochs of training at {best}'s rate: {10 * SPLIT[0] / median[best]:.1f} s")


if __name__ == "__main__":
    main()
