"""LEAN016 — Keep test and dev tools out of the runtime image; report requirements nothing imports.

What it does: reads the requirements files the Dockerfile's ``pip install -r`` steps use (from
the build context), the Python code the final stage copies (with libcst), and what the image
runs (ENTRYPOINT/CMD ``python -m mod``, a script, gunicorn/uvicorn ``module:app``, a console
script), and classifies every requirement:

- test, lint, format, type-check and notebook tools (pytest and ``pytest-*`` plugins, tox, nox,
  black, ruff, mypy, isort, flake8, pylint, coverage, ipython, jupyter, ...) that the code the
  image runs never imports: in a multi-stage build whose runtime stage copies the builder's
  virtualenv (LEAN014's output, or a hand-written one), the builder installs a filtered copy of
  the requirements file instead (``grep -v`` of exactly those lines, next to the original), so
  neither the tools nor their own dependencies reach the runtime stage. When a builder RUN step
  uses a tool (``RUN pytest``), the tool stays for that step and is uninstalled right after it;
- requirements that no runtime code imports and the image does not run: reported, with the files
  that show it (``imported only by tests/test_model.py``), never removed — a pinned transitive
  dependency, a database driver named in a URL, or a plugin loaded by entry point look the same.

Why: a requirements.txt copy-pasted from a research or dev repository ships pytest, black and
their dependencies in every production image: megabytes per image, more CVEs to triage, and
tools an attacker can use. The multi-stage split (LEAN014) removes the compilers; this removes
what was installed with them but is never used at run time.

Example (after LEAN014):
    FROM python:3.11 AS builder
    WORKDIR /srv
    COPY . .
    RUN python3 -m venv /opt/venv
    ENV PATH="/opt/venv/bin:$PATH"
    RUN pip install -r requirements.txt          # numpy, pytest, black
    ...
    COPY --from=builder /opt/venv /opt/venv
Use instead:
    RUN grep -viE '^[[:space:]]*(pytest|black)[[:space:]]*([<>=!~;@#[]|$)' requirements.txt > requirements.runtime.txt
    RUN pip install -r requirements.runtime.txt

Needs verification: the code could load a tool by a name leanify cannot read (a computed
``importlib.import_module``), and a filtered file can resolve dependency versions differently.
Applied when ``--verify`` passes (the smoke command runs and every distribution the app imports
is still there) or with ``--unsafe-fixes``; otherwise reported.

Left alone (reported, not rewritten): single-stage images (the tools would be removed from the
only stage, after steps that may need them — LEAN014 splits the build first); requirements files
with ``\\`` continuation lines; tools listed in an included ``-r`` file; a filter that would leave
the file empty; runtime code libcst cannot parse (its imports are unknown: nothing is reported); code that
loads modules by name (Django settings, celery, ``import_module(name)``) makes every non-test
file of the image runtime code;
``pip install`` of positional packages.
"""

from __future__ import annotations

import posixpath
import re

from leanify import dep_audit as da
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rules import Change, Rule, Safety, change, fixed
from leanify.transforms.apt_assume_yes import mapped_script, word_spans

RULE = Rule(
    id="LEAN016",
    title="dev-dependencies",
    safety=Safety.NEEDS_VERIFY,
    summary="Test and dev tools (pytest, black, mypy, ...) stay in the builder; requirements no runtime code imports are reported.",
    phase=80,
)


def _finding(lines: tuple[int, int], reason: str, **data) -> Change:
    return Change(RULE.id, RULE.title, lines, reason, applied=False, data=data)


def grep_pattern(names: list[str]) -> str:
    alts = "|".join(re.sub(r"([.+])", r"\\\1", n) for n in names)
    return f"^[[:space:]]*({alts})[[:space:]]*([<>=!~;@#[]|$)"


def python_pattern(names: list[str]) -> re.Pattern[str]:
    """What ``grep -viE grep_pattern(names)`` matches, in Python (to prove the filter first)."""
    return re.compile(r"^\s*(" + "|".join(re.escape(n) for n in names) + r")\s*([<>=!~;@#\[]|$)", re.I)


def _runtime_name(word: str) -> str:
    d, b = posixpath.split(word)
    stem = b[:-4] if b.endswith(".txt") else b
    return posixpath.join(d, f"{stem}.runtime.txt") if d else f"{stem}.runtime.txt"


