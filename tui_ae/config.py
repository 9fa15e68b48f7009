"""Training settings: Typer options -> TrainConfig -> the code.

A recipe is a named set of hyper-parameters; an option given explicitly
overrides the recipe's value for it (a field left None takes the recipe's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal, get_args

from tui_ae.errors import TuiAeError

CHECKPOINT_DIR = Path("checkpoints")  # where train writes and eval and explore look by default
FIGURES_DIR = Path("figures")  # where `tui-ae figures` writes by default
MNIST_DIR = Path(__file__).parent / "mnist"  # MNIST itself, its four IDX files gzipped; see its README
MNIST_SOURCE = "mnist"  # the data_source of MNIST found without --data-dir: the cache, filled from MNIST_DIR
SAMPLE_SOURCE = "mnist-sample"  # the data_source of the sample earlier versions shipped, now cut from MNIST_DIR

# The choices of the settings, named once: the CLI's options take them from here.
ModelName = Literal["ae", "vae"]
KINDS: tuple[ModelName, ...] = get_args(ModelName)  # the models, in the order the explorer and figures show them
RecipeName = Literal["seed", "best"]
ScheduleName = Literal["constant", "onecycle"]
DatasetName = Literal["mnist", "fashion-mnist"]
DeviceName = Literal["auto", "cuda", "mps", "cpu"]

MAX_LATENT_DIM = 1024  # far above any use here; a bound, so a bad number cannot ask for all memory
MAX_SEED = 2**32  # each epoch's batch order is seeded with seed * 100,003 + epoch: within torch's 64 bits


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float  # Adam's learning rate; the peak of the one-cycle schedule
    schedule: ScheduleName = "constant"
    weight_decay: float = 0.0
    kl_warmup: int = 0  # VAE: epochs over which the KL term's weight rises from 0 to beta
    grad_clip: float = 0.0  # max gradient norm; 0 = no clipping
    beta: float = 1.0  # VAE: the KL term's weight (a beta-VAE); 1 trains on the true ELBO


_SEED = Recipe(epochs=10, batch_size=256, lr=5e-4)  # the homework's hyper-parameters
RECIPES: dict[RecipeName, dict[str, Recipe]] = {
    "seed": {"ae": _SEED, "vae": _SEED},
    "best": {  # chosen by benchmarks/sweep.py; see BENCHMARKS.md
        "ae": Recipe(epochs=60, batch_size=64, lr=1e-2, schedule="onecycle"),
        "vae": Recipe(epochs=100, batch_size=128, lr=2e-3, schedule="onecycle"),
    },
}


@dataclass
class TrainConfig:
    model: ModelName = "ae"
    recipe: RecipeName | None = None  # None: "seed" (or, with --resume, the checkpoint's)
    latent_dim: int = 2  # the homework's "encoded feature dimension"
    epochs: int | None = None  # None: the recipe's, as for every field down to beta
    batch_size: int | None = None
    lr: float | None = None
    schedule: ScheduleName | None = None
    weight_decay: float | None = None
    kl_warmup: int | None = None
    grad_clip: float | None = None
    beta: float | None = None
    dataset: DatasetName | None = None  # None: MNIST (or, with --resume, the checkpoint's)
    data_dir: Path | None = None  # None: MNIST as the package ships it; Fashion-MNIST found or downloaded
    device: DeviceName = "auto"
    seed: int | None = None  # None: 0 (or, with --resume, the checkpoint's, which fixes its batch order)
    out: Path | None = None  # None: checkpoints/<model>.safetensors
    resume: bool = False  # continue from `out`, optimizer state included
    force: bool = False  # replace an existing checkpoint at `out`
    compile: bool = False  # torch.compile the model (then no CUDA graphs)
    cuda_graphs: bool = True  # on CUDA, capture each step as one CUDA graph; ignored elsewhere
    amp: bool = False  # bf16 autocast on CUDA; ignored elsewhere (these models are too small to gain from it)
    preview: bool = False  # reconstruct fixed validation digits after every epoch, for a live view

    def resolved(self) -> TrainConfig:
        """This config with every field the user left None taken from the recipe."""
        named = replace(
            self,
            recipe=self.recipe or "seed",
            dataset=self.dataset or "mnist",
            seed=self.seed if self.seed is not None else 0,
        )
        recipe = RECIPES[named.recipe][self.model]
        return replace(
            named, **{f.name: getattr(recipe, f.name) for f in fields(Recipe) if getattr(self, f.name) is None}
        )

    def resumed(self, saved: dict) -> TrainConfig:
        """The saved run's settings, going on to this run's --epochs (if given) on this run's device.

        A resumed run keeps its hyper-parameters (its optimizer state would override a new
        --lr anyway) and its seed (each epoch's batch order derives from it); asking for a
        different one is an error, not a silent change.
        """
        saved = {"beta": 1.0, **saved}  # checkpoints from before --beta trained on the true ELBO
        kept = ("recipe", "dataset", "seed", *(f.name for f in fields(Recipe)))
        for name in kept:
            given = getattr(self, name)
            if name != "epochs" and given is not None and given != saved[name]:
                raise TuiAeError(
                    f"--{name.replace('_', '-')} {given} differs from the checkpoint's {saved[name]}: "
                    "a resumed run keeps its settings (start a new run with --out to change them)"
                )
        epochs = self.epochs if self.epochs is not None else saved["epochs"]
        if saved["schedule"] == "onecycle" and epochs != saved["epochs"]:
            raise TuiAeError(
                f"its one-cycle schedule was planned for {saved['epochs']} epochs: resume with "
                f"--epochs {saved['epochs']} (or leave it out), or start a new run"
            )
        return replace(self, **{**{name: saved[name] for name in kept}, "epochs": epochs})

    @property
    def checkpoint_path(self) -> Path:
        return self.out if self.out is not None else CHECKPOINT_DIR / f"{self.model}.safetensors"

    def validate(self) -> None:
        """Raise TuiAeError naming the first setting out of range."""
        if self.latent_dim < 2:
            raise TuiAeError(f"--latent-dim must be at least 2 (the maps show two axes), got {self.latent_dim}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise TuiAeError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.latent_dim > MAX_LATENT_DIM:
            raise TuiAeError(f"--latent-dim must be at most {MAX_LATENT_DIM}, got {self.latent_dim}")
        if not 0 < self.lr < math.inf:
            raise TuiAeError(f"--lr must be positive, got {self.lr}")
        for name in ("weight_decay", "kl_warmup", "grad_clip"):
            if not 0 <= getattr(self, name) < math.inf:
                raise TuiAeError(
                    f"--{name.replace('_', '-')} must be a finite number, 0 or more, got {getattr(self, name)}"
                )
        if not 0 < self.beta < math.inf:
            raise TuiAeError(f"--beta must be positive, got {self.beta}")
        if self.seed is not None and not 0 <= self.seed < MAX_SEED:
            raise TuiAeError(f"--seed must be from 0 to {MAX_SEED - 1}, got {self.seed}")
        if self.model == "ae" and (self.beta != 1 or self.kl_warmup):
            raise TuiAeError("--beta and --kl-warmup weight the VAE's KL term: the AE has none")


def resolve_device(name: DeviceName):
    """The torch.device for a --device choice; 'auto' picks CUDA, then MPS, then CPU."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available, "cpu": lambda: True}
    if not available[name]():
        raise TuiAeError(
            f"--device {name} was asked for, but this machine has no {name.upper()} device that torch can use"
        )
    return torch.device(name)
