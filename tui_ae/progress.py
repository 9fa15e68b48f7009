"""Training progress drawn with Rich, from the events that train() yields.

On a terminal: a live bar per epoch in the manner of PyTorch Lightning's
RichProgressBar; right above it the preview strip (validation digits above their
reconstructions, redrawn as the epochs end, when the events carry previews:
strip_above.py); the epoch lines above that; a summary table at the end. When output is not a terminal (nohup,
SLURM, CI, `> file`) Rich would draw only a final frame, so there it prints one
plain line per epoch and no control codes, and no strip.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from tui_ae.config import TrainConfig
from tui_ae.errors import Interrupted
from tui_ae.fitted_table import FittedTable, Row
from tui_ae.train import EpochDone, Started, Step, train

if TYPE_CHECKING:  # the strip's modules are imported only where a strip is drawn: not before every first step
    from tui_ae.render import ColorMode
    from tui_ae.strip_above import StripAbove

SHOWN = {"ae": ("loss",), "vae": ("loss", "recon", "kl")}  # running metrics on the bar


def _format(metrics: dict[str, float], keys: tuple[str, ...]) -> str:
    return " ".join(f"{k} {metrics[k]:.4g}" for k in keys)


def _started_line(event: Started, kind: str) -> str:
    resumed = f", resuming after epoch {event.start_epoch}" if event.start_epoch else ""
    return (
        f"Training {kind.upper()} on {event.device}: {event.train_images:,} train / "
        f"{event.val_images:,} validation images ({event.data_source}){resumed}"
    )


def _epoch_line(event: EpochDone, epochs: int, kind: str) -> str:
    line = f"Epoch {event.epoch}/{epochs}  train loss {event.train['loss']:.6g}  val loss {event.val['loss']:.6g}"
    if kind == "vae":
        line += f" (recon {event.val['recon']:.2f} + KL {event.val['kl']:.2f} nats; MSE {event.val['mse']:.5f})"
    return f"{line}  {event.seconds:.1f}s"


def _summary(done: list[EpochDone], kind: str) -> FittedTable:
    """A row per epoch where the console is wide enough; narrower, a row per metric (as `eval`'s table)."""
    keys = SHOWN[kind] + ("mse",) if kind == "vae" else ("loss",)
    rows = [
        Row(
            str(event.epoch),
            {
                "train loss": f"{event.train['loss']:.6g}",
                **{f"val {key}": f"{event.val[key]:.6g}" for key in keys},
                "time": f"{event.seconds:.1f}s",
            },
        )
        for event in done
    ]
    fields = ("train loss", *(f"val {key}" for key in keys), "time")
    return FittedTable(rows, key="epoch", fields=fields, title=f"{kind.upper()} training", key_justify="right")


def training_progress(console: Console) -> Progress:
    """The bar of an epoch's batches (off when the console is not a terminal)."""
    return Progress(
        TextColumn("Epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("•"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[speed]} img/s  {task.fields[metrics]}"),
        console=console,
        disable=not console.is_terminal,
    )


def _strip_above(console: Console, config: TrainConfig, color_mode: ColorMode | None) -> StripAbove | None:
    """The preview strip above the bar, on a terminal with the preview on; its colours as given, or as the
    environment says."""
    if not (console.is_terminal and config.preview):
        return None
    from tui_ae.preview import PreviewStrip
    from tui_ae.render import detect_color_mode
    from tui_ae.strip_above import StripAbove

    return StripAbove(console, PreviewStrip(color_mode or detect_color_mode()))


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

    Handling an event is what the training loop waits for, so with the strip on, a preview
    is only stored here, and an epoch's line held: Rich's refresh thread builds the strip
    and writes both (strip_above.py).
    """
    above = _strip_above(console, config, color_mode)
    say = above.hold if above is not None else console.print
    progress = training_progress(console)
    done: list[EpochDone] = []
    started: Started | None = None
    task = None
    try:
        with above.around(progress) if above is not None else progress:
            for event in events:
                if isinstance(event, Started):
                    started = event
                    console.print(_started_line(event, config.model), markup=False)
                    if above is not None:
                        above.strip.show(event.preview, event.start_epoch)
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
                    say(Text(_epoch_line(event, started.epochs, config.model)))
                    if event.warning:  # on a terminal, Rich's live display prints what goes to stderr above the bar,
                        print(event.warning, file=sys.stderr, flush=True)  # after the lines held (strip_above.py)
                    if task is not None:
                        progress.remove_task(task)
                        task = None
                    if above is not None:
                        above.strip.show(event.preview, event.epoch)
    except KeyboardInterrupt:
        raise _interrupted(done, config) from None
    if done:
        console.print(_summary(done, config.model))
        console.print(f"Checkpoint: {done[-1].checkpoint}", markup=False)
    return done
