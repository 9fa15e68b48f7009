"""One writer per checkpoint (issue 15, item 2): real processes holding the lock, one killed with SIGKILL."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_command
from typer.testing import CliRunner

from tui_ae import checkpoint, run_lock
from tui_ae.cli import app
from tui_ae.lookup import checkpoints_to_evaluate

# Takes the lock of the checkpoint named by its argument, says so, and waits to be killed.
HOLDER = """
import sys, time
from pathlib import Path
from tui_ae import run_lock
with run_lock.held(Path(sys.argv[1]), print):
    print("held", flush=True)
    time.sleep(600)
"""


def hold(path: Path) -> subprocess.Popen:
    """A process that holds path's lock until it is killed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_second_run_is_refused_at_once_until_the_holder_is_killed(explorer_checkpoints, tiny_mnist, tmp_path):
    out = tmp_path / "ae.safetensors"
    common = ("train", "--out", out, "--epochs", "1", "--batch-size", "64", "--data-dir", tiny_mnist)
    holder = hold(out)
    try:
        holding = f"({holder.pid}@{socket.gethostname()} holds its lock, {tmp_path / '.ae.safetensors.lock'})"
        refused = run_command(*common, cwd=tmp_path)  # a new run on a checkpoint not written yet
        shutil.copy(explorer_checkpoints[0], out)  # and one written
        before = out.read_bytes()
        for flag in ("--force", "--resume"):
            refused_too = run_command(*common, flag, cwd=tmp_path)
            assert (refused_too.returncode, refused_too.stderr) == (refused.returncode, refused.stderr), flag
            assert not refused_too.imported("torch"), flag
    finally:
        holder.kill()  # SIGKILL: no chance to clean anything up
        holder.wait()
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith(f"error: {out} is being trained by another run {holding}")
    assert not refused.imported("torch")  # refused before seconds of imports
    assert out.read_bytes() == before  # the refused runs left the checkpoint as it was

    done = run_command(*common, "--force", cwd=tmp_path)  # the killed holder's lock went with it
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert checkpoint.read_header(out).meta["epochs_done"] == 1
    assert run_lock.lock_path(out).exists()  # never deleted: deleting it races with the next run


def test_where_flock_fails_one_line_says_runs_are_not_guarded_and_training_goes_on(tiny_mnist, tmp_path, monkeypatch):
    def no_locks(descriptor, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))  # as some network file systems answer

    monkeypatch.setattr("fcntl.flock", no_locks)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "--epochs", "1", "--batch-size", "64", "--data-dir", str(tiny_mnist)])
    assert result.exit_code == 0, result.output
    lock = Path("checkpoints") / ".ae.safetensors.lock"
    assert result.stderr == (
        f"warning: cannot lock {lock} (No locks available): concurrent runs on this checkpoint are not guarded here\n"
    )
    assert checkpoint.read_header(tmp_path / "checkpoints" / "ae.safetensors").meta["epochs_done"] == 1


def test_a_system_without_flock_runs_unguarded_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl fails, as on Windows
    notices, ran = [], []
    with run_lock.held(tmp_path / "ae.safetensors", notices.append):
        ran.append(True)
    assert ran and notices == [
        f"warning: cannot lock {tmp_path / '.ae.safetensors.lock'} (this system has no flock): "
        "concurrent runs on this checkpoint are not guarded here"
    ]


def test_eval_passes_the_lock_file_by(explorer_checkpoints, tmp_path):
    out = tmp_path / "ae.safetensors"
    shutil.copy(explorer_checkpoints[0], out)
    with run_lock.held(out, notify=pytest.fail):
        assert run_lock.lock_path(out).exists()
        assert checkpoints_to_evaluate([tmp_path]) == [out]
