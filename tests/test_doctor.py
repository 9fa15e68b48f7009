"""`tui-ae doctor` under faked environments and faked tmux answers: the right advice for each, and the test card."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_command, write_fake_mnist
from typer.testing import CliRunner

import tui_ae
from tui_ae import data, doctor
from tui_ae.cli import app
from tui_ae.tui.sizes import MIN_SIZE, layout_class

GOOD_LOCALE = {"LANG": "C.UTF-8"}
IN_TMUX = {"TMUX": "/tmp/tmux-1000/default,123,0", "TMUX_PANE": "%3", "TERM": "tmux-256color", **GOOD_LOCALE}


def tmux_answers(termname="xterm-256color", features="bpaste,focus,title", utf8="1", version="3.3a"):
    """A fake tmux: its answer to doctor's question, recorded."""
    asked = []

    def ask(formats):
        asked.append(formats)
        values = {"client_termname": termname, "client_termfeatures": features, "client_utf8": utf8}
        return [values.get(name, version) for name in formats]

    ask.asked = asked
    return ask


def report(environ, ask=None, size=(120, 40), encoding="utf-8") -> str:
    """doctor's report, torch left out (its own tests below), colour codes dropped."""
    out = []
    doctor.run(out.append, environ, ask or tmux_answers(), size, encoding, torch=False)
    return re.sub(r"\x1b\[[0-9;]*m", "", "".join(out))


def fixes(text: str) -> list[str]:
    return re.findall(r"^ +fix: (.*)$", text, re.MULTILINE)


def summary(text: str) -> str:
    return text.strip().splitlines()[-1]


# -- tmux ------------------------------------------------------------------------------------------------------


def test_tmux_without_rgb_for_this_client_gets_the_terminal_features_line_for_its_terminal():
    ask = tmux_answers(termname="alacritty", features="bpaste,clipboard,focus,title")
    text = report(IN_TMUX, ask)
    assert ask.asked == [doctor.TMUX_FORMATS]  # the client's negotiated features, not the options
    assert "client alacritty" in text and "RGB no" in text
    assert "tmux does not pass 24-bit colour to this client (alacritty)" in text
    assert fixes(text) == ["set -as terminal-features ',alacritty:RGB'"]
    assert "then detach and attach again" in text
    assert summary(text) == "1 problem, 0 hints."


def test_tmux_with_rgb_and_truecolor_needs_nothing():
    text = report({**IN_TMUX, "COLORTERM": "truecolor"}, tmux_answers(features="RGB,bpaste,focus,title"))
    assert "RGB yes, UTF-8 yes" in text and "colour mode  truecolor" in text
    assert fixes(text) == [] and summary(text) == "0 problems, 0 hints."


def test_tmux_older_than_3_2_gets_the_tc_override():
    text = report(IN_TMUX, tmux_answers(features="", version="3.1c"))
    assert fixes(text) == ["set -ga terminal-overrides ',xterm-256color:Tc'"]


def test_a_client_tmux_does_not_take_for_utf8_gets_the_locale_to_attach_with():
    text = report(IN_TMUX, tmux_answers(features="RGB", utf8="0"))
    assert "tmux does not treat this client as UTF-8" in text
    assert "export LANG=C.UTF-8" in fixes(text) and "`tmux -u attach`" in text


def test_rgb_through_tmux_but_no_colorterm_says_export_colorterm():
    text = report(IN_TMUX, tmux_answers(features="RGB,focus"))
    assert "colour mode  256" in text
    assert fixes(text) == ["export COLORTERM=truecolor"] and "! COLORTERM is not set" in text


def test_truecolor_asked_for_where_tmux_passes_no_rgb_says_use_256_meanwhile():
    text = report({**IN_TMUX, "COLORTERM": "truecolor"}, tmux_answers())
    assert fixes(text) == ["set -as terminal-features ',xterm-256color:RGB'", "tui-ae explore --color 256"]


def test_a_screen_term_inside_tmux_gets_the_default_terminal_line():
    text = report({**IN_TMUX, "TERM": "screen"}, tmux_answers(features="RGB"))
    assert "set -g default-terminal tmux-256color" in fixes(text)


