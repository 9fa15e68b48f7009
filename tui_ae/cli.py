"""The `tui-ae` command: thin Typer commands that build a config and call library functions.

Torch and Textual are imported inside the commands that need them, so `--help`
and errors are instant and `explore` opens before torch has loaded.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from tui_ae import guarded_output, run_lock
from tui_ae.config import (
    FIGURES_DIR,
    DatasetName,
    DeviceName,
    ModelName,
    RecipeName,
    ScheduleName,
    TrainConfig,
    resolve_device,
)
from tui_ae.errors import TuiAeError

if TYPE_CHECKING:
    from tui_ae.doctor import Advice

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class OneLineErrors(TyperGroup):
    """Usage errors as one line on stderr and exit code 2, not Typer's boxed panel."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            text = ctx.get_help()  # with Rich, Typer prints the help as it formats it and returns ""
            if text:
                typer.echo(text)
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as e:  # the base of the Click exceptions that Typer vendors (Typer >= 0.27.2)
            command = getattr(getattr(e, "ctx", None), "command_path", "tui-ae")
            typer.echo(f"error: {e.format_message()} (see {command} --help)", err=True)
            sys.exit(e.exit_code)
        except typer.Abort:
            sys.exit(130)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train an AE and a VAE on MNIST, then walk their latent spaces in the terminal.",
)


def plain_notice(message: str) -> None:
    """A notice on stderr, printed as written (a path may hold brackets Rich would read as markup)."""
    err_console.print(message, markup=False)


def fail(error: TuiAeError | str) -> typer.Exit:
    """The error as one line on stderr, and the exit that ends the command with its code (errors.py)."""
    err_console.print(f"error: {error}", markup=False, soft_wrap=True)
    return typer.Exit(error.exit_code if isinstance(error, TuiAeError) else TuiAeError.exit_code)


@app.command()
def train(
    *,
    model: Annotated[
        ModelName,
        typer.Option(help="The homework's convolutional AE or its MLP VAE."),
    ] = "ae",
    recipe: Annotated[
        RecipeName | None,
        typer.Option(
            help="Hyper-parameters: the homework's, or the best found (see README); default: seed.",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Total epochs, with --resume counting those done; default: the recipe's.",
            show_default=False,
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help="Images per batch; default: the recipe's.", show_default=False),
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option(help="Adam's learning rate; the peak under onecycle; default: the recipe's.", show_default=False),
    ] = None,
    schedule: Annotated[
        ScheduleName | None,
        typer.Option(help="Learning-rate schedule; default: the recipe's.", show_default=False),
    ] = None,
    weight_decay: Annotated[
        float | None,
        typer.Option(help="Decoupled weight decay (AdamW); default: the recipe's.", show_default=False),
    ] = None,
    kl_warmup: Annotated[
        int | None,
        typer.Option(
            help="VAE: epochs to ramp the KL weight from 0 to --beta; default: the recipe's.", show_default=False
        ),
    ] = None,
    beta: Annotated[
        float | None,
        typer.Option(help="VAE: the KL term's weight (a beta-VAE); default 1, the true ELBO.", show_default=False),
    ] = None,
    grad_clip: Annotated[
        float | None,
        typer.Option(help="Max gradient norm, 0 for none; default: the recipe's.", show_default=False),
    ] = None,
    latent_dim: Annotated[
        int,
        typer.Option(help="Latent size, 2 to 1024; explore and figures show up to 64 (above 2, on a principal plane)."),
    ] = 2,
    dataset: Annotated[
        DatasetName | None,
        typer.Option(help="Which data set; default: mnist.", show_default=False),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="A folder that holds the data set's IDX files (no download)."),
    ] = None,
    device: Annotated[
        DeviceName,
        typer.Option(help="Where to train; auto picks the best present."),
    ] = "auto",
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed for initialisation, shuffling and sampling; default: 0 (with --resume, the checkpoint's).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Checkpoint file; default: checkpoints/MODEL.safetensors."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(help="Continue the checkpoint at --out, optimizer state included."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(help="Replace an existing checkpoint at --out."),
    ] = False,
    compile: Annotated[
        bool,
        typer.Option(help="torch.compile the model (no CUDA graphs then)."),
    ] = False,
    amp: Annotated[
        bool,
        typer.Option(help="bf16 autocast on CUDA (off: these models are too small to gain from it)."),
    ] = False,
    cuda_graphs: Annotated[
        bool,
        typer.Option(help="On CUDA, run each step as one captured CUDA graph."),
    ] = True,
    preview: Annotated[
        bool,
        typer.Option(
            help="On a terminal, show validation digits above their reconstructions, above the bar, as epochs end."
        ),
    ] = True,
) -> None:
    """Train a model and write its checkpoint after every epoch."""
    guarded_output.keep_going()  # output that cannot be written must not cost the run its checkpoints
    config = TrainConfig(
        model=model,
        recipe=recipe,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        schedule=schedule,
        weight_decay=weight_decay,
        kl_warmup=kl_warmup,
        grad_clip=grad_clip,
        beta=beta,
        latent_dim=latent_dim,
        dataset=dataset,
        data_dir=data_dir,
        device=device,
        seed=seed,
        out=out,
        resume=resume,
        force=force,
        compile=compile,
        amp=amp,
        cuda_graphs=cuda_graphs,
        preview=preview,
    )
    try:
        check_before_torch(config)
        with run_lock.held(config.checkpoint_path, notify=plain_notice):  # one run writes a checkpoint
            shown = training_console()
            # The strip only on a terminal: elsewhere nothing would show it, and its digits cost time.
            config = replace(config, preview=preview and shown.is_terminal and not shown.is_dumb_terminal)
            from tui_ae import progress  # imports torch

            progress.run(config, shown)
    except TuiAeError as e:
        raise fail(e) from None


