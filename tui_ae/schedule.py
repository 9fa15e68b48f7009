"""The learning rate and Adam's beta1 at each step of a run: constant, or the one-cycle schedule.

The one-cycle schedule (Smith & Topin, 2018) is torch's OneCycleLR with its defaults: the lr
rises from max_lr/25 to max_lr over the first 30% of the steps and falls to max_lr/25e4 by
the last, along cosines; with cycle_momentum, beta1 falls from 0.95 to 0.85 and rises back.
It is computed here, in the same floating-point operations as OneCycleLR's (tests/test_schedule.py
compares the two step by step), because a torch scheduler needs a torch.optim.Optimizer, and
building one imports torch._dynamo: seconds before the first step (BENCHMARKS.md).

Its state, as a checkpoint's metadata holds it, keeps OneCycleLR.state_dict()'s names
(total_steps, last_epoch: the steps taken, cycle_momentum), so runs saved with OneCycleLR resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PCT_START = 0.3  # the share of the steps over which the lr rises
DIV_FACTOR = 25.0  # the first lr is max_lr / DIV_FACTOR
FINAL_DIV_FACTOR = 1e4  # the last is the first / FINAL_DIV_FACTOR
BASE_MOMENTUM, MAX_MOMENTUM = 0.85, 0.95  # beta1's range, when it cycles
BETA1 = 0.9  # Adam's beta1 otherwise


@dataclass(frozen=True)
class Schedule:
    """The lr and beta1 of step t (0-based: step t is the (t+1)-th update), for a run of total_steps."""

    max_lr: float  # the constant lr, or the one-cycle peak
    total_steps: int
    one_cycle: bool
    cycle_momentum: bool = False  # only runs saved before this module existed cycle it (see state())

    def lr(self, t: int) -> float:
        if not self.one_cycle:
            return self.max_lr
        initial = self.max_lr / DIV_FACTOR
        return self._anneal(t, (initial, self.max_lr, initial / FINAL_DIV_FACTOR))

    def beta1(self, t: int) -> float:
        if not self.cycle_momentum:
            return BETA1
        return self._anneal(t, (MAX_MOMENTUM, BASE_MOMENTUM, MAX_MOMENTUM))

    def _anneal(self, t: int, values: tuple[float, float, float]) -> float:
        """Cosine from values[0] to values[1] over the first phase, then on to values[2] (OneCycleLR.get_lr's sums)."""
        if t > self.total_steps:
            raise ValueError(f"step {t} is past the schedule's {self.total_steps} steps")
        first_end = float(PCT_START * self.total_steps) - 1
        if t <= first_end:
            return _cos(values[0], values[1], t / first_end)
        return _cos(values[1], values[2], (t - first_end) / (self.total_steps - 1 - first_end))

    def state(self, steps_done: int) -> dict[str, Any] | None:
        """What a checkpoint's metadata keeps of it (None for a constant lr), in OneCycleLR.state_dict()'s names."""
        if not self.one_cycle:
            return None
        return {"total_steps": self.total_steps, "last_epoch": steps_done, "cycle_momentum": self.cycle_momentum}


def _cos(start: float, end: float, pct: float) -> float:
    """Cosine anneal from start to end as pct goes from 0 to 1 (OneCycleLR._annealing_cos, term for term)."""
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def saved_steps(state: Any) -> tuple[int, int, bool]:
    """(total_steps, steps done, cycle_momentum) from a checkpoint's scheduler state; ValueError if it has none."""
    try:
        total, done, cycle = state["total_steps"], state["last_epoch"], state["cycle_momentum"]
    except (KeyError, TypeError):
        raise ValueError("its scheduler state lacks total_steps, last_epoch or cycle_momentum") from None
    if not (type(total) is int and type(done) is int and 0 <= done <= total and isinstance(cycle, bool)):
        raise ValueError(f"its scheduler state is out of range: {done} of {total} steps")
    return total, done, cycle