def test_tmux_that_does_not_answer_or_has_no_client_is_said_and_judged_no_further():
    silent = report(IN_TMUX, lambda formats: None)
    assert "yes, but `tmux display-message` did not answer" in silent
    detached = report(IN_TMUX, tmux_answers(termname="", features=""))
    assert "no client attached" in detached and "terminal-features" not in detached


def test_outside_tmux_tmux_is_not_asked():
    ask = tmux_answers()
    assert "tmux             no" in report(GOOD_LOCALE, ask) and ask.asked == []


def test_ask_tmux_runs_display_message_for_this_pane(tmp_path, monkeypatch):
    log = tmp_path / "args"
    fake = tmp_path / "tmux"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\nprintf "xterm-kitty\\tRGB,title\\t1\\t3.5a\\n"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    ask = doctor.ask_tmux({"TMUX_PANE": "%7"})
    assert ask(doctor.TMUX_FORMATS) == ["xterm-kitty", "RGB,title", "1", "3.5a"]
    fmt = "#{client_termname}\t#{client_termfeatures}\t#{client_utf8}\t#{version}"
    assert log.read_text().splitlines()[:4] == ["display-message", "-p", "-t", "%7"]
    assert log.read_text().split("\n", 4)[4].rstrip("\n") == fmt
    fake.write_text("#!/bin/sh\necho 'no server running' >&2\nexit 1\n")
    assert ask(doctor.TMUX_FORMATS) is None
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert ask(doctor.TMUX_FORMATS) is None


# -- Outside tmux: ssh, locale, NO_COLOR, TERM, size -----------------------------------------------------------


def test_over_ssh_without_colorterm_hints_at_colorterm_and_sendenv():
    text = report({"TERM": "xterm-256color", "SSH_CONNECTION": "10.0.0.2 5 10.0.0.1 22", **GOOD_LOCALE})
    assert "SSH              yes (SSH_CONNECTION is set)" in text
    assert "? ssh does not forward COLORTERM" in text and fixes(text) == ["export COLORTERM=truecolor"]
    assert "SendEnv COLORTERM" in text and "AcceptEnv COLORTERM" in text
    assert summary(text) == "0 problems, 1 hint."
    local = report({"TERM": "xterm-256color", **GOOD_LOCALE})
    assert fixes(local) == ["export COLORTERM=truecolor"] and "SendEnv" not in local


@pytest.mark.parametrize(
    "environ, line",
    [
        ({"LANG": "C"}, "export LANG=C.UTF-8"),
        ({}, "export LANG=C.UTF-8"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "C"}, "export LC_ALL=C.UTF-8"),
        ({"LANG": "C.UTF-8", "LC_CTYPE": "POSIX"}, "export LC_CTYPE=C.UTF-8"),
    ],
)
def test_a_locale_that_is_not_utf8_gets_the_variable_that_decides(environ, line):
    text = report({"TERM": "xterm-256color", "COLORTERM": "truecolor", **environ})
    assert "is not UTF-8" in text and fixes(text) == [line]


def test_an_encoding_without_half_blocks_gets_one_fix_the_locale_where_that_is_the_cause():
    environ = {"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": "en_US.UTF-8", "LC_ALL": "C"}
    text = report(environ, encoding="ascii")
    assert "! tui-ae writes ascii, which has no half blocks: the locale (LC_ALL=C) is not UTF-8" in text
    assert fixes(text) == ["export LC_ALL=C.UTF-8"]  # which makes Python write UTF-8 too
    text = report({**environ, "LC_ALL": "C.UTF-8"}, encoding="latin-1")  # PYTHONIOENCODING chose it
    assert fixes(text) == ["export PYTHONIOENCODING=utf-8"]


def test_tmux_is_told_the_locale_variable_that_decides():
    text = report({**IN_TMUX, "LC_ALL": "en_US.UTF-8"}, tmux_answers(features="RGB", utf8="0"))
    assert "export LC_ALL=C.UTF-8" in fixes(text)  # LANG cannot override LC_ALL


