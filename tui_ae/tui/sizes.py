"""The terminal sizes the explorer lays itself out for, without Textual: `tui-ae doctor` checks them too."""

from __future__ import annotations

MIN_SIZE = (60, 20)  # columns, rows: two maps of some use above two 14x7 digits
NORMAL_SIZE = (96, 30)  # from here digits are drawn whole (28x14); below, the compact layout halves them


def layout_class(width: int, height: int) -> str | None:
    """The app's size class, which app.tcss sizes the digit panels by; None when too small."""
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return None
    if width >= 180 and height >= 64:
        return "-big"  # digits at 2x: 56x28
    if width >= NORMAL_SIZE[0] and height >= NORMAL_SIZE[1]:
        return "-normal"  # 28x14
    return "-compact"  # halved: 14x7
