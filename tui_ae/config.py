"""Training settings: Typer options -> TrainConfig -> the code. Defaults are the homework's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tui_ae.errors import TuiAeError

DeviceName = Literal["auto", "cuda", "mps", "cpu"]


@dataclass
class TrainConfig:
    model: Literal["ae", "vae"] = "ae"
    latent_dim: int = 2  # the homework's "encoded feature dimension"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 5e-4  # Adam
    dataset: Literal["mnist", "fashion-mnist"] = "mnist"
    data_dir: Path | None = None  # None: cache, then download, then the embedded sample
    device: DeviceName = "auto"
    seed: int = 0
    out: Path | None = None  # None: checkpoints/<model>.safetensors
    resume: bool = False  # continue from `out`, optimizer state included
    force: bool = False  # replace an existing checkpoint at `out`
    compile: bool = False  # torch.compile the model; pays off on CUDA only
    amp: bool = True  # bf16 autocast on CUDA; ignored elsewhere

    @property
    def checkpoint_path(self) -> Path:
        return self.out if self.out is not None else Path("checkpoints") / f"{self.model}.safetensors"

    def validate(self) -> None:
        """Raise TuiAeError naming the first setting out of range."""
        for name in ("latent_dim", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise TuiAeError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise TuiAeError(f"--lr must be positive, got {self.lr}")


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
        raise TuiAeError(f"--device {name} was asked for, but this machine has no {name.upper()} device that torch can use")
    return torch.device(name)
