"""What the app's workers post back to the main thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from textual.message import Message


@dataclass
class ModelLoaded(Message):
    kind: str
    model: Any  # a torch module in eval mode


@dataclass
class ModelFailed(Message):
    kind: str
    error: str


@dataclass
class TestImagesLoaded(Message):
    dataset: str  # "mnist" or "fashion-mnist"
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64
    source: str  # where they came from, as data.locate names it
    where: str  # the same, as the compare panel says it


@dataclass
class TestImagesFailed(Message):
    dataset: str
    error: str


@dataclass
class GridDecoded(Message):
    key: tuple  # what was asked for: (kind, space, cols, rows, scale); stale answers are dropped
    mosaic: np.ndarray  # (rows * 28, cols * 28) in [0, 1], shrunk as key's scale says