def _where(audit: da.Audit, req: da.Requirement) -> str:
    ev = audit.evidence.get(req.key) or []
    files = list(dict.fromkeys(e.rsplit(":", 1)[0] for e in ev))
    if not files:
        return "imported nowhere"
    return "imported only by " + ", ".join(files[:3]) + (" …" if len(files) > 3 else "")


def _runs(audit: da.Audit) -> str:
    a = audit.analysis
    if a is None:
        return "the image"
    if a.entries is None:
        return "the image's non-test code"
    return "the code " + "; ".join(dict.fromkeys(e.source for e in a.entries)) + " runs"


def _copied_by_final(model: Dockerfile, stage: int) -> bool:
    last = len(model.stages) - 1
    if stage == last:
        return False
    name = (model.stages[stage].name or "").lower()
    for ins in model.stage_instructions(last):
        if ins.command in ("COPY", "ADD"):
            frm = ins.flag("from")
            if frm is not None and (frm.lower() == name or frm == str(stage)):
                return True
    return False


def _reinstalled_in_final(model: Dockerfile, audit: da.Audit) -> bool:
    last = len(model.stages) - 1
    return any(i.stage == last and i.req_files for i in audit.installs)


def apply(model: Dockerfile, facts: Facts):
    if not facts.known or not model.stages:
        return model, []
    if not any(ins.command == "RUN" and "pip" in ins.text for ins in model.instructions):
        return model, []  # fast path: no pip install at all
    audit = da.audit(model, facts)
    if audit.analysis is None or audit.why_not:
        return model, []
    edits, changes = [], []
    runs = _runs(audit)
    reported: set[str] = set()
    for inst in audit.installs:
        if not inst.req_files:
            continue
        keys_here = {r.key for rf in inst.req_files for r in rf.requirements}
        gone = _uninstalled_later(model, inst)
        dev = [r for r in audit.dev if r.key in keys_here and r.key not in reported and r.key not in gone]
        unused = [r for r in audit.unused if r.key in keys_here and r.key not in reported]
        reported |= {r.key for r in dev + unused}
        if dev:
            got = _rewrite(model, facts, audit, inst, dev, runs)
            if got is not None:
                e, c = got
                edits += e
                changes += c
            else:
                listed = ", ".join(f"{r.name} ({r.file}:{r.line}; {_where(audit, r)})" for r in dev)
                why = _why_not(model, facts, audit, inst, dev)
                changes.append(_finding(inst.ins.lines, f"test/dev tools in the runtime requirements, never imported by {runs}: "
                                                        f"{listed}; {why}", files=sorted({r.file for r in dev})))
        if unused:
            listed = ", ".join(f"{r.name} ({r.file}:{r.line}; {_where(audit, r)})" for r in unused)
            changes.append(_finding(inst.ins.lines, f"requirements never imported by {runs}: {listed}; drop them unless "
                                                    "something loads them by name (a driver in a URL, a plugin) or they pin "
                                                    "a dependency of another requirement",
                                    files=sorted({r.file for r in unused})))
    return fixed(model, edits, changes)


def _uninstalled_later(model: Dockerfile, inst: da.PipInstall) -> set[str]:
    """Distributions a later RUN of the install's stage uninstalls (``pip uninstall -y x``)."""
    from leanify.dep_audit import normalize_name
    from leanify.shell import analyze_run

    out: set[str] = set()
    for ins in model.stage_instructions(inst.stage):
        if ins.index <= inst.ins.index or ins.command != "RUN":
            continue
        script = analyze_run(ins, model)
        for call in script.package_calls() if script is not None else ():
            if call.manager == "pip" and call.action == "uninstall":
                out |= {normalize_name(p) for p in call.packages}
    return out


def _why_not(model: Dockerfile, facts: Facts, audit: da.Audit, inst: da.PipInstall, dev) -> str:
    if not _copied_by_final(model, inst.stage) or _reinstalled_in_final(model, audit):
        return "in a multi-stage build (LEAN014) they stay in the builder"
    files = {r.file for r in dev}
    top = inst.req_files[0] if inst.req_files else None
    if top is None or files != {top.rel}:
        return "they are listed in an included requirements file: move them to a requirements-dev.txt"
    if top.continuation:
        return "the requirements file continues lines with \\: split dev tools into a requirements-dev.txt"
    return "move them to a requirements-dev.txt"


