"""Checkpoints written from a background thread, one at a time, so training does not wait on the disk."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tui_ae import checkpoint
from tui_ae.files import write_atomically
from tui_ae.metrics_log import metrics_lines, metrics_path


class CheckpointWriter:
    """Copies a checkpoint's tensors at once and writes them soon, in a thread: the checkpoint, then its metrics.

    Serialising and syncing a VAE checkpoint takes tens of milliseconds, a large part of a
    whole epoch on a GPU (BENCHMARKS.md). So does making the latent map of more than two
    dimensions (its plane and spacing: numpy, which lets go of the GIL): handed over as a
    function of the codes, it is made in the thread too. On leaving the `with` block, also by
    Ctrl-C or an error, the last write is finished, so the file on disk is always the last
    epoch handed over; a failed write raises at the next save. `written` counts the
    checkpoints that reached the disk, so a caller can say which one a failure left there.
    """

    def __enter__(self) -> CheckpointWriter:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint-writer")
        self._pending: Future | None = None
        self.written = 0
        return self

    def save(
        self,
        path: Path,
        model,
        meta: dict[str, Any],
        optimizer=None,
        codes: checkpoint.LatentCodes | Callable[[], checkpoint.LatentCodes | None] | None = None,
        metrics: list[dict] | None = None,
    ) -> None:
        """Copy now, write soon: the checkpoint, then (given a history) its metrics file.

        codes: the map, or a function that makes it from arrays it holds (called in the thread).
        """
        stored = None if callable(codes) else codes
        snapshot = checkpoint.contents(model, meta, optimizer, stored)  # before training goes on
        path = Path(path).absolute()  # where it is now, whatever the folder when the thread writes
        lines = metrics_lines(metrics) if metrics is not None else None
        self.wait()
        self._pending = self._pool.submit(self._write, path, snapshot, codes if callable(codes) else None, lines)

    def _write(self, path: Path, snapshot: tuple, make_map, lines: str | None) -> None:
        tensors, metadata = snapshot
        if make_map is not None and (codes := make_map()) is not None:
            tensors.update(checkpoint.map_tensors(codes))
        checkpoint.write(path, tensors, metadata)
        self.written += 1
        if lines is not None:  # after the checkpoint: the metrics never hold an epoch it lacks
            write_atomically(metrics_path(path), lines.encode())

    def wait(self) -> None:
        """The last write finished, its error raised. Interrupted (Ctrl-C), it stays pending for __exit__ to wait on."""
        pending = self._pending
        if pending is None:
            return
        try:
            pending.result()
        finally:
            if pending.done():
                self._pending = None

    def __exit__(self, *exc_info) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown()