def training_console() -> Console:
    """The console train draws on: plain lines, as to a file, on a terminal whose encoding lacks the bar's glyphs."""
    advice = no_half_blocks(console.file) if console.is_terminal else None
    if advice is None:
        return console
    plain_notice(f"warning: plain lines instead of the progress bar: {advice.problem}; fix: {advice.fix}")
    return Console(highlight=False, soft_wrap=True, force_terminal=False)


def no_half_blocks(stream) -> Advice | None:
    """Why this stream cannot show the half blocks (and box lines), with doctor's fix; None where it can."""
    import os

    from tui_ae.doctor import encoding_advice  # Rich and numpy

    return encoding_advice(os.environ, getattr(stream, "encoding", None) or "")


def check_before_torch(config: TrainConfig) -> None:
    """Refuse at once what needs no torch to see, not after the seconds torch takes to import.

    A setting out of range, an --out that cannot be written (its folder is made here), or none
    to resume. train() checks again, under the lock, and checks a resumed run's settings against
    its checkpoint's.
    """
    from tui_ae import checkpoint  # numpy and safetensors

    config.resolved().validate()
    if config.resume:
        checkpoint.read_header(config.checkpoint_path)  # there, and a tui-ae checkpoint
    else:
        checkpoint.check_writable(config.checkpoint_path, replace=config.force)


@app.command("eval")
def evaluate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Checkpoints (default: every one in checkpoints/)."),
    ] = None,
    *,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="A folder that holds the data set's IDX files."),
    ] = None,
    device: Annotated[
        DeviceName,
        typer.Option(help="Where to evaluate."),
    ] = "auto",
) -> None:
    """Test-set metrics of checkpoints, as a table."""
    from tui_ae.lookup import checkpoints_to_evaluate

    try:
        paths = checkpoints_to_evaluate(paths or [])
    except TuiAeError as e:
        raise fail(e) from None
    from tui_ae.eval_table import EvalTable, make_row, short_names
    from tui_ae.evaluation import evaluate_checkpoint  # imports torch

    try:
        torch_device = resolve_device(device)  # once: a missing device is one error, not one per checkpoint
    except TuiAeError as e:
        raise fail(e) from None
    rows = []
    for index, (path, name) in enumerate(zip(paths, short_names(paths)), 1):
        try:
            # seconds per checkpoint on a CPU (it encodes the training images): say what is going on, on a terminal
            with err_console.status(Text(f"evaluating {name} ({index} of {len(paths)})")):  # a name is no markup
                header, metrics = evaluate_checkpoint(path, data_dir, torch_device, notify=plain_notice)
        except TuiAeError as e:
            err_console.print(f"error: {e}", markup=False, soft_wrap=True)
            continue
        rows.append(make_row(name, header, metrics))
    if rows:
        console.print(EvalTable(rows), soft_wrap=False)  # it fits the width itself: nothing to fold
    if len(rows) < len(paths):
        raise typer.Exit(2)


