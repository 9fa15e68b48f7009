"""Output that cannot be written costs no checkpoint and prints no traceback (issue 15, item 4).

Each case runs in a process of its own, as a shell would run it: its stdout the write end of a
pipe whose read end is closed (`| head -1` once head has gone), or /dev/full (a full disk).
"""

from __future__ import annotations

import os

import pytest
from conftest import run_command

from tui_ae import checkpoint

FULL = "error: could not write to standard output: No space left on device (the rest was dropped)"


@pytest.fixture
def closed_pipe():
    """The write end of a pipe that nobody reads any more."""
    read, write = os.pipe()
    os.close(read)
    yield write
    os.close(write)


@pytest.fixture
def full_disk():
    with open("/dev/full", "w") as file:
        yield file


@pytest.fixture
def commands(explorer_checkpoints, tiny_mnist, tmp_path) -> dict[str, list]:
    ae, vae = explorer_checkpoints
    return {
        "help": ["--help"],
        "doctor": ["doctor"],
        "eval": ["eval", ae, vae, "--data-dir", tiny_mnist],
        "figures": ["figures", "--ae", ae, "--vae", vae, "--data-dir", tiny_mnist, "--out", tmp_path / "figures"],
    }


@pytest.mark.parametrize("name", ["help", "doctor", "eval", "figures"])
def test_a_command_stops_quietly_with_0_on_a_closed_pipe_and_says_a_full_disk_in_one_line(
    name, commands, tmp_path, closed_pipe, full_disk
):
    done = run_command(*commands[name], cwd=tmp_path, stdout=closed_pipe)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    if name == "doctor":  # it stopped at its first line: torch, the last section, never came
        assert not done.imported("torch")
    done = run_command(*commands[name], cwd=tmp_path, stdout=full_disk)
    assert (done.returncode, done.stderr) == (1, FULL + "\n"), done.stderr


def test_train_goes_on_to_its_last_checkpoint_whatever_becomes_of_its_output(
    tiny_mnist, tmp_path, closed_pipe, full_disk
):
    common = ("train", "--epochs", "2", "--batch-size", "64", "--data-dir", tiny_mnist)
    done = run_command(*common, "--out", "piped.safetensors", cwd=tmp_path, stdout=closed_pipe)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr  # what was read is all the reader wanted
    assert checkpoint.read_header(tmp_path / "piped.safetensors").meta["epochs_done"] == 2
    done = run_command(*common, "--out", "full.safetensors", cwd=tmp_path, stdout=full_disk)
    assert (done.returncode, done.stderr) == (1, FULL + "\n"), done.stderr  # once, at the end
    assert checkpoint.read_header(tmp_path / "full.safetensors").meta["epochs_done"] == 2


def test_a_warning_to_a_closed_stderr_neither_stops_train_nor_changes_its_exit(tiny_mnist, tmp_path, closed_pipe):
    """`train ... 2>&1 | head -1`: the posterior-collapse warning (stderr) goes to the pipe that head closed."""
    collapsing = ("--model", "vae", "--beta", "50", "--epochs", "3", "--batch-size", "64", "--data-dir", tiny_mnist)
    done = run_command(
        "train", *collapsing, "--out", "vae.safetensors", cwd=tmp_path, stdout=closed_pipe, stderr=closed_pipe
    )
    assert done.returncode == 0
    header = checkpoint.read_header(tmp_path / "vae.safetensors")
    assert header.meta["epochs_done"] == 3
    assert any(epoch["val"]["kl"] < 0.1 for epoch in header.meta["history"])  # so the warning was written
