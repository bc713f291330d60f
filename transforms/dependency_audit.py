"""LEAN016 — Keep test and dev tools, and requirements nothing imports, out of the runtime image.

What it does: reads the requirements the Dockerfile's ``pip install`` steps use (``-r`` files
from the build context and packages named on the command line), the Python code the final stage
copies (with libcst, everything the entry point reaches), and what the image runs (ENTRYPOINT/CMD
``python -m mod``, a script, gunicorn/uvicorn ``module:app``, a console script), and takes out of
the runtime install:

- test, lint, format, type-check and notebook tools (pytest and ``pytest-*`` plugins, tox, nox,
  black, ruff, mypy, isort, flake8, pylint, coverage, ipython, jupyter, ...) that the code the
  image runs never imports. When a builder RUN step uses a tool (``RUN pytest``), the tool stays
  for that step and is uninstalled right after it;
- requirements that no runtime code imports and the image does not run, when nothing else shows
  they are needed (``leanify.dep_slim``): no kept requirement declares them (PyPI's metadata of
  each release, extras and markers included: Flask needs Werkzeug, ``uvicorn[standard]`` needs
  uvloop), no pickled model the image ships names one of their modules (a scikit-learn model
  unpickled by ``joblib.load``), and no string of the runtime code names them (a driver in a
  database URL, a plugin path).

A command-line package is deleted from the RUN. A requirements file's lines are filtered out of a
copy made right before the install (``grep -v`` of exactly those lines, next to the original),
and the install reads the copy. Why a filter and not a generated requirements file proposed
beside the user's: the user's requirements.txt stays the one source of truth (a requirement
added to it later still reaches the image; a generated copy would drift from it), the diff is one
line a reviewer reads as "these leave", and ``--verify`` builds the rewrite from the build context
as it is. LEAN017 extends the same filter (``leanify.requirements_filter``).

Why: a requirements.txt copy-pasted from a research or dev repository ships pytest, black, a
notebook stack and libraries nobody imports in every production image: megabytes to gigabytes
per image, more CVEs to triage, and tools an attacker can use. The multi-stage split (LEAN014)
removes the compilers; this removes what was installed with them but is never used at run time.

Example (after LEAN014):
    FROM python:3.11 AS builder
    WORKDIR /srv
    COPY . .
    RUN python3 -m venv /opt/venv
    ENV PATH="/opt/venv/bin:$PATH"
    RUN pip install -r requirements.txt          # numpy, requests (unused), pytest, black
    ...
    COPY --from=builder /opt/venv /opt/venv
Use instead:
    RUN grep -viE '^[[:space:]]*(pytest|black|requests)[[:space:]]*([<>=!~;@#[]|$)' requirements.txt > requirements.runtime.txt
    RUN pip install -r requirements.runtime.txt

Needs verification: a filtered file can resolve versions differently, and code can load a module
in ways no static reading sees. Applied when ``--verify`` passes (the smoke command runs, every
module the app imports imports in the rewritten image, ``pip check`` adds nothing) or with
``--unsafe-fixes``; otherwise suggested.

Left alone, with the reason (a note names each requirement kept and why): a requirement another
kept requirement needs, a model file names or a string of the code names; every requirement
nothing imports when the runtime code imports a module by a computed name
(``importlib.import_module(name)``), loads plugins by entry point, ships a model file leanify
cannot read to its end, imports a module no kept requirement is known to provide, or when PyPI
cannot say what the kept requirements need (``LEANIFY_PYPI=off``, an sdist-only release); a
later RUN of the stage that runs Python; tools a RUN of the final image uses; requirements files
with ``\\`` continuation lines, in UTF-16, or listed in an included ``-r`` file; a filter that
would leave the file empty; installs in a stage the image does not copy; runtime code libcst
cannot parse (its imports are unknown: nothing is reported).
"""

from __future__ import annotations

import re

from leanify import dep_audit as da
from leanify import dep_slim
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pypi import registry_for
from leanify.requirements_edits import filter_edits, keyword, why_unfiltered
from leanify.requirements_filter import grep_pattern, python_pattern
from leanify.rulekit import mapped_script, word_spans
from leanify.rules import Change, Rule, Safety, change, declined, fixed

__all__ = ["RULE", "apply", "dev_line_numbers", "grep_pattern", "python_pattern"]

