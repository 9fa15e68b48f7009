"""The CLI as a user meets it: Typer's CliRunner, so output is not a terminal."""

import io
import re

import pytest
import torch
import typer
from conftest import explorer_meta, run_command, write_fake_mnist
from rich.console import Console
from typer.testing import CliRunner

from tui_ae import checkpoint, data, evaluation
from tui_ae import cli as cli_module
from tui_ae import train as training
from tui_ae.cli import app
from tui_ae.errors import Interrupted
from tui_ae.models import build_model

runner = CliRunner()
CONTROL = re.compile(r"\x1b|\r")


def invoke(*args: str, columns: int = 80):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_one_line_error(result, code: int, pattern: str):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(pattern, lines[0]), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--help"], []])
def test_help_lists_every_command_with_its_summary_once(args):
    commands = typer.main.get_command(app).commands
    assert {"train", "eval", "explore"} <= commands.keys()
    result = invoke(*args)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.output.count("Usage:") == 1
    for name, command in commands.items():
        summary = " ".join(command.help.split()[:4])  # the first words: Rich may wrap the rest
        assert re.search(rf"\b{name}\s+{re.escape(summary)}", result.output), (name, result.output)


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

    for columns in (80, 120):
        result = invoke("eval", "--data-dir", tiny_mnist, columns=columns)
        assert result.exit_code == 0, result.output
        assert max(len(line) for line in result.output.splitlines()) <= columns
        words = result.output.split()
        assert {"checkpoints/vae.safetensors", "VAE", "seed", "mnist", "2", "60"} <= set(words)
        assert len([word for word in words if re.fullmatch(r"\d+\.\d+", word)]) == 4  # MSE, -ELBO, recon, KL
    # a folder stands for its checkpoints; a checkpoint is named from the current folder
    assert invoke("eval", "checkpoints", "--data-dir", tiny_mnist, columns=120).output == result.output
    assert invoke("eval", in_tmp / "checkpoints", "--data-dir", tiny_mnist, columns=120).output == result.output


def test_eval_classifies_the_test_codes_among_the_training_splits_codes(tiny_mnist, in_tmp, monkeypatch):
    common = ("--epochs", "1", "--batch-size", "64", "--data-dir", tiny_mnist)
    assert invoke("train", "--model", "ae", *common).exit_code == 0
    assert invoke("train", "--model", "vae", "--latent-dim", "3", *common).exit_code == 0
    calls = []

    def knn_accuracy(reference, reference_labels, queries, query_labels):
        calls.append((reference, reference_labels, queries, query_labels))
        return real_knn_accuracy(reference, reference_labels, queries, query_labels)

    real_knn_accuracy = evaluation.knn_accuracy
    monkeypatch.setattr(evaluation, "knn_accuracy", knn_accuracy)
    activity_of = []
    real_active_units = evaluation.active_units
    monkeypatch.setattr(evaluation, "active_units", lambda means: activity_of.append(means) or real_active_units(means))
    result = invoke("eval", "--data-dir", tiny_mnist, columns=120)
    assert result.exit_code == 0, result.output

    raw_dir = tiny_mnist / "MNIST" / "raw"
    train_set, _ = data.train_val_split(data.read_split(raw_dir, "train", ""))  # 200 of the 250
    test_set = data.read_split(raw_dir, "test", "")
    images = {"train": train_set.images.unsqueeze(1).float() / 255, "test": test_set.images.unsqueeze(1).float() / 255}
    assert len(calls) == 2  # the AE's, then the VAE's
    rows = {}
    for kind, (reference, reference_labels, queries, query_labels) in zip(("ae", "vae"), calls):
        model, _, _ = checkpoint.load(in_tmp / "checkpoints" / f"{kind}.safetensors")
        with torch.no_grad():  # every latent axis; the VAE's posterior means
            torch.testing.assert_close(reference, model.encode(images["train"]))
            torch.testing.assert_close(queries, model.encode(images["test"]))
        assert torch.equal(reference_labels, train_set.labels) and torch.equal(query_labels, test_set.labels)
        accuracy = real_knn_accuracy(reference, reference_labels, queries, query_labels)
        rows[kind] = f"{accuracy:.1%}", f"{real_active_units(queries)}/3" if kind == "vae" else "-"
    assert calls[1][0].shape == (200, 3)
    assert len(activity_of) == 1 and activity_of[0] is calls[1][2]  # the VAE's alone, over the test images
    for kind, (knn, active) in rows.items():
        assert re.search(
            rf"^ checkpoints/{kind}\.safetensors .* {re.escape(knn)} +{re.escape(active)} *$", result.output, re.M
        )