def _rewrite(model: Dockerfile, facts: Facts, audit: da.Audit, inst: da.PipInstall, dev: list[da.Requirement], runs: str):
    if not _copied_by_final(model, inst.stage) or _reinstalled_in_final(model, audit):
        return None
    if len(inst.req_words) != 1 or not inst.complete or not inst.req_files:
        return None
    top = inst.req_files[0]
    if top.continuation or {r.file for r in dev} != {top.rel}:
        return None
    uses = audit.build_uses
    steps = [i for r in dev for i in uses.get(r.key, []) if i.index > inst.ins.index and i.stage == inst.stage]
    # a build step that runs one tool may need the others (pytest-cov, coverage, hypothesis): all stay for it
    used_later = list(dev) if steps else []
    filtered = [r for r in dev if r not in used_later]
    edits, changes = [], []
    if filtered:
        got = _filter_edits(model, facts, inst, top, filtered, runs, audit)
        if got is None:
            return None
        edits += got[0]
        changes += got[1]
    if used_later:
        last_use = max(steps, key=lambda i: i.index)
        pip = _pip_word(inst)
        names = " ".join(dict.fromkeys(r.name for r in used_later))
        edits.append(model.insert_after(last_use, f"{_kw(model, 'RUN')} {pip} uninstall -y {names}"))
        listed = ", ".join(f"{r.name} ({r.file}:{r.line}; {_where(audit, r)})" for r in used_later)
        changes.append(change(RULE, last_use.lines,
                              f"test/dev tools never imported by {runs} stay in the builder for the build steps that use them "
                              "({line:steps}) and are uninstalled after the last of them, before the runtime stage copies the "
                              f"builder's packages: {listed} (their own dependencies stay)",
                              refs={"steps": [i.lines[0] for i in sorted(set(steps), key=lambda i: i.index)]}, files=[top.rel]))
    return edits, changes


def _pip_word(inst: da.PipInstall) -> str:
    cmd = inst.call.command
    base = cmd.basename
    if re.fullmatch(r"pip[\d.]*", base):
        return base
    if re.fullmatch(r"python[\d.]*", base):
        return f"{base} -m pip"
    return "pip"


def _kw(model: Dockerfile, word: str) -> str:
    lower = sum(1 for i in model.instructions if i.raw_keyword.islower())
    return word.lower() if lower * 2 > len(model.instructions) else word


def _filter_edits(model: Dockerfile, facts: Facts, inst: da.PipInstall, top: da.ReqFile, dev: list[da.Requirement],
                  runs: str, audit: da.Audit):
    word = inst.req_words[0]
    new_word = _runtime_name(word)
    new_rel = posixpath.normpath(posixpath.join(posixpath.dirname(top.rel), posixpath.basename(new_word)))
    if facts.exists(new_rel) or any(c in word for c in "'\"$` \\"):
        return None
    names = list(dict.fromkeys(r.name for r in dev))
    pat = python_pattern(names)
    dropped = [n for n, line in enumerate(top.lines, 1) if pat.search(line)]
    if sorted(dropped) != sorted(r.line for r in dev):
        return None  # the filter would not remove exactly these lines
    if all(not line.strip() or line.lstrip().startswith("#") or n in dropped for n, line in enumerate(top.lines, 1)):
        return None  # nothing but the tools: grep would print nothing (and fail)
    got = mapped_script(inst.ins, model)
    if got is None:
        return None
    script, shift = got
    cmd = inst.call.command
    spans = word_spans(cmd)
    if spans is None or len(spans) != len(cmd.words_text):
        return None
    hits = [k for k, w in enumerate(cmd.words_text) if w == word and k and cmd.words_text[k - 1] in ("-r", "--requirement")]
    if len(hits) != 1:
        return None
    s, e = spans[hits[0]]
    body = model.body_edit(inst.ins, s + shift, e + shift, new_word)
    if body is None:
        return None
    grep = f"{_kw(model, 'RUN')} grep -viE '{grep_pattern(names)}' {word} > {new_word}"
    listed = ", ".join(f"{r.name} ({r.file}:{r.line}; {_where(audit, r)})" for r in dev)
    reason = (f"the runtime stage copies this virtualenv: test/dev tools never imported by {runs} are filtered out of "
              f"{word} before it is installed ({listed}), so neither they nor their own dependencies reach the runtime image")
    return [model.insert_before(inst.ins, grep), body], [change(RULE, inst.ins.lines, reason, files=[top.rel])]


def dev_line_numbers(text: str, names: list[str]) -> list[int]:
    pat = python_pattern(names)
    return [n for n, line in enumerate(text.splitlines(), 1) if pat.search(line)]
