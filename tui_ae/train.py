"""The training loop. It knows nothing of Rich or Typer: it yields events, the CLI draws them.

    for event in train(config):   # Started, Step, EpochDone, in that order
        ...

A checkpoint is written after every epoch, so Ctrl-C or a fault loses at most
the epoch in progress.
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np
import torch

import tui_ae
from tui_ae import checkpoint, data
from tui_ae import step as step_module
from tui_ae.checkpoint_writer import CheckpointWriter
from tui_ae.config import TrainConfig, resolve_device
from tui_ae.errors import CheckpointError, NonFiniteLoss, TuiAeError, WriteError
from tui_ae.evaluation import evaluate_and_encode
from tui_ae.metrics_log import write_metrics
from tui_ae.models import build_model
from tui_ae.optim import AdamW
from tui_ae.schedule import Schedule, saved_steps
from tui_ae.step import GraphedStep, Metrics, TrainStep


@dataclass
class Preview:
    """Fixed validation digits, the first of each class, and the model's reconstructions of them."""

    labels: tuple[int, ...]
    originals: np.ndarray  # (n, 28, 28) float32 in [0, 1]
    reconstructions: np.ndarray  # (n, 28, 28); the VAE's decode its posterior mean


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
    preview: Preview | None = None  # the model as it starts (with config.preview)


@dataclass
class Step:
    epoch: int  # 1-based
    step: int  # batches done this epoch
    images: int  # images done this epoch
    seconds: float  # since the epoch began
    metrics: Metrics  # running means over the epoch so far (each read is a device sync)


@dataclass
class EpochDone:
    """An epoch's figures; its checkpoint is being written: on disk by the next EpochDone, or once train() is closed."""

    epoch: int
    train: Metrics
    val: Metrics
    seconds: float
    checkpoint: Path
    preview: Preview | None = None  # with config.preview
    warning: str | None = None  # what this epoch's figures suggest is wrong (a collapsed posterior), once a run


def map_of(model, codes: torch.Tensor, loader: data.DeviceLoader) -> Callable[[], checkpoint.LatentCodes] | None:
    """The explorer's and the figures' map of a split's codes, as a function; None above MAP_MAX_DIM dimensions.

    The codes come to the CPU now; their map (above 2 dimensions, the principal plane and the
    projections on it, and the spacing) is made by the function returned, which the checkpoint
    writer calls in its thread, while the next epoch trains.
    """
    if model.latent_dim > checkpoint.MAP_MAX_DIM:
        return None  # no map shows it (explore and figures refuse): eval needs none
    full = codes.cpu().numpy()  # (N, latent_dim); a device sync
    return partial(checkpoint.LatentCodes.of, full, loader.labels.to(torch.uint8).cpu().numpy())


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
        config.validate()  # before check_writable, which makes the folder: a refused run leaves nothing behind
        checkpoint.check_writable(path, replace=config.force)
        torch.manual_seed(config.seed)
        return config, build_model(config.model, latent_dim=config.latent_dim), None, None
    model, header, optimizer_state = checkpoint.load(path, kind=config.model)
    if model.latent_dim != config.latent_dim:
        raise TuiAeError(f"{path} has latent dimension {model.latent_dim}; pass --latent-dim {model.latent_dim}")
    config = config.resumed(header.meta["config"])
    config.validate()
    torch.manual_seed(config.seed)  # the checkpoint's seed
    done = len(header.meta["history"])
    if done >= config.epochs:
        raise TuiAeError(f"{path} has already trained {done} epochs: pass --epochs above {done} to go on")
    return config, model, header, optimizer_state


def _locate(config: TrainConfig, header, notify) -> tuple[Path, str]:
    """(folder, source name) of the data to train on: for a resumed run, the data its checkpoint was trained on."""
    if header is None:
        return data.locate(config.dataset, config.data_dir, notify=notify)
    _, stored = checkpoint.read_codes(config.checkpoint_path)
    return data.locate_resumed(header.meta, config.data_dir, stored.labels if stored else None, notify)


