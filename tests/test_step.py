"""The training step both paths share, run eagerly on the CPU.

Capture itself needs a GPU: benchmarks/gpu_check.py runs it there."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from tui_ae import checkpoint
from tui_ae import step as step_module
from tui_ae import train as train_module
from tui_ae.config import TrainConfig
from tui_ae.models import VAE, build_model
from tui_ae.step import TrainStep, build_optimizer, keep_lr_tensor, load_optimizer_state
from tui_ae.train import EpochDone, Started, train

CPU = torch.device("cpu")


def _step(kind: str = "ae", seed: int = 0, **kwargs) -> TrainStep:
    torch.manual_seed(seed)
    model = build_model(kind)
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    return TrainStep(model, build_optimizer(model, 1e-3, 0.0, CPU), images, **kwargs)


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module, exact: bool = True) -> None:
    """The two models' state dicts hold the same tensors: bit for bit, or within assert_close's float tolerances."""
    torch.testing.assert_close(a.state_dict(), b.state_dict(), **({"rtol": 0, "atol": 0} if exact else {}))


def losses_by_hand(model, x: torch.Tensor, noise: torch.Tensor | None = None) -> dict[str, float]:
    """A training step's losses, worked out here from the model's layers: the AE's MSE per pixel; the VAE's negative
    ELBO per image, its Bernoulli reconstruction term and its KL term (the posterior's, against N(0, I)), and the MSE
    of the sample's decoding."""
    with torch.no_grad():
        if noise is None:
            mse = ((torch.sigmoid(model.decoder(model.encoder(x))) - x) ** 2).mean().item()
            return {"loss": mse, "mse": mse}
        mu, log_var = model.posterior(x)
        logits = model.decoder_logits(mu + noise * torch.exp(log_var / 2))
        softplus = torch.nn.functional.softplus  # -log sigmoid(l) is softplus(-l); -log(1 - sigmoid(l)), softplus(l)
        recon = (x * softplus(-logits) + (1 - x) * softplus(logits)).sum().item() / len(x)
        posterior = torch.distributions.Normal(mu, torch.exp(log_var / 2))
        prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = torch.distributions.kl_divergence(posterior, prior).sum().item() / len(x)
        mse = ((torch.sigmoid(logits) - x) ** 2).mean().item()
        return {"loss": recon + kl, "recon": recon, "kl": kl, "mse": mse}


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_the_step_adds_each_metric_of_the_weights_it_updates_times_the_batch(kind):
    step = _step(kind)
    assert step.names == step.model.METRICS
    expected = {}
    for batch in (torch.arange(16), torch.arange(16, 24)):  # 16 images, then 8 with the weights the first left
        x = step.images[batch].unsqueeze(1).float() / 255
        before = copy.deepcopy(step.model)
        torch.manual_seed(len(batch))
        noise = torch.randn(len(batch), 2) if kind == "vae" else None  # the VAE's draw, as the step will make it
        torch.manual_seed(len(batch))
        step(batch)
        expected[len(batch)] = losses_by_hand(before, x, noise)
        assert all(not torch.equal(a, b) for a, b in zip(_weights(before), _weights(step.model)))  # every weight moved
    for i, name in enumerate(step.names):
        assert step.sums[i].item() == pytest.approx(16 * expected[16][name] + 8 * expected[8][name], rel=1e-5), name
        assert step.means(24)[name] == pytest.approx((16 * expected[16][name] + 8 * expected[8][name]) / 24, rel=1e-5)


def test_warm_up_steps_undone_by_restore_leave_no_trace():
    """What capture() relies on: after warm-up and restore, training goes on as if there had been no warm-up."""
    plain, warmed = _step(), _step()
    snapshot = warmed.snapshot()
    for _ in range(3):
        warmed(torch.arange(32))
    assert not torch.equal(_weights(warmed.model)[0], _weights(plain.model)[0])
    warmed.restore(snapshot)
    assert torch.count_nonzero(warmed.sums) == 0
    for idx in (torch.arange(32), torch.arange(32, 64), torch.arange(10)):
        plain(idx)
        warmed(idx)
    _assert_same_weights(plain.model, warmed.model)
    assert torch.equal(plain.sums, warmed.sums)


def test_loading_a_saved_state_keeps_this_runs_flags_and_lr_tensor():
    torch.manual_seed(0)
    saved_model = build_model("ae")
    saved_optimizer = torch.optim.AdamW(saved_model.parameters(), lr=3e-3)  # a CPU run's: not fused
    _, losses = saved_model(torch.rand(4, 1, 28, 28))
    losses["loss"].backward()
    saved_optimizer.step()
    state = json.loads(json.dumps(saved_optimizer.state_dict()["param_groups"], default=float))
    state = {"state": saved_optimizer.state_dict()["state"], "param_groups": state}

    model = build_model("ae")
    lr = torch.tensor(5e-4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, fused=True)  # this run's, as on CUDA
    load_optimizer_state(optimizer, state)
    group = optimizer.param_groups[0]
    assert group["fused"] is True and group["foreach"] is None and group["capturable"] is False  # this run's
    assert group["lr"] is lr and lr.item() == pytest.approx(3e-3)  # the tensor kept, the saved value in it
    assert optimizer.state[next(model.parameters())]["step"].item() == 1
    _, losses = model(torch.rand(4, 1, 28, 28))
    losses["loss"].backward()
    optimizer.step()  # the fused kernel takes the loaded state
    assert optimizer.state[next(model.parameters())]["step"].item() == 2


def test_keep_lr_tensor_puts_a_replaced_lr_back_into_the_tensor():
    lr = torch.tensor(1.0)
    group = {"lr": 0.25}  # as a scheduler that assigns floats would leave it
    keep_lr_tensor(group, lr)
    assert group["lr"] is lr and lr.item() == 0.25
    plain = {"lr": 0.5}
    keep_lr_tensor(plain, 0.1)  # no tensor (CPU): nothing to keep
    assert plain["lr"] == 0.5


def test_the_kl_weight_is_a_tensor_and_not_part_of_the_checkpoint():
    vae = VAE()
    assert torch.is_tensor(vae.kl_weight) and "kl_weight" not in vae.state_dict()


# -- the loop with a capture: a CPU stand-in for the graph, the real loop around it ----------------------------


class ReplayEagerly:
    """Stands in for a CUDAGraph on the CPU: a replay runs the captured step on the static buffer."""

    def __init__(self, step: TrainStep, static_idx: torch.Tensor) -> None:
        self.step, self.static_idx, self.replays = step, static_idx, 0

    def replay(self) -> None:
        self.replays += 1
        self.step(self.static_idx)


def record_on_cpu(step: TrainStep, idx: torch.Tensor, warmups: int) -> tuple[ReplayEagerly, torch.Tensor]:
    """step.record's work on the CPU: real warm-up steps, and the stand-in for the graph."""
    for _ in range(warmups):
        step(idx)
    static_idx = idx.clone()
    return ReplayEagerly(step, static_idx), static_idx


def _config(tiny_mnist, tmp_path, name: str, **overrides) -> TrainConfig:
    settings = dict(model="vae", recipe="best", epochs=2, batch_size=48, data_dir=tiny_mnist, device="cpu",
                    kl_warmup=1, grad_clip=1.0, out=tmp_path / f"{name}.safetensors")  # fmt: skip
    return TrainConfig(**{**settings, **overrides})


def test_the_loop_around_a_capture_replays_full_batches_and_runs_the_partial_one_eagerly(
    tiny_mnist, tmp_path, monkeypatch
):
    """The plumbing only: on the CPU the "graph" (ReplayEagerly) replays the eager step, so this covers the loop
    around a capture (the static buffer each batch is copied into, one replay a full batch, the partial batch run
    eagerly, what the checkpoint records), not CUDA's capture, which benchmarks/gpu_check.py checks on a GPU.

    200 images at batch 48: four replays and one partial batch, run eagerly, per epoch."""
    scheduler = train_module._scheduler  # the eager run on the captured run's schedule: momentum not cycled
    monkeypatch.setattr(train_module, "_scheduler", lambda o, c, n, cycle_momentum: scheduler(o, c, n, False))
    eager = list(train(_config(tiny_mnist, tmp_path, "eager", cuda_graphs=False)))
    monkeypatch.undo()
    graphs = []
    monkeypatch.setattr(step_module, "graphs_available", lambda device: True)
    monkeypatch.setattr(step_module, "record", lambda *args: graphs.append(record_on_cpu(*args)) or graphs[-1])
    captured = list(train(_config(tiny_mnist, tmp_path, "captured"), notify=pytest.fail))
    assert captured[0].cuda_graphs and not eager[0].cuda_graphs
    assert graphs[0][0].replays == 2 * 4
    a, _, _ = checkpoint.load(tmp_path / "eager.safetensors")
    b, header, _ = checkpoint.load(tmp_path / "captured.safetensors")
    _assert_same_weights(a, b)
    assert header.meta["cuda_graphs"] and not header.meta["scheduler"]["cycle_momentum"]  # which schedule ran


def test_a_failed_capture_carries_on_eagerly_with_one_notice(tiny_mnist, tmp_path, monkeypatch):
    list(train(_config(tiny_mnist, tmp_path, "eager", cuda_graphs=False, schedule="constant")))

    def fail(step, idx, warmups):
        step(idx)  # a warm-up step, then the capture breaks
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

    monkeypatch.setattr(step_module, "graphs_available", lambda device: True)
    monkeypatch.setattr(step_module, "record", fail)
    notices: list[str] = []
    events = list(train(_config(tiny_mnist, tmp_path, "fallback", schedule="constant"), notify=notices.append))
    assert notices == ["CUDA graph capture failed, training eagerly instead: operation not permitted when stream "
                       "is capturing"]  # fmt: skip
    assert isinstance(events[0], Started) and not events[0].cuda_graphs
    a, _, _ = checkpoint.load(tmp_path / "eager.safetensors")
    b, _, _ = checkpoint.load(tmp_path / "fallback.safetensors")
    _assert_same_weights(a, b)  # the warm-up step was undone


def test_a_run_that_cycled_momentum_resumes_eagerly(tiny_mnist, tmp_path, monkeypatch):
    ae = dict(model="ae", epochs=2, kl_warmup=0, cuda_graphs=False)  # eager: its one-cycle schedule cycles the momentum
    list(train(_config(tiny_mnist, tmp_path, "run", **ae)))
    for event in train(_config(tiny_mnist, tmp_path, "run2", **ae)):
        if isinstance(event, EpochDone):
            break  # as Ctrl-C after epoch 1
    monkeypatch.setattr(step_module, "graphs_available", lambda device: True)
    monkeypatch.setattr(step_module, "record", lambda *args: pytest.fail("captured a momentum-cycling run"))
    notices: list[str] = []
    resumed = TrainConfig(model="ae", data_dir=tiny_mnist, device="cpu", out=tmp_path / "run2.safetensors", resume=True)
    events = list(train(resumed, notify=notices.append))
    assert notices == ["this run's schedule cycles Adam's momentum, which a CUDA graph cannot follow: "
                       "it resumes eagerly"]  # fmt: skip
    assert not events[0].cuda_graphs
    a, _, _ = checkpoint.load(tmp_path / "run.safetensors")
    b, _, _ = checkpoint.load(tmp_path / "run2.safetensors")
    _assert_same_weights(a, b, exact=False)
