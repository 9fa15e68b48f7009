"""The `tui-ae` command: thin Typer commands that build a config and call library functions.

Torch and Textual are imported inside the commands that need them, so `--help`
and errors are instant and `explore` opens before torch has loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from tui_ae.config import CHECKPOINT_DIR, SAMPLE_SOURCE, TrainConfig
from tui_ae.errors import TuiAeError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class OneLineErrors(TyperGroup):
    """Usage errors as one line on stderr and exit code 2, not Typer's boxed panel."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as e:  # the base of Click's exceptions as Typer vendors them
            if type(e).__name__ == "NoArgsIsHelpError":
                e.ctx.get_help()  # Typer prints the help as it formats it
                sys.exit(0)
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
    help="Train an AE and a VAE on MNIST, then walk their 2-D latent spaces in the terminal.",
)


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def train(
    model: Annotated[Literal["ae", "vae"], typer.Option(help="The homework's convolutional AE or its MLP VAE.")] = "ae",
    recipe: Annotated[
        Literal["seed", "best"] | None,
        typer.Option(
            help="Hyper-parameters: the homework's, or the best found (see README); default: seed.", show_default=False
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Total epochs, with --resume counting those done; default: the recipe's.", show_default=False
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Images per batch; default: the recipe's.", show_default=False)
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option(help="Adam's learning rate; the peak under onecycle; default: the recipe's.", show_default=False),
    ] = None,
    schedule: Annotated[
        Literal["constant", "onecycle"] | None,
        typer.Option(help="Learning-rate schedule; default: the recipe's.", show_default=False),
    ] = None,
    weight_decay: Annotated[
        float | None, typer.Option(help="Decoupled weight decay (AdamW); default: the recipe's.", show_default=False)
    ] = None,
    kl_warmup: Annotated[
        int | None,
        typer.Option(help="VAE: epochs to ramp the KL weight from 0 to 1; default: the recipe's.", show_default=False),
    ] = None,
    grad_clip: Annotated[
        float | None, typer.Option(help="Max gradient norm, 0 for none; default: the recipe's.", show_default=False)
    ] = None,
    latent_dim: Annotated[
        int, typer.Option(help="Size of the latent space; the explorer shows its first two axes.")
    ] = 2,
    dataset: Annotated[
        Literal["mnist", "fashion-mnist"] | None,
        typer.Option(help="Which data set; default: mnist.", show_default=False),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="A folder that holds the data set's IDX files (no download).")
    ] = None,
    device: Annotated[
        Literal["auto", "cuda", "mps", "cpu"], typer.Option(help="Where to train; auto picks the best present.")
    ] = "auto",
    seed: Annotated[int, typer.Option(help="Seed for initialisation, shuffling and sampling.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Checkpoint file; default: checkpoints/MODEL.safetensors.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the checkpoint at --out, optimizer state included.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing checkpoint at --out.")] = False,
    compile: Annotated[bool, typer.Option(help="torch.compile the model (pays off on CUDA).")] = False,
    amp: Annotated[bool, typer.Option(help="bf16 autocast on CUDA.")] = True,
) -> None:
    """Train a model and write its checkpoint after every epoch."""
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
    )
    from tui_ae import progress  # imports torch

    try:
        progress.run(config, console)
    except progress.Interrupted as e:
        raise fail(str(e), 130) from None
    except TuiAeError as e:
        raise fail(str(e), 1 if isinstance(e, progress.NonFiniteLoss) else 2) from None


