"""What each command imports, in a process of its own: never torch._dynamo (and sympy, which it pulls in).

torch._dynamo takes seconds to import (1.6 s on a 2-core CPU, 6 to 7.6 s on the H100
machine: BENCHMARKS.md), and only --compile needs it. torch.optim's Optimizer imports it on
its first use, as torchvision does: so training owns its AdamW (tui_ae/optim.py). Exempt:
`figures` (torchvision's make_grid) and a first run that downloads through torchvision.

The commands run for real on small data, in tmp_path; `explore` in a pseudo-terminal, where
it is quit with `q` once both of its digits are decoded (so its models are loaded and have
run). Nothing here stubs a module or patches torch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CommandRun, Terminal, run_command, write_fake_mnist

SLOW_TO_IMPORT = ("torch._dynamo", "sympy")
DIGIT = "\u2580" * 8  # a decoded digit's half blocks, in a row


def assert_light(done: CommandRun) -> None:
    """The command succeeded, got as far as torch, and imported neither torch._dynamo nor sympy."""
    assert done.returncode == 0, done.stderr[-2000:] or done.stdout[-2000:]
    assert done.imported("torch")  # it did the work that needs torch: the check below is not vacuous
    assert [name for name in SLOW_TO_IMPORT if done.imported(name)] == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, CommandRun]:
    """(folder, data folder, the run): a new AE trained for one epoch on local data, in a process of its own."""
    folder = tmp_path_factory.mktemp("imports")
    data = write_fake_mnist(folder / "data")
    done = run_command("train", "--model", "ae", "--epochs", "1", "--data-dir", data, "--device", "cpu", cwd=folder)
    return folder, data, done


def test_a_new_training_run(trained):
    folder, _, done = trained
    assert_light(done)
    assert (folder / "checkpoints" / "ae.safetensors").is_file()


def test_a_new_one_cycle_run_of_the_vae(trained):
    folder, data, _ = trained
    assert_light(run_command("train", "--model", "vae", "--recipe", "best", "--epochs", "1", "--data-dir", data,
                             "--device", "cpu", "--out", folder / "vae.safetensors", cwd=folder))  # fmt: skip


def test_a_resumed_training_run(trained):
    folder, data, _ = trained
    done = run_command("train", "--model", "ae", "--epochs", "2", "--resume", "--data-dir", data, "--device", "cpu",
                       "--out", folder / "checkpoints" / "ae.safetensors", cwd=folder)  # fmt: skip
    assert_light(done)
    assert "resuming after epoch 1" in done.stdout


def test_eval(trained):
    folder, data, _ = trained
    done = run_command("eval", "--data-dir", data, "--device", "cpu", cwd=folder)
    assert_light(done)
    assert "kNN" in done.stdout


def test_explore_with_its_model_loaded(trained):
    folder, data, _ = trained
    terminal = Terminal(wait_for=DIGIT.encode(), keys=b"q")
    assert_light(run_command("explore", "--data-dir", data, cwd=folder, terminal=terminal))
    assert DIGIT in terminal.output


def test_doctor(trained):
    folder, _, _ = trained
    done = run_command("doctor", cwd=folder)
    assert_light(done)
    assert "torch" in done.stdout