@pytest.mark.parametrize(
    "environ, fix",
    [
        ({"LC_ALL": "C", "LANG": "C.UTF-8"}, "export LC_ALL=C.UTF-8"),  # LANG cannot override LC_ALL
        ({"LC_ALL": "", "LC_CTYPE": "", "LANG": "C.UTF-8", "PYTHONIOENCODING": "latin-1"},
         "export PYTHONIOENCODING=utf-8"),
    ],
)  # fmt: skip
def test_explore_refuses_an_encoding_without_half_blocks_with_doctors_fix_and_the_fix_works(environ, fix, tmp_path):
    environ = {"LC_ALL": "", "LC_CTYPE": "", "PYTHONIOENCODING": "", "TERM": "xterm-256color", **environ,
               "PYTHONUTF8": "0"}  # fmt: skip
    done = run_command("explore", cwd=tmp_path, env=environ)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: explore cannot draw here: tui-ae writes ")
    assert f"; fix: {fix} (`tui-ae doctor` says more)" in done.stderr and not done.imported("textual")
    doctors = run_command("doctor", cwd=tmp_path, env={**environ, "TMUX": ""})
    assert fix in fixes(doctors.stdout)  # the same line

    fixed = {**environ, **dict([fix.removeprefix("export ").split("=")])}
    done = run_command("explore", cwd=tmp_path, env=fixed)  # on to the next check: no checkpoints here
    assert done.returncode == 2 and done.stderr.startswith("error: no checkpoints in checkpoints/"), done.stderr


def test_utf8_locales_in_any_spelling_pass():
    for name in ("C.UTF-8", "en_GB.utf8", "de_DE.UTF-8@euro"):
        assert fixes(report({"TERM": "xterm-256color", "COLORTERM": "truecolor", "LANG": name})) == []


def test_no_color_means_mono_and_says_how_to_get_colour_in_explore_alone():
    text = report({"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1", **GOOD_LOCALE})
    assert "colour mode  mono" in text and "why          NO_COLOR is set" in text
    assert fixes(text) == ["tui-ae explore --color truecolor"]  # what the rest of the environment says
    assert fixes(report({"TERM": "xterm-256color", "NO_COLOR": "1", **GOOD_LOCALE})) == ["tui-ae explore --color 256"]


def test_a_dumb_or_missing_term_gets_a_term():
    for environ in ({"TERM": "dumb"}, {}):
        assert "export TERM=xterm-256color" in fixes(report({**environ, **GOOD_LOCALE}))


def test_a_16_colour_term_hints_at_both_ways_up():
    text = report({"TERM": "xterm", **GOOD_LOCALE})
    assert "colour mode  16" in text and "if only its 256 column does: export TERM=xterm-256color" in text


def test_a_terminal_too_small_for_explore():
    text = report({"TERM": "xterm-256color", "COLORTERM": "truecolor", **GOOD_LOCALE}, size=(50, 15))
    assert "size             50 x 15" in text and "explore needs 60 x 20" in text
    assert "unknown (output is not a terminal)" in report(GOOD_LOCALE, size=None)


def test_the_size_advice_begins_just_below_the_size_the_explorer_lays_out_at():
    environ = {"TERM": "xterm-256color", "COLORTERM": "truecolor", **GOOD_LOCALE}
    columns, rows = MIN_SIZE
    assert layout_class(columns, rows) is not None and "explore needs" not in report(environ, size=MIN_SIZE)
    for size in ((columns - 1, rows), (columns, rows - 1)):
        assert layout_class(*size) is None and f"explore needs {columns} x {rows}" in report(environ, size=size)


@pytest.mark.parametrize(
    "environ, mode, why",
    [
        ({"COLORTERM": "24bit", "TERM": "xterm"}, "truecolor", "COLORTERM=24bit"),
        ({"TERM": "screen"}, "16", "TERM=screen promises 16 colours at most, and COLORTERM does not say truecolor"),
        ({"TERM": "dumb"}, "mono", "TERM is dumb"),
        ({}, "mono", "TERM is not set"),
    ],
)
def test_the_report_says_which_mode_explore_will_choose_and_why(environ, mode, why):
    text = report({**environ, **GOOD_LOCALE})
    assert f"\n  colour mode  {mode}\n  why          {why}\n" in text


