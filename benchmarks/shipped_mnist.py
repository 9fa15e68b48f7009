"""What reading the MNIST tui-ae ships costs a run, gzipped or unpacked into the cache (issue 15).

    python benchmarks/shipped_mnist.py [--repeats 5] [--data-dir ../shared/data]

Wall time, median of --repeats and the fastest, of what a run does before its first step:
- `gzipped`: the training split read from the shipped files (tui_ae/mnist/*.gz), as every
  run would read it without the cache (and does where the cache cannot be written);
- `first use`: data.locate("mnist") on an empty cache, which unpacks all four files there
  (written, synced and renamed);
- `cache`: the training split read from the unpacked files, as every later run reads it;
- `--data-dir`: the same from a folder of the uncompressed files, for comparison.
Each timing is a fresh read of the files (the page cache is warm after the first: the
figures are the decompression and copying, not the disk).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _bench import machine_line

from tui_ae import data


def timed(work: Callable[[], object], repeats: int) -> str:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return f"median {statistics.median(seconds) * 1000:6.0f} ms  min {min(seconds) * 1000:6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, help="a folder of MNIST's uncompressed IDX files, for comparison")
    args = parser.parse_args()
    print(machine_line())

    def read_train(folder: Path) -> Callable[[], object]:
        return lambda: data.read_split(folder, "train", data.MNIST_SOURCE)

    print(f"gzipped     {timed(read_train(data.MNIST_DIR), args.repeats)}")
    with tempfile.TemporaryDirectory() as scratch:
        caches = iter(range(args.repeats))

        def first_use() -> None:
            os.environ["TUI_AE_DATA"] = str(Path(scratch) / f"cache-{next(caches)}")
            data.locate("mnist", notify=lambda _: None)

        print(f"first use   {timed(first_use, args.repeats)}")
        print(f"cache       {timed(read_train(data.find_raw_dir('mnist', Path(scratch) / 'cache-0')), args.repeats)}")
    if args.data_dir:
        print(f"--data-dir  {timed(read_train(data.find_raw_dir('mnist', args.data_dir)), args.repeats)}")


if __name__ == "__main__":
    main()
