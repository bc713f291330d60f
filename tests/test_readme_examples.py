"""The README's copy-paste examples run as written.

Every ```console block right after an HTML comment `<!-- readme-test -->` is run, each block in a
fresh temporary copy of corpus/apps/flask-psycopg2 (its working directory): a line starting with
`$ ` is a command (run with bash; stdout and stderr together, as a terminal shows them), the lines
after it up to the next `$ ` are its expected output. `...` on a line of its own matches any
number of lines; inside a line it matches any text. A command with expected lines is judged by its
output (not its exit code: `--check` exits 1 by design); a command with no expected lines (a setup
step like `printf ... > pyproject.toml`, or an example whose output is not spelled out) must exit 0.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
APP = ROOT / "corpus" / "apps" / "flask-psycopg2"
MARKER = "<!-- readme-test -->"


def blocks(text: str) -> list[tuple[int, list[tuple[str, list[str]]]]]:
    """(line number, [(command, expected lines)]) for each marked console block."""
    lines = text.split("\n")
    out = []
    for n, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        start = n + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        assert start < len(lines) and lines[start].strip() == "```console", \
            f"README.md:{n + 1}: {MARKER} must be followed by a ```console block"
        end = lines.index("```", start + 1)
        steps: list[tuple[str, list[str]]] = []
        for body in lines[start + 1:end]:
            if body.startswith("$ "):
                steps.append((body[2:], []))
            else:
                assert steps, f"README.md:{start + 2}: output before the first `$ ` command"
                steps[-1][1].append(body)
        out.append((start + 1, steps))
    return out


def pattern(expected: list[str]) -> re.Pattern:
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def matches(expected: list[str], output: str) -> bool:
    if output and not output.endswith("\n"):
        output += "\n"
    return pattern(expected).fullmatch(output) is not None


BLOCKS = blocks(README.read_text(encoding="utf-8"))


def test_readme_has_marked_examples_for_each_section() -> None:
    text = README.read_text(encoding="utf-8")
    sections = re.split(r"(?m)^## ", text)
    marked = {s.split("\n", 1)[0].strip() for s in sections if MARKER in s}
    assert {"Quick start", "Rules", "pre-commit", "GitHub Action"} <= marked, marked


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    return next(s for s in re.split(r"(?m)^## ", text) if s.split("\n", 1)[0].strip() == title)


def test_quick_start_shows_the_multistage_split() -> None:
    """The main job on the shipped app: its build context is `context/`, and without `--context`
    the rules that read it (LEAN011, LEAN014) cannot fire. The quick start's run must show the
    builder stage and the slim runtime stage, and its install must work where PEP 668 refuses
    `pip install` outside a venv (Debian's system Python)."""
    quick = _section("Quick start")
    shown = blocks(quick)  # the same blocks test_readme_example runs
    assert shown, "the quick start has no executed example"
    commands = [command for _, block in shown for command, _ in block]
    expected = [line for _, block in shown for _, lines in block for line in lines]
    assert any("--context context" in c for c in commands), commands
    assert any(re.match(r"\+FROM \S+ AS builder$", line) for line in expected), expected
    assert any(re.match(r"\+FROM \S+-slim$", line) for line in expected), expected
    install = quick.split("```sh", 1)[1].split("```", 1)[0]
    assert "python3 -m venv" in install, install


@pytest.mark.parametrize("line,steps", BLOCKS, ids=[f"README.md:{n}" for n, _ in BLOCKS])
def test_readme_example(line: int, steps: list[tuple[str, list[str]]], tmp_path: Path) -> None:
    work = shutil.copytree(APP, tmp_path / APP.name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    for command, expected in steps:
        p = subprocess.run(["bash", "--noprofile", "--norc", "-c", command], cwd=work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        if not expected:
            assert p.returncode == 0, f"README.md:{line}: `$ {command}` exited {p.returncode}:\n{p.stdout}"
            continue
        assert matches(expected, p.stdout), (
            f"README.md:{line}: `$ {command}` (exit {p.returncode}) printed:\n{p.stdout}\nexpected:\n" + "\n".join(expected))


def test_matcher() -> None:
    assert matches(["a", "...", "z"], "a\nb\nc\nz\n") and matches(["a", "...", "z"], "a\nz")
    assert matches(["x: ... change(s)"], "x: 3 change(s)\n")
    assert not matches(["a"], "a\nb\n") and matches([], "")
    assert not matches(["a.b"], "axb\n")  # literal text, not a regex
    parsed = blocks(f"{MARKER}\n```console\n$ echo hi\nhi\n$ true\n```\n")
    assert parsed == [(2, [("echo hi", ["hi"]), ("true", [])])]
