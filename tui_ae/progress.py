"""Training progress drawn with Rich, from the events that train() yields.

On a terminal: a live bar per epoch in the manner of PyTorch Lightning's
RichProgressBar, epoch lines above it, a summary table at the end. When output
is not a terminal (nohup, SLURM, CI, `> file`) Rich would draw only a final
frame, so there it prints one plain line per epoch and no control codes.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tui_ae.config import TrainConfig
from tui_ae.errors import TuiAeError
from tui_ae.train import EpochDone, NonFiniteLoss, Started, Step, train

__all__ = ["Interrupted", "NonFiniteLoss", "run"]

SHOWN = {"ae": ("loss",), "vae": ("loss", "recon", "kl")}  # running metrics on the bar


class Interrupted(TuiAeError):
    """Ctrl-C during training."""


def _format(metrics: dict[str, float], keys: tuple[str, ...]) -> str:
    return " ".join(f"{k} {metrics[k]:.4g}" for k in keys)


def _epoch_line(event: EpochDone, epochs: int, kind: str) -> str:
    line = f"Epoch {event.epoch}/{epochs}  train loss {event.train['loss']:.6g}  val loss {event.val['loss']:.6g}"
    if kind == "vae":
        line += f" (recon {event.val['recon']:.2f} + KL {event.val['kl']:.2f} nats; MSE {event.val['mse']:.5f})"
    return f"{line}  {event.seconds:.1f}s"


def _summary(done: list[EpochDone], kind: str) -> Table:
    table = Table(title=f"{kind.upper()} training")
    keys = SHOWN[kind] + ("mse",) if kind == "vae" else ("loss",)
    table.add_column("epoch", justify="right")
    table.add_column("train loss", justify="right")
    for key in keys:
        table.add_column(f"val {key}", justify="right")
    table.add_column("time", justify="right")
    for event in done:
        table.add_row(
            str(event.epoch),
            f"{event.train['loss']:.6g}",
            *(f"{event.val[k]:.6g}" for k in keys),
            f"{event.seconds:.1f}s",
        )
    return table


def run(config: TrainConfig, console: Console) -> list[EpochDone]:
    """Train with a progress display; the epochs done, or Interrupted on Ctrl-C."""
    live = console.is_terminal
    progress = Progress(
        TextColumn("Epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("•"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[speed]} img/s  {task.fields[metrics]}"),
        console=console,
        disable=not live,
    )
    done: list[EpochDone] = []
    started: Started | None = None
    task = None
    try:
        with progress:
            for event in train(config, notify=lambda message: console.print(message, markup=False)):
                if isinstance(event, Started):
                    started = event
                    resumed = f", resuming after epoch {event.start_epoch}" if event.start_epoch else ""
                    console.print(
                        f"Training {config.model.upper()} on {event.device}: {event.train_images:,} train / "
                        f"{event.val_images:,} validation images ({event.data_source}){resumed}",
                        markup=False,
                    )
                elif isinstance(event, Step):
                    if task is None:
                        task = progress.add_task(
                            "",
                            total=started.steps_per_epoch,
                            epoch=event.epoch,
                            epochs=started.epochs,
                            speed="-",
                            metrics="",
                        )
                    fields = {"speed": f"{event.images / max(event.seconds, 1e-9):,.0f}"}
                    if event.metrics:
                        fields["metrics"] = _format(event.metrics, SHOWN[config.model])
                    progress.update(task, completed=event.step, **fields)
                elif isinstance(event, EpochDone):
                    done.append(event)
                    console.print(_epoch_line(event, started.epochs, config.model), markup=False)
                    if task is not None:
                        progress.remove_task(task)
                        task = None
    except KeyboardInterrupt:
        if done:
            kept = f"the checkpoint of epoch {done[-1].epoch} is at {done[-1].checkpoint}"
        elif config.resume or config.checkpoint_path.exists():
            kept = f"no epoch finished; {config.checkpoint_path} is unchanged"
        else:
            kept = "no epoch finished, so no checkpoint was written"
        raise Interrupted(f"interrupted: {kept}") from None
    if done:
        console.print(_summary(done, config.model))
        console.print(f"Checkpoint: {done[-1].checkpoint}", markup=False)
    return done
