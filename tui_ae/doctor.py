"""Why the digits look wrong, and the line that fixes it (`tui-ae doctor`).

Over SSH and tmux, colour and glyph support break silently: ssh does not forward
COLORTERM, tmux passes 24-bit colour only to a client it knows the RGB feature of, and
a locale that is not UTF-8 turns the half blocks into garbage. The checks are plain
functions of an environment mapping and of a function that asks tmux, so the tests
fake both. Torch's facts come last, so the terminal's show even where torch is broken.
Textual is never imported.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.segment import Segment, Segments

from tui_ae.config import MNIST_DIR
from tui_ae.files import write_refusal
from tui_ae.render import ColorMode, color_choice, detect_color_mode, digit_lines, map_lines
from tui_ae.tui.sizes import MIN_SIZE

Environ = Mapping[str, str]
AskTmux = Callable[[list[str]], list[str] | None]  # format names -> this client's values; None: no answer

CARD_IMAGES = MNIST_DIR / "t10k-images-idx3-ubyte.gz"  # the MNIST this package ships
CARD_DIGIT = 1  # MNIST's second test image, a 2: curves, a straight stroke and soft edges
CARD_MODES: tuple[ColorMode, ...] = ("truecolor", "256", "16", "mono")
RICH_SYSTEMS = {"truecolor": "truecolor", "256": "256", "16": "standard", "mono": None}
CARD_WIDTH, CARD_GAP = 28, 2  # a digit's cells; between columns (four abreast in 118)
TMUX_FORMATS = ["client_termname", "client_termfeatures", "client_utf8", "version"]


@dataclass
class Advice:
    problem: str  # what is wrong, and what it does to the digits
    fix: str  # the line that fixes it
    where: str = ""  # where that line goes, or what to do after it
    certain: bool = True  # False: a hint about what doctor cannot see, such as the terminal beyond ssh


@dataclass
class Section:
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    advice: list[Advice] = field(default_factory=list)


@dataclass
class TmuxClient:
    """What tmux negotiated with the client this pane is shown on (its client_* formats)."""

    termname: str  # the outer terminal's TERM as tmux saw it; "" when no client is attached
    features: frozenset[str]
    utf8: bool
    version: str

    @property
    def rgb(self) -> bool:
        return "RGB" in self.features

    @property
    def knows_features(self) -> bool:
        """client_termfeatures came with tmux 3.2; older versions need terminal-overrides' Tc flag."""
        match = re.search(r"(\d+)\.(\d+)", self.version)
        return not match or (int(match[1]), int(match[2])) >= (3, 2)


# -- Asking the real machine (the tests pass their own answers instead) ------------------------------------------


def ask_tmux(environ: Environ) -> AskTmux:
    """A function that asks the tmux server of this pane for client formats."""

    def ask(formats: list[str]) -> list[str] | None:
        pane = ["-t", environ["TMUX_PANE"]] if environ.get("TMUX_PANE") else []
        command = ["tmux", "display-message", "-p", *pane, "\t".join(f"#{{{name}}}" for name in formats)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.SubprocessError):
            return None
        values = done.stdout.rstrip("\n").split("\t")
        return values if done.returncode == 0 and len(values) == len(formats) else None

    return ask


def terminal_size() -> tuple[int, int] | None:
    """(columns, rows) of the terminal on stdout; None when stdout is not one."""
    try:
        size = os.get_terminal_size()
    except OSError:
        return None
    return size.columns, size.lines


def nvidia_gpu_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


# -- The terminal ----------------------------------------------------------------------------------------------


def tmux_client(environ: Environ, ask: AskTmux) -> TmuxClient | None:
    """None outside tmux, or when tmux does not answer."""
    if not environ.get("TMUX"):
        return None
    answer = ask(TMUX_FORMATS)
    if answer is None:
        return None
    termname, features, utf8, version = answer
    return TmuxClient(termname, frozenset(f for f in features.split(",") if f), utf8 == "1", version)


COERCED_CTYPES = ("C.UTF-8", "C.utf8", "UTF-8")  # what Python sets LC_CTYPE to for a C locale (PEP 538)


