"""A table laid out for the width it is given, so that every value shows whole, never folded or cut.

Where the console is wide enough, one row per record (an evaluated checkpoint, a trained
epoch) and a column per field; narrower, one row per field and a column per record, in as
many tables as it takes, so a field added later adds a row, not width. `eval`'s table of
checkpoints and `train`'s summary of its epochs are laid out this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


@dataclass
class Row:
    name: str  # the record as shown: the first column of its row, or the head of its column
    values: dict[str, str]  # one per field


@dataclass
class FittedTable:
    """A Rich renderable of `rows`: `key` names the records' column, `fields` the values, in their order."""

    rows: list[Row]
    key: str
    fields: tuple[str, ...]
    title: str | None = None
    caption: str | None = None
    left: tuple[str, ...] = ()  # fields aligned left (text); the others, numbers, align right
    key_justify: Literal["left", "right"] = "left"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = self.by_record()
        if _natural_width(console, options, wide) <= options.max_width:
            yield wide
            return
        groups: list[list[Row]] = [[]]
        for row in self.rows:
            if groups[-1] and _natural_width(console, options, self.by_field(groups[-1] + [row])) > options.max_width:
                groups.append([])
            groups[-1].append(row)
        for index, group in enumerate(groups):
            yield self.by_field(group, title=index == 0)
        if self.caption:
            yield Text(self.caption, style="table.caption")

    def by_record(self) -> Table:
        """One row per record, a column per field."""
        table = self._table(self.title, self.caption)
        table.add_column(self.key, justify=self.key_justify)
        for field in self.fields:
            table.add_column(field, justify=self._justify(field))
        for row in self.rows:
            table.add_row(Text(row.name), *(row.values[field] for field in self.fields))  # a name is no markup
        return table

    def by_field(self, rows: list[Row], title: bool = True) -> Table:
        """One row per field, a column per record."""
        table = self._table(self.title if title else None)
        table.add_column(self.key)
        for row in rows:  # where even one record is too wide, the fields' names wrap, not the values
            table.add_column(Text(row.name), justify="right", no_wrap=True)
        for field in self.fields:
            table.add_row(field, *(row.values[field] for row in rows))
        return table

    def _justify(self, field: str) -> Literal["left", "right"]:
        return "left" if field in self.left else "right"

    @staticmethod
    def _table(title: str | None, caption: str | None = None) -> Table:
        return Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)


def _natural_width(console: Console, options: ConsoleOptions, table: Table) -> int:
    """The width the table takes when nothing in it is wrapped or folded."""
    return Measurement.get(console, options.update_width(10_000), table).maximum
