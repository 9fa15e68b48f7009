"""Numbers and texts as the explorer's panels write them: rounded without "-0", and the longest form that fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def rounded(value: float, decimals: int) -> str:
    """A number to `decimals` places; one that rounds to zero is 0, never -0 (a zero has no sign)."""
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


def first_fitting(width: int, *forms: T, length: Callable[[T], int] = len) -> T:
    """The first of forms (longest first) whose length fits in width, else the last: the border or panel crops it."""
    return next((form for form in forms if length(form) <= width), forms[-1])
