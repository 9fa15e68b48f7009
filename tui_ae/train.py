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
from tui_ae.config import TrainConfig, resolve_device
from tui_ae.errors import TuiAeError
from tui_ae.models import build_model

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


@dataclass
class Step:
    epoch: int  # 1-based
    step: int  # batches done this epoch
    images: int  # images done this epoch
    seconds: float  # since the epoch began
    metrics: Metrics | None  # running means, only every `log_every` steps (each read is a device sync)


@dataclass
class EpochDone:
    epoch: int
    train: Metrics
    val: Metrics
    seconds: float
    checkpoint: Path


def evaluate(model, loader: data.DeviceLoader) -> Metrics:
    """Mean of every loss term over a whole split."""
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for x, _ in loader:
            _, losses = model(x)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0) + v.detach().float() * len(x)
    model.train(was_training)
    return {k: v.item() / loader.num_images for k, v in sums.items()}  # one sync per metric


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
    torch.manual_seed(config.seed)
    if not config.resume:
        config = config.resolved()
        checkpoint.check_writable(path, replace=config.force)
        config.validate()
        return config, build_model(config.model, latent_dim=config.latent_dim), None, None
    model, header, optimizer_state = checkpoint.load(path, kind=config.model)
    if model.latent_dim != config.latent_dim:
        raise TuiAeError(f"{path} has latent dimension {model.latent_dim}; pass --latent-dim {model.latent_dim}")
    config = config.resumed(header.meta["config"])
    config.validate()
    done = len(header.meta["history"])
    if done >= config.epochs:
        raise TuiAeError(f"{path} has already trained {done} epochs: pass --epochs above {done} to go on")
    for group in optimizer_state["param_groups"]:  # implementation flags belong to this run's device
        for flag in ("fused", "foreach", "capturable"):
            group.pop(flag, None)
    return config, model, header, optimizer_state


def train(config: TrainConfig, notify=print, log_every: int = 10) -> Iterator[Started | Step | EpochDone]:
    config, model, header, optimizer_state = _start(config)
    path, device = config.checkpoint_path, resolve_device(config.device)
    history = header.meta["history"] if header else []
    start_epoch = len(history)

    raw_dir, source = data.locate(config.dataset, config.data_dir, notify=notify)
    train_set, val_set = data.train_val_split(data.read_split(raw_dir, "train", source))
    train_loader = data.DeviceLoader(train_set, config.batch_size, device, shuffle=True, seed=config.seed)
    val_loader = data.DeviceLoader(val_set, 1024, device, shuffle=False)
    model.to(device).train()
    # AdamW with weight_decay 0 is Adam. Fused: one kernel for all parameters on CUDA.
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=device.type == "cuda"
    )
    scheduler = None
    if config.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, config.lr, total_steps=config.epochs * len(train_loader)
        )
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
        if scheduler is not None and header.meta.get("scheduler"):
            scheduler.load_state_dict(header.meta["scheduler"])
    step_fn = torch.compile(model) if config.compile else model
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=config.amp and device.type == "cuda")

    yield Started(str(device), source, len(train_set), len(val_set), start_epoch, config.epochs, len(train_loader))
    for epoch in range(start_epoch + 1, config.epochs + 1):
        model.train()
        train_loader.set_epoch(epoch)
        started, sums, seen = time.perf_counter(), {}, 0
        for step, (x, _) in enumerate(train_loader, 1):
            if config.kl_warmup:  # the VAE's KL weight rises linearly from 0 to 1
                model.kl_weight = min(1.0, (epoch - 1 + step / len(train_loader)) / config.kl_warmup)
            with autocast:
                _, losses = step_fn(x)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            seen += len(x)
            for k, v in losses.items():
                sums[k] = sums.get(k, 0) + v.detach().float() * len(x)
            metrics = None
            if step % log_every == 0 or step == len(train_loader):
                metrics = {k: v.item() / seen for k, v in sums.items()}  # device sync
                _check_finite(metrics, epoch, path, len(history))
            yield Step(epoch, step, seen, time.perf_counter() - started, metrics)
        train_metrics = metrics
        val_metrics = evaluate(model, val_loader)
        _check_finite(val_metrics, epoch, path, len(history))
        seconds = time.perf_counter() - started
        history.append({"epoch": epoch, "train": train_metrics, "val": val_metrics, "seconds": round(seconds, 3)})
        meta = _meta(config, source, history, scheduler)
        checkpoint.save(path, model, meta, optimizer, encode_all(model, val_loader))
        yield EpochDone(epoch, train_metrics, val_metrics, seconds, path)


def _meta(config: TrainConfig, source: str, history: list[dict], scheduler) -> dict:
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    return {
        "dataset": config.dataset,
        "data_source": source,
        "epochs_done": len(history),
        "best_val_loss": min(h["val"]["loss"] for h in history),
        "history": history,
        "recipe": config.recipe,
        "config": settings,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
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
    test = data.read_test_digits(header.meta, data_dir, notify=notify)
    torch.manual_seed(0)  # the VAE's ELBO draws one sample per image
    loader = data.DeviceLoader(test, 1024, torch_device, shuffle=False)
    return header, {**evaluate(model, loader), "images": loader.num_images}
