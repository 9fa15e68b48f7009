"""The training step both paths share, run eagerly on the CPU.

Capture itself needs a GPU: benchmarks/gpu_check.py runs it there."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tui_ae import checkpoint, data
from tui_ae import step as step_module
from tui_ae.config import TrainConfig
from tui_ae.errors import CheckpointError
from tui_ae.evaluation import evaluate
from tui_ae.models import VAE, build_model
from tui_ae.optim import AdamW
from tui_ae.schedule import Schedule
from tui_ae.step import TrainStep
from tui_ae.train import Started, train

CPU = torch.device("cpu")


def _step(kind: str = "ae", seed: int = 0, **kwargs) -> TrainStep:
    torch.manual_seed(seed)
    model = build_model(kind)
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    return TrainStep(model, AdamW(model.parameters(), 1e-3, 0.0, CPU), images, **kwargs)


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


def test_the_kl_weight_is_a_tensor_and_not_part_of_the_checkpoint():
    vae = VAE()
    assert torch.is_tensor(vae.kl_weight) and "kl_weight" not in vae.state_dict()


# -- the loop with a capture: a CPU stand-in for the graph, the real loop around it ----------------------------


class ReplayEagerly:
    """Stands in for a CUDAGraph on the CPU: a replay runs the captured step on the static buffer.

    A real graph replays the beta1 it was captured with (the fused step reads it as a number): so must the loop.
    """

    def __init__(self, step: TrainStep, static_idx: torch.Tensor) -> None:
        self.step, self.static_idx, self.replays = step, static_idx, 0
        self.beta1 = step.optimizer.beta1

    def replay(self) -> None:
        assert self.step.optimizer.beta1 == self.beta1, "beta1 changed after the capture, which a graph cannot follow"
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


def record_hyper_parameters(monkeypatch) -> list[tuple[float, float]]:
    """The (lr, beta1) of every AdamW step from now on, in order."""
    seen: list[tuple[float, float]] = []
    real_step = AdamW.step

    def step(self: AdamW) -> None:
        seen.append((float(self.lr), self.beta1))
        real_step(self)

    monkeypatch.setattr(AdamW, "step", step)
    return seen


def test_the_loop_around_a_capture_replays_full_batches_and_runs_the_partial_one_eagerly(
    tiny_mnist, tmp_path, monkeypatch
):
    """The plumbing only: on the CPU the "graph" (ReplayEagerly) replays the eager step, so this covers the loop
    around a capture (the static buffer each batch is copied into, one replay a full batch, the partial batch run
    eagerly, the same lr and beta1 at each step, what the checkpoint records), not CUDA's capture, which
    benchmarks/gpu_check.py checks on a GPU.

    200 images at batch 48: four replays and one partial batch, run eagerly, per epoch."""
    eager_steps = record_hyper_parameters(monkeypatch)
    eager = list(train(_config(tiny_mnist, tmp_path, "eager", cuda_graphs=False)))
    monkeypatch.undo()
    graphs = []
    captured_steps = record_hyper_parameters(monkeypatch)
    monkeypatch.setattr(step_module, "graphs_available", lambda device: True)
    monkeypatch.setattr(step_module, "record", lambda *args: graphs.append(record_on_cpu(*args)) or graphs[-1])
    captured = list(train(_config(tiny_mnist, tmp_path, "captured"), notify=pytest.fail))
    assert captured[0].cuda_graphs and not eager[0].cuda_graphs
    assert graphs[0][0].replays == 2 * 4
    schedule = Schedule(2e-3, 10, one_cycle=True)  # the VAE's best recipe: one-cycle to 2e-3, beta1 0.9 throughout
    assert eager_steps == captured_steps[3:] == [(schedule.lr(t), 0.9) for t in range(10)]  # after 3 warm-ups
    a, _, _ = checkpoint.load(tmp_path / "eager.safetensors")
    b, header, _ = checkpoint.load(tmp_path / "captured.safetensors")
    _assert_same_weights(a, b)
    assert header.meta["cuda_graphs"] and header.meta["scheduler"] == {"total_steps": 10, "last_epoch": 10,
                                                                     "cycle_momentum": False}  # fmt: skip


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


# -- checkpoints written with torch's AdamW and OneCycleLR (tui-ae up to 6183c28) still resume ------------------


def train_the_old_way(config: TrainConfig, epochs: int, cycle_momentum: bool):
    """Epochs 1..epochs as tui-ae ran them before it owned its optimizer: torch.optim.AdamW and OneCycleLR
    around the same step and batches. (model, optimizer, scheduler, history)."""
    config = config.resolved()
    raw_dir = data.find_raw_dir("mnist", config.data_dir)
    train_set, val_set = data.train_val_split(data.read_split(raw_dir, "train", "x"))
    loader = data.DeviceLoader(train_set, config.batch_size, CPU, shuffle=True, seed=config.seed)
    torch.manual_seed(config.seed)
    model = build_model(config.model, latent_dim=config.latent_dim)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.epochs * len(loader),
                                                    cycle_momentum=cycle_momentum)  # fmt: skip
    step = TrainStep(model, optimizer, loader.images, grad_clip=config.grad_clip)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        loader.set_epoch(epoch)
        step.sums.zero_()
        for idx in loader.batches():
            step(idx)
            scheduler.step()
        val = evaluate(model, data.DeviceLoader(val_set, 4096, CPU, shuffle=False))
        history.append({"epoch": epoch, "train": step.means(len(train_set)), "val": val,
                        "lr": scheduler.get_last_lr()[0], "seconds": 1.0, "train_seconds": 1.0,
                        "images_per_second": 1, "device": "cpu"})  # fmt: skip
    return model, optimizer, scheduler, history


def write_old_checkpoint(path, config: TrainConfig, model, optimizer, scheduler, history, as_cuda_wrote_it: bool):
    """The file as tui-ae's writer made it then: Adam's state under optimizer/<index>/<key>, torch's param groups
    in optimizer_groups, OneCycleLR.state_dict() in the metadata. A CUDA run's groups were fused and capturable,
    its lr a float32 tensor (saved as its number)."""
    config = config.resolved()
    state = optimizer.state_dict()
    groups = state["param_groups"]
    if as_cuda_wrote_it:
        groups = [{**group, "fused": True, "capturable": True, "lr": torch.tensor(group["lr"], dtype=torch.float32)}
                  for group in groups]  # fmt: skip
    tensors = {f"model/{k}": v.detach().clone() for k, v in model.state_dict().items()}
    tensors |= {f"optimizer/{i}/{k}": v.clone() for i, entry in state["state"].items() for k, v in entry.items()}
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    meta = {"dataset": "mnist", "data_source": "mnist:x", "epochs_done": len(history), "history": history,
            "best_val_loss": min(h["val"]["loss"] for h in history), "recipe": config.recipe, "config": settings,
            "scheduler": scheduler.state_dict(), "cuda_graphs": as_cuda_wrote_it, "date": ""}  # fmt: skip
    doc = {"format": "tui-ae/1", "kind": model.kind, "model_args": {"latent_dim": model.latent_dim}, "meta": meta,
           "optimizer_groups": groups}  # fmt: skip
    save_file(tensors, str(path), metadata={"tui_ae": json.dumps(doc, default=lambda t: t.tolist())})


@pytest.mark.parametrize("as_cuda_wrote_it", [False, True], ids=["cpu-run-cycling-beta1", "cuda-run-fused"])
def test_a_checkpoint_of_torchs_adamw_and_onecyclelr_resumes_as_if_never_stopped(
    tiny_mnist, tmp_path, monkeypatch, as_cuda_wrote_it
):
    """Epoch 1 the old way, saved as it was saved; epoch 2 by this code: the weights of two uninterrupted epochs,
    the old way, bit for bit. A CPU run then cycled beta1 and resumes doing so, eagerly even where graphs are
    on (here through the capture seam); a CUDA run's file resumes on the CPU, and captured."""
    config = _config(tiny_mnist, tmp_path, "old", model="ae", kl_warmup=0, weight_decay=0.05)
    cycled = not as_cuda_wrote_it  # as the two paths ran then
    whole, *_ = train_the_old_way(config, epochs=2, cycle_momentum=cycled)
    write_old_checkpoint(config.out, config, *train_the_old_way(config, epochs=1, cycle_momentum=cycled),
                         as_cuda_wrote_it=as_cuda_wrote_it)  # fmt: skip
    graphs = []
    monkeypatch.setattr(step_module, "graphs_available", lambda device: True)
    monkeypatch.setattr(step_module, "record", lambda *args: graphs.append(record_on_cpu(*args)) or graphs[-1])
    notices: list[str] = []
    events = list(train(TrainConfig(model="ae", data_dir=tiny_mnist, device="cpu", out=config.out, resume=True),
                        notify=notices.append))  # fmt: skip
    assert events[0].start_epoch == 1 and events[0].cuda_graphs == as_cuda_wrote_it
    assert notices == ([] if as_cuda_wrote_it else ["this run's schedule cycles Adam's momentum, which a CUDA graph "
                                                    "cannot follow: it resumes eagerly"])  # fmt: skip
    resumed, header, optimizer_state = checkpoint.load(config.out)
    _assert_same_weights(whole, resumed)
    assert header.meta["scheduler"] == {"total_steps": 10, "last_epoch": 10, "cycle_momentum": cycled}
    assert optimizer_state["state"][0]["step"].item() == 10