RULE = Rule(
    id="LEAN016",
    title="dev-dependencies",
    safety=Safety.NEEDS_VERIFY,
    summary="Test and dev tools (pytest, black, mypy, ...) and requirements no runtime code imports leave the runtime install, "
            "unless another kept requirement, a model file or a string of the code shows they are needed.",
    phase=80,
)


MAX_LISTED = 12  # kept requirements a note names (a pip freeze lists a hundred)


def _finding(lines: tuple[int, int], reason: str, **data) -> Change:
    return Change(RULE.id, RULE.title, lines, reason, applied=False, data=data)


def _where(audit: da.Audit, req: da.Requirement) -> str:
    ev = audit.evidence.get(req.key) or []
    files = list(dict.fromkeys(e.rsplit(":", 1)[0] for e in ev))
    if not files:
        return "imported nowhere"
    return "imported only by " + ", ".join(files[:3]) + (" …" if len(files) > 3 else "")


def _at(req: da.Requirement) -> str:
    return f"{req.file}:{req.line}" if req.file else "the RUN's command line"


def _listed(audit: da.Audit, reqs) -> str:
    return ", ".join(f"{r.name} ({_at(r)}; {_where(audit, r)})" for r in reqs)


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


def _runtime_install(model: Dockerfile, audit: da.Audit, inst: da.PipInstall) -> bool:
    """The install whose packages the final image runs with: in the final stage, or in a builder
    the final stage copies from (and does not install again)."""
    if inst.stage == len(model.stages) - 1:
        return True
    return _copied_by_final(model, inst.stage) and not _reinstalled_in_final(model, audit)


def _final_uses(model: Dockerfile, inst: da.PipInstall) -> list:
    """RUN steps after the install, in its own (final) stage, that run a dev tool."""
    commands, modules = da._tool_dists()
    out = []
    for ins in model.stage_instructions(inst.stage):
        if ins.index <= inst.ins.index or ins.command != "RUN":
            continue
        for _i, base, args in [(i, b, a) for i, b, a in da._run_commands(model, inst.stage) if i is ins]:
            dist = commands.get(base)
            if dist is None and re.fullmatch(r"python[\d.]*", base or "") and "-m" in args[:3]:
                k = args.index("-m")
                dist = modules.get(args[k + 1].split(".", 1)[0]) if k + 1 < len(args) else None
            if dist is not None:
                out.append((da.normalize_name(dist), ins))
    return out


def _later_python(model: Dockerfile, inst: da.PipInstall):
    """The first RUN after the install, in its stage, that runs Python code (other than pip):
    it may import what no runtime file does."""
    for ins, base, args in da._run_commands(model, inst.stage):
        if ins.index <= inst.ins.index:
            continue
        if re.fullmatch(r"python[\d.]*", base or "") and not (args[:2] == ("-m", "pip") or list(args[:2]) == ["-m", "pip"]):
            return ins
    return None


def apply(model: Dockerfile, facts: Facts):
    if not facts.known or not model.stages:
        return model, []
    if not any(ins.command == "RUN" and "pip" in ins.text for ins in model.instructions):
        return model, []  # fast path: no pip install at all
    audit = da.audit(model, facts)
    if audit.analysis is None or audit.why_not:
        return model, []
    registry = registry_for(facts)
    edits, changes = [], []
    runs = _runs(audit)
    reported: set[str] = set()
    decided = None
    for inst in audit.installs:
        here = [r for rf in inst.req_files for r in rf.requirements] + da.positional(inst)
        if not here:
            continue
        keys_here = {r.key for r in here}
        gone = _uninstalled_later(model, inst)
        dev = [r for r in audit.dev if r.key in keys_here and r.key not in reported and r.key not in gone]
        unused = [r for r in audit.unused if r.key in keys_here and r.key not in reported and r.key not in gone]
        dev = [r for r in here if r in dev]  # the install's own spelling and line (file or command line)
        unused = [r for r in here if r in unused]
        reported |= {r.key for r in dev + unused}
        if not dev and not unused:
            continue
        if decided is None:
            decided = dep_slim.removals(audit, facts, model, registry, audit.unused, audit.dev)
        got = _rewrite(model, facts, audit, inst, dev, unused, decided, runs)
        edits += got[0]
        changes += got[1]
    return fixed(model, edits, changes)