@app.command()
def explore(
    *,
    ae: Annotated[
        Path | None,
        typer.Option(help="AE checkpoint (default: checkpoints/ae.safetensors)."),
    ] = None,
    vae: Annotated[
        Path | None,
        typer.Option(help="VAE checkpoint (default: checkpoints/vae.safetensors)."),
    ] = None,
    color: Annotated[
        Literal["auto", "truecolor", "256", "16", "mono"],
        typer.Option(help="Colours to draw with; auto guesses from the environment."),
    ] = "auto",
    glyph: Annotated[
        Literal["upper", "lower"],
        typer.Option(help="Half block to draw digits with; switch if your font leaves seams."),
    ] = "upper",
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where the data set is: compare mode's test images, the nearest validation images."),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(help="Re-read a checkpoint when its file changes (a training run's); wait for one not there yet."),
    ] = False,
) -> None:
    """Walk the AE's and the VAE's latent spaces and compare their digits."""
    from tui_ae.lookup import find_pair
    from tui_ae.render import detect_color_mode

    advice = no_half_blocks(sys.__stderr__)  # Textual draws on stderr
    if advice is not None:  # else every box and digit would show as escapes (\u2580...)
        raise fail(f"explore cannot draw here: {advice.problem}; fix: {advice.fix} (`tui-ae doctor` says more)")
    try:
        found = find_pair(ae, vae, wait=watch)  # a model absent by default: its panel says how to train it
    except TuiAeError as e:
        raise fail(e) from None
    from tui_ae.tui.color_system import use_color_system

    mode = detect_color_mode() if color == "auto" else color
    use_color_system(mode)  # before textual is imported, which reads it then
    from tui_ae.tui.app import ExplorerApp

    ExplorerApp(found["ae"], found["vae"], color_mode=mode, glyph=glyph, data_dir=data_dir, watch=watch).run()


@app.command()
def figures(
    *,
    ae: Annotated[
        Path | None,
        typer.Option(help="AE checkpoint (default: checkpoints/ae.safetensors, left out if absent)."),
    ] = None,
    vae: Annotated[
        Path | None,
        typer.Option(help="VAE checkpoint (default: checkpoints/vae.safetensors, left out if absent)."),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(help="Folder for the figures; files of the same names are replaced."),
    ] = FIGURES_DIR,
    format: Annotated[
        Literal["png", "svg", "pdf"],
        typer.Option(help="File format of every figure.", case_sensitive=False),
    ] = "png",
    grid: Annotated[
        int,
        typer.Option(help="Digits per side of the latent grids, 2 to 30."),
    ] = 15,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="A folder that holds the data set's IDX files (default: found as eval finds them)."),
    ] = None,
) -> None:
    """Write the homework's figures for both models as PNG, SVG or PDF files; no display needed."""
    from tui_ae.figures import FiguresConfig, make_figures  # matplotlib, torch: imported when drawing

    config = FiguresConfig(ae=ae, vae=vae, out=out, format=format, grid=grid, data_dir=data_dir)
    try:
        report = make_figures(config, notify=plain_notice)
    except TuiAeError as e:
        raise fail(e) from None
    for path in report.written:
        console.print(f"wrote {path}", markup=False)
    for names, why in report.skipped:
        console.print(f"skipped {' and '.join(names)}: {why}", markup=False)


@app.command()
def doctor() -> None:
    """Why the digits look wrong here (colours, glyphs, tmux, ssh, locale) and the fix; torch's device. Exit 0."""
    import os

    from tui_ae import doctor as checks  # Rich and numpy; torch when it gets there, last; never Textual

    def write(text: str) -> None:
        sys.stdout.write(text)  # as it is: the test card's colours must not pass through a console that downgrades
        sys.stdout.flush()  # each section as it is ready: torch takes seconds to import

    checks.run(write, os.environ, checks.ask_tmux(os.environ), checks.terminal_size(), sys.stdout.encoding or "")


def main() -> None:
    """The console script: the app, with its standard output guarded (guarded_output.py)."""
    guard = guarded_output.install()
    try:
        app()
        status = 0
    except SystemExit as done:  # how every command ends (OneLineErrors.main), OutputFailed included
        status = done.code
    sys.exit(guard.exit_status(status) if guard else status)
