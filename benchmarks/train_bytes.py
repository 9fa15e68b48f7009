"""How many bytes `tui-ae train`'s display writes to the terminal, per second, with the preview strip on.

    python benchmarks/train_bytes.py [--tree PATH] [--size 120x40] [--color truecolor]
        synthetic [--epochs 100] [--epoch-seconds 0.1] [--data-dir ../shared/data]
        real --data-dir ../shared/data [--model vae] [--epochs 3] [-- more train options]

The display runs in a pseudo-terminal of --size (TERM=xterm-256color, and COLORTERM for
--color), as a user's terminal over ssh would receive it, and every byte it writes is read
and timed here. The figure is the bytes written from the "Training ..." line to the summary
table, over the seconds between them: what the link carries while training runs; and the
most bytes written within any one second of that span.

- synthetic: train's own display (progress.display) is handed events made here: epochs of
  --epoch-seconds, ten steps each, each epoch with a preview: the first validation digit of
  each class (real MNIST from --data-dir), and as its reconstructions those digits blurred,
  less each epoch, so that each epoch's strip differs as a real run's does. No model, no torch
  on the loop: epochs as fast as a GPU's.
- real: `python -m tui_ae train --model ... --epochs ...` itself.

--tree runs another checkout's code (default: this one), e.g. one made by `git archive`, so
that two versions are measured by one script.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLORTERM = {"truecolor": "truecolor", "256": "", "mono": ""}
START, END = b"Training ", re.compile(rb"(AE|VAE) training")


def run_in_terminal(argv: list[str], tree: Path, size: tuple[int, int], color: str, cwd: Path):
    """Every chunk the command writes to a pseudo-terminal of size (columns, rows), with the time it was read.

    Run in cwd, outside any checkout: `python -m` puts its folder first on the path, before PYTHONPATH.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLORTERM=COLORTERM[color], PYTHONPATH=str(tree))
    env.pop("NO_COLOR", None)
    if color == "mono":
        env["NO_COLOR"] = "1"
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True)
    os.close(slave)
    chunks: list[tuple[float, bytes]] = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append((time.perf_counter(), data))
        elif process.poll() is not None:
            break
    process.wait()
    os.close(master)
    if process.returncode:
        sys.exit(f"the command failed ({process.returncode}):\n" + b"".join(c for _, c in chunks)[-2000:].decode())
    return chunks


def report(chunks: list[tuple[float, bytes]]) -> None:
    data = b"".join(chunk for _, chunk in chunks)
    start, end = data.find(START), END.search(data)
    if start < 0 or end is None:
        sys.exit("no 'Training' line or no summary table in the output")
    offsets, at = [], 0
    for moment, chunk in chunks:  # (offset after the chunk, time)
        at += len(chunk)
        offsets.append((at, moment))
    began = next(moment for offset, moment in offsets if offset > start)
    ended = next(moment for offset, moment in offsets if offset > end.start())
    within = [(moment, len(chunk)) for moment, chunk in chunks if began <= moment <= ended]
    total = sum(size for _, size in within)
    seconds = ended - began
    peak = max(sum(size for m, size in within if moment <= m < moment + 1.0) for moment, _ in within)
    strips = data.count(b"val   ")  # the band label of the originals: once per tier each time the strip is written
    average = total / 1024 / seconds
    print(f"  {total / 1024:.1f} KiB in {seconds:.1f} s: {average:.1f} KiB/s on average")
    print(f"  at most {peak / 1024:.1f} KiB within one second")
    print(f"  the strip's 'val' band label written {strips} times (once per tier each time the strip is written)")


