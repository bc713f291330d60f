"""LEAN017 — Report heavy Python distributions that have a lighter counterpart for this image.

What it does: for every requirement a ``pip install`` reads (requirements files from the build
context and packages named on the command line), reports the ones with a smaller build that
does the same job in this image, naming the requirement's file and line, the runtime files that
import it and what they use:

- ``opencv-python`` / ``opencv-contrib-python`` → the ``-headless`` build, unless the runtime
  code opens windows (``cv2.imshow``, ``namedWindow``, ``waitKey``, ...);
- ``tensorflow`` / ``tensorflow-gpu`` in an image without a GPU base → ``tflite-runtime`` when
  the runtime code only uses the TFLite interpreter (``tf.lite.Interpreter``), else
  ``tensorflow-cpu``;
- ``torch``, ``torchvision``, ``torchaudio`` from PyPI or a CUDA wheel index
  (``download.pytorch.org/whl/cu121``) in an image without a GPU base → the CPU wheel index
  ``--index-url https://download.pytorch.org/whl/cpu``;
- ``onnxruntime-gpu`` → ``onnxruntime`` and ``faiss-gpu`` → ``faiss-cpu`` in such an image.

Why: the GPU and GUI builds carry what a CPU server never loads — the CUDA runtime wheels that
PyPI's Linux torch pulls in are gigabytes; tensorflow's CUDA kernels and opencv-python's Qt and
X11 libraries are hundreds and tens of megabytes.

Example:
    FROM python:3.11-slim
    RUN pip install -r requirements.txt      # torch==2.2.0, opencv-python==4.9.0.80
Use instead:
    RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.2.0 \\
     && pip install opencv-python-headless==4.9.0.80 ...

Needs verification, and reported only: a counterpart is a different build of the library (a
different wheel index, fewer features); leanify does not rewrite requirements files.

Left alone: GPU base images (``nvidia/cuda``, ``nvcr.io/nvidia/*``, ``pytorch/pytorch``, tags
naming cuda or gpu); torch already from the CPU index or pinned ``+cpu``; opencv code that opens
windows, or opencv when no runtime file of the build context imports it (nothing shows it opens none); runtime code libcst cannot read; images without a build context.
"""

from __future__ import annotations

import re

from leanify import dep_audit as da
from leanify import pyimports as pi
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rules import Change, Rule, Safety

RULE = Rule(
    id="LEAN017",
    title="heavy-distributions",
    safety=Safety.NEEDS_VERIFY,
    summary="GPU and GUI builds (torch from PyPI or a CUDA index, tensorflow, opencv-python) in a CPU server image: report the lighter counterpart.",
    phase=80,
)

_GUI = ("imshow", "namedWindow", "waitKey", "destroyAllWindows", "setMouseCallback", "createTrackbar", "selectROI",
        "moveWindow", "resizeWindow")


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


def _uses(analysis: pi.Analysis, facts: Facts, top: str) -> dict[str, list[str]]:
    """file -> attribute names used on module ``top`` (``cv2.imshow`` -> ``imshow``; ``tf.lite.Interpreter``
    -> ``lite.Interpreter``), in the runtime files that import it."""
    out: dict[str, list[str]] = {}
    for rel in sorted(analysis.reachable):
        f = analysis.files[rel]
        mine = [i for i in f.imports if i.top == top]
        if not mine:
            continue
        text = facts.read_text(rel) or ""
        aliases = {top}
        for m in re.finditer(rf"^\s*import\s+{re.escape(top)}(?:\.[\w.]+)?\s+as\s+(\w+)", text, re.M):
            aliases.add(m.group(1))
        used = []
        for a in aliases:
            used += [m.group(1) for m in re.finditer(rf"\b{re.escape(a)}\.([\w.]+)", text)]
        for i in mine:
            sub = i.name[len(top) + 1:] if i.name != top else ""
            used += [".".join(x for x in (sub, n) if x) for n in i.names] if i.names else ([sub] if sub else [])
        out[rel] = used
    return out


def _finding(inst: da.PipInstall, reason: str, files: list[str]) -> Change:
    return Change(RULE.id, RULE.title, inst.ins.lines, reason, applied=False, data={"files": files},
                  refs=(("run", (inst.ins.lines[0],)),))


