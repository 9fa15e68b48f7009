"""Loading the models behind the first frame, and keeping torch to one thread where keys decode.

The first frame draws from the checkpoints alone (numpy); `load_models` then runs in a
thread worker, where importing torch (most of two seconds, holding the GIL) and reading the
weights do not hold up the screen. It only posts messages back. An old checkpoint of more
than 2 dimensions, which stores only its first two axes, gets its map there too, made from
its validation images before its model is handed over (or, where they cannot be found, the
model is refused with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.message import Message

from tui_ae.errors import TuiAeError
from tui_ae.tui.messages import MapEncoded, ModelFailed, ModelLoaded
from tui_ae.tui.quiet_gc import release_free_memory
from tui_ae.tui.slot import Slot

ModelLoader = Callable[[Path, str], Any]  # (checkpoint, kind) -> the model in eval mode; raises TuiAeError


def checkpoint_model(path: Path, kind: str) -> Any:
    """The model a checkpoint holds: what the explorer decodes with, unless a test gives another loader."""
    from tui_ae.checkpoint import load  # imports torch

    model, _, _ = load(path, kind=kind)
    return model


def load_models(
    slots: Iterable[Slot], loader: ModelLoader, post: Callable[[Message], Any], data_dir: Path | None = None
) -> None:
    """Load each usable slot's model (in a thread worker) and post ModelLoaded or ModelFailed for it.

    Before an old checkpoint's model, MapEncoded with its map (from the validation images of
    --data-dir, else where its training found them).
    """
    for slot in slots:
        if not slot.usable:
            continue
        loaded = load_model(slot, loader)
        if slot.needs_encoding and isinstance(loaded, ModelLoaded):
            loaded = encode_map(slot, loaded, data_dir, post)
        post(loaded)
    release_free_memory()  # what reading the checkpoints left in this thread's heap


def encode_map(slot: Slot, loaded: ModelLoaded, data_dir: Path | None, post: Callable[[Message], Any]) -> Message:
    """Post the map of an old checkpoint's model; the model to hand over, or why there is none."""
    from tui_ae.evaluation import validation_map  # imports torch: loaded already

    try:
        post(MapEncoded(slot.kind, validation_map(loaded.model, slot.path, slot.header, data_dir)))
    except TuiAeError as e:
        return ModelFailed(slot.kind, str(e))
    return loaded


def load_model(slot: Slot, loader: ModelLoader) -> ModelLoaded | ModelFailed:
    """The slot's model from its file, decoded once, as the message that hands it over (or says why not)."""
    import torch

    try:
        model = loader(slot.path, slot.kind)
        model.decode(torch.zeros(1, slot.latent_dim))  # the first call pays for setup; not a key press
    except TuiAeError as e:
        return ModelFailed(slot.kind, str(e))
    return ModelLoaded(slot.kind, model)


class OneTorchThread:
    """Torch's intra-op threads held at one while the explorer runs, and given back when it ends.

    A decode is a few small layers: a second thread only adds its wake-up to a key
    press's latency (BENCHMARKS.md, "What the explorer's keys are spared").
    `torch.set_num_threads` is defined for the thread that calls it (OpenMP keeps the
    count per thread); threads that have not used torch yet take the new count on first use.
    So `hold` runs on the UI thread, where the keys decode, once torch is imported; the
    grid's worker threads, started later, follow.
    """

    def __init__(self) -> None:
        self.before: int | None = None  # the UI thread's count before hold()

    def hold(self) -> None:
        import torch  # already imported by the loading worker: no wait

        if self.before is None:
            self.before = torch.get_num_threads()
        torch.set_num_threads(1)

    def release(self) -> None:
        if self.before is not None:
            import torch

            torch.set_num_threads(self.before)
            self.before = None
