"""LEAN017 — Install the lighter build of a heavy Python distribution in a CPU server image.

What it does: for every requirement the runtime install reads (requirements files from the
build context and packages named on the command line), swaps the ones with a smaller build that
does the same job in this image, keeping the version:

- ``opencv-python`` / ``opencv-contrib-python`` → the ``-headless`` build, unless the runtime
  code opens windows (``cv2.imshow``, ``namedWindow``, ``waitKey``, ..., read with libcst);
- ``tensorflow`` / ``tensorflow-gpu`` in an image without a GPU base → ``tensorflow-cpu``;
- ``onnxruntime-gpu`` → ``onnxruntime`` and ``faiss-gpu`` → ``faiss-cpu`` in such an image.

A pinned version is kept (``opencv-python==4.9.0.80`` → ``opencv-python-headless==4.9.0.80``),
or the nearest release of the same series when the equivalent lacks it; another specifier is
kept when both distributions resolve it to the same release (PyPI's releases, read through
``leanify.pypi``). A requirement file's line is filtered out before the install (the filter
LEAN016 writes, extended: see ``leanify.requirements_filter``) and the equivalent installed
with it; a command-line package is renamed in place.

Reported, not rewritten:

- ``torch``, ``torchvision``, ``torchaudio`` from PyPI or a CUDA wheel index in an image without
  a GPU base: their CPU wheels live on PyTorch's own index, which leanify cannot reach to verify
  a rewrite, so the report gives the exact lines to add (``--extra-index-url
  https://download.pytorch.org/whl/cpu`` and ``torch==2.2.0+cpu``);
- ``tensorflow`` used only through the TFLite interpreter (``tf.lite.Interpreter``):
  ``tflite-runtime`` has another import name, so the code changes too.

Why: the GPU and GUI builds carry what a CPU server never loads — the CUDA runtime wheels that
PyPI's Linux torch pulls in are gigabytes; tensorflow's CUDA kernels and opencv-python's Qt and
X11 libraries are hundreds and tens of megabytes.

Example:
    FROM python:3.11-slim
    RUN pip install fastapi opencv-python==4.9.0.80
Use instead:
    FROM python:3.11-slim
    RUN pip install fastapi opencv-python-headless==4.9.0.80

Needs verification: the equivalent is another build of the library. Applied when ``--verify``
passes (the image imports every module the app imports, ``pip check`` is clean, the smoke run
passes) or with ``--unsafe-fixes``; otherwise suggested.

Left alone, with the reason: GPU base images (``nvidia/cuda``, ``nvcr.io/nvidia/*``,
``pytorch/pytorch``, tags naming cuda or gpu); opencv code that opens windows, or opencv no
runtime file imports (nothing shows it opens none); a distribution another kept requirement
needs (``ultralytics`` requires ``opencv-python``: both would be installed); a version the
equivalent has no release near; an install the runtime image does not use; runtime code libcst
cannot read; images without a build context; PyPI unreachable (``LEANIFY_PYPI=off``).
"""

from __future__ import annotations

import re

from leanify import dep_audit as da
from leanify import dep_slim
from leanify import pyimports as pi
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.pypi import registry_for
from leanify.pyuses import ParseError, read_uses
from leanify.requirements_edits import append_words, filter_edits
from leanify.rules import Change, Rule, Safety, change, declined, fixed
from leanify.rulekit import mapped_script, word_spans

RULE = Rule(
    id="LEAN017",
    title="heavy-distributions",
    safety=Safety.NEEDS_VERIFY,
    summary="GPU and GUI builds (tensorflow, opencv-python, onnxruntime-gpu) in a CPU server image become their lighter "
            "equivalent at the same version; torch from PyPI or a CUDA index is reported with the CPU index line.",
    phase=80,
)

_GUI = ("imshow", "namedWindow", "waitKey", "destroyAllWindows", "setMouseCallback", "createTrackbar", "selectROI",
        "moveWindow", "resizeWindow", "startWindowThread", "pollKey")


def gpu_base(image: str) -> bool:
    low = image.lower()
    if any(b in low for b in da.table()["gpu_bases"]):
        return True
    tag = low.rsplit("/", 1)[-1].partition(":")[2]
    return bool(re.search(r"cuda|gpu|cudnn|rocm", tag))


def _root_base(model: Dockerfile, stage: int) -> str:
    seen = 0
    while seen < 16:
        base = model.stages[stage].base
        names = [(s.name or "").lower() for s in model.stages[:stage]]
        if base.lower() in names:
            stage = names.index(base.lower())
            seen += 1
            continue
        return base
    return model.stages[stage].base


