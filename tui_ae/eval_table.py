"""The table that `tui-ae eval` prints: each checkpoint's test-set metrics.

Where the console is wide enough, one row per checkpoint; narrower, one row per metric and
a column per checkpoint (in as many tables as it takes), so that at any width every value
shows whole: fitted_table.py lays it out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from tui_ae.config import SAMPLE_SOURCE
from tui_ae.fitted_table import FittedTable, Row

if TYPE_CHECKING:
    from tui_ae.checkpoint import Header

TITLE = "Test-set metrics"
CAPTION = (
    "data: what it was trained on; MSE per pixel; VAE terms in nats per image; "
    "kNN: 5-nearest-neighbour accuracy of the test codes among the training codes; "
    "active: the VAE's active units, of all"
)
TEXT_COLUMNS = ("model", "recipe", "data")  # left-aligned; the numbers after them align right
COLUMNS = (*TEXT_COLUMNS, "epochs", "images", "MSE", "-ELBO", "recon", "KL", "kNN", "active")
VAE_TERMS = {"-ELBO": "loss", "recon": "recon", "KL": "kl"}  # column: metric, in nats per image


def make_row(name: str, header: Header, metrics: dict[str, float]) -> Row:
    """One checkpoint's line: what it is, from its header, and its metrics (evaluation.evaluate_checkpoint's)."""
    vae = header.kind == "vae"
    return Row(
        name,
        {
            "model": header.kind.upper(),
            "recipe": header.meta.get("recipe", "seed"),
            "data": header.meta["data_source"].split(":")[0].replace(SAMPLE_SOURCE, "sample"),
            "epochs": str(header.meta["epochs_done"]),
            "images": f"{metrics['images']:,}",
            "MSE": f"{metrics['mse']:.6f}",
            **{column: f"{metrics[key]:.2f}" if vae else "-" for column, key in VAE_TERMS.items()},
            "kNN": f"{metrics['knn']:.1%}",
            "active": f"{metrics['active_units']}/{header.model_args['latent_dim']}" if vae else "-",
        },
    )


def short_names(paths: list[Path], cwd: Path | None = None) -> list[str]:
    """How the table names checkpoints: the path from the current folder when it is inside it,
    else the fewest trailing parts that tell it from the others (most often the file name alone)."""
    here = Path(os.path.abspath(cwd or Path.cwd()))
    full = [Path(os.path.normpath(here / path)) for path in paths]  # absolute, without ".." or "."
    names = []
    for path in full:
        if path.is_relative_to(here):
            names.append(str(path.relative_to(here)))
            continue
        for count in range(1, len(path.parts) + 1):
            if sum(other.parts[-count:] == path.parts[-count:] for other in full) == 1:
                break
        names.append(str(Path(*path.parts[-count:])))
    return names


class EvalTable(FittedTable):
    """The checkpoints' rows, laid out for the width they are printed at."""

    def __init__(self, rows: list[Row]) -> None:
        super().__init__(rows, key="checkpoint", fields=COLUMNS, title=TITLE, caption=CAPTION, left=TEXT_COLUMNS)