def train(config: TrainConfig, notify=print, log_every: int = 10) -> Iterator[Started | Step | EpochDone]:
    """Train, yielding events; a Step every `log_every` batches and at the end of each epoch."""
    config, model, header, optimizer_state = _start(config)
    path, device = config.checkpoint_path, resolve_device(config.device)
    history = header.meta["history"] if header else []
    if header:  # the metrics file says what the checkpoint says (each epoch writes the checkpoint, then the
        # metrics: one stopped between the two, or a metrics file lost, is mended here)
        write_metrics(path, history)

    raw_dir, source = _locate(config, header, notify)
    training_file = data.read_split(raw_dir, "train", source)
    train_set, val_set = data.train_val_split(training_file)
    fingerprint = data.fingerprint(training_file.labels.numpy())
    train_loader = data.DeviceLoader(train_set, config.batch_size, device, shuffle=True, seed=config.seed)
    val_loader = data.DeviceLoader(val_set, 4096, device, shuffle=False)
    model.to(device).train()
    set_kl_weight(model, config, epoch=1, fraction=0.0)
    schedule, steps_done = _schedule(config, len(train_loader), header)
    graphs = _graphs_wanted(config, device, schedule, notify)
    optimizer = AdamW(model.parameters(), config.lr, config.weight_decay, device)
    if optimizer_state is not None:
        try:
            optimizer.load_state_dict(optimizer_state)
        except ValueError as e:
            raise CheckpointError(f"{path} cannot be resumed: {e}") from None
    optimizer.set(schedule.lr(steps_done), schedule.beta1(steps_done))  # what the capture's warm-ups use
    forward = torch.compile(model) if config.compile else model
    step = TrainStep(model, optimizer, train_loader.images, grad_clip=config.grad_clip, amp=config.amp, forward=forward)
    run = _captured(step, train_loader, notify) if graphs else step
    loop = _Loop(config, model, step, run, optimizer, schedule, steps_done, train_loader)
    preview = _Previewer(model, val_set, device) if config.preview else None

    if loop.captured:
        # Each read of the metrics is a sync that idles the GPU while the progress display catches
        # up; at well under a millisecond a step, a few reads an epoch are enough.
        log_every = max(log_every, len(train_loader) // 4)
    yield Started(
        device=str(device),
        data_source=source,
        train_images=len(train_set),
        val_images=len(val_set),
        start_epoch=len(history),
        epochs=config.epochs,
        steps_per_epoch=len(train_loader),
        cuda_graphs=loop.captured,
        preview=preview.collect(preview.launch()) if preview else None,
    )
    warned = False

    def check(metrics: Metrics, epoch: int) -> None:
        _check_finite(metrics, epoch, path, len(history))

    writer = CheckpointWriter()
    with _what_is_kept_said(path, writer, len(history)), writer, _long_lived_objects_frozen():
        for epoch in range(len(history) + 1, config.epochs + 1):
            started = time.perf_counter()
            train_metrics, seen = yield from loop.epoch(epoch, log_every, check)
            train_seconds = time.perf_counter() - started
            reconstructions = preview.launch() if preview else None  # waited for by evaluate's sync
            val_metrics, val_codes = evaluate_and_encode(model, val_loader)
            check(val_metrics, epoch)
            seconds = time.perf_counter() - started
            history.append(
                {
                    "epoch": epoch,
                    "train": train_metrics,
                    "val": val_metrics,
                    "lr": loop.next_lr(),
                    "seconds": round(seconds, 3),
                    "train_seconds": round(train_seconds, 3),
                    "images_per_second": round(seen / train_seconds),
                    "device": str(device),
                }
            )
            meta = _meta(
                config, source, fingerprint, history, schedule.state(loop.steps_done), cuda_graphs=loop.captured
            )
            writer.save(path, model, meta, optimizer, map_of(model, val_codes, val_loader), metrics=history)
            warning = None
            if not warned and _collapsed(config, epoch, train_metrics, val_metrics):
                warned = True
                warning = (
                    f"warning: the KL term stayed below {COLLAPSE_NATS} nats per image in epoch {epoch}: the "
                    "posterior may have collapsed (the codes say little of the image); try a smaller --beta or "
                    "a longer --kl-warmup"
                )
            done = preview.collect(reconstructions) if preview else None
            yield EpochDone(epoch, train_metrics, val_metrics, seconds, path, done, warning)


@contextlib.contextmanager
def _what_is_kept_said(path: Path, writer: CheckpointWriter, epochs_before: int) -> Iterator[None]:
    """A failed write (a full disk) stops the run with what the checkpoint on disk now holds."""
    existed = path.exists()
    try:
        yield
    except WriteError as e:
        if epochs_after := epochs_before + writer.written:
            kept = f"the checkpoint of epoch {epochs_after} is kept at {path}"
        elif existed:
            kept = f"{path} is as it was before this run"
        else:
            kept = "no checkpoint was written"
        raise WriteError(f"{e}: training stopped; {kept}") from None


@contextlib.contextmanager
def _long_lived_objects_frozen() -> Iterator[None]:
    """Keep Python's full garbage collections off the millions of objects torch's import made.

    Each full collection walks every live object: a pause of a few hundred milliseconds that
    stops the loop (and the GPU it feeds) a few times a run. What exists before the epochs
    lives as long as the run, so it is frozen out of the collector's sight (as the explorer
    does), and thawed when training ends.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


COLLAPSE_NATS = 0.1  # a KL below this, per image, means the codes carry next to nothing


def _collapsed(config: TrainConfig, epoch: int, train_metrics: Metrics, val_metrics: Metrics) -> bool:
    """The VAE's KL below COLLAPSE_NATS over a whole epoch (training and validation), its warm-up over."""
    if config.model != "vae" or epoch <= config.kl_warmup:
        return False
    return train_metrics["kl"] < COLLAPSE_NATS and val_metrics["kl"] < COLLAPSE_NATS


def set_kl_weight(model, config: TrainConfig, epoch: int, fraction: float) -> None:
    """The VAE's KL weight at this point of the run: --beta, ramped up from 0 over --kl-warmup epochs."""
    if model.kind != "vae":
        return
    ramp = min(1.0, (epoch - 1 + fraction) / config.kl_warmup) if config.kl_warmup else 1.0
    model.kl_weight.fill_(config.beta * ramp)


@dataclass
class _Loop:
    """What an epoch of training steps needs."""

    config: TrainConfig
    model: torch.nn.Module
    step: TrainStep
    run: TrainStep | GraphedStep  # the step itself, or its capture
    optimizer: AdamW
    schedule: Schedule
    steps_done: int  # over the whole run, resumed ones included: the schedule's clock
    loader: data.DeviceLoader

    @property
    def captured(self) -> bool:
        return self.run is not self.step

    def next_lr(self) -> float:
        """The lr of the next step, which the history records as the epoch's (as OneCycleLR's last lr was)."""
        return self.schedule.lr(self.steps_done)

    def epoch(self, epoch: int, log_every: int, check) -> Generator[Step, None, tuple[Metrics, int]]:
        """The epoch's steps, yielding a Step every log_every of them; returns (running means, images seen)."""
        self.model.train()
        self.loader.set_epoch(epoch)
        batches = self.loader.batches()
        started, seen = time.perf_counter(), 0
        self.step.sums.zero_()
        for i, idx in enumerate(batches, 1):
            if self.config.kl_warmup:
                set_kl_weight(self.model, self.config, epoch, i / len(batches))
            self.optimizer.set(self.schedule.lr(self.steps_done), self.schedule.beta1(self.steps_done))
            self.run(idx)
            self.steps_done += 1
            seen += len(idx)
            if i % log_every == 0 or i == len(batches):
                metrics = self.step.means(seen)  # a device sync
                check(metrics, epoch)
                yield Step(epoch, i, seen, time.perf_counter() - started, metrics)
        return metrics, seen


class _Previewer:
    """Reconstructions of fixed validation digits, the first of each class, for the live strip."""

    def __init__(self, model, digits: data.Digits, device: torch.device) -> None:
        firsts = torch.from_numpy(data.first_of_each_class(digits.labels.numpy()))
        self.model, self.labels = model, tuple(digits.labels[firsts].tolist())
        self.x = digits.images[firsts].to(device).unsqueeze(1).float() / 255  # (n, 1, 28, 28)
        self.originals = self.x[:, 0].cpu().numpy()

    def launch(self) -> torch.Tensor:
        """The reconstructions (the VAE's of its posterior mean), queued on the device and not waited for."""
        was_training = self.model.training
        self.model.eval()
        reconstructions = self.model.reconstruct(self.x).images[:, 0].float()
        self.model.train(was_training)
        return reconstructions

    def collect(self, reconstructions: torch.Tensor) -> Preview:
        return Preview(self.labels, self.originals, reconstructions.cpu().numpy())


def _schedule(config: TrainConfig, steps_per_epoch: int, header) -> tuple[Schedule, int]:
    """(the run's schedule, the steps it has taken): a new run's, or the one its checkpoint was following.

    A one-cycle schedule spans exactly the steps the run takes. New runs keep beta1 at 0.9 on
    every device (a captured step cannot vary it; BENCHMARKS.md, "One schedule on every path");
    runs saved before that cycled it on the CPU, and go on doing so.
    """
    total = config.epochs * steps_per_epoch
    if header is None:
        return Schedule(config.lr, total, one_cycle=config.schedule == "onecycle"), 0
    done = len(header.meta["history"]) * steps_per_epoch
    if config.schedule != "onecycle":
        return Schedule(config.lr, total, one_cycle=False), done
    try:
        saved_total, done, cycle_momentum = saved_steps(header.meta.get("scheduler"))
    except ValueError as e:
        raise CheckpointError(f"{config.checkpoint_path} cannot be resumed: {e}") from None
    if saved_total != total:
        raise TuiAeError(
            f"{config.checkpoint_path}'s one-cycle schedule was planned for {saved_total:,} steps, and "
            f"this run would take {total:,}: resume it on the data it was trained on"
        )
    return Schedule(config.lr, total, one_cycle=True, cycle_momentum=cycle_momentum), done


def _graphs_wanted(config: TrainConfig, device: torch.device, schedule: Schedule, notify) -> bool:
    """Whether to capture the step: on CUDA, unless turned off, compiled, or resuming a run whose beta1 cycles."""
    if not (config.cuda_graphs and step_module.graphs_available(device)) or config.compile:
        return False
    if schedule.cycle_momentum:
        # The fused step reads beta1 once, at capture; this run's schedule varies it every step.
        notify("this run's schedule cycles Adam's momentum, which a CUDA graph cannot follow: it resumes eagerly")
        return False
    return True


def _captured(step: TrainStep, loader: data.DeviceLoader, notify) -> TrainStep | GraphedStep:
    """The step captured as a CUDA graph; if capture fails, the step itself, with a one-line notice."""
    idx = torch.arange(min(loader.batch_size, loader.num_images), device=loader.images.device)
    try:
        return step_module.capture(step, idx)
    except RuntimeError as e:  # what CUDA and the capture raise
        notify(f"CUDA graph capture failed, training eagerly instead: {str(e).splitlines()[0]}")
        step.optimizer.zero_grad()
        return step


def _meta(
    config: TrainConfig,
    source: str,
    training_file: dict,
    history: list[dict],
    scheduler: dict | None,
    cuda_graphs: bool,
) -> dict:
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    return {
        "dataset": config.dataset,
        "data_source": source,
        "training_file": training_file,  # data.fingerprint(): what --resume checks its data against
        "epochs_done": len(history),
        "best_val_loss": min(h["val"]["loss"] for h in history),
        "history": history,
        "recipe": config.recipe,
        "config": settings,
        "scheduler": scheduler,  # Schedule.state(): None for a constant lr
        "cuda_graphs": cuda_graphs,
        "versions": {"tui_ae": tui_ae.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