def _indexes(model: Dockerfile, inst: da.PipInstall) -> list[str]:
    out = [v for o in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links") for v in inst.call.values.get(o, ())]
    for rf in inst.req_files:
        out += rf.index_urls
    out += [v for k, v in inst.call.command.env.items() if k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")]
    for ins in model.stage_instructions(inst.stage):
        if ins.command == "ENV" and ins.index < inst.ins.index:
            vals = list(ins.value)
            out += [v.strip("\"'") for k, v in zip(vals[0::2], vals[1::2]) if k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")]
    return out


def _uses(analysis: pi.Analysis, facts: Facts, top: str) -> dict[str, list[tuple[int, str]]]:
    """runtime file that imports ``top`` -> (line, attribute used on it) as libcst reads them
    (``cv2.imshow`` -> ``imshow``; ``tf.lite.Interpreter`` -> ``lite.Interpreter``)."""
    out: dict[str, list[tuple[int, str]]] = {}
    for rel in sorted(analysis.reachable):
        f = analysis.files[rel]
        if not any(i.top == top for i in f.imports):
            continue
        try:
            u = read_uses(facts.read_text(rel) or "")
        except ParseError:
            u = None
        out[rel] = list(u.attrs.get(top, [])) if u else []
    return out


def _at(req: da.Requirement) -> str:
    return f"{req.file}:{req.line}" if req.file else "the RUN on {line:run}"


def _note(inst: da.PipInstall, reason: str, files: list[str]) -> Change:
    return declined(RULE, inst.ins.lines, reason, refs={"run": (inst.ins.lines[0],)}, files=files)


def _finding(inst: da.PipInstall, reason: str, files: list[str]) -> Change:
    return Change(RULE.id, RULE.title, inst.ins.lines, reason, applied=False, data={"files": files},
                  refs=(("run", (inst.ins.lines[0],)),))


def _files(req: da.Requirement, files: list[str]) -> list[str]:
    return ([req.file] if req.file else []) + files


def _shown(files: list[str]) -> str:
    return ", ".join(files[:3]) + (" …" if len(files) > 3 else "") if files else "code leanify cannot see"


def apply(model: Dockerfile, facts: Facts):
    if not facts.known or not model.stages:
        return model, []
    if not re.search(r"torch|tensorflow|opencv|onnxruntime-gpu|faiss-gpu", model.text, re.IGNORECASE) and not any(
            ins.command == "RUN" and "-r" in ins.text and "pip" in ins.text for ins in model.instructions):
        return model, []
    installs = da._pip_installs(model, facts)
    if not installs:
        return model, []
    heavy = da.table()["heavy"]
    per_install = [(inst, [r for r in [r for rf in inst.req_files for r in rf.requirements] + da.positional(inst)
                           if r.key in heavy]) for inst in installs]
    if not any(reqs for _i, reqs in per_install):
        return model, []
    analysis = pi.analyze(model, facts)
    if analysis.unreadable:
        return model, []
    base = _root_base(model, len(model.stages) - 1)
    cpu = not gpu_base(base)
    registry = registry_for(facts)
    everything = _everything(installs)
    edits, changes = [], []
    for inst, reqs in per_install:
        swaps: list[tuple[da.Requirement, str, str]] = []  # (requirement, new requirement, reason)
        for req in reqs:
            got = _judge(model, facts, analysis, installs, inst, req, heavy[req.key], base, cpu, registry, everything)
            if isinstance(got, Change):
                changes.append(got)
            elif got is not None:
                swaps.append(got)
        if swaps:
            e, c = _swap(model, facts, inst, swaps)
            edits += e
            changes += c
    return fixed(model, edits, changes)


def _everything(installs: list[da.PipInstall]) -> list[da.Requirement]:
    seen, out = set(), []
    for inst in installs:
        for r in [r for rf in inst.req_files for r in rf.requirements] + da.positional(inst):
            if r.key not in seen:
                seen.add(r.key)
                out.append(r)
    return out


def _judge(model, facts, analysis, installs, inst, req, info, base, cpu, registry, everything):
    """A swap (requirement, new requirement text, reason), a Change that reports or declines, or None."""
    key = req.key
    top = pi.import_names_for(req.name)[0].split(".", 1)[0]
    uses = _uses(analysis, facts, top)
    files = sorted(uses)
    shown = _shown(files)
    if key.startswith("opencv"):
        gui = sorted({(f, line, a) for f, us in uses.items() for line, a in us if a.split(".", 1)[0] in _GUI})
        if gui:
            f, line, a = gui[0]
            return _note(inst, f"{req.name} ({_at(req)}) stays: the runtime code opens windows (cv2.{a} at {f}:{line})",
                         _files(req, files))
        if not files:
            return _note(inst, f"{req.name} ({_at(req)}) stays: no runtime file of the build context imports cv2, so "
                               "nothing shows it opens no window", _files(req, []))
        why = f"{info['why']}; the runtime code ({shown}) opens no window (no cv2.imshow/namedWindow/waitKey)"
        return _swappable(model, installs, inst, req, info["instead"], why, registry, everything, files)
    if not cpu:
        return None
    if key.startswith("tensorflow"):
        used = [a for us in uses.values() for _line, a in us]
        if used and all(a.startswith(("lite.Interpreter", "lite.python.interpreter", "lite")) for a in used) and \
                any(a.startswith(("lite.Interpreter", "lite.python.interpreter")) for a in used):
            return _finding(inst, f"{req.name} ({_at(req)}) → {info['interpreter_only']}: the runtime code ({shown}) uses only "
                                  "the TFLite interpreter (tf.lite.Interpreter), which tflite-runtime (or its successor "
                                  "ai-edge-litert) provides as tflite_runtime.interpreter.Interpreter in a few MB (its "
                                  f"import name differs: the code changes too); {info['why']}", _files(req, files))
        why = f"{info['why']}; imported by {shown}, in this CPU image ({base})"
        return _swappable(model, installs, inst, req, info["instead"], why, registry, everything, files)
    if key in ("torch", "torchvision", "torchaudio"):
        if "+cpu" in req.spec:
            return None
        idx = _indexes(model, inst)
        if any(re.search(r"download\.pytorch\.org/whl/(nightly/)?cpu\b", u) for u in idx):
            return None
        cuda = [u for u in idx if re.search(r"download\.pytorch\.org/whl/(nightly/)?(cu|rocm)", u)]
        src = f"from the CUDA index {cuda[0]}" if cuda else "from PyPI (its Linux wheels depend on the nvidia-* CUDA wheels)"
        pin = re.fullmatch(r"===?\s*([\w.]+)", (req.spec or "").split(";")[0].strip())
        version = pin.group(1) if pin else None
        if version is None and registry is not None:
            version = (registry.releases(req.name) or [None])[-1]
        line = f"{req.name}=={version}+cpu" if version else f"{req.name} (a +cpu release)"
        return _finding(inst, f"{req.name} ({_at(req)}; imported by {shown}) {src} in a CPU image ({base}): its CPU wheels "
                              f"are on PyTorch's own index, which leanify cannot reach to verify a rewrite; add "
                              f"`--extra-index-url {info['cpu_index']}` to the pip command (or the requirements file) and "
                              f"require `{line}`; {info['why']}", _files(req, files))
    why = f"{info['why']}; imported by {shown}, in this CPU image ({base})"
    return _swappable(model, installs, inst, req, info["instead"], why, registry, everything, files)


def _swappable(model, installs, inst, req, target, why, registry, everything, files):
    if not dep_slim.runtime_install(model, installs, inst):
        return _note(inst, f"{req.name} ({_at(req)}) → {target}: {why}; not swapped: this install is in a stage the "
                           "image does not copy", _files(req, files))
    if registry is None:
        return _finding(inst, f"{req.name} ({_at(req)}) → {target}: {why}; not swapped: PyPI was not asked which "
                              f"releases {target} has (LEANIFY_PYPI=off)", _files(req, files))
    needs, err = dep_slim.required_by(registry, everything, req)
    if needs is None:
        return _note(inst, f"{req.name} ({_at(req)}) → {target}: {why}; not swapped: {err}", _files(req, files))
    if needs:
        return _note(inst, f"{req.name} ({_at(req)}) stays: another kept requirement needs it ({needs[0]}), so pip would "
                           f"install it beside {target}", _files(req, files))
    spec, err = dep_slim.swap_spec(registry, req, target)
    if spec is None:
        return _note(inst, f"{req.name} ({_at(req)}) → {target}: {why}; not swapped: {err}", _files(req, files))
    new = target + spec
    kept = f"the version is kept ({new})" if spec.startswith("==") and spec[2:] in req.spec else (
        f"the nearest release of {target} ({new}) replaces {req.name}{req.spec}" if spec.startswith("==")
        else f"the same specifier resolves to the same release ({new})")
    return req, new, f"{req.name} ({_at(req)}) → {target}: {why}; {kept}"


def _swap(model: Dockerfile, facts: Facts, inst: da.PipInstall, swaps):
    files = [r for r, _n, _w in swaps if r.file]
    words = [(r, n, w) for r, n, w in swaps if not r.file]
    located = _located(model, inst)
    edits: list = []
    if files:
        got = filter_edits(model, facts, inst, files, located)
        add = append_words(model, inst, located, [n for r, n, _w in swaps if r.file])
        if got is None or add is None:
            return [], [_finding(inst, w + "; not swapped: leanify cannot filter the line out of this install exactly "
                                     "(an included -r file, several -r files, continuation lines)", _files(r, []))
                        for r, _n, w in swaps if r.file]
        edits += got[0] + [add]
    for r, new, _w in words:
        e = _rename(model, inst, located, r, new)
        if e is None:
            return [], [_finding(inst, w + "; not swapped: the RUN cannot be edited exactly", []) for _r, _n, w in swaps]
        edits.append(e)
    return edits, [change(RULE, inst.ins.lines, w, refs={"run": (inst.ins.lines[0],)}, files=_files(r, []))
                   for r, _n, w in swaps]


def _located(model: Dockerfile, inst: da.PipInstall):
    got = mapped_script(inst.ins, model)
    if got is None:
        return None
    spans = word_spans(inst.call.command)
    if spans is None or len(spans) != len(inst.call.command.words_text):
        return None
    return got[1], spans


def _rename(model: Dockerfile, inst: da.PipInstall, located, req: da.Requirement, new: str):
    if located is None:
        return None
    shift, spans = located
    hits = [k for k, w in enumerate(inst.call.command.words_text) if w == req.text and k]
    if len(hits) != 1:
        return None
    s, e = spans[hits[0]]
    return model.body_edit(inst.ins, s + shift, e + shift, new)
