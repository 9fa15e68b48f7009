"""tui-ae's AdamW, on its own state, against torch.optim.AdamW: the same numbers, the same saved layout."""

from __future__ import annotations

import pytest
import torch

from tui_ae.models import build_model
from tui_ae.optim import AdamW

CPU = torch.device("cpu")
HYPER = [(3e-3, 0.95), (1e-2, 0.85), (5e-4, 0.9), (2e-3, 0.93)]  # (lr, beta1) of successive steps


def _backward(model, seed: int) -> None:
    _, losses = model(torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(seed)))
    losses["loss"].backward()


def _pair(kind: str, weight_decay: float):
    """The same model twice, under torch's AdamW and under tui-ae's."""
    torch.manual_seed(0)
    theirs_model = build_model(kind)
    torch.manual_seed(0)
    ours_model = build_model(kind)
    theirs = torch.optim.AdamW(theirs_model.parameters(), lr=HYPER[0][0], weight_decay=weight_decay)
    ours = AdamW(ours_model.parameters(), HYPER[0][0], weight_decay, CPU)
    return theirs_model, theirs, ours_model, ours


def _step_theirs(model, optimizer, lr: float, beta1: float, seed: int) -> None:
    group = optimizer.param_groups[0]
    group["lr"], group["betas"] = lr, (beta1, group["betas"][1])  # as OneCycleLR sets them
    optimizer.zero_grad()
    _backward(model, seed)
    optimizer.step()


def _step_ours(model, optimizer: AdamW, lr: float, beta1: float, seed: int) -> None:
    optimizer.set(lr, beta1)
    optimizer.zero_grad()
    _backward(model, seed)
    optimizer.step()


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_steps_match_torchs_adamw_bit_for_bit(kind, weight_decay):
    theirs_model, theirs, ours_model, ours = _pair(kind, weight_decay)
    for seed, (lr, beta1) in enumerate(HYPER):
        torch.manual_seed(seed)  # the VAE's noise
        _step_theirs(theirs_model, theirs, lr, beta1, seed)
        torch.manual_seed(seed)
        _step_ours(ours_model, ours, lr, beta1, seed)
        torch.testing.assert_close(ours_model.state_dict(), theirs_model.state_dict(), rtol=0, atol=0)
    torch.testing.assert_close(ours.state_dict()["state"], theirs.state_dict()["state"], rtol=0, atol=0)


def test_the_state_dict_has_torchs_layout():
    theirs_model, theirs, ours_model, ours = _pair("ae", 0.05)
    _step_theirs(theirs_model, theirs, *HYPER[0], seed=0)
    _step_ours(ours_model, ours, *HYPER[0], seed=0)
    mine, torchs = ours.state_dict(), theirs.state_dict()
    assert mine["state"].keys() == torchs["state"].keys()
    for index, entry in torchs["state"].items():
        assert mine["state"][index].keys() == entry.keys()
        for key, tensor in entry.items():
            assert (mine["state"][index][key].dtype, mine["state"][index][key].shape) == (tensor.dtype, tensor.shape)
    [group], [torch_group] = mine["param_groups"], torchs["param_groups"]
    assert group.keys() <= torch_group.keys()  # torch's may have more (its version's flags)
    assert {key: group[key] for key in ("lr", "betas", "eps", "weight_decay", "params", "fused", "capturable")} == {
        key: torch_group[key] for key in ("lr", "betas", "eps", "weight_decay", "params")
    } | {"fused": False, "capturable": False}


def test_a_state_loaded_from_torchs_adamw_goes_on_as_torchs_would():
    theirs_model, theirs, ours_model, ours = _pair("ae", 0.0)
    _step_theirs(theirs_model, theirs, *HYPER[0], seed=0)
    ours_model.load_state_dict(theirs_model.state_dict())
    ours.load_state_dict(theirs.state_dict())
    for seed, (lr, beta1) in enumerate(HYPER[1:], 1):
        _step_theirs(theirs_model, theirs, lr, beta1, seed)
        _step_ours(ours_model, ours, lr, beta1, seed)
    torch.testing.assert_close(ours_model.state_dict(), theirs_model.state_dict(), rtol=0, atol=0)
    assert [t.item() for t in ours.steps] == [4.0] * len(ours.steps)


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda state: state["state"].pop(3), "optimizer state has 19 parameters, the model 20"),
        (lambda state: state["state"][2].pop("exp_avg_sq"), "parameter 2 lacks one of step, exp_avg, exp_avg_sq"),
        (lambda state: state["state"][0].update(exp_avg=torch.zeros(3)), r"exp_avg of parameter 0 has shape \(3,\)"),
    ],
)
def test_a_state_that_does_not_fit_is_refused_before_anything_changes(spoil, message):
    theirs_model, theirs, _, ours = _pair("ae", 0.0)
    _step_theirs(theirs_model, theirs, *HYPER[0], seed=0)
    state = theirs.state_dict()
    spoil(state)
    with pytest.raises(ValueError, match=message):
        ours.load_state_dict(state)
    assert all(torch.count_nonzero(t) == 0 for t in ours.state_tensors())


def test_zero_grad_drops_the_gradients():
    model = build_model("ae")
    optimizer = AdamW(model.parameters(), 1e-3, 0.0, CPU)
    _backward(model, 0)
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())
