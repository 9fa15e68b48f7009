"""The training loop. It knows nothing of Rich or Typer: it yields events, the CLI draws them.

    for event in train(config):   # Started, Step, EpochDone, in that order
        ...

A checkpoint is written after every epoch, so Ctrl-C or a fault loses at most
the epoch in progress.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

import tui_ae
from tui_ae import checkpoint, data
from tui_ae import step as step_module
from tui_ae.config import TrainConfig, resolve_device
from tui_ae.errors import TuiAeError
from tui_ae.models import build_model
from tui_ae.step import GraphedStep, TrainStep, build_optimizer, keep_lr_tensor, load_optimizer_state

Metrics = dict[str, float]


class NonFiniteLoss(TuiAeError):
    """The loss became NaN or infinite."""


@dataclass
class Started:
    device: str
    data_source: str
    train_images: int
    val_images: int
    start_epoch: int  # epochs already done (resume)
    epochs: int
    steps_per_epoch: int
    cuda_graphs: bool = False  # whether each step is a replay of a captured CUDA graph


@dataclass
class Step:
    epoch: int  # 1-based
    step: int  # batches done this epoch
    images: int  # images done this epoch
    seconds: float  # since the epoch began
    metrics: Metrics | None  # running means, only every `log_every` steps (each read is a device sync)


@dataclass
class EpochDone:
    """An epoch's figures; its checkpoint is being written, and is on disk once the next event comes or train() ends."""

    epoch: int
    train: Metrics
    val: Metrics
    seconds: float
    checkpoint: Path


def evaluate(model, loader: data.DeviceLoader) -> Metrics:
    """Mean of every loss term over a whole split."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(len(model.METRICS), device=loader.labels.device)
    with torch.no_grad():
        for x, _ in loader:
            _, losses = model(x)
            sums += torch.stack([losses[name].float() for name in model.METRICS]) * len(x)
    model.train(was_training)
    return dict(zip(model.METRICS, (sums / loader.num_images).tolist()))  # one device sync


def encode_all(model, loader: data.DeviceLoader) -> checkpoint.LatentCodes:
    """Every image of the loader encoded (the VAE's means), in order, for the explorer's maps."""
    model.eval()
    with torch.no_grad():
        points = torch.cat([model.encode(x).float() for x, _ in loader])
    return checkpoint.LatentCodes(points[:, :2].cpu().numpy(), loader.labels.to(torch.uint8).cpu().numpy())


def _check_finite(metrics: Metrics, epoch: int, path: Path, last_saved: int) -> None:
    if not all(math.isfinite(v) for v in metrics.values()):
        kept = f"the checkpoint of epoch {last_saved} is kept at {path}" if last_saved else "no checkpoint was written"
        raise NonFiniteLoss(
            f"loss became {metrics['loss']} in epoch {epoch}: training stopped; {kept}. Try a lower --lr."
        )


def _start(config: TrainConfig):
    """(settings, model, header, optimizer state): a new run's, or those of the checkpoint it resumes.

    Everything a user could get wrong is checked here, before any data is read.
    """
    path = config.checkpoint_path
    if not config.resume:
        config = config.resolved()
        torch.manual_seed(config.seed)
        checkpoint.check_writable(path, replace=config.force)
        config.validate()
        return config, build_model(config.model, latent_dim=config.latent_dim), None, None
    model, header, optimizer_state = checkpoint.load(path, kind=config.model)
    if model.latent_dim != config.latent_dim:
        raise TuiAeError(f"{path} has latent dimension {model.latent_dim}; pass --latent-dim {model.latent_dim}")
    config = config.resumed(header.meta["config"])
    torch.manual_seed(config.seed)  # the checkpoint's seed
    config.validate()
    done = len(header.meta["history"])
    if done >= config.epochs:
        raise TuiAeError(f"{path} has already trained {done} epochs: pass --epochs above {done} to go on")
    return config, model, header, optimizer_state


def train(config: TrainConfig, notify=print, log_every: int = 10) -> Iterator[Started | Step | EpochDone]:
    """Train, yielding events; a Step every `log_every` batches and at the end of each epoch."""
    config, model, header, optimizer_state = _start(config)
    path, device = config.checkpoint_path, resolve_device(config.device)
    history = header.meta["history"] if header else []
    start_epoch = len(history)

    raw_dir, source = data.locate(config.dataset, config.data_dir, notify=notify)
    train_set, val_set = data.train_val_split(data.read_split(raw_dir, "train", source))
    train_loader = data.DeviceLoader(train_set, config.batch_size, device, shuffle=True, seed=config.seed)
    val_loader = data.DeviceLoader(val_set, 4096, device, shuffle=False)
    model.to(device).train()
    graphs = _graphs_wanted(config, device, header, notify)
    optimizer = build_optimizer(model, config.lr, config.weight_decay, device)
    lr = optimizer.param_groups[0]["lr"]  # on CUDA a device tensor, which a captured step reads
    scheduler = _scheduler(optimizer, config, len(train_loader), cycle_momentum=not graphs)
    if optimizer_state is not None:
        load_optimizer_state(optimizer, optimizer_state)
        if scheduler is not None:
            scheduler.load_state_dict(header.meta["scheduler"])
    keep_lr_tensor(optimizer.param_groups[0], lr)
    forward = torch.compile(model) if config.compile else model
    step = TrainStep(model, optimizer, train_loader.images, grad_clip=config.grad_clip, amp=config.amp,
                     forward=forward)  # fmt: skip
    run = _captured(step, train_loader, notify) if graphs else step

    if run is not step:
        # Each read of the metrics is a sync that idles the GPU while the progress display catches
        # up; at well under a millisecond a step, a few reads an epoch are enough.
        log_every = max(log_every, len(train_loader) // 4)
    yield Started(str(device), source, len(train_set), len(val_set), start_epoch, config.epochs,
                  len(train_loader), cuda_graphs=run is not step)  # fmt: skip
    with checkpoint.Writer() as writer:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            model.train()
            train_loader.set_epoch(epoch)
            batches = train_loader.batches()
            started, seen = time.perf_counter(), 0
            step.sums.zero_()
            for i, idx in enumerate(batches, 1):
                if config.kl_warmup and model.kind == "vae":  # the KL weight rises linearly from 0 to 1
                    model.kl_weight.fill_(min(1.0, (epoch - 1 + i / len(batches)) / config.kl_warmup))
                run(idx)
                if scheduler is not None:
                    scheduler.step()
                    keep_lr_tensor(optimizer.param_groups[0], lr)
                seen += len(idx)
                if i % log_every == 0 or i == len(batches):
                    metrics = step.means(seen)  # a device sync
                    _check_finite(metrics, epoch, path, len(history))
                    yield Step(epoch, i, seen, time.perf_counter() - started, metrics)
            train_seconds = time.perf_counter() - started
            val_metrics = evaluate(model, val_loader)
            _check_finite(val_metrics, epoch, path, len(history))
            seconds = time.perf_counter() - started
            history.append({"epoch": epoch, "train": metrics, "val": val_metrics, "seconds": round(seconds, 3),
                            "train_seconds": round(train_seconds, 3)})  # fmt: skip
            meta = _meta(config, source, history, scheduler, cuda_graphs=run is not step)
            writer.save(path, model, meta, optimizer, encode_all(model, val_loader))
            yield EpochDone(epoch, metrics, val_metrics, seconds, path)


def _graphs_wanted(config: TrainConfig, device: torch.device, header, notify) -> bool:
    """Whether to capture the step: on CUDA, unless turned off, compiled, or resuming a schedule graphs can't follow."""
    if not (config.cuda_graphs and step_module.graphs_available(device)) or config.compile:
        return False
    saved = header.meta.get("scheduler") if header else None
    if saved and saved.get("cycle_momentum"):
        # Fused Adam reads beta1 once, at capture; this run's one-cycle schedule varies it every step.
        notify("this run's schedule cycles Adam's momentum, which a CUDA graph cannot follow: it resumes eagerly")
        return False
    return True


def _scheduler(optimizer, config: TrainConfig, steps_per_epoch: int, cycle_momentum: bool):
    """The one-cycle schedule over exactly the steps the run takes, or None for a constant lr.

    Captured steps cannot follow OneCycleLR's momentum cycle (fused Adam reads beta1 at
    capture), so with CUDA graphs it is off: beta1 stays Adam's 0.9. The checkpoint
    records which (its scheduler state), and a resumed run keeps it.
    """
    if config.schedule != "onecycle":
        return None
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, config.lr, total_steps=config.epochs * steps_per_epoch, cycle_momentum=cycle_momentum
    )


