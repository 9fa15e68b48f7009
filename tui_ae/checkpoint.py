"""Checkpoints as safetensors files: weights, optimizer state, the latent map, and JSON metadata.

Why safetensors rather than torch.save: loading one can never execute code (a
pickle can), and its tensors and metadata are readable with numpy alone, so
`tui-ae explore` draws its maps before torch (two seconds to import) is loaded.
Torch is therefore imported inside the functions that need it.

Layout of a file:
    model/<name>              the model's state_dict
    optimizer/<param>/<key>   Adam's per-parameter state (for --resume)
    map/...                   the latent map: the validation images' codes, as explore and figures show them
    metadata["tui_ae"]        JSON: format, kind, model_args, meta (dataset, epochs, history, ...)

The map, for a latent space of 2 to MAP_MAX_DIM dimensions (none above: explore and figures
refuse those, and eval needs no map):
    map/points (N, 2) float32   where the map draws each code: its projection on the map's plane, or
                                a 2-D model's code itself. Readers that know only 2-D maps read this.
    map/labels (N,) uint8       the codes' digits
    map/spacing (2,) float64    the median and 99th percentile of the distances from a code to its
                                nearest neighbour, in full dimensions: the readouts' unit, and where
                                "off the data" begins (exact in 2-D; above, from 2,000 of the codes)
  and above 2 dimensions:
    map/codes (N, D) float32    the full codes (12,000 x 64 x 4 bytes = 3 MB at most)
    map/plane/mean (D,), map/plane/axes (D, 2), map/plane/shares (2,), float64
                                the principal plane the points are projected on (plane.py)

Files written before the plane, of the same format, hold map/points and map/labels alone. For a
2-D model that is the whole map. For more dimensions those points are the codes' first two axes:
explore and figures then encode the validation images again, in memory, rather than show them
(needs_encoding); nothing is written back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from tui_ae.config import KINDS, MAX_LATENT_DIM
from tui_ae.errors import CheckpointError
from tui_ae.files import write_atomically, write_refusal
from tui_ae.neighbours import Spacing
from tui_ae.plane import Plane

FORMAT = "tui-ae/1"
REQUIRED_META = ("data_source", "epochs_done", "history", "config")  # what eval, explore, --resume read
# Every constructor argument a checkpoint may set, and its bounds (2 at least: the explorer and figures draw two axes).
MODEL_ARG_BOUNDS = {"latent_dim": (2, MAX_LATENT_DIM)}
MAP_MAX_DIM = 64  # the largest latent space whose map a checkpoint stores, and which explore and figures show


@dataclass
class LatentCodes:
    """The validation images' codes (the VAE's posterior means) as a latent map shows them, and what its readouts
    need (see the module's docstring for how each is stored)."""

    points: np.ndarray  # (N, 2) float32: where the map draws each code (its projection; a 2-D model's code itself)
    labels: np.ndarray  # (N,) uint8
    codes: np.ndarray | None = None  # (N, D) float32: the full codes above 2 dimensions (in 2, they are the points)
    plane: Plane | None = None  # the plane the points lie on above 2 dimensions (in 2, the space's own axes)
    spacing: Spacing | None = None  # the codes' spacing in full dimensions; None: not stored (measure it)

    @classmethod
    def of(cls, codes: np.ndarray, labels: np.ndarray) -> LatentCodes:
        """The map of a model's (N, D) validation codes, as training stores it: above 2 dimensions, on their
        principal plane."""
        codes = np.asarray(codes, dtype=np.float32)
        labels = np.asarray(labels, dtype=np.uint8)
        spacing = Spacing.of_codes(codes)
        if codes.shape[1] == 2:
            return cls(codes, labels, spacing=spacing)
        plane = Plane.fit(codes)
        return cls(plane.project(codes).astype(np.float32), labels, codes, plane, spacing)

    @property
    def full(self) -> np.ndarray:
        """(N, D) the codes in all their dimensions (a 2-D map's points)."""
        return self.points if self.codes is None else self.codes


def needs_encoding(latent_dim: int, stored: LatentCodes | None) -> bool:
    """Whether a model's map must be made anew from its validation images: more than 2 dimensions, and no full
    codes stored (a file written before the plane, whose points are the first two axes, or one with no map)."""
    return latent_dim > 2 and (stored is None or stored.codes is None)


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
        names = set(f.keys())
        if "map/points" not in names:
            return header, None
        try:
            return header, _map(f, names, header.model_args.get("latent_dim"))
        except (KeyError, ValueError, TypeError, SafetensorError) as e:
            raise CheckpointError(f"{path} has a malformed latent map: {e}") from None


def _map(f, names: set[str], dim: Any) -> LatentCodes:
    """The map's tensors, each checked against the others' shapes."""
    codes = LatentCodes(f.get_tensor("map/points"), f.get_tensor("map/labels"))
    n = len(codes.labels)
    if codes.points.shape != (n, 2):
        raise ValueError(f"points of shape {codes.points.shape} for {n} labels")
    if "map/spacing" in names:
        median, far = f.get_tensor("map/spacing").astype(np.float64).tolist()  # ValueError unless two values
        codes.spacing = Spacing(median, far) if 0 < median <= far else None
    if "map/codes" in names:
        codes.codes = f.get_tensor("map/codes")
        mean, axes = f.get_tensor("map/plane/mean"), f.get_tensor("map/plane/axes")
        first, second = f.get_tensor("map/plane/shares").tolist()
        if codes.codes.shape != (n, dim) or mean.shape != (dim,) or axes.shape != (dim, 2):
            raise ValueError(f"codes {codes.codes.shape}, plane {mean.shape} {axes.shape}, for {n} {dim}-D codes")
        codes.plane = Plane(mean.astype(np.float64), axes.astype(np.float64), (float(first), float(second)))
    return codes


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
        tensors.update(map_tensors(codes))
    doc = {
        "format": FORMAT,
        "kind": model.kind,
        "model_args": {"latent_dim": model.latent_dim},
        "meta": meta,
        "optimizer_groups": groups,
    }
    return tensors, {"tui_ae": json.dumps(doc, default=_plain)}


def map_tensors(codes: LatentCodes) -> dict:
    """A map's tensors, named as a checkpoint stores them."""
    import torch

    arrays = {"map/points": np.array(codes.points, dtype=np.float32), "map/labels": np.array(codes.labels, np.uint8)}
    if codes.spacing is not None:
        arrays["map/spacing"] = np.array([codes.spacing.median, codes.spacing.far], dtype=np.float64)
    if codes.codes is not None:
        arrays["map/codes"] = np.array(codes.codes, dtype=np.float32)
        arrays["map/plane/mean"] = np.array(codes.plane.mean, dtype=np.float64)
        arrays["map/plane/axes"] = np.array(codes.plane.axes, dtype=np.float64)
        arrays["map/plane/shares"] = np.array(codes.plane.shares, dtype=np.float64)
    return {name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in arrays.items()}


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
    if why := write_refusal(path.parent):
        raise CheckpointError(f"cannot write checkpoints into {path.parent}: {why}")


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
