"""Training throughput: the homework's pipeline against tui-ae's loop, same model, same optimizer.

    python benchmarks/train_speed.py --data-dir ../shared/data [--model ae] [--epochs 2] [--device auto]

The homework's pipeline: torchvision MNIST + ToTensor + random_split +
DataLoader(batch_size=256, shuffle=True), a per-batch loop with .item() on every
step (as course notebooks write it). tui-ae's: tui_ae.train.train(), the data held
on the device as uint8. Both train the same model with Adam(lr=5e-4) on the same
48,000 images; only training time counts (validation and checkpoints excluded).
The last line of each epoch is timed after a synchronisation, and the first epoch
of each is a warm-up that is reported but not counted.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import torch

from tui_ae.config import TrainConfig, resolve_device
from tui_ae.models import build_model
from tui_ae.train import EpochDone, Step, train


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seed_pipeline(kind: str, data_dir: Path, epochs: int, device: torch.device) -> list[float]:
    """Images per second per epoch of the homework's DataLoader pipeline."""
    from torch.utils.data import DataLoader, random_split
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(str(data_dir), train=True, download=False, transform=transforms.ToTensor())
    train_set, _ = random_split(dataset, [48000, 12000], generator=torch.Generator().manual_seed(42))
    loader = DataLoader(train_set, batch_size=256, shuffle=True)
    torch.manual_seed(0)
    model = build_model(kind).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    rates = []
    for _ in range(epochs):
        sync(device)
        started, seen = time.perf_counter(), 0
        for x, _ in loader:
            x = x.to(device)
            _, losses = model(x)
            optimizer.zero_grad()
            losses["loss"].backward()
            optimizer.step()
            losses["loss"].item()  # the notebooks' per-batch loss print/append
            seen += len(x)
        sync(device)
        rates.append(seen / (time.perf_counter() - started))
    return rates


def tui_ae_loop(kind: str, data_dir: Path, epochs: int, device: str, compile: bool) -> list[float]:
    """Images per second per epoch of tui_ae.train.train(), from its own step timings."""
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(
            model=kind,
            epochs=epochs,
            data_dir=data_dir,
            device=device,
            out=Path(tmp) / "bench.safetensors",
            compile=compile,
        )
        rates, last = [], None
        for event in train(config, notify=lambda _: None):
            if isinstance(event, Step):
                last = event
            elif isinstance(event, EpochDone):  # the last Step read its metrics: a sync point
                rates.append(last.images / last.seconds)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--model", choices=["ae", "vae"], default="ae")
    parser.add_argument("--epochs", type=int, default=3, help="per pipeline, the first being a warm-up")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    name = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )
    print(
        f"device: {device} ({name}); torch {torch.__version__}; model {args.model}; "
        f"epochs {args.epochs} (first = warm-up)"
    )

    seed = seed_pipeline(args.model, args.data_dir, args.epochs, device)
    ours = tui_ae_loop(args.model, args.data_dir, args.epochs, str(device), args.compile)
    for label, rates in (("homework pipeline", seed), ("tui-ae loop", ours)):
        print(f"{label:18s} " + "  ".join(f"{r:9,.0f}" for r in rates) + " img/s per epoch")
    seed_rate = sum(seed[1:]) / len(seed[1:]) if len(seed) > 1 else seed[0]
    our_rate = sum(ours[1:]) / len(ours[1:]) if len(ours) > 1 else ours[0]
    print(
        f"steady state: homework {seed_rate:,.0f} img/s, tui-ae {our_rate:,.0f} img/s, "
        f"speed-up {our_rate / seed_rate:.2f}x"
    )
    print(f"tui-ae: 10 epochs of training would take {10 * 48000 / our_rate:.1f} s at that rate")


if __name__ == "__main__":
    main()
