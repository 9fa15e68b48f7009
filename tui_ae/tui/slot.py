"""One model's side of the explorer: its checkpoint, stored map, cursor and, once loaded, the model.

A Slot is built from the checkpoint with numpy alone (read_codes), so the
maps draw before torch is imported; `model` stays None until the loading worker
hands it over.

The map is the model's latent space itself (2-D), or the principal plane of its codes
(plane.py); the cursor, at map coordinates (x, y), decodes the code the map shows there:
the plane plus the local depth, once the map's codes are indexed (`facts`, nearest.py).
The model's own inference (encode, decode, reconstruct) is the model's (models.py): a slot
only turns numpy into tensors and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tui_ae.checkpoint import MAP_MAX_DIM, Header, LatentCodes, needs_encoding, read_codes
from tui_ae.errors import TuiAeError
from tui_ae.latent import Bounds, latent_bounds
from tui_ae.lookup import too_many_dimensions
from tui_ae.neighbours import Spacing
from tui_ae.plane import Plane, codes_at

if TYPE_CHECKING:  # built in a worker after the first frame
    from tui_ae.tui.nearest import MapFacts

DEFAULT_BOUNDS: Bounds = (-3.0, 3.0, -3.0, 3.0)  # for a checkpoint without a stored map


@dataclass(eq=False)
class Slot:
    kind: str  # "ae" or "vae"
    path: Path | None
    header: Header | None = None
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (N, 2) where the map draws
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))  # (N,)
    codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))  # (N, D); a 2-D map's points
    plane: Plane = field(default_factory=Plane.identity)  # what the map shows of the latent space
    spacing: Spacing | None = None  # the codes' spacing in full dimensions, as stored; None: measured (facts)
    bounds: Bounds = DEFAULT_BOUNDS
    error: str | None = None  # why this side has no checkpoint: absent or unreadable
    model: Any = None  # the torch module, once the worker has loaded it
    load_error: str | None = None  # why the model could not be loaded, if it could not
    facts: MapFacts | None = None  # the map's codes indexed, once a worker has built them for these points
    needs_encoding: bool = False  # an old checkpoint of more than 2 dimensions: its map is made once the model is in
    x: float = 0.0  # the cursor, in map coordinates
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
        if slot.latent_dim > MAP_MAX_DIM:
            slot.error = too_many_dimensions(Path(path), slot.latent_dim)
        elif needs_encoding(slot.latent_dim, codes):
            slot.needs_encoding = True  # its stored points are the first two axes: not what the map shows
        elif codes is not None and len(codes.points):
            slot.set_map(codes)
        slot.x, slot.y = (slot.bounds[0] + slot.bounds[1]) / 2, (slot.bounds[2] + slot.bounds[3]) / 2
        return slot

    def set_map(self, codes: LatentCodes) -> None:
        """Show these codes: their points, full codes, plane and spacing (the facts are built anew for them)."""
        self.points, self.labels, self.codes = codes.points[:, :2], codes.labels, codes.full
        self.plane = codes.plane or Plane.identity()
        self.spacing, self.facts, self.needs_encoding = codes.spacing, None, False
        self.bounds = latent_bounds(self.points)

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
        """The label of the stored point nearest the cursor on the map, and its distance (before the facts come)."""
        if not len(self.points):
            return None
        d2 = (self.points[:, 0] - self.x) ** 2 + (self.points[:, 1] - self.y) ** 2  # (N,)
        i = int(np.argmin(d2))
        return int(self.labels[i]), float(np.sqrt(d2[i]))

    # -- what the map decodes, and the model's inference -----------------------------------------
    def depth_at(self, x: float, y: float) -> np.ndarray | None:
        """(D,) the local depth at map point (x, y); None for a 2-D map, or before the facts are built."""
        depth = self.facts.depth if self.facts is not None else None
        return None if depth is None or depth.flat else depth.at(x, y)

    def code_at(self, xy: np.ndarray) -> np.ndarray:
        """(B, 2) map points -> (B, D) the codes the map decodes there (plane.codes_at)."""
        return codes_at(self.plane, self.facts.depth if self.facts is not None else None, xy)

    def decode_codes(self, codes: np.ndarray) -> np.ndarray:
        """(B, D) codes -> (B, 28, 28) images in [0, 1]. Needs the model."""
        import torch

        return self.model.decode(torch.as_tensor(np.asarray(codes, dtype=np.float32)))[:, 0].numpy()

    def encode(self, images: np.ndarray) -> np.ndarray:
        """(B, 28, 28) images in [0, 1] -> (B, D) their codes (the VAE's posterior means)."""
        import torch

        x = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None]  # (B, 1, 28, 28)
        return self.model.encode(x).numpy()

    def reconstruct(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
        """A (28, 28) image in [0, 1] -> (its code (D,), its reconstruction, the MSE per pixel, σ (D,) or None).

        For a model with a posterior N(mu, diag(σ²)) (the VAE) the code is mu, from one pass of the
        encoder; for the AE, σ is None.
        """
        import torch

        x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]  # (1, 1, 28, 28)
        done = self.model.reconstruct(x)
        mse = float(torch.mean((done.images - x) ** 2))
        sigma = None if done.sigma is None else done.sigma[0].numpy()
        return done.codes[0].numpy(), done.images[0, 0].numpy(), mse, sigma
