"""Does this checkout train the same weights as another one? (The CPU path must not change by accident.)

    git worktree add /tmp/old 8ce4848
    python benchmarks/same_weights.py --old /tmp/old --data-dir DIR [--epochs 2] [--batch-size 64]

Trains the AE and the VAE with the seed and the best recipe, on the CPU, once with each
checkout's code (each in its own Python process), and prints whether every weight is
bitwise the same. A small data set keeps it quick: tests/conftest.py's write_fake_mnist
writes one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

TRAIN = """
import sys
from pathlib import Path
sys.path.insert(0, ".")
from tui_ae.config import TrainConfig
from tui_ae.train import train
kind, recipe, epochs, batch, data, out = sys.argv[1:]
config = TrainConfig(model=kind, recipe=recipe, epochs=int(epochs), batch_size=int(batch), data_dir=Path(data),
                     device="cpu", out=Path(out))
for _ in train(config, notify=lambda message: None):
    pass
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="the other checkout's root")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("ae", "vae"):
            for recipe in ("seed", "best"):
                weights = []
                for name, root in (("old", args.old), ("new", Path.cwd())):
                    out = Path(tmp) / f"{name}-{kind}-{recipe}.safetensors"
                    data = str(args.data_dir.resolve())
                    argv = [kind, recipe, str(args.epochs), str(args.batch_size), data, str(out)]
                    subprocess.run([sys.executable, "-c", TRAIN, *argv], cwd=root, check=True)
                    weights.append({k: v for k, v in load_file(str(out)).items() if k.startswith("model/")})
                old, new = weights
                same = old.keys() == new.keys() and all(np.array_equal(old[k], new[k]) for k in old)
                print(f"{kind.upper()} {recipe}: {'bitwise the same' if same else 'DIFFERENT'}", flush=True)


if __name__ == "__main__":
    main()
