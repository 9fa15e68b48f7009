"""Beside each checkpoint, its history as JSON lines: checkpoints/ae.safetensors -> checkpoints/ae.metrics.jsonl.

One flat object per epoch, for pandas.read_json(path, lines=True) or jq. It is written
from the checkpoint's history, after the checkpoint, so it never holds an epoch the
checkpoint lacks; a resumed run rewrites it from the history it resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

from tui_ae.files import write_atomically


def metrics_path(path: Path) -> Path:
    """Where a checkpoint's per-epoch metrics go: checkpoints/ae.safetensors -> checkpoints/ae.metrics.jsonl."""
    path = Path(path)
    return path.with_name(f"{path.stem}.metrics.jsonl")


def metrics_lines(history: list[dict]) -> str:
    """A checkpoint's history as JSON lines, one flat object per epoch."""
    rows = []
    for entry in history:
        row = {"epoch": entry["epoch"]}
        for split in ("train", "val"):
            row.update({f"{split}_{name}": value for name, value in entry[split].items()})
        row.update({key: value for key, value in entry.items() if key not in ("epoch", "train", "val")})
        rows.append(json.dumps(row) + "\n")
    return "".join(rows)


def write_metrics(path: Path, history: list[dict]) -> None:
    """(Re)write a checkpoint's metrics file from its history."""
    write_atomically(metrics_path(path), metrics_lines(history).encode())