# -- The test card -------------------------------------------------------------------------------------------------


TRUECOLOR, EIGHT_BIT, ANY_SGR = re.compile(r"\x1b\[[0-9;]*[34]8;2;"), re.compile(r"\x1b\[[0-9;]*[34]8;5;"), "\x1b["


def test_each_card_column_keeps_its_own_colour_system_even_where_the_environment_says_none(monkeypatch):
    for name, value in {"NO_COLOR": "1", "TERM": "dumb", "TTY_COMPATIBLE": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COLORTERM", raising=False)
    digit = doctor.card_digit()
    columns = {mode: "\n".join(doctor.card_column(mode, digit)) for mode in doctor.CARD_MODES}
    assert TRUECOLOR.search(columns["truecolor"]) and not EIGHT_BIT.search(columns["truecolor"])
    assert EIGHT_BIT.search(columns["256"]) and not TRUECOLOR.search(columns["256"])
    sixteen = columns["16"]
    assert ANY_SGR in sixteen and not TRUECOLOR.search(sixteen) and not EIGHT_BIT.search(sixteen)
    assert ANY_SGR not in columns["mono"]
    assert "▀" in columns["truecolor"] and "█" in columns["16"]  # half blocks; shade glyphs


def test_the_card_shows_a_real_digit_and_a_ramp():
    digit = doctor.card_digit()
    assert digit.shape == (28, 28) and digit.max() == 1.0 and 0.05 < digit.mean() < 0.4
    ramp_line = doctor.card_column("truecolor", digit)[1]
    # each cell's upper grey: its foreground, or where both halves are black (a space on black), its background
    cells = re.findall(r"\x1b\[(?:38;2;(\d+);\d+;\d+;48;2;\d+;\d+;\d+|48;2;(\d+);\d+;\d+)m", ramp_line)
    levels = [int(fg or bg) for fg, bg in cells]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == 255 and len(set(levels)) == 28


@pytest.mark.parametrize("width, per_row", [(120, 4), (80, 2), (60, 2), (40, 1), (None, 2)])
def test_the_card_puts_as_many_columns_abreast_as_fit(width, per_row):
    text = re.sub(r"\x1b\[[0-9;]*m", "", doctor.card(width, np.zeros((28, 28))))
    title_lines = [line for line in text.splitlines() if "--color" in line]
    assert len(title_lines) == 4 // per_row and all(line.count("--color") == per_row for line in title_lines)
    assert max(len(line) for line in text.splitlines()) <= max(width or 80, 28)


# -- torch and the data --------------------------------------------------------------------------------------------


def facts(section: doctor.Section) -> dict[str, str]:
    return dict(section.facts)


def test_torch_version_and_device():
    import torch

    section = doctor.check_torch(gpu_present=False)
    assert facts(section)["version"].startswith(torch.__version__)
    if not torch.cuda.is_available():
        assert "no GPU" in facts(section)["device"] and section.advice == []


def test_a_cpu_only_torch_on_a_gpu_machine_says_so(monkeypatch):
    import torch

    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    section = doctor.check_torch(gpu_present=True)
    assert "CPU-only build" in facts(section)["version"]
    assert [a.fix for a in section.advice] == ["pip install --force-reinstall torch"]


def test_a_cuda_torch_that_cannot_use_the_gpu_passes_on_torchs_reason(monkeypatch):
    import warnings

    import torch

    def unusable():
        warnings.warn("The NVIDIA driver on your system is too old (found version 11040).", stacklevel=1)
        return False

    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", unusable)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    (advice,) = doctor.check_torch(gpu_present=True).advice
    assert "driver on your system is too old" in advice.problem and "download.pytorch.org" in advice.fix


def test_a_broken_torch_is_one_line_and_the_data_check_steps_aside(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    monkeypatch.setitem(sys.modules, "tui_ae.data", None)  # as if never imported: its import needs torch
    monkeypatch.delattr(tui_ae, "data", raising=False)
    section = doctor.check_torch()
    assert facts(section)["torch"].startswith("cannot be imported: ") and "\n" not in facts(section)["torch"]
    assert facts(doctor.check_data())["MNIST"] == "not checked: that needs torch"


def test_mnist_in_the_cache_or_shipped_and_unpacked_there_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_AE_DATA", str(tmp_path))
    section = doctor.check_data()
    raw = tmp_path / "MNIST" / "raw"
    assert facts(section)["MNIST"] == f"shipped with tui-ae; unpacked into {raw} on first use"
    assert section.advice == [] and not raw.exists()  # doctor changes nothing
    write_fake_mnist(tmp_path)
    section = doctor.check_data()
    assert facts(section)["MNIST"] == f"in the cache ({raw})" and section.advice == []


def test_a_cache_that_cannot_be_written_is_a_hint(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TUI_AE_DATA", str(tmp_path / "a-file" / "data"))  # no folder can be made under a file
    section = doctor.check_data()
    assert facts(section)["MNIST"].startswith("shipped with tui-ae, read gzipped: ")
    (advice,) = section.advice
    assert "cannot be written" in advice.problem and "TUI_AE_DATA" in advice.fix and not advice.certain


def test_the_cards_digit_is_mnists_second_test_image():
    from tui_ae import data

    test = data.read_split(data.MNIST_DIR, "test", "mnist")
    assert int(test.labels[doctor.CARD_DIGIT]) == 2
    np.testing.assert_array_equal(doctor.card_digit(), test.images[doctor.CARD_DIGIT].numpy() / 255)


# -- The command ---------------------------------------------------------------------------------------------------


def test_the_command_exits_0_with_problems_and_all_sections():
    env = {"TERM": "dumb", "NO_COLOR": "1", "LANG": "C", "LC_ALL": "", "LC_CTYPE": "", "TMUX": "", "COLORTERM": ""}
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    for title in ("Terminal", "What explore will choose", "Test card", "torch", "Data"):
        assert title in result.output
    assert TRUECOLOR.search(result.output)  # the card in colour, whatever NO_COLOR and TERM say
    assert re.search(r"^[1-9]\d* problems?, \d+ hints?\.$", result.output.strip().splitlines()[-1])


def imported_modules(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_never_textual_and_the_terminal_before_a_broken_torch():
    root = Path(__file__).parent.parent
    env = {**os.environ, "TMUX": ""}
    command = [sys.executable, "-X", "importtime", "-m", "tui_ae", "doctor"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    assert done.returncode == 0 and "textual" not in imported_modules(done.stderr) and "torch" in done.stdout
    broken = "import sys; sys.modules['torch'] = None; sys.argv[1:] = ['doctor']; import tui_ae.cli as c; c.main()"
    done = subprocess.run([sys.executable, "-c", broken], capture_output=True, text=True, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("Terminal") < done.stdout.index("Test card") < done.stdout.index("cannot be imported")


def test_a_c_locale_is_seen_through_pythons_own_coercion():
    """Python sets LC_CTYPE=C.UTF-8 in its own environment for a C locale (PEP 538): doctor still sees LANG=C."""
    root = Path(__file__).parent.parent
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "TERM": "xterm-256color", "LANG": "C"}
    if "VIRTUAL_ENV" in os.environ:
        env["VIRTUAL_ENV"] = os.environ["VIRTUAL_ENV"]
    done = subprocess.run([sys.executable, "-m", "tui_ae", "doctor"], capture_output=True, text=True, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "LANG=C" in done.stdout and "export LANG=C.UTF-8" in done.stdout


def test_doctor_says_of_the_cache_what_training_will_find(monkeypatch):
    """/proc: the mode bits let root write there (os.access says yes), but no file can be made: runs read gzipped."""
    monkeypatch.setenv("TUI_AE_DATA", "/proc/tui-ae-cache")
    assert data.mnist_dir(notify=pytest.fail) == data.MNIST_DIR  # what training does: the shipped files as they are
    assert facts(doctor.check_data())["MNIST"].startswith("shipped with tui-ae, read gzipped: ")
