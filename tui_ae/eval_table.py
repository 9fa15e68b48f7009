"""The table that `tui-ae eval` prints: each checkpoint's test-set metrics.

Where the console is wide enough, one row per checkpoint; narrower, one row per metric and
a column per checkpoint (in as many tables as it takes), so that at any width every value
shows whole, never folded or dropped, and a metric added later adds a row, not width.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from tui_ae.config import SAMPLE_SOURCE

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


@dataclass
class Row:
    name: str  # the checkpoint as shown: see short_names()
    values: dict[str, str]  # one per column of COLUMNS


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


class EvalTable:
    """A Rich renderable that lays the rows out for the width it is given."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = self.by_checkpoint()
        if _natural_width(console, options, wide) <= options.max_width:
            yield wide
            return
        groups: list[list[Row]] = [[]]
        for row in self.rows:
            if groups[-1] and _natural_width(console, options, self.by_metric(groups[-1] + [row])) > options.max_width:
                groups.append([])
            groups[-1].append(row)
        for index, group in enumerate(groups):
            yield self.by_metric(group, title=index == 0)
        yield Text(CAPTION, style="table.caption")

    def by_checkpoint(self) -> Table:
        """One row per checkpoint, a column per metric."""
        table = Table(title=TITLE, caption=CAPTION, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        table.add_column("checkpoint")
        for column in COLUMNS:
            table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right")
        for row in self.rows:
            table.add_row(Text(row.name), *(row.values[column] for column in COLUMNS))  # a name is no markup
        return table

    @staticmethod
    def by_metric(rows: list[Row], title: bool = True) -> Table:
        """One row per metric, a column per checkpoint."""
        table = Table(title=TITLE if title else None, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        table.add_column("checkpoint")
        for row in rows:
            table.add_column(Text(row.name), justify="right")
        for column in COLUMNS:
            table.add_row(column, *(row.values[column] for row in rows))
        return table


def _natural_width(console: Console, options: ConsoleOptions, table: Table) -> int:
    """The width the table takes when nothing in it is wrapped or folded."""
    return Measurement.get(console, options.update_width(10_000), table).maximum