def _rewrite(model: Dockerfile, facts: Facts, audit: da.Audit, inst: da.PipInstall, dev, unused,
             decided: dep_slim.Removals, runs: str):
    edits: list = []
    changes: list[Change] = []
    kept = [(r, decided.kept[r.key]) for r in dev + unused if r.key in decided.kept]
    if decided.blocked:
        kept += [(r, decided.blocked) for r in unused if r.key not in decided.kept]
    drop_dev = [r for r in dev if r.key not in decided.kept]
    drop_unused = [r for r in unused if r.key not in decided.kept and not decided.blocked]
    if not _runtime_install(model, audit, inst):
        if drop_dev:
            changes.append(_finding(inst.ins.lines, f"test/dev tools in the runtime requirements, never imported by {runs}: "
                                                    f"{_listed(audit, drop_dev)}; {_why_not(model, facts, audit, inst, drop_dev)}",
                                    files=_files(drop_dev)))
        if drop_unused:
            changes.append(_unused_finding(audit, inst, drop_unused, runs, "they are installed in a stage the image "
                                                                          "does not copy"))
        return edits, changes
    # tools a later build step runs stay for it: uninstalled after it (in a builder) or kept (in the final stage)
    steps = [i for r in drop_dev for i in audit.build_uses.get(r.key, []) if i.index > inst.ins.index and i.stage == inst.stage]
    final_steps = [i for k, i in _final_uses(model, inst) if k in {r.key for r in drop_dev}] \
        if inst.stage == len(model.stages) - 1 else []
    used_later = list(drop_dev) if steps else []
    if final_steps:  # a step of the image itself runs a tool: every tool stays (pytest-cov, coverage...)
        kept += [(r, f"a RUN of the image uses the test tools (line {final_steps[0].lines[0]})") for r in drop_dev]
        drop_dev = []
    later = _later_python(model, inst)
    if later is not None and drop_unused:
        kept += [(r, f"a later RUN of the stage runs Python (line {later.lines[0]}), which may import it") for r in drop_unused]
        drop_unused = []
    filtered_dev = [r for r in drop_dev if r not in used_later]
    dropping = filtered_dev + drop_unused
    if dropping:
        got = _drop(model, facts, audit, inst, dropping)
        if got is None:
            if filtered_dev:
                changes.append(_finding(inst.ins.lines, f"test/dev tools in the runtime requirements, never imported by {runs}: "
                                                        f"{_listed(audit, filtered_dev)}; {_why_not(model, facts, audit, inst, filtered_dev)}",
                                        files=_files(filtered_dev)))
            if drop_unused:
                changes.append(_unused_finding(audit, inst, drop_unused, runs, _why_not_unused(model, facts, inst, drop_unused)))
        else:
            edits += got[0]
            changes.append(change(RULE, inst.ins.lines, _dropped_reason(model, audit, inst, filtered_dev, drop_unused, runs, got[1]),
                                  files=_files(dropping)))
    if used_later:
        last_use = max(steps, key=lambda i: i.index)
        pip = _pip_word(inst)
        names = " ".join(dict.fromkeys(r.name for r in used_later))
        edits.append(model.insert_after(last_use, f"{_kw(model, 'RUN')} {pip} uninstall -y {names}"))
        changes.append(change(RULE, last_use.lines,
                              f"test/dev tools never imported by {runs} stay in the builder for the build steps that use them "
                              "({line:steps}) and are uninstalled after the last of them, before the runtime stage copies the "
                              f"builder's packages: {_listed(audit, used_later)} (their own dependencies stay)",
                              refs={"steps": [i.lines[0] for i in sorted(set(steps), key=lambda i: i.index)]},
                              files=_files(used_later)))
    if kept:
        by_why: dict[str, list] = {}
        for r, why in kept[:MAX_LISTED]:
            by_why.setdefault(why, []).append(r)
        listed = ", ".join(f"{rs[0].name} ({_at(rs[0])}; {why})" if len(rs) == 1 else
                           ", ".join(f"{r.name} ({_at(r)})" for r in rs) + f" (all {len(rs)}: {why})"
                           for why, rs in by_why.items())
        if len(kept) > MAX_LISTED:
            listed += f" and {len(kept) - MAX_LISTED} more"
        changes.append(declined(RULE, inst.ins.lines, f"requirements never imported by {runs} stay in the image: {listed}",
                                files=_files([r for r, _ in kept])))
    return edits, changes


def _files(reqs) -> list[str]:
    return sorted({r.file for r in reqs if r.file})


def _unused_finding(audit: da.Audit, inst: da.PipInstall, reqs, runs: str, why: str) -> Change:
    return _finding(inst.ins.lines, f"requirements never imported by {runs}: {_listed(audit, reqs)}; no kept requirement, "
                                    f"model file or string of the code needs them, but {why}", files=_files(reqs))


