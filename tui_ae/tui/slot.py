"""One model's side of the explorer: its checkpoint, stored map, cursor and, once loaded, the model.

A Slot is built from the checkpoint with numpy alone (read_codes), so the
maps draw before torch is imported; `model` stays None until the loading worker
hands it over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tui_ae.checkpoint import Header, read_codes
from tui_ae.errors import TuiAeError
from tui_ae.latent import Bounds, latent_bounds

DEFAULT_BOUNDS: Bounds = (-3.0, 3.0, -3.0, 3.0)  # for a checkpoint without a stored map


@dataclass(eq=False)
class Slot:
    kind: str  # "ae" or "vae"
    path: Path | None
    header: Header | None = None
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (N, 2)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))  # (N,)
    bounds: Bounds = DEFAULT_BOUNDS
    error: str | None = None  # why this side has no checkpoint: absent or unreadable
    model: Any = None  # the torch module, once the worker has loaded it
    load_error: str | None = None  # why the model could not be loaded, if it could not
    x: float = 0.0  # the cursor, in latent coordinates
    y: float = 0.0

    @classmethod
    def open(cls, kind: str, path: Path | None) -> Slot:
        if path is None:
            return cls(kind, None, error=f"No {kind.upper()} checkpoint. Train one with:\ntui-ae train --model {kind}")
        try:
            header, codes = read_codes(Path(path))
        except TuiAeError as e:
            return cls(kind, Path(path), error=str(e))
        slot = cls(kind, Path(path), header)
        if codes is not None and len(codes.points):
            slot.points, slot.labels = codes.points[:, :2], codes.labels
            slot.bounds = latent_bounds(slot.points)
        slot.x, slot.y = (slot.bounds[0] + slot.bounds[1]) / 2, (slot.bounds[2] + slot.bounds[3]) / 2
        return slot

    @property
    def usable(self) -> bool:
        """Has a readable checkpoint, so a map and a cursor (its model may still be loading)."""
        return self.header is not None and self.error is None

    @property
    def why_no_model(self) -> str:
        """What a panel says where there is no model to draw with: no checkpoint, a failed load, or still loading."""
        return self.error or self.load_error or f"loading the {self.kind.upper()}…"

    @property
    def latent_dim(self) -> int:
        return int(self.header.model_args.get("latent_dim", 2)) if self.header else 2

    # Map-relative coordinates: (0, 0) is the bounds' lower left, (1, 1) the upper right.
    def relative(self) -> tuple[float, float]:
        x_min, x_max, y_min, y_max = self.bounds
        return (self.x - x_min) / (x_max - x_min), (self.y - y_min) / (y_max - y_min)

    def move_to(self, x: float, y: float) -> None:
        x_min, x_max, y_min, y_max = self.bounds
        self.x, self.y = min(max(x, x_min), x_max), min(max(y, y_min), y_max)

    def move_to_relative(self, u: float, v: float) -> None:
        x_min, x_max, y_min, y_max = self.bounds
        self.move_to(x_min + u * (x_max - x_min), y_min + v * (y_max - y_min))

    def nearest(self) -> tuple[int, float] | None:
        """The label of the stored point nearest the cursor, and its distance."""
        if not len(self.points):
            return None
        d2 = (self.points[:, 0] - self.x) ** 2 + (self.points[:, 1] - self.y) ** 2  # (N,)
        i = int(np.argmin(d2))
        return int(self.labels[i]), float(np.sqrt(d2[i]))

    def latent(self, xy: np.ndarray) -> Any:
        """(B, 2) points -> (B, latent_dim) float tensor; dimensions past the second are 0."""
        import torch

        z = torch.zeros(len(xy), self.latent_dim)
        z[:, :2] = torch.as_tensor(np.asarray(xy, dtype=np.float32))
        return z

    def decode(self, xy: np.ndarray) -> np.ndarray:
        """(B, 2) latent points -> (B, 28, 28) images in [0, 1]. Needs the model."""
        import torch

        with torch.inference_mode():
            return self.model.decode(self.latent(xy))[:, 0].numpy()

    def encode(self, images: np.ndarray) -> np.ndarray:
        """(B, 28, 28) images in [0, 1] -> (B, 2): their codes' first two coordinates (the VAE's posterior means)."""
        import torch

        with torch.inference_mode():
            x = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None]  # (B, 1, 28, 28)
            return self.model.encode(x)[:, :2].numpy()

    def reconstruct(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
        """A (28, 28) image in [0, 1] -> (its first two latent coordinates, reconstruction, MSE per pixel, σ).

        For a model with a posterior N(mu, diag(σ²)) (the VAE) the code is mu and σ its first two
        coordinates', from one pass of the encoder; for the AE, σ is None.
        """
        import torch

        with torch.inference_mode():
            x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]  # (1, 1, 28, 28)
            posterior = getattr(self.model, "posterior", None)
            if posterior is None:
                z, sigma = self.model.encode(x), None  # (1, latent_dim)
            else:
                z, log_var = posterior(x)
                sigma = torch.exp(log_var[0, :2] / 2).numpy()
            recon = self.model.decode(z)  # (1, 1, 28, 28)
            mse = float(torch.mean((recon - x) ** 2))
        return z[0, :2].numpy(), recon[0, 0].numpy(), mse, sigma