def test_a_new_run_trains_as_torchs_adamw_and_onecyclelr_did_on_the_cpu(tiny_mnist, tmp_path):
    """Bit for bit, without the momentum cycle (which new runs leave out on every device), decoupled weight decay on."""
    config = _config(tiny_mnist, tmp_path, "new", model="ae", kl_warmup=0, weight_decay=0.05)
    old, *_ = train_the_old_way(config, epochs=2, cycle_momentum=False)
    list(train(config))
    new, _, _ = checkpoint.load(config.out)
    _assert_same_weights(old, new)


def test_an_optimizer_state_that_does_not_fit_the_model_is_refused_in_one_line(tiny_mnist, tmp_path):
    config = _config(tiny_mnist, tmp_path, "old", model="ae", kl_warmup=0)
    model, optimizer, scheduler, history = train_the_old_way(config, epochs=1, cycle_momentum=False)
    del optimizer.state[next(model.parameters())]["exp_avg"]
    write_old_checkpoint(config.out, config, model, optimizer, scheduler, history, as_cuda_wrote_it=False)
    before = config.out.read_bytes()
    with pytest.raises(CheckpointError, match="cannot be resumed: its optimizer state of parameter 0 lacks one of"):
        list(train(TrainConfig(model="ae", data_dir=tiny_mnist, device="cpu", out=config.out, resume=True)))
    assert config.out.read_bytes() == before