def _why_not_unused(model: Dockerfile, facts: Facts, inst: da.PipInstall, reqs) -> str:
    """The one obstacle that keeps these lines in the install, as the filter found it."""
    lines = [r for r in reqs if r.file]
    why = why_unfiltered(model, facts, inst, lines, _located(model, inst)) if lines else None
    return f"{why or 'the RUN cannot be edited exactly'}: drop them by hand"


def _dropped_reason(model, audit, inst, dev, unused, runs: str, how: str) -> str:
    kinds = (["test/dev tools"] if dev else []) + (["requirements"] if unused else [])
    label = " and ".join(kinds) + f" never imported by {runs}" + (
        ", needed by no kept requirement, model file or string of the code," if unused else "")
    listed = _listed(audit, list(dev) + list(unused))
    action = (f"are filtered out of {how} before it is installed ({listed})" if how
              else f"are dropped from the install ({listed})")
    if inst.stage != len(model.stages) - 1:
        return (f"the runtime stage copies this virtualenv: {label} {action}, so neither they nor their own "
                "dependencies reach the runtime image")
    return f"{label} {action}, so neither they nor the dependencies only they need are installed in the image"


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
    if not _runtime_install(model, audit, inst):
        return "in a multi-stage build (LEAN014) they stay in the builder"
    files = {r.file for r in dev}
    top = inst.req_files[0] if inst.req_files else None
    if top is None or files != {top.rel}:
        return "they are listed in an included requirements file: move them to a requirements-dev.txt"
    if top.continuation:
        return "the requirements file continues lines with \\: split dev tools into a requirements-dev.txt"
    return "move them to a requirements-dev.txt"


def _pip_word(inst: da.PipInstall) -> str:
    cmd = inst.call.command
    base = cmd.basename
    if re.fullmatch(r"pip[\d.]*", base):
        return base
    if re.fullmatch(r"python[\d.]*", base):
        return f"{base} -m pip"
    return "pip"


def _kw(model: Dockerfile, word: str) -> str:
    return keyword(model, word)


def _drop(model: Dockerfile, facts: Facts, audit: da.Audit, inst: da.PipInstall, reqs: list[da.Requirement]):
    """Edits that take ``reqs`` out of the install (and what the reason calls the filtered file):
    command-line packages are deleted from the RUN, file lines filtered (leanify.requirements_filter).
    None when either cannot be done exactly."""
    words = [r for r in reqs if not r.file]
    lines = [r for r in reqs if r.file]
    edits: list = []
    how = ""
    if words:
        got = _delete_words(model, inst, words)
        if got is None:
            return None
        edits += got
    if lines:
        got = _filter_edits(model, facts, inst, lines)
        if got is None:
            return None
        edits += got[0]
        how = got[1]
    return edits, how


def _delete_words(model: Dockerfile, inst: da.PipInstall, reqs: list[da.Requirement]):
    got = mapped_script(inst.ins, model)
    if got is None:
        return None
    _script, shift = got
    cmd = inst.call.command
    spans = word_spans(cmd)
    if spans is None or len(spans) != len(cmd.words_text):
        return None
    texts = {r.text for r in reqs}
    hits = [k for k, w in enumerate(cmd.words_text) if w in texts and k]
    if len(hits) != len(texts) or len(set(inst.packages) - texts) + len(inst.req_words) == 0:
        return None  # a package named twice, or nothing left to install
    edits = []
    logical = inst.ins.logical()[0]
    for k in hits:
        s, e = spans[k]
        s, e = s + shift, e + shift
        while s > 0 and logical[s - 1] in " \t":
            s -= 1
        ed = model.body_edit(inst.ins, s, e, "")
        if ed is None:
            return None
        edits.append(ed)
    return edits


def _located(model: Dockerfile, inst: da.PipInstall):
    got = mapped_script(inst.ins, model)
    if got is None:
        return None
    spans = word_spans(inst.call.command)
    if spans is None or len(spans) != len(inst.call.command.words_text):
        return None
    return got[1], spans


def _filter_edits(model: Dockerfile, facts: Facts, inst: da.PipInstall, reqs: list[da.Requirement]):
    return filter_edits(model, facts, inst, reqs, _located(model, inst))


def dev_line_numbers(text: str, names: list[str]) -> list[int]:
    pat = python_pattern(names)
    return [n for n, line in enumerate(text.splitlines(), 1) if pat.search(line)]
