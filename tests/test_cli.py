"""The CLI as a user meets it: Typer's CliRunner, so output is not a terminal."""

import re

import pytest
from typer.testing import CliRunner

from tui_ae import checkpoint
from tui_ae import train as training
from tui_ae.cli import app

runner = CliRunner()
CONTROL = re.compile(r"\x1b|\r")


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_one_line_error(result, code: int, pattern: str):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(pattern, lines[0]), result.stderr
    assert "Traceback" not in result.output


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    assert all(command in result.output for command in ("train", "eval", "explore"))


def test_train_then_eval_on_tiny_data(tiny_mnist, in_tmp):
    result = invoke("train", "--model", "vae", "--epochs", "2", "--batch-size", "64", "--data-dir", tiny_mnist)
    assert result.exit_code == 0, result.output
    assert not CONTROL.search(result.output), "non-terminal output must be plain lines"
    lines = result.output.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "recon" in epoch_lines[-1] and "KL" in epoch_lines[-1]
    assert "VAE training" in result.output  # the summary table
    assert lines[-1] == "Checkpoint: checkpoints/vae.safetensors"
    assert checkpoint.read_header(in_tmp / "checkpoints" / "vae.safetensors").meta["epochs_done"] == 2

    result = invoke("eval", "--data-dir", tiny_mnist)
    assert result.exit_code == 0, result.output
    assert invoke("eval", "checkpoints", "--data-dir", tiny_mnist).output == result.output  # a folder: its checkpoints
    row = next(line for line in result.output.splitlines() if "VAE" in line)
    assert "seed" in row and len(re.findall(r"\d+\.\d+", row)) == 4  # recipe; MSE, -ELBO, recon, KL


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["train", "--model", "gan"], "'gan' is not one of 'ae', 'vae'"),
        (["train", "--epochs", "many"], "--epochs"),
        (["train", "--bogus"], "No such option: --bogus"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_options_are_one_line_errors(args, pattern):
    assert_one_line_error(invoke(*args), 2, pattern)


def test_out_of_range_settings_are_one_line_errors(tiny_mnist, in_tmp):
    assert_one_line_error(invoke("train", "--epochs", "0", "--data-dir", tiny_mnist), 2, "--epochs must be at least 1")
    assert_one_line_error(invoke("train", "--lr", "-1", "--data-dir", tiny_mnist), 2, "--lr must be positive")


def test_missing_data_and_checkpoints_are_one_line_errors(in_tmp, monkeypatch):
    assert_one_line_error(invoke("train", "--data-dir", in_tmp), 2, "no mnist files in")
    monkeypatch.setattr("tui_ae.data.DEBIAN_FASHION_DIR", in_tmp / "nowhere")
    monkeypatch.setattr("tui_ae.data._download", lambda *a: None)
    assert_one_line_error(invoke("train", "--dataset", "fashion-mnist"), 2, "Fashion-MNIST not found")
    assert_one_line_error(invoke("eval"), 2, "no checkpoints in checkpoints/")
    assert_one_line_error(invoke("eval", in_tmp / "missing.safetensors"), 2, "no checkpoint at")
    (in_tmp / "junk.safetensors").write_bytes(b"not a checkpoint")
    assert_one_line_error(invoke("eval", in_tmp / "junk.safetensors"), 2, "not a readable tui-ae checkpoint")


def test_ctrl_c_keeps_the_last_epoch_and_exits_130(tiny_mnist, in_tmp, monkeypatch):
    real_evaluate = training.evaluate
    calls = []

    def interrupted_in_epoch_2(model, loader):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(model, loader)

    monkeypatch.setattr(training, "evaluate", interrupted_in_epoch_2)
    result = invoke("train", "--epochs", "3", "--data-dir", tiny_mnist)
    assert_one_line_error(result, 130, "interrupted: the checkpoint of epoch 1 is at checkpoints/ae.safetensors")
    assert checkpoint.read_header(in_tmp / "checkpoints" / "ae.safetensors").meta["epochs_done"] == 1


def test_an_unwritable_out_fails_before_training(tiny_mnist, in_tmp):
    (in_tmp / "folder").mkdir()
    assert_one_line_error(invoke("train", "--out", in_tmp / "folder", "--data-dir", tiny_mnist), 2, "is a folder")
    assert_one_line_error(
        invoke("train", "--out", "/proc/nope/ae.safetensors", "--data-dir", tiny_mnist),
        2,
        "cannot create the folder /proc/nope",
    )
    assert_one_line_error(
        invoke("train", "--grad-clip", "nan", "--data-dir", tiny_mnist), 2, "--grad-clip must be a finite"
    )