def locale_setting(environ: Environ) -> tuple[str, str]:
    """(variable, value) that decides the character encoding: LC_ALL, else LC_CTYPE, else LANG.

    Python itself puts LC_CTYPE=C.UTF-8 into its environment at start-up when the locale is C
    or POSIX (PEP 538), so this process would always look UTF-8 there: with LC_CTYPE so and a
    LANG that is not UTF-8, LANG is what the shell and the terminal have.
    """
    coerced = environ.get("LC_CTYPE") in COERCED_CTYPES and not is_utf8(environ.get("LANG", ""))
    if coerced and not environ.get("LC_ALL"):
        return "LANG", environ.get("LANG", "")
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        if environ.get(name):
            return name, environ[name]
    return "LANG", ""


def is_utf8(locale_name: str) -> bool:
    return re.search(r"utf-?8", locale_name, re.IGNORECASE) is not None


def locale_fix(environ: Environ) -> str:
    """The line that makes the locale UTF-8: it sets the variable that decides, since LANG cannot override LC_ALL."""
    name, _ = locale_setting(environ)
    return f"export {name}=C.UTF-8"


LOCALE_FIX_WHERE = "in ~/.bashrc (or another UTF-8 locale from `locale -a`), then open a new shell"


def encoding_advice(environ: Environ, encoding: str) -> Advice | None:
    """Why output in this encoding cannot show the half blocks, and the fix; None where it can.

    doctor prints it, and explore refuses to start with it: Textual would draw its boxes and the
    digits as literal escapes (\\u2580...). Where the locale is not UTF-8, setting it fixes the
    encoding too; where it is, PYTHONIOENCODING is what made Python choose another.
    """
    if not encoding or is_utf8(encoding):  # an encoding not known is not judged
        return None
    name, value = locale_setting(environ)
    problem = f"tui-ae writes {encoding}, which has no half blocks"
    if not is_utf8(value):
        problem += f": the locale ({name}={value or 'unset'}) is not UTF-8"
        return Advice(problem, locale_fix(environ), LOCALE_FIX_WHERE)
    return Advice(problem, "export PYTHONIOENCODING=utf-8", "in ~/.bashrc")