def synthetic(epochs: int, epoch_seconds: float, data_dir: Path) -> None:
    """The child's side of `synthetic`: train's display, fed fast epochs with realistic previews."""
    import numpy as np
    from rich.console import Console

    from tui_ae import data, progress
    from tui_ae.config import TrainConfig
    from tui_ae.render import detect_color_mode
    from tui_ae.train import EpochDone, Preview, Started, Step

    raw = data.find_raw_dir("mnist", data_dir)
    digits = data.read_split(raw, "test", "mnist")
    first = data.first_of_each_class(digits.labels.numpy())
    originals = digits.images.numpy()[first].astype(np.float32) / 255

    def blurred(epoch: int) -> np.ndarray:
        """The digits blurred by a box of a width shrinking with the epochs, and a little dimmed: every cell changes."""
        radius = 1 + 2 * (epochs - epoch) // epochs
        padded = np.pad(originals, ((0, 0), (radius, radius), (radius, radius)))
        box = sum(padded[:, i : i + 28, j : j + 28] for i in range(2 * radius + 1) for j in range(2 * radius + 1))
        return (box / (2 * radius + 1) ** 2 * (0.8 + 0.2 * epoch / epochs)).astype(np.float32)

    def preview(epoch: int) -> Preview:
        return Preview(tuple(range(10)), originals, blurred(epoch))

    metrics = {"loss": 160.0, "recon": 150.0, "kl": 10.0, "mse": 0.04}

    def events():
        yield Started("cpu", "synthetic", 48_000, 12_000, 0, epochs, 10, preview=preview(0))
        for epoch in range(1, epochs + 1):
            began = time.perf_counter()
            for step in range(1, 11):
                time.sleep(max(0.0, began + epoch_seconds * step / 10 - time.perf_counter()))
                yield Step(epoch, step, step * 256, time.perf_counter() - began, metrics)
            yield EpochDone(epoch, metrics, metrics, epoch_seconds, Path("synthetic.safetensors"), preview(epoch))

    console = Console(highlight=False, soft_wrap=True)  # as cli.py's
    config = TrainConfig(model="vae", out=Path("synthetic.safetensors"), preview=True)
    progress.display(events(), config, console, detect_color_mode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose tui_ae runs")
    parser.add_argument("--size", default="120x40", help="the terminal's COLSxROWS")
    parser.add_argument("--color", choices=list(COLORTERM), default="truecolor")
    modes = parser.add_subparsers(dest="mode", required=True)
    fake = modes.add_parser("synthetic")
    fake.add_argument("--epochs", type=int, default=100)
    fake.add_argument("--epoch-seconds", type=float, default=0.1)
    fake.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    real = modes.add_parser("real")
    real.add_argument("--data-dir", type=Path, required=True)
    real.add_argument("--model", choices=["ae", "vae"], default="vae")
    real.add_argument("--epochs", type=int, default=3)
    real.add_argument("rest", nargs="*", help="more options for train")
    child = modes.add_parser("child")  # what runs in the terminal for `synthetic`
    child.add_argument("epochs", type=int)
    child.add_argument("epoch_seconds", type=float)
    child.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    if args.mode == "child":
        synthetic(args.epochs, args.epoch_seconds, args.data_dir)
        return
    columns, rows = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        if args.mode == "synthetic":
            what = f"synthetic: {args.epochs} epochs of {args.epoch_seconds} s"
            data_dir = str(args.data_dir.resolve())
            argv = [
                sys.executable,
                str(Path(__file__).resolve()),
                "child",
                str(args.epochs),
                str(args.epoch_seconds),
                data_dir,
            ]
        else:
            what = f"real: train --model {args.model} --epochs {args.epochs} {' '.join(args.rest)}"
            out = Path(tmp) / "m.safetensors"
            train = ["train", "--model", args.model, "--epochs", str(args.epochs), "--out", str(out)]
            argv = [sys.executable, "-m", "tui_ae", *train, "--data-dir", str(args.data_dir.resolve()), *args.rest]
        chunks = run_in_terminal(argv, args.tree.resolve(), (columns, rows), args.color, Path(tmp))
    print(f"{what}; tree {args.tree}; {columns}x{rows} {args.color}; load average {os.getloadavg()[0]:.1f}")
    report(chunks)


if __name__ == "__main__":
    main()
