"""Numbers and texts as the explorer's panels write them: rounded without "-0", and the longest form that fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def rounded(value: float, decimals: int) -> str:
    """A number to `decimals` places; one that rounds to zero is 0, never -0 (a zero has no sign)."""
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


TITLE_MARGIN = 4  # columns of a bordered widget's content width that its border title leaves free: two each side


def first_fitting(width: int, *forms: T, length: Callable[[T], int] = len) -> T:
    """The first of forms (longest first) whose length fits in width, else the last: the border or panel crops it."""
    return next((form for form in forms if length(form) <= width), forms[-1])


def point_forms(x: float, y: float) -> tuple[str, ...]:
    """A latent point in shorter and shorter forms: (1.23, -4.56), (1.2, -4.6), 1.2, -4.6, and (1, -5).

    Its first decimal goes last: without it the VAE's whole centre reads (0, 0).
    """
    two, one, none = ((rounded(x, decimals), rounded(y, decimals)) for decimals in (2, 1, 0))
    return f"({two[0]}, {two[1]})", f"({one[0]}, {one[1]})", f"{one[0]}, {one[1]}", f"({none[0]}, {none[1]})"


def mark_forms(x: float, y: float) -> tuple[str, ...]:
    """Where a ◆ is: "◆ at (1.23, -4.56)", then shorter forms, down to point_forms' shortest."""
    at = point_forms(x, y)
    return (*(f"◆ at {xy}" for xy in at[:2]), *(f"◆ {xy}" for xy in at[:2]), *at[1:])
