"""What the explorer spares its key presses: a full garbage collection over torch's objects, and a second torch thread.

    python benchmarks/explore_parts.py [--ae checkpoints/ae.safetensors] [--vae ...] [--decodes 400]

1. A full garbage collection (`gc.collect()`) once torch is imported and both models are
   loaded, as the explorer holds them: with every object in the collector's sight, and after
   `gc.freeze()`, which tui_ae/tui/quiet_gc.py does once the models are in.
2. Decoding one latent point, as each arrow key does, with torch's intra-op threads at one
   (tui_ae/tui/loading.py's OneTorchThread) and at two: p50 and p95 over the decodes, both
   models, the two settings taking turns in blocks of 20.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

from _bench import machine_line, percentiles

ROOT = Path(__file__).resolve().parent.parent  # this checkout: measured, not an installed tui-ae
sys.path.insert(0, str(ROOT))


def full_collections(runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ae", type=Path, default=Path("checkpoints/ae.safetensors"))
    parser.add_argument("--vae", type=Path, default=Path("checkpoints/vae.safetensors"))
    parser.add_argument("--decodes", type=int, default=400, help="per model and thread count")
    args = parser.parse_args()
    print(machine_line())

    import torch

    from tui_ae.checkpoint import load

    models = [load(path)[0] for path in (args.ae, args.vae)]
    seen = full_collections()
    gc.freeze()
    frozen = full_collections()
    gc.unfreeze()
    print(f"full collection, {len(gc.get_objects()):,} objects in sight:  {percentiles(seen)}")
    print(f"full collection, those objects frozen:   {percentiles(frozen)}")

    point = torch.zeros(1, 2)
    times: dict[int, list[float]] = {1: [], 2: []}
    with torch.inference_mode():
        for model in models:
            model.decode(point)  # the first call sets up
            for block in range(2 * args.decodes // 20):
                threads = 1 + block % 2
                torch.set_num_threads(threads)
                for _ in range(20):
                    point.uniform_(-2, 2)
                    start = time.perf_counter()
                    model.decode(point)
                    times[threads].append(time.perf_counter() - start)
    for threads, seconds in times.items():
        print(f"decode one point, {threads} torch thread{'s' * (threads > 1)}:   {percentiles(seconds)}")


if __name__ == "__main__":
    main()