def test_eval_says_which_checkpoint_it_is_on_on_a_terminal_only(tiny_mnist, in_tmp, monkeypatch):
    assert invoke("train", "--epochs", "1", "--batch-size", "64", "--data-dir", tiny_mnist).exit_code == 0
    result = invoke("eval", "--data-dir", tiny_mnist)
    assert result.exit_code == 0 and result.stderr == ""  # not a terminal: no status, no control codes
    terminal = Console(file=io.StringIO(), force_terminal=True, width=80)
    monkeypatch.setattr(cli_module, "err_console", terminal)
    assert invoke("eval", "--data-dir", tiny_mnist).exit_code == 0
    assert "evaluating checkpoints/ae.safetensors (1 of 1)" in terminal.file.getvalue()


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


def test_a_run_resumed_on_other_data_is_refused_in_one_line(tiny_mnist, in_tmp):
    run = ("--out", "run.safetensors", "--batch-size", "64")
    assert invoke("train", "--epochs", "1", *run, "--data-dir", tiny_mnist).exit_code == 0
    other = write_fake_mnist(in_tmp / "other", n_train=300)
    result = invoke("train", "--resume", "--epochs", "2", *run, "--data-dir", other)
    said = r"--resume reads only the data the checkpoint was trained on, mnist from \S+ \(250 training images.*\); "
    assert_one_line_error(result, 2, said + r"\S+ holds 300 training images")


def test_resume_keeps_the_checkpoints_seed_and_so_its_batch_order(tiny_mnist, in_tmp):
    common = ("--batch-size", "64", "--data-dir", tiny_mnist)
    assert invoke("train", "--epochs", "2", "--seed", "3", "--out", "whole.safetensors", *common).exit_code == 0
    assert invoke("train", "--epochs", "1", "--seed", "3", "--out", "parts.safetensors", *common).exit_code == 0
    result = invoke("train", "--resume", "--epochs", "2", "--out", "parts.safetensors", *common)
    assert result.exit_code == 0, result.output
    whole, _, _ = checkpoint.load(in_tmp / "whole.safetensors")
    parts, header, _ = checkpoint.load(in_tmp / "parts.safetensors")
    assert header.meta["config"]["seed"] == 3
    for x, y in zip(whole.state_dict().values(), parts.state_dict().values()):
        torch.testing.assert_close(x, y)  # epoch 2 saw the same batches in the same order
    assert_one_line_error(
        invoke("train", "--resume", "--epochs", "3", "--seed", "0", "--out", "parts.safetensors", *common),
        2,
        "--seed 0 differs from the checkpoint's 3",
    )


def test_out_of_range_settings_are_one_line_errors(tiny_mnist, in_tmp):
    assert_one_line_error(invoke("train", "--epochs", "0", "--data-dir", tiny_mnist), 2, "--epochs must be at least 1")
    assert_one_line_error(invoke("train", "--lr", "-1", "--data-dir", tiny_mnist), 2, "--lr must be positive")
    assert_one_line_error(
        invoke("train", "--latent-dim", "3000000000", "--data-dir", tiny_mnist), 2, "--latent-dim must be at most 1024"
    )


