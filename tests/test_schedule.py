"""The one-cycle schedule, computed by tui-ae, against torch's OneCycleLR step by step."""

from __future__ import annotations

import pytest
import torch

from tui_ae.schedule import BETA1, Schedule, saved_steps


def one_cycle_lr(max_lr: float, total_steps: int, cycle_momentum: bool) -> list[tuple[float, float]]:
    """(lr, beta1) of each step 0..total_steps as torch's OneCycleLR sets them on a real AdamW."""
    optimizer = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=max_lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr, total_steps=total_steps, cycle_momentum=cycle_momentum
    )
    values = []
    for t in range(total_steps + 1):  # the last: after the last step, what the history records as its lr
        group = optimizer.param_groups[0]
        values.append((float(group["lr"]), group["betas"][0]))
        if t < total_steps:
            optimizer.step()
            scheduler.step()
    return values


@pytest.mark.parametrize("total_steps", [1, 2, 3, 4, 7, 10, 31, 750, 45_000])
@pytest.mark.parametrize("cycle_momentum", [False, True])
def test_one_cycle_follows_torch_step_by_step(total_steps, cycle_momentum):
    schedule = Schedule(1e-2, total_steps, one_cycle=True, cycle_momentum=cycle_momentum)
    expected = one_cycle_lr(1e-2, total_steps, cycle_momentum)
    ours = [(schedule.lr(t), schedule.beta1(t)) for t in range(total_steps + 1)]
    assert ours == pytest.approx(expected, rel=1e-12, abs=0)
    if not cycle_momentum:
        assert {beta1 for _, beta1 in ours} == {BETA1}


def test_one_cycle_rises_to_its_peak_and_falls_to_the_floor():
    schedule = Schedule(2e-3, 1000, one_cycle=True, cycle_momentum=True)
    lrs = [schedule.lr(t) for t in range(1001)]
    peak = max(range(1001), key=lrs.__getitem__)
    assert peak == 299 and lrs[peak] == pytest.approx(2e-3)  # 30% of the steps up
    assert lrs[0] == pytest.approx(2e-3 / 25) and lrs[999] == pytest.approx(2e-3 / 25 / 1e4)
    assert schedule.beta1(0) == pytest.approx(0.95) and schedule.beta1(peak) == pytest.approx(0.85)
    with pytest.raises(ValueError, match="past"):
        schedule.lr(1001)


def test_a_constant_schedule_is_constant_and_not_saved():
    schedule = Schedule(5e-4, 100, one_cycle=False)
    assert {schedule.lr(t) for t in range(101)} == {5e-4} and {schedule.beta1(t) for t in range(101)} == {BETA1}
    assert schedule.state(40) is None


def test_the_saved_state_keeps_onecyclelrs_names_and_reads_back():
    optimizer = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 1e-2, total_steps=90)
    for _ in range(30):
        optimizer.step()
        scheduler.step()
    ours = Schedule(1e-2, 90, one_cycle=True, cycle_momentum=True).state(30)
    assert ours == {key: scheduler.state_dict()[key] for key in ours}  # a subset of torch's, the same values
    assert saved_steps(scheduler.state_dict()) == saved_steps(ours) == (90, 30, True)
    for bad in (None, {"total_steps": 90}, {"total_steps": 90, "last_epoch": 91, "cycle_momentum": True}):
        with pytest.raises(ValueError):
            saved_steps(bad)