def _files(where: str, files: list[str]) -> list[str]:
    """The requirements file ``where`` names (``requirements.txt:3``; none for the RUN's own
    command line) and the code files."""
    return ([where.rsplit(":", 1)[0]] if not where.startswith("the RUN") else []) + files


def _requirements(inst: da.PipInstall) -> list[tuple[str, str, str]]:
    """(name, spec, where) of what the install reads: requirement lines and command-line packages."""
    out = [(r.name, r.spec, f"{r.file}:{r.line}") for rf in inst.req_files for r in rf.requirements]
    for p in inst.packages:
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$", p)
        if m and "/" not in p:
            out.append((m.group(1), m.group(2), "the RUN on {line:run}"))
    return out


def apply(model: Dockerfile, facts: Facts):
    if not facts.known or not model.stages:
        return model, []
    if not re.search(r"torch|tensorflow|opencv|onnxruntime-gpu|faiss-gpu", model.text, re.I) and not any(
            ins.command == "RUN" and "-r" in ins.text and "pip" in ins.text for ins in model.instructions):
        return model, []
    installs = [i for i in da._pip_installs(model, facts)]
    if not installs:
        return model, []
    heavy = da.table()["heavy"]
    candidates = [(inst, name, spec, where) for inst in installs for name, spec, where in _requirements(inst)
                  if pi.normalize(name) in heavy]
    if not candidates:
        return model, []
    analysis = pi.analyze(model, facts)
    if analysis.unreadable:
        return model, []
    base = _root_base(model, len(model.stages) - 1)
    cpu = not gpu_base(base)
    changes: list[Change] = []
    for inst, name, spec, where in candidates:
        key = pi.normalize(name)
        info = heavy[key]
        tops = pi.import_names_for(name)
        top = tops[0].split(".", 1)[0]
        uses = _uses(analysis, facts, top)
        files = sorted(uses)
        shown = ", ".join(files[:3]) + (" …" if len(files) > 3 else "") if files else "code leanify cannot see"
        if key.startswith("opencv"):
            gui = sorted({u for us in uses.values() for u in us if u.split(".", 1)[0] in _GUI})
            if gui or not files:
                continue  # it opens windows, or the code that would show it is not in the build context
            changes.append(_finding(inst, f"{name} ({where}) → {info['instead']}: {info['why']}; the runtime code "
                                          f"({shown}) opens no window (no cv2.imshow/namedWindow/waitKey)", _files(where, files)))
        elif key.startswith("tensorflow"):
            if not cpu:
                continue
            used = [u for us in uses.values() for u in us]
            if used and all(u.startswith(("lite.Interpreter", "lite.python.interpreter")) for u in used):
                changes.append(_finding(inst, f"{name} ({where}) → {info['interpreter_only']}: the runtime code ({shown}) "
                                              "uses only the TFLite interpreter (tf.lite.Interpreter), which tflite-runtime "
                                              "(or its successor ai-edge-litert) provides as tflite_runtime.interpreter.Interpreter in a few MB; "
                                              f"{info['why']}", _files(where, files)))
            else:
                changes.append(_finding(inst, f"{name} ({where}; imported by {shown}) → {info['instead']} in this CPU image "
                                              f"({base}): {info['why']}", _files(where, files)))
        elif key in ("torch", "torchvision", "torchaudio"):
            if not cpu or "+cpu" in spec:
                continue
            idx = _indexes(model, inst)
            if any(re.search(r"download\.pytorch\.org/whl/(nightly/)?cpu\b", u) for u in idx):
                continue
            cuda = [u for u in idx if re.search(r"download\.pytorch\.org/whl/(nightly/)?(cu|rocm)", u)]
            src = f"from the CUDA index {cuda[0]}" if cuda else "from PyPI (its Linux wheels depend on the nvidia-* CUDA wheels)"
            changes.append(_finding(inst, f"{name} ({where}; imported by {shown}) {src} in a CPU image ({base}): install it with "
                                          f"--index-url {info['cpu_index']}; {info['why']}", _files(where, files)))
        elif cpu:
            changes.append(_finding(inst, f"{name} ({where}; imported by {shown}) → {info['instead']} in this CPU image "
                                          f"({base}): {info['why']}", _files(where, files)))
    return model, changes
