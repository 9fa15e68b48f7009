"""What eval's kNN distances cost: from differences (exact) or as a matrix product, at few axes and at many.

    python benchmarks/knn_distances.py [--queries 10000] [--reference 48000] [--axes 2 256]

torch.cdist over random codes, the queries in chunks of evaluation.chunk_rows() as
knn_predict takes them, with each of its two compute modes: `donot_use_mm_for_euclid_dist`
(from differences, what tui_ae/evaluation.py uses up to EXACT_AXES axes) and
`use_mm_for_euclid_dist` (|q|^2 - 2 q.r + |r|^2, a matrix product). Seconds for all the
queries, on the CPU, with torch's default threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _bench import machine_line

ROOT = Path(__file__).resolve().parent.parent  # this checkout: measured, not an installed tui-ae
sys.path.insert(0, str(ROOT))

MODES = {"differences": "donot_use_mm_for_euclid_dist", "matrix product": "use_mm_for_euclid_dist"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--reference", type=int, default=48_000)
    parser.add_argument("--axes", type=int, nargs="+", default=[2, 256])
    args = parser.parse_args()

    import torch

    from tui_ae.evaluation import chunk_rows

    print(machine_line() + f"; torch {torch.__version__}, {torch.get_num_threads()} threads")
    generator = torch.Generator().manual_seed(0)
    rows = chunk_rows(args.reference)
    for axes in args.axes:
        queries = torch.randn(args.queries, axes, generator=generator)
        reference = torch.randn(args.reference, axes, generator=generator)
        for name, mode in MODES.items():
            start = time.perf_counter()
            for chunk in queries.split(rows):
                torch.cdist(chunk, reference, compute_mode=mode)
            seconds = time.perf_counter() - start
            print(f"{args.queries:,} x {args.reference:,} at {axes} axes, {name}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
