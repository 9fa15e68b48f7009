"""The package's structure, read from its source: each rule said once, the maps drawn by their owner alone.

Issue 17's checks that anyone can run (`python -m pytest tests/test_structure.py`): the model
kinds written once, no mode view drawing on a map, the explorer's minimum size written once,
and evaluation not imported from the training module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tui_ae

PACKAGE = Path(tui_ae.__file__).parent


def sources() -> dict[str, str]:
    """Every module of the package, by its path inside it ("tui/app.py")."""
    return {path.relative_to(PACKAGE).as_posix(): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def written(pattern: str) -> list[str]:
    """The modules a regular expression matches in, once per match."""
    return [name for name, text in sources().items() for _ in re.finditer(pattern, text)]


def test_the_model_kinds_are_written_once():
    assert written(r"""["']ae["']\s*,\s*["']vae["']""") == ["config.py"]  # ModelName; KINDS = get_args(ModelName)


def test_no_mode_view_draws_on_a_map():
    """The app owns what the maps draw: a view posts a message (tui/messages.py), and never holds a map."""
    drawing = {"set_overlay", "set_mark", "set_cursor"}
    views = {name: text for name, text in sources().items() if name.startswith("tui/") and name.endswith("_view.py")}
    assert {"tui/explore_view.py", "tui/compare_view.py", "tui/interpolation_view.py"} <= views.keys()
    for name, text in views.items():
        tree = ast.parse(text)
        calls = {getattr(node.func, "attr", None) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        assert not drawing & calls, name
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert "LatentMap" not in imported, name


def test_the_explorers_minimum_size_is_written_once():
    assert written(r"\(\s*60\s*,\s*20\s*\)") == ["tui/sizes.py"]  # MIN_SIZE, which the app and doctor import


def test_evaluation_is_never_imported_from_the_training_module():
    """Evaluation lives in evaluation.py: no module takes any of its functions from train.py, which only uses them."""
    evaluation = ast.parse(sources()["evaluation.py"])
    names = {node.name for node in evaluation.body if isinstance(node, ast.FunctionDef)}
    assert {"evaluate", "evaluate_checkpoint", "knn_accuracy", "active_units"} <= names
    for module, text in sources().items():
        if module == "train.py":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "tui_ae.train":  # from tui_ae.train import ...
                assert not names & {alias.name for alias in node.names}, module
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "train":
                assert node.attr not in names, module  # from tui_ae import train; train.evaluate_checkpoint(...)
    train = ast.parse(sources()["train.py"])
    assert not names & {node.name for node in train.body if isinstance(node, ast.FunctionDef)}  # defined once


def test_inference_is_written_once_on_the_models():
    """Issue 18: no-grad encode, decode and reconstruct live on the models (as nanoGPT's generate()); the explorer,
    the figures and the training preview call them and hold no gradient switch of their own."""
    models = sources()["models.py"]
    assert len(re.findall(r"@torch\.no_grad\(\)\s+def (?:encode|decode|reconstruct)\(", models)) == 6  # AE and VAE
    for name in ("tui/slot.py", "tui/loading.py", "figures.py", "train.py"):
        assert not re.search(r"no_grad|inference_mode", sources()[name]), name
