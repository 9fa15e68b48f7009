"""The training display end to end: a fake event stream drawn on a forced terminal, and off a terminal."""

from __future__ import annotations

import io
import re
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import Screen
from rich.console import Console

from tui_ae import cli, progress
from tui_ae import preview as preview_module
from tui_ae.config import TrainConfig
from tui_ae.train import EpochDone, Preview, Started, Step

CONTROL = re.compile(r"\x1b")
ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
METRICS = {"loss": 180.0, "recon": 170.0, "kl": 10.0, "mse": 0.05}
LEVELS = (0.2, 0.5, 0.8)  # the reconstructions' one grey at epochs 0 (untrained), 1 and 2


def preview_at(epoch: int) -> Preview:
    """Originals: class k a bright bar; reconstructions: one grey per epoch, so each epoch's strip is told apart."""
    originals = np.zeros((10, 28, 28), np.float32)
    for k in range(10):
        originals[k, 2 * k + 4 : 2 * k + 10, 6:22] = 1.0
    return Preview(tuple(range(10)), originals, np.full((10, 28, 28), LEVELS[epoch], np.float32))


def fake_events(out: Path, with_preview: bool = True):
    yield Started("cpu", "fake", 48_000, 12_000, 0, 2, 4, preview=preview_at(0) if with_preview else None)
    for epoch in (1, 2):
        for step in range(1, 5):
            yield Step(epoch, step, step * 256, 0.1 * step, METRICS)
        yield EpochDone(epoch, METRICS, METRICS, 0.5, out, preview_at(epoch) if with_preview else None)


def plain(output: str) -> str:
    return ESCAPE_SEQUENCE.sub("", output)


def truecolor_grey(value: float) -> str:
    level = round(value * 255)
    return f"38;2;{level};{level};{level};48;2;{level};{level};{level}m"