def check_terminal(environ: Environ, client: TmuxClient | None, size: tuple[int, int] | None, encoding: str) -> Section:
    in_tmux = bool(environ.get("TMUX"))
    ssh = next((name for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY") if environ.get(name)), None)
    name, value = locale_setting(environ)
    facts = [
        ("TERM", environ.get("TERM") or "not set"),
        ("COLORTERM", environ.get("COLORTERM") or "not set"),
        ("NO_COLOR", "set" if environ.get("NO_COLOR") else "not set"),
        ("tmux", _tmux_fact(in_tmux, client)),
        ("SSH", f"yes ({ssh} is set)" if ssh else "no"),
        ("locale", f"{name}={value}" if value else "not set (the C locale)"),
        ("output encoding", encoding or "unknown"),
        ("size", f"{size[0]} x {size[1]}" if size else "unknown (output is not a terminal)"),
    ]
    advice = [
        *_term_advice(environ, in_tmux),
        *(_tmux_advice(client, environ) if client is not None and client.termname else []),
        *_locale_advice(environ, encoding),
        *_size_advice(size, in_tmux),
    ]
    return Section("Terminal", facts, advice)


def _term_advice(environ: Environ, in_tmux: bool) -> list[Advice]:
    term = environ.get("TERM", "")
    if term in ("", "dumb"):
        problem = f"TERM is {'dumb' if term else 'not set'}: nothing can tell what this terminal shows"
        return [Advice(problem, "export TERM=xterm-256color", "in ~/.bashrc")]
    if in_tmux and "256color" not in term and not environ.get("COLORTERM"):
        return [
            Advice(
                f"TERM inside tmux is {term}, which promises few colours: explore falls back to shade glyphs",
                "set -g default-terminal tmux-256color",
                "in ~/.tmux.conf (screen-256color where tmux-256color is unknown); new windows get it",
            )
        ]
    return []


def _locale_advice(environ: Environ, encoding: str) -> list[Advice]:
    """The encoding's advice, which names the locale where that is the cause; else the locale's own."""
    advice = encoding_advice(environ, encoding)
    name, value = locale_setting(environ)
    if advice is None and not is_utf8(value):
        problem = (
            f"the locale ({name}={value or 'unset'}) is not UTF-8: the terminal, ssh and tmux may show the "
            "half blocks as garbage"
        )
        advice = Advice(problem, locale_fix(environ), LOCALE_FIX_WHERE)
    return [advice] if advice is not None else []


def _size_advice(size: tuple[int, int] | None, in_tmux: bool) -> list[Advice]:
    (columns, rows), (need_columns, need_rows) = size or MIN_SIZE, MIN_SIZE
    if columns >= need_columns and rows >= need_rows:
        return []
    return [
        Advice(
            f"the terminal is {columns} x {rows}; explore needs {need_columns} x {need_rows}",
            "make the window larger",
            "or zoom this tmux pane (prefix z)" if in_tmux else "",
        )
    ]


def _tmux_fact(in_tmux: bool, client: TmuxClient | None) -> str:
    if not in_tmux:
        return "no"
    if client is None:
        return "yes, but `tmux display-message` did not answer"
    if not client.termname:
        return f"yes ({client.version}), no client attached"
    features = ",".join(sorted(client.features)) or "none"
    return (
        f"yes ({client.version}): client {client.termname}, features {features}; "
        f"RGB {'yes' if client.rgb else 'no'}, UTF-8 {'yes' if client.utf8 else 'no'}"
    )


def _tmux_advice(client: TmuxClient, environ: Environ) -> list[Advice]:
    advice = []
    if not client.rgb:
        fix = (
            f"set -as terminal-features ',{client.termname}:RGB'"
            if client.knows_features
            else f"set -ga terminal-overrides ',{client.termname}:Tc'"
        )
        advice.append(
            Advice(
                f"tmux does not pass 24-bit colour to this client ({client.termname}): it turns the truecolor "
                "digits into its 256 colours",
                fix,
                "in ~/.tmux.conf, then detach and attach again (if your terminal shows 24-bit colour; most do)",
            )
        )
    if not client.utf8:
        advice.append(
            Advice(
                "tmux does not treat this client as UTF-8: it draws the half blocks as _",
                locale_fix(environ),
                "in the shell that runs `tmux attach`, then attach again (or attach with `tmux -u attach`)",
            )
        )
    return advice


# -- What explore will choose ----------------------------------------------------------------------------------


def check_explore(environ: Environ, client: TmuxClient | None) -> Section:
    mode, why = color_choice(environ)
    section = Section("What explore will choose (--color auto)")
    section.facts += [("colour mode", mode), ("why", why), ("glyph", "upper half block")]
    over_ssh = any(environ.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"))
    tmux_rgb = client is not None and client.rgb
    if environ.get("NO_COLOR"):
        unset = detect_color_mode({**environ, "NO_COLOR": ""})  # what the rest of the environment says
        section.advice.append(
            Advice(
                "NO_COLOR is set: explore draws in mono, digits as shade glyphs",
                f"tui-ae explore --color {'256' if unset == 'mono' else unset}",
                "or the mode of the test card's column that looks right (NO_COLOR stays for other programs)",
            )
        )
    elif mode == "truecolor" and client is not None and client.termname and not tmux_rgb:
        section.advice.append(
            Advice(
                "explore will draw in 24-bit colour, which tmux turns into its 256 colours for this client",
                "tui-ae explore --color 256",
                "until tmux passes RGB (see above)",
            )
        )
    elif mode != "truecolor" and tmux_rgb:
        section.advice.append(
            Advice(
                f"COLORTERM is not set, so explore draws in {mode} colours, though tmux passes 24-bit colour to "
                "this client",
                "export COLORTERM=truecolor",
                "in ~/.bashrc; or run `tui-ae explore --color truecolor`",
            )
        )
    elif mode in ("256", "16") and client is None:
        beyond = "ssh does not forward COLORTERM, so " if over_ssh else ""
        forward = (
            "; or `SendEnv COLORTERM` in ~/.ssh/config with `AcceptEnv COLORTERM` in the server's sshd_config"
            if over_ssh
            else ""
        )
        section.advice.append(
            Advice(
                f"{beyond}explore cannot tell whether your terminal shows 24-bit colour: it draws in {mode} colours",
                "export COLORTERM=truecolor",
                f"in ~/.bashrc, if the test card's truecolor column looks smooth{forward}"
                + ("; if only its 256 column does: export TERM=xterm-256color" if mode == "16" else ""),
                certain=False,
            )
        )
    return section


# -- The test card ---------------------------------------------------------------------------------------------


def card_digit() -> np.ndarray:
    """A real digit, (28, 28) in [0, 1], read from the MNIST this package ships, without torch."""
    offset = 16 + CARD_DIGIT * 28 * 28  # past the IDX header and the images before it
    with gzip.open(CARD_IMAGES, "rb") as f:  # only the stream's first kilobytes are unpacked
        pixels = f.read(offset + 28 * 28)[offset:]
    return np.frombuffer(pixels, dtype=np.uint8).reshape(28, 28) / 255


def card_column(mode: ColorMode, digit: np.ndarray) -> list[str]:
    """One column of the card, written by its own console with its colour system forced.

    Forced, because without COLORTERM (the usual case over ssh) Rich would downgrade
    the truecolor column, and NO_COLOR or TERM=dumb would strip them all.
    """
    console = Console(
        file=io.StringIO(),
        color_system=RICH_SYSTEMS[mode],
        force_terminal=True,
        no_color=False,
        width=CARD_WIDTH,
        highlight=False,
    )
    ramp = np.tile(np.linspace(0, 1, CARD_WIDTH), (2, 1))  # one line of cells, black to white
    markers = np.full((1, CARD_WIDTH), -1)
    markers[0, 0:20:2] = np.arange(10)  # the maps' ten label colours (or digits), a cell apart
    lines = [*digit_lines(ramp, mode=mode), *digit_lines(digit, mode=mode), *map_lines(markers, mode=mode)]
    console.print(Segments(segment for line in lines for segment in (*line, Segment.line())), end="")
    return [f"--color {mode}".ljust(CARD_WIDTH), *console.file.getvalue().splitlines()]


def card(width: int | None, digit: np.ndarray | None = None) -> str:
    """A grey ramp and a digit in each of explore's colour modes, as many columns abreast as fit width."""
    digit = card_digit() if digit is None else digit
    columns = [card_column(mode, digit) for mode in CARD_MODES]
    per_row = max(1, ((width or 80) + CARD_GAP) // (CARD_WIDTH + CARD_GAP))
    lines = []
    for start in range(0, len(columns), per_row):
        group = columns[start : start + per_row]
        lines += [(" " * CARD_GAP).join(parts) for parts in zip(*group)] + [""]
    return "\n".join(lines) + "\n"


# -- Torch and the data ----------------------------------------------------------------------------------------


def check_torch(gpu_present: bool | None = None) -> Section:
    section = Section("torch")
    try:
        import torch
    except Exception as e:  # ImportError, or OSError from a broken CUDA library: say so, and go on
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        section.facts.append(("torch", f"cannot be imported: {reason}"))
        section.advice.append(
            Advice(
                "torch cannot be imported: train, eval and explore's digits need it",
                "pip install --force-reinstall torch",
            )
        )
        return section
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
    section.facts.append(("version", f"{torch.__version__} ({build})"))
    with warnings.catch_warnings(record=True) as caught:  # e.g. "the NVIDIA driver on your system is too old"
        warnings.simplefilter("always")
        cuda = torch.cuda.is_available()
    if cuda:
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            section.facts.append((f"cuda:{index}", f"{props.name}, {props.total_memory / 2**30:.1f} GiB"))
        return section
    if torch.backends.mps.is_available():
        memory = torch.mps.recommended_max_memory() / 2**30
        section.facts.append(("mps", f"Apple GPU, {memory:.1f} GiB recommended at most"))
        return section
    section.facts.append(("device", "no GPU that torch can use: train runs on the CPU"))
    if gpu_present if gpu_present is not None else nvidia_gpu_present():
        if not torch.version.cuda:
            section.advice.append(
                Advice(
                    "this machine has an NVIDIA GPU, but this torch is a CPU-only build",
                    "pip install --force-reinstall torch",
                    "PyPI's torch for Linux is built with CUDA; see https://pytorch.org/get-started/locally/",
                )
            )
        else:
            why = str(caught[0].message).strip().splitlines()[0] if caught else "torch.cuda.is_available() is False"
            section.advice.append(
                Advice(
                    f"this machine has an NVIDIA GPU, but torch cannot use it: {why}",
                    "pip install torch --index-url https://download.pytorch.org/whl/cu126",
                    "a torch for a CUDA no newer than the driver's (nvidia-smi shows it), or a newer driver",
                )
            )
    return section


def check_data() -> Section:
    section = Section("Data")
    try:
        from tui_ae import data  # imports torch
    except Exception:  # check_torch has said why
        section.facts.append(("MNIST", "not checked: that needs torch"))
        return section
    cache = data.default_data_dir()
    found = data.find_raw_dir("mnist", cache)
    if found is not None:
        section.facts.append(("MNIST", f"in the cache ({found})"))
        return section
    raw = cache / "MNIST" / "raw"
    if write_refusal(raw) is None:
        section.facts.append(("MNIST", f"shipped with tui-ae; unpacked into {raw} on first use"))
        return section
    section.facts.append(("MNIST", f"shipped with tui-ae, read gzipped: {raw} cannot be written"))
    section.advice.append(
        Advice(
            f"{raw} cannot be written, so each run unpacks MNIST's images anew (a few tenths of a second)",
            "export TUI_AE_DATA=/a/folder/you/can/write",
            "in ~/.bashrc, or make the folder writable",
            certain=False,
        )
    )
    return section


# -- The report ------------------------------------------------------------------------------------------------


def format_section(section: Section) -> str:
    width = max(len(name) for name, _ in section.facts) + 2
    lines = [section.title, *(f"  {name.ljust(width)}{value}" for name, value in section.facts)]
    for advice in section.advice:
        lines += ["", f"  {'!' if advice.certain else '?'} {advice.problem}", f"    fix: {advice.fix}"]
        if advice.where:
            lines.append(f"         {advice.where}")
    return "\n".join(lines) + "\n\n"


def run(
    write: Callable[[str], None],
    environ: Environ,
    ask: AskTmux,
    size: tuple[int, int] | None,
    encoding: str,
    *,
    torch: bool = True,
) -> list[Advice]:
    """Write the whole report, torch last; return the advice given."""
    client = tmux_client(environ, ask)
    sections = [check_terminal(environ, client, size, encoding), check_explore(environ, client)]
    for section in sections:
        write(format_section(section))
    write(
        "Test card: a ramp and a digit in each colour mode, each forced whatever TERM, COLORTERM and NO_COLOR say.\n"
        "Right: a smooth ramp from black to white and a soft grey digit. Wrong: coloured specks, a few bands,\n"
        "or _ and ? for blocks. Then run `tui-ae explore --color MODE` with the best-looking one.\n\n"
    )
    try:
        write(card(size[0] if size else None))
    except UnicodeEncodeError:
        write(f"(no test card: this output's encoding, {encoding}, has no half blocks)\n\n")
    if torch:
        for check in (check_torch, check_data):
            sections.append(check())
            write(format_section(sections[-1]))
    advice = [a for s in sections for a in s.advice]
    problems, hints = sum(a.certain for a in advice), sum(not a.certain for a in advice)
    write(f"{problems} problem{'s' * (problems != 1)}, {hints} hint{'s' * (hints != 1)}.\n")
    return advice
