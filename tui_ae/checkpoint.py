"""Checkpoints as safetensors files: weights, optimizer state, the latent map, and JSON metadata.

Why safetensors rather than torch.save: loading one can never execute code (a
pickle can), and its tensors and metadata are readable with numpy alone, so
`tui-ae explore` draws its maps before torch (two seconds to import) is loaded.
Torch is therefore imported inside the functions that need it.

Layout of a file:
    model/<name>              the model's state_dict
    optimizer/<param>/<key>   Adam's per-parameter state (for --resume)
    map/points, map/labels    encoded validation points (N, 2) float32 and their labels (N,) uint8
    metadata["tui_ae"]        JSON: format, kind, model_args, meta (dataset, epochs, history, ...)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from tui_ae.config import KINDS, MAX_LATENT_DIM
from tui_ae.errors import CheckpointError
from tui_ae.files import write_atomically

FORMAT = "tui-ae/1"
REQUIRED_META = ("data_source", "epochs_done", "history", "config")  # what eval, explore, --resume read
# Every constructor argument a checkpoint may set, and its bounds (2 at least: the explorer and figures draw two axes).
MODEL_ARG_BOUNDS = {"latent_dim": (2, MAX_LATENT_DIM)}


@dataclass
class LatentCodes:
    """The validation images' codes (the VAE's posterior means) and their labels: what the explorer maps."""

    points: np.ndarray  # (N, 2) float32: the first two latent axes
    labels: np.ndarray  # (N,) uint8


@dataclass
class Header:
    """Everything in a checkpoint but its tensors."""

    kind: str
    model_args: dict[str, Any]
    meta: dict[str, Any]  # dataset, epochs_done, best_val_loss, history, config, versions, date
    optimizer_groups: list[dict[str, Any]] | None


def _open(path: Path):
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        return safe_open(str(path), framework="numpy")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{path} is not a readable tui-ae checkpoint (truncated, or another format): {e}"
        ) from None


def read_header(path: Path) -> Header:
    path = Path(path)
    with _open(path) as f:
        return _header(path, f.metadata() or {})


def _header(path: Path, metadata: dict[str, str]) -> Header:
    try:
        doc = json.loads(metadata["tui_ae"])
        if doc["format"] != FORMAT:
            raise CheckpointError(f"{path} has format {doc['format']!r}; this tui-ae reads {FORMAT!r}")
        if doc["kind"] not in KINDS:
            raise CheckpointError(f"{path} holds a model of kind {doc['kind']!r}; tui-ae's are {' and '.join(KINDS)}")
        if not isinstance(doc["meta"], dict) or not all(key in doc["meta"] for key in REQUIRED_META):
            raise CheckpointError(f"{path} has incomplete tui-ae metadata: it needs {', '.join(REQUIRED_META)}")
        return Header(doc["kind"], doc["model_args"], doc["meta"], doc.get("optimizer_groups"))
    except (KeyError, TypeError, json.JSONDecodeError):
        raise CheckpointError(f"{path} was not written by tui-ae (no tui-ae metadata)") from None


def read_codes(path: Path) -> tuple[Header, LatentCodes | None]:
    """The header and the stored latent map, with numpy only: no torch import."""
    path = Path(path)
    with _open(path) as f:
        header = _header(path, f.metadata() or {})
        if "map/points" not in f.keys():
            return header, None
        return header, LatentCodes(f.get_tensor("map/points"), f.get_tensor("map/labels"))


def save(
    path: Path,
    model,
    meta: dict[str, Any],
    optimizer=None,
    codes: LatentCodes | None = None,
) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over path."""
    write(path, *contents(model, meta, optimizer, codes))


def contents(model, meta: dict[str, Any], optimizer=None, codes: LatentCodes | None = None):
    """(tensors, metadata) of a checkpoint: copies on the CPU, so training may go on changing the originals."""
    import torch

    def copy(tensor) -> torch.Tensor:
        return torch.as_tensor(tensor).detach().to("cpu", copy=True).contiguous()

    tensors = {f"model/{k}": copy(v) for k, v in model.state_dict().items()}
    groups = None
    if optimizer is not None:
        state = optimizer.state_dict()
        for index, entry in state["state"].items():
            for key, value in entry.items():
                tensors[f"optimizer/{index}/{key}"] = copy(value)
        groups = state["param_groups"]
    if codes is not None:
        tensors["map/points"] = torch.from_numpy(np.array(codes.points, dtype=np.float32))
        tensors["map/labels"] = torch.from_numpy(np.array(codes.labels, dtype=np.uint8))
    doc = {
        "format": FORMAT,
        "kind": model.kind,
        "model_args": {"latent_dim": model.latent_dim},
        "meta": meta,
        "optimizer_groups": groups,
    }
    return tensors, {"tui_ae": json.dumps(doc, default=_plain)}


def write(path: Path, tensors: dict, metadata: dict[str, str]) -> None:
    from safetensors.torch import save as to_bytes

    write_atomically(Path(path), to_bytes(tensors, metadata=metadata))


def _plain(value: Any) -> Any:
    """JSON for the tensors torch leaves in optimizer and scheduler state (a CUDA lr, say): their numbers."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def check_writable(path: Path, replace: bool = False) -> None:
    """Fail now, not after an epoch of training, if a checkpoint cannot be written at path."""
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder: give --out a file name, such as {path / 'model.safetensors'}")
    if path.exists() and not replace:
        raise CheckpointError(
            f"{path} exists: pass --resume to continue it, --force to replace it, or --out for a new file"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot create the folder {path.parent}: {e.strerror}") from None
    if not os.access(path.parent, os.W_OK):
        raise CheckpointError(f"cannot write checkpoints into {path.parent}: permission denied")


def _check_model_args(path: Path, model_args: Any) -> None:
    """Refuse what a crafted file could ask the constructor for (a latent size of billions), before building."""
    if not isinstance(model_args, dict) or model_args.keys() != MODEL_ARG_BOUNDS.keys():
        raise CheckpointError(f"{path} has model arguments {model_args!r}; tui-ae's take {list(MODEL_ARG_BOUNDS)}")
    for name, (low, high) in MODEL_ARG_BOUNDS.items():
        value = model_args[name]
        if type(value) is not int or not low <= value <= high:  # type(): a bool is an int too
            raise CheckpointError(f"{path} asks for {name} {value!r}; tui-ae's models take {low} to {high}")


def load(path: Path, device="cpu", kind: str | None = None):
    """(model in eval mode, header, optimizer state or None); clear errors for every bad file."""
    import torch

    from tui_ae.models import build_model

    path = Path(path)
    with _open(path) as f:
        header = _header(path, f.metadata() or {})
        _check_model_args(path, header.model_args)
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    if kind is not None and header.kind != kind:
        raise CheckpointError(f"{path} holds the {header.kind.upper()} model, not the {kind.upper()}")
    try:
        model = build_model(header.kind, **header.model_args)
        weights = {k.removeprefix("model/"): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("model/")}
        model.load_state_dict(weights)
    except (KeyError, TypeError, RuntimeError) as e:
        reason = str(e).splitlines()[0]
        raise CheckpointError(f"{path} does not fit tui-ae's {header.kind.upper()} architecture: {reason}") from None
    optimizer_state = None
    if header.optimizer_groups is not None:
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, index, name = key.split("/")
                state.setdefault(int(index), {})[name] = torch.from_numpy(value)
        optimizer_state = {"state": dict(sorted(state.items())), "param_groups": header.optimizer_groups}
    return model.to(device).eval(), header, optimizer_state