def test_missing_data_and_checkpoints_are_one_line_errors(in_tmp, monkeypatch):
    assert_one_line_error(invoke("train", "--data-dir", in_tmp), 2, "no mnist files in")
    monkeypatch.setattr("tui_ae.data.DEBIAN_FASHION_DIR", in_tmp / "nowhere")
    monkeypatch.setattr("tui_ae.data._download", lambda *a: None)
    assert_one_line_error(invoke("train", "--dataset", "fashion-mnist"), 2, "Fashion-MNIST not found")
    assert_one_line_error(invoke("eval"), 2, "no checkpoints in checkpoints/")
    assert_one_line_error(invoke("eval", in_tmp / "missing.safetensors"), 2, "no checkpoint at")
    (in_tmp / "junk.safetensors").write_bytes(b"not a checkpoint")
    assert_one_line_error(invoke("eval", in_tmp / "junk.safetensors"), 2, "not a readable tui-ae checkpoint")


def test_eval_on_a_device_this_machine_lacks_is_one_error_for_all_checkpoints(in_tmp, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    folder = in_tmp / "checkpoints"
    folder.mkdir()
    for kind in ("ae", "vae"):
        checkpoint.save(folder / f"{kind}.safetensors", build_model(kind, latent_dim=2), explorer_meta())
    assert_one_line_error(invoke("eval", "--device", "cuda"), 2, "--device cuda was asked for")


def test_ctrl_c_keeps_the_last_epoch_and_exits_130(tiny_mnist, in_tmp, monkeypatch):
    real_evaluate = training.evaluate_and_encode
    calls = []

    def interrupted_in_epoch_2(model, loader):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(model, loader)

    monkeypatch.setattr(training, "evaluate_and_encode", interrupted_in_epoch_2)
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
    # A folder that exists and whose mode bits let root write, where no file can be made: tried, not read off them.
    assert_one_line_error(
        invoke("train", "--out", "/proc/ae.safetensors", "--data-dir", tiny_mnist),
        2,
        "cannot write checkpoints into /proc: ",
    )
    assert_one_line_error(
        invoke("train", "--grad-clip", "nan", "--data-dir", tiny_mnist), 2, "--grad-clip must be a finite"
    )


def test_ctrl_c_in_the_display_still_finishes_the_last_checkpoint(tiny_mnist, in_tmp, monkeypatch):
    """Ctrl-C can land in the display's code, not the loop's: the write in flight is on disk when run() raises."""
    import time

    from rich.console import Console

    from tui_ae import progress
    from tui_ae.config import TrainConfig

    real_write, real_line = checkpoint.write, progress._epoch_line

    def slow_write(*args, **kwargs):
        time.sleep(0.5)  # still writing when the interrupt comes
        real_write(*args, **kwargs)

    def interrupted(event, *args):
        if event.epoch == 1:
            raise KeyboardInterrupt
        return real_line(event, *args)

    monkeypatch.setattr(checkpoint, "write", slow_write)
    monkeypatch.setattr(progress, "_epoch_line", interrupted)
    config = TrainConfig(epochs=3, data_dir=tiny_mnist, device="cpu")
    with pytest.raises(Interrupted, match="the checkpoint of epoch 1 is at") as raised:
        progress.run(config, Console(file=io.StringIO()))
    # `raised` keeps the error's traceback, and with it run()'s frame and the training generator, alive
    assert checkpoint.read_header(in_tmp / "checkpoints" / "ae.safetensors").meta["epochs_done"] == 1
    del raised  # held until here, so the checkpoint was read while the generator was still alive


def test_a_latent_space_of_one_axis_is_refused(tiny_mnist, in_tmp):
    assert_one_line_error(invoke("train", "--latent-dim", "1", "--data-dir", tiny_mnist), 2,
                          "--latent-dim must be at least 2")  # fmt: skip


@pytest.mark.parametrize("seed", ["-1", str(2**32), "99999999999999999999"])
def test_a_seed_out_of_range_is_refused_before_anything_is_written(tiny_mnist, in_tmp, seed):
    out = in_tmp / "new-folder" / "ae.safetensors"
    assert_one_line_error(invoke("train", "--seed", seed, "--out", str(out), "--data-dir", tiny_mnist), 2,
                          f"--seed must be from 0 to {2**32 - 1}, got {seed}")  # fmt: skip
    assert not out.parent.exists()  # a refused run makes no folder


def test_a_usage_error_in_a_process_of_its_own(tmp_path):
    """The helper that later tests of imports build on: it sees the exit, the message and the modules."""
    done = run_command("train", "--model", "xyz", cwd=tmp_path)
    assert done.returncode == 2 and "error:" in done.stderr and "xyz" in done.stderr
    assert done.imported("typer") and not done.imported("textual")


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["train", "--epochs", "0"], "--epochs must be at least 1"),
        (["train", "--lr", "-1"], "--lr must be positive"),
        (["train", "--model", "ae", "--beta", "2"], "the AE has none"),
        (["train", "--out", "."], "is a folder"),
        (["train", "--resume", "--out", "missing.safetensors"], "no checkpoint at missing.safetensors"),
        (["train", "--resume", "--epochs", "0"], "--epochs must be at least 1"),
        (["eval", "--device", "tpu"], "'tpu' is not one of"),
        (["eval"], "no checkpoints in checkpoints/"),
        (["explore", "--color", "99"], "'99' is not one of"),
        (["figures", "--grid", "1"], "--grid must be between 2 and 30"),
        (["figures", "--format", "gif"], "'gif' is not one of"),
        (["doctor", "--bogus"], "No such option: --bogus"),
    ],
)
def test_usage_errors_come_before_torch_is_imported(args, pattern, tmp_path):
    done = run_command(*args, cwd=tmp_path)
    assert done.returncode == 2 and re.fullmatch(rf"error: .*{re.escape(pattern)}.*\n", done.stderr), done.stderr
    assert not done.imported("torch")