@app.command("eval")
def evaluate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Checkpoints (default: every one in checkpoints/).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="A folder that holds the data set's IDX files.")] = None,
    device: Annotated[Literal["auto", "cuda", "mps", "cpu"], typer.Option(help="Where to evaluate.")] = "auto",
) -> None:
    """Test-set metrics of checkpoints, as a table."""
    folders = [p for p in paths or [CHECKPOINT_DIR] if p.is_dir()]
    paths = [p for p in paths or [] if not p.is_dir()] + [c for f in folders for c in sorted(f.glob("*.safetensors"))]
    if not paths:
        where = ", ".join(f"{f}/" for f in folders) or f"{CHECKPOINT_DIR}/"
        raise fail(f"no checkpoints in {where}: train one with `tui-ae train --model ae`")
    from tui_ae.train import evaluate_checkpoint  # imports torch

    table = Table(
        title="Test-set metrics",
        caption="data: what it was trained on; MSE per pixel; VAE terms in nats per image",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("checkpoint", overflow="fold", min_width=12)
    for column, width in (
        ("model", 5),
        ("recipe", 6),
        ("data", 6),
        ("epochs", 6),
        ("images", 6),
        ("MSE", 8),
        ("-ELBO", 6),
        ("recon", 6),
        ("KL", 5),
    ):
        table.add_column(column, justify="left" if column in ("model", "recipe", "data") else "right", min_width=width)
    failed = 0
    for path in paths:
        try:
            header, m = evaluate_checkpoint(path, data_dir, device, notify=err_console.print)
        except TuiAeError as e:
            err_console.print(f"error: {e}", markup=False, soft_wrap=True)
            failed += 1
            continue
        vae = header.kind == "vae"
        table.add_row(
            str(path),
            header.kind.upper(),
            header.meta.get("recipe", "seed"),
            header.meta["data_source"].split(":")[0].replace(SAMPLE_SOURCE, "sample"),
            str(header.meta["epochs_done"]),
            f"{m['images']:,}",
            f"{m['mse']:.6f}",
            *(f"{m[k]:.2f}" if vae else "-" for k in ("loss", "recon", "kl")),
        )
    if table.row_count:
        console.print(table)
    if failed:
        raise typer.Exit(2)


@app.command()
def explore(
    ae: Annotated[Path | None, typer.Option(help="AE checkpoint (default: checkpoints/ae.safetensors).")] = None,
    vae: Annotated[Path | None, typer.Option(help="VAE checkpoint (default: checkpoints/vae.safetensors).")] = None,
    color: Annotated[
        Literal["auto", "truecolor", "256", "16", "mono"],
        typer.Option(help="Colours to draw with; auto guesses from the environment."),
    ] = "auto",
    glyph: Annotated[
        Literal["upper", "lower"],
        typer.Option(help="Half block to draw digits with; switch if your font leaves seams."),
    ] = "upper",
    data_dir: Annotated[Path | None, typer.Option(help="Where the test images for compare mode are.")] = None,
) -> None:
    """Walk the AE's and the VAE's latent spaces and compare their digits."""
    from tui_ae.checkpoint import read_header
    from tui_ae.render import detect_color_mode

    chosen = {"ae": ae, "vae": vae}
    found: dict[str, Path | None] = {}
    for kind, path in chosen.items():
        default = CHECKPOINT_DIR / f"{kind}.safetensors"
        candidate = path or default
        if path is None and not candidate.exists():
            found[kind] = None  # the panel says how to train it
            continue
        try:
            header = read_header(candidate)
        except TuiAeError as e:
            raise fail(str(e)) from None
        if header.kind != kind:
            raise fail(f"{candidate} holds the {header.kind.upper()} model; pass it with --{header.kind}")
        found[kind] = candidate
    if not any(found.values()):
        raise fail(
            "no checkpoints in checkpoints/: train them first with "
            "`tui-ae train --model ae` and `tui-ae train --model vae`"
        )
    from tui_ae.tui.color_system import use_color_system

    mode = detect_color_mode() if color == "auto" else color
    use_color_system(mode)  # before textual is imported, which reads it then
    from tui_ae.tui.app import ExplorerApp

    ExplorerApp(found["ae"], found["vae"], color_mode=mode, glyph=glyph, data_dir=data_dir).run()


def main() -> None:
    app()