def wait_until_drawn(console: Console, epoch: int, timeout: float = 10.0) -> bool:
    """Whether the console shows that epoch's reconstructions within the timeout (Rich's refresh thread draws them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if truecolor_grey(LEVELS[epoch]) in console.file.getvalue():
            return True
        time.sleep(0.02)
    return False


def test_on_a_terminal_the_strip_follows_the_epochs_drawn_off_the_loops_thread(tmp_path, monkeypatch):
    builds = []
    real = preview_module.strip_lines
    monkeypatch.setattr(
        preview_module, "strip_lines", lambda *args: builds.append(threading.current_thread()) or real(*args)
    )
    console = Console(file=io.StringIO(), width=120, height=40, force_terminal=True, color_system="truecolor")
    config = TrainConfig(model="vae", out=tmp_path / "vae.safetensors", preview=True)
    drawn = []

    def events():  # an epoch's steps take their time, as real ones do, so the refresh thread draws the strip
        for event in fake_events(config.out):
            yield event
            if isinstance(event, Step) and event.step == 1:  # after its bar appeared, redrawn on this thread
                drawn.append(wait_until_drawn(console, event.epoch - 1))

    done = progress.display(events(), config, console, "truecolor")
    assert [event.epoch for event in done] == [1, 2]
    assert drawn == [True, True], "the untrained model's strip, then epoch 1's"
    assert truecolor_grey(LEVELS[2]) in console.file.getvalue(), "the last frame shows the last epoch"
    assert len(builds) == 3 and threading.main_thread() not in builds[:2]
    history = Screen(120, 40).feed(console.file.getvalue()).history()  # what the terminal shows, and its scrollback
    epoch_lines = [i for i, line in enumerate(history) if re.match(r"Epoch \d/2  train loss", line)]
    strips = [i for i, line in enumerate(history) if re.match(r"ep \d  0 {14}1", line)]
    assert len(epoch_lines) == 2 and len(strips) == 1, "one strip: each new one was drawn over the last"
    assert history[strips[0]].startswith("ep 2") and epoch_lines[1] == strips[0] - 1
    title = next(i for i, line in enumerate(history) if line.strip() == "VAE training")
    assert strips[0] < title, "the last strip stays above the summary"


def test_off_a_terminal_there_is_no_strip_and_the_output_is_plain_lines(tmp_path):
    console = Console(file=io.StringIO(), width=120, height=40, force_terminal=False)
    config = TrainConfig(model="vae", out=tmp_path / "vae.safetensors", preview=True)
    progress.display(fake_events(config.out), config, console, "truecolor")
    output = console.file.getvalue()
    assert not CONTROL.search(output)
    assert "▀" not in output and not re.search(r"^(ep \d|val|recon) ", output, re.M)  # the strip's labels
    assert re.search(r"^Epoch 2/2  train loss", output, re.M)


def test_without_previews_the_terminal_shows_the_bar_alone(tmp_path):
    console = Console(file=io.StringIO(), width=120, height=40, force_terminal=True, color_system="truecolor")
    config = TrainConfig(model="vae", out=tmp_path / "vae.safetensors")
    progress.display(fake_events(config.out, with_preview=False), config, console, "truecolor")
    output = plain(console.file.getvalue())
    assert "Epoch 2/2  train loss" in output and "▀" not in output


def test_a_real_run_ends_with_the_last_epochs_strip(tiny_mnist, tmp_path):
    console = Console(file=io.StringIO(), width=120, height=40, force_terminal=True, color_system="truecolor")
    config = TrainConfig(model="ae", epochs=2, batch_size=64, data_dir=tiny_mnist, out=tmp_path / "ae.safetensors",
                         preview=True)  # fmt: skip
    progress.run(config, console, color_mode="mono")
    output = plain(console.file.getvalue())
    assert re.findall(r"^ep (\d)  0 {14}1", output, re.M)[-1] == "2"  # epochs this short may skip a frame
    assert "▀" not in output and "█" in output  # mono: shade glyphs, the bright bars of the fake digits


# Each epoch's (train loss, val loss, val recon, val kl, val mse, time), as the summary shows them.
SUMMARY = {
    1: ("543.217", "201.468", "189.725", "11.7431", "0.0631874", "7.5s"),
    2: ("176.342", "168.905", "159.112", "9.79308", "0.0487216", "12.0s"),
    3: ("163.571", "160.246", "150.875", "9.37106", "0.0452739", "123.4s"),
}


def summary_events(out: Path):
    yield Started("cpu", "fake", 48_000, 12_000, 0, len(SUMMARY), 4)
    for epoch, (train_loss, loss, recon, kl, mse, seconds) in SUMMARY.items():
        val = {"loss": float(loss), "recon": float(recon), "kl": float(kl), "mse": float(mse)}
        yield EpochDone(epoch, {"loss": float(train_loss)}, val, float(seconds[:-1]), out)


@pytest.mark.parametrize("width", [120, 60, 40, 20])
def test_the_summary_shows_every_value_whole_at_any_width(tmp_path, width):
    console = Console(file=io.StringIO(), width=width, force_terminal=False)
    config = TrainConfig(model="vae", out=tmp_path / "vae.safetensors")
    progress.display(summary_events(config.out), config, console, "truecolor")
    lines = console.file.getvalue().splitlines()
    summary = lines[next(i for i, line in enumerate(lines) if "VAE training" in line) :]
    assert max(len(line) for line in summary) <= width
    words = Counter(" ".join(summary).split())
    expected = Counter(value for values in SUMMARY.values() for value in values)
    assert not expected - words, "a value cut or folded"
    if width == 120:  # wide enough: a row per epoch
        assert re.search(r"epoch\s+train loss\s+val loss\s+val recon\s+val kl\s+val mse\s+time", summary[2])
        for epoch, values in SUMMARY.items():
            assert any(line.split() == [str(epoch), *values] for line in summary)
    else:  # narrower: a row per metric, a column per epoch
        heads = [line.split()[1:] for line in summary if line.split()[:1] == ["epoch"]]
        assert sum(heads, []) == [str(epoch) for epoch in SUMMARY], "the epochs, in as many tables as it takes"
        if width >= 40:  # room for the metrics' names on one line
            kl = [line.split()[2:] for line in summary if line.split()[:2] == ["val", "kl"]]
            assert sum(kl, []) == [values[3] for values in SUMMARY.values()]


@pytest.mark.parametrize(
    ("terminal", "args", "expected"),
    [(True, [], True), (True, ["--no-preview"], False), (False, [], False), (True, ["--preview"], True)],
)
def test_train_asks_for_previews_only_on_a_terminal_without_no_preview(monkeypatch, terminal, args, expected):
    seen = []
    monkeypatch.setattr(progress, "run", lambda config, console: seen.append(config.preview))
    monkeypatch.setattr(cli, "console", Console(file=io.StringIO(), force_terminal=terminal))
    with pytest.raises(SystemExit) as exit_info:
        cli.app(["train", *args], standalone_mode=True)
    assert exit_info.value.code == 0
    assert seen == [expected]