def test_eval_shows_one_file_given_by_several_names_once(explorer_checkpoints, tiny_mnist, in_tmp):
    (in_tmp / "runs").mkdir()
    (in_tmp / "runs" / "ae.safetensors").write_bytes(explorer_checkpoints[0].read_bytes())
    (in_tmp / "link.safetensors").symlink_to(in_tmp / "runs" / "ae.safetensors")
    once = invoke("eval", "runs/ae.safetensors", "--data-dir", tiny_mnist)
    assert once.exit_code == 0, once.output
    names = ["runs/ae.safetensors", "./runs/ae.safetensors", in_tmp / "runs" / "ae.safetensors",
             "runs/../runs/ae.safetensors", "link.safetensors", "runs"]  # fmt: skip
    assert invoke("eval", *names, "--data-dir", tiny_mnist).output == once.output


def test_a_collapsed_posterior_is_said_on_stderr_after_the_epoch_it_describes(tiny_mnist, in_tmp):
    # a huge beta drives the KL to nothing: the codes then say nothing of the images
    result = invoke(
        "train", "--model", "vae", "--epochs", "3", "--beta", "500", "--lr", "3e-3", "--data-dir", tiny_mnist
    )
    assert result.exit_code == 0, result.output
    [warning] = result.stderr.splitlines()
    epoch = re.search(r"in epoch (\d+):", warning)[1]
    assert (
        warning.startswith("warning: ") and "posterior may have collapsed" in warning and warning not in result.stdout
    )
    lines = result.output.splitlines()
    assert lines[lines.index(warning) - 1].startswith(f"Epoch {epoch}/3 ")


def test_a_terminal_without_half_blocks_gets_plain_lines_and_doctors_fix(tiny_mnist, in_tmp, monkeypatch):
    ascii_terminal = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="ascii"), force_terminal=True)
    monkeypatch.setattr(cli_module, "console", ascii_terminal)  # the bar's glyphs would raise UnicodeEncodeError
    monkeypatch.setenv("LC_ALL", "C")
    result = invoke("train", "--epochs", "1", "--batch-size", "64", "--data-dir", tiny_mnist)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: plain lines instead of the progress bar: tui-ae writes ascii, which has no half blocks: "
        "the locale (LC_ALL=C) is not UTF-8; fix: export LC_ALL=C.UTF-8\n"
    )
    assert re.search(r"^Epoch 1/1  train loss", result.stdout, re.M) and not CONTROL.search(result.stdout)
    assert checkpoint.read_header(in_tmp / "checkpoints" / "ae.safetensors").meta["epochs_done"] == 1