def _captured(step: TrainStep, loader: data.DeviceLoader, notify) -> TrainStep | GraphedStep:
    """The step captured as a CUDA graph; if capture fails, the step itself, with a one-line notice."""
    idx = torch.arange(min(loader.batch_size, loader.num_images), device=loader.images.device)
    try:
        return step_module.capture(step, idx)
    except RuntimeError as e:  # what CUDA and the capture raise
        notify(f"CUDA graph capture failed, training eagerly instead: {str(e).splitlines()[0]}")
        step.optimizer.zero_grad(set_to_none=True)
        return step


def _meta(config: TrainConfig, source: str, history: list[dict], scheduler, cuda_graphs: bool) -> dict:
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    return {
        "dataset": config.dataset,
        "data_source": source,
        "epochs_done": len(history),
        "best_val_loss": min(h["val"]["loss"] for h in history),
        "history": history,
        "recipe": config.recipe,
        "config": settings,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,  # its tensors saved as floats
        "cuda_graphs": cuda_graphs,
        "versions": {"tui_ae": tui_ae.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def evaluate_checkpoint(
    path: Path, data_dir: Path | None = None, device: str = "auto", notify=print
) -> tuple[checkpoint.Header, Metrics]:
    """A checkpoint's metrics on its data set's test images (10,000; the embedded sample's 2,000).

    metrics["images"] says how many."""
    torch_device = resolve_device(device)
    model, header, _ = checkpoint.load(path, device=torch_device)
    data_dir = data_dir or data.recorded_dir(header.meta.get("data_source", ""))
    raw_dir, source = data.locate(header.meta["dataset"], data_dir, notify=notify)
    torch.manual_seed(0)  # the VAE's ELBO draws one sample per image
    loader = data.DeviceLoader(data.read_split(raw_dir, "test", source), 1024, torch_device, shuffle=False)
    return header, {**evaluate(model, loader), "images": loader.num_images}
