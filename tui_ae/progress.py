"""Training progress drawn with Rich, from the events that train() yields.

On a terminal: a live bar per epoch in the manner of PyTorch Lightning's
RichProgressBar, epoch lines above it, under it the preview strip (validation
digits above their reconstructions, redrawn each epoch, when the events carry
previews), a summary table at the end. When output is not a terminal (nohup,
SLURM, CI, `> file`) Rich would draw only a final frame, so there it prints one
plain line per epoch and no control codes, and no strip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from tui_ae.config import TrainConfig
from tui_ae.errors import Interrupted
from tui_ae.train import EpochDone, Started, Step, train

if TYPE_CHECKING:  # the strip's modules are imported only where a strip is drawn: not before every first step
    from tui_ae.preview import PreviewStrip
    from tui_ae.render import ColorMode

SHOWN = {"ae": ("loss",), "vae": ("loss", "recon", "kl")}  # running metrics on the bar
# Rich redraws the whole live area on every refresh, and the strip is most of it (about 44 KiB of
# escape codes at 120x40 in truecolor): 2 a second instead of Rich's 10 keeps that to ~90 KiB/s over ssh.
STRIP_REFRESH_PER_SECOND = 2


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


class TrainingProgress(Progress):
    """Rich's Progress with the preview strip under its bar (Rich's documented hook: get_renderables)."""

    def __init__(self, *columns, strip: PreviewStrip | None = None, **kwargs) -> None:
        self.strip = strip  # first: Progress renders itself once while it is built
        super().__init__(*columns, **kwargs)

    def get_renderables(self) -> Iterator[RenderableType]:
        if self.strip is None or self.strip.shown is None:
            yield from super().get_renderables()
            return
        # An empty line holds the bar's place between epochs, so the strip does not jump up and down.
        yield self.make_tasks_table(self.tasks) if self.tasks else Text("")
        yield self.strip


def training_progress(console: Console, strip: PreviewStrip | None) -> TrainingProgress:
    """The bar of an epoch's batches (off when the console is not a terminal), the strip under it if given."""
    return TrainingProgress(
        TextColumn("Epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("•"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[speed]} img/s  {task.fields[metrics]}"),
        console=console,
        disable=not console.is_terminal,
        refresh_per_second=10 if strip is None else STRIP_REFRESH_PER_SECOND,
        strip=strip,
    )


def _strip(console: Console, config: TrainConfig, color_mode: ColorMode | None) -> PreviewStrip | None:
    """The preview strip, on a terminal with the preview on; its colours as given, or as the environment says."""
    if not (console.is_terminal and config.preview):
        return None
    from tui_ae.preview import PreviewStrip
    from tui_ae.render import detect_color_mode

    return PreviewStrip(color_mode or detect_color_mode(), main_thread_builds=False)


def _interrupted(done: list[EpochDone], config: TrainConfig) -> Interrupted:
    """What Ctrl-C leaves on disk, said in one line."""
    if done:
        kept = f"the checkpoint of epoch {done[-1].epoch} is at {done[-1].checkpoint}"
    elif config.resume or config.checkpoint_path.exists():
        kept = f"no epoch finished; {config.checkpoint_path} is unchanged"
    else:
        kept = "no epoch finished, so no checkpoint was written"
    return Interrupted(f"interrupted: {kept}")


def run(config: TrainConfig, console: Console, color_mode: ColorMode | None = None) -> list[EpochDone]:
    """Train with a progress display; the epochs done, or Interrupted on Ctrl-C."""
    # Closing the generator, also on Ctrl-C in the display, finishes the last checkpoint's write (or raises its error).
    with contextlib.closing(train(config, notify=lambda message: console.print(message, markup=False))) as events:
        return display(events, config, console, color_mode)


def display(
    events: Iterable[Started | Step | EpochDone], config: TrainConfig, console: Console, color_mode: ColorMode | None
) -> list[EpochDone]:
    """Draw train()'s events as they come; the epochs done, or Interrupted on Ctrl-C.

    Handling an event is what the training loop waits for, so a preview is only stored
    here: Rich's refresh thread builds the strip's lines; the redraws Rich makes on this
    thread (each print, each new bar) draw the lines already built.
    """
    strip = _strip(console, config, color_mode)
    progress = training_progress(console, strip)
    done: list[EpochDone] = []
    started: Started | None = None
    task = None
    try:
        with progress:
            for event in events:
                if isinstance(event, Started):
                    started = event
                    resumed = f", resuming after epoch {event.start_epoch}" if event.start_epoch else ""
                    console.print(
                        f"Training {config.model.upper()} on {event.device}: {event.train_images:,} train / "
                        f"{event.val_images:,} validation images ({event.data_source}){resumed}",
                        markup=False,
                    )
                    if strip is not None:
                        strip.show(event.preview, event.start_epoch)
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
                    speed = f"{event.images / max(event.seconds, 1e-9):,.0f}"
                    metrics = _format(event.metrics, SHOWN[config.model])
                    progress.update(task, completed=event.step, speed=speed, metrics=metrics)
                elif isinstance(event, EpochDone):
                    done.append(event)
                    console.print(_epoch_line(event, started.epochs, config.model), markup=False)
                    if task is not None:
                        progress.remove_task(task)
                        task = None
                    if strip is not None:
                        strip.show(event.preview, event.epoch)
            if strip is not None:  # training is over: the last frame may take the time to draw the last epoch
                strip.main_thread_builds = True
    except KeyboardInterrupt:
        raise _interrupted(done, config) from None
    if done:
        console.print(_summary(done, config.model))
        console.print(f"Checkpoint: {done[-1].checkpoint}", markup=False)
    return done
