"""LEAN015 — Run the final stage on the slim variant of its base image.

What it does: when the final stage of a Dockerfile compiles nothing — it copies artifacts
(often ``COPY --from=builder``), installs runtime packages and sets up users and config — its
base is replaced by the slim counterpart from leanify's knowledge table: ``python:3.11`` ->
``python:3.11-slim``, ``node:18`` -> ``node:18-slim``, ``debian:bookworm`` ->
``debian:bookworm-slim``, ``eclipse-temurin:17-jdk`` -> ``eclipse-temurin:17-jre``,
``nvidia/cuda:*-devel-*`` -> ``*-runtime-*``, ``pytorch/pytorch:*-devel`` -> ``*-runtime``.
A base that names a global ``ARG`` with a static version default (``python:${PY}``) keeps
the variable: ``python:${PY}-slim``.

Why: the full images carry compilers, ``-dev`` headers, git, curl and documentation that a
stage which only runs the program never uses: python:3.11 is ~1 GB, python:3.11-slim ~130 MB.
The slim image is the same distribution release and the same interpreter or JVM vendor and
version (never glibc to musl), so the stage's commands and the program behave the same.

Safety: needs verification. The full image may provide, without the Dockerfile saying so,
a shared library that copied artifacts link against (python:3.11 has libpq5 because it ships
libpq-dev) or a tool the program shells out to; ``leanify --verify`` builds both images and
compares libraries, config and a smoke run.

Example:
    FROM python:3.11 AS builder
    RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt
    FROM python:3.11
    COPY --from=builder /opt/venv /opt/venv
    CMD ["/opt/venv/bin/gunicorn", "app:app"]
Use instead:
    ...
    FROM python:3.11-slim
    COPY --from=builder /opt/venv /opt/venv
    CMD ["/opt/venv/bin/gunicorn", "app:app"]

Left alone — and said, as ``LEAN015 not applied: line N: why`` (``--check``, the notes, the
JSON ``notes``), whenever the base has a slim counterpart the stage does not use:
- a final stage that compiles: a RUN that installs build packages (gcc, ``*-dev``) or runs a
  build step (pip install, make, go build, npm ci...) — single-stage files like that are the
  multi-stage split's (LEAN014) to rewrite;
- a RUN leanify cannot read, or one doing something it cannot classify (a download, a script);
- a stage whose RUN, CMD, ENTRYPOINT or HEALTHCHECK calls a tool only the full image has
  (curl, wget, git, gcc, make, ps, javac...);
- a base that is an earlier stage, ``scratch``, distroless, already slim, or unknown;
- a floating base (no tag, ``latest``, ``stable``, ``lts``...): which image it follows stays the
  user's choice;
- a base from ``$ARG`` without a static default, or whose variable is more than a version;
- a base whose slim image is another repository (golang/rust -> debian, maven/gradle ->
  eclipse-temurin): its environment (GOPATH, PATH, JAVA_HOME, working directory) differs;
- a base pinned by digest: the slim image's digest cannot be computed here, and keeping the
  old digest would keep the old image (a digest wins over the tag);
- ONBUILD in the stage (what runs later is not visible here).
"""

from __future__ import annotations

import re
import shlex

from leanify import knowledge
from leanify.buildtime import classify_run
from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change, declined, fixed
from leanify.shell import analyze_run

RULE = Rule(
    id="LEAN015",
    title="slim-base",
    safety=Safety.NEEDS_VERIFY,
    summary="A final stage that compiles nothing runs on the slim variant of its base image.",
    phase=70,
)

# Tools the full images have and their slim counterparts do not (buildpack-deps: curl, wget,
# git, compilers, procps...; a JDK's tools are not in the JRE; CUDA devel's nvcc).
_FULL_ONLY = frozenset("""
curl wget git hg svn bzr ssh scp sftp rsync gcc g++ cc c++ cpp clang make cmake autoconf automake libtool pkg-config
patch gpg gpg2 dirmngr ps top pkill pgrep free uptime watch kill file unzip zip bzip2 xz less vim vi nano
convert identify mogrify magick composite psql mysql sqlite3 python3-config javac jar jshell jlink jdeps jcmd jmap
jstack jstat jps jdb jarsigner nvcc cuobjdump nvdisasm netstat ifconfig ip ping dig nslookup host
""".split())

_ARG_REF = re.compile(r"\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))")
_VERSION = re.compile(r"[0-9][0-9a-z.]*")


def _global_args(model: Dockerfile) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for ins in model:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            for word in ins.value:
                name, eq, default = word.partition("=")
                out[name] = default.strip("\"'") if eq else None
    return out


def _resolve(base: str, model: Dockerfile) -> tuple[str, str | None] | None:
    """(resolved image, the variable kept in the tag) or None when it cannot be resolved safely."""
    refs = list(_ARG_REF.finditer(base))
    if not refs:
        return base, None
    if len(refs) != 1:
        return None
    m = refs[0]
    name = m.group("b") or m.group("p")
    default = _global_args(model).get(name)
    if not default or "$" in default or not _VERSION.fullmatch(default):
        return None  # no static default, or more than a version: an override could name anything
    if ":" not in base[: m.start()] or "@" in base:
        return None  # the variable must sit in the tag, not the repository
    return base[: m.start()] + default + base[m.end():], m.group(0)


def _templated(slim: str, resolved: str, value: str, variable: str) -> str | None:
    """``python:3.11-slim`` back to ``python:${PY}-slim``: the version must appear once, in the tag."""
    repo_end = slim.rfind(":")
    if repo_end < 0 or slim.count(value) != 1 or slim.find(value) < repo_end:
        return None
    out = slim.replace(value, variable)
    return out


def _words(ins: Instruction) -> list[str]:
    if ins.json:
        return list(ins.value)
    text = " ".join(ins.value)
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()


def _uses_full_only_tool(ins: Instruction) -> str | None:
    words = _words(ins)
    if ins.keyword == "HEALTHCHECK" and words and words[0].upper() in ("CMD", "NONE"):
        words = words[1:]
    for w in words:
        for part in re.split(r"[;&|()`]+", w):
            name = part.rsplit("/", 1)[-1]
            if name in _FULL_ONLY:
                return name
    return None


def _compiles_or_unknown(model: Dockerfile, stage: int, family: str) -> tuple[str, Instruction, str] | None:
    """Why the stage is not a pure runtime stage, as (kind, instruction, why); None: it is one.
    ``kind``: ``build`` (build packages or a build step), ``unknown`` (a step leanify cannot
    classify), ``tool`` (a tool only the full image has), ``unreadable``, ``onbuild``."""
    workdir: str | None = "/"
    for ins in model.stage_instructions(stage):
        kw = ins.keyword
        if kw == "ONBUILD":
            return "onbuild", ins, "ONBUILD runs in images built from this one: what they need is not visible here"
        if kw == "WORKDIR":
            path = ins.value[0] if ins.value else ""
            workdir = path if path.startswith("/") and "$" not in path else None
        if kw in ("CMD", "ENTRYPOINT", "HEALTHCHECK", "RUN"):
            tool = _uses_full_only_tool(ins)
            if tool:
                return "tool", ins, f"{kw} names `{tool}`"
        if kw != "RUN":
            continue
        script = analyze_run(ins, model)
        if script is None:
            return "unreadable", ins, "this RUN is not a shell script leanify reads"
        for step in classify_run(script, workdir).steps:
            if step.kind in ("build", "unknown"):
                return step.kind, ins, step.why or step.kind
            for call in step.calls:
                if call.action in ("install", "add") and any(knowledge.is_build_package(p, family) for p in call.packages):
                    return "build", ins, "it installs build packages"
    return None


def _builds(model: Dockerfile, stage: int, family: str) -> bool:
    """The stage installs build packages or runs a build step."""
    for ins in model.stage_instructions(stage):
        script = analyze_run(ins, model) if ins.keyword == "RUN" else None
        if script is None:
            continue
        for step in classify_run(script, None).steps:
            if step.kind == "build" or any(call.action in ("install", "add") and any(
                    knowledge.is_build_package(p, family) for p in call.packages) for call in step.calls):
                return True
    return False


_WHY = {
    "tool": "{why}, a tool {slim} does not have",
    "build": "the final stage builds ({why}): {slim} has no compilers or headers",
    "unknown": "{why}: leanify cannot tell whether {slim} has what it needs",
    "unreadable": "{why}: what it needs from {base} is unknown",
    "onbuild": "{why}",
}


def _image_span(model: Dockerfile, ins: Instruction, image: str) -> tuple[int, int] | None:
    start = ins.body_start
    if model.text[start : start + len(image)] == image:
        return start, start + len(image)
    return None


def apply(model: Dockerfile, facts: Facts):
    """The slim base for the final stage, or, when its base has a slim counterpart that is not
    used, why (``declined``): a final stage on the full image is not lean, and the user should
    know what keeps it there."""
    stages = model.stages
    if not stages:
        return fixed(model, [], [])
    final = stages[-1]
    base = final.base
    from_ins = model.instructions[final.instructions[0]]
    if not base or base.lower() == "scratch":
        return fixed(model, [], [])
    names = {s.name.lower() for s in stages[:-1] if s.name}
    if base.lower() in names:
        return fixed(model, [], [])
    if "@" in base:
        slim = knowledge.slim_base(base)
        if slim is None:
            return fixed(model, [], [])
        return model, [declined(RULE, from_ins.lines, f"the base {base.split('@', 1)[0]} is pinned by digest: the digest "
                                                      f"of {slim.image} cannot be computed here, and keeping the old digest "
                                                      "would keep the old image")]
    got = _resolve(base, model)
    if got is None:
        return fixed(model, [], [])
    resolved, variable = got
    tag = knowledge.parse_image(resolved).tag
    slim = knowledge.slim_base(resolved)
    if slim is None:
        return fixed(model, [], [])
    if slim.pinned:
        return fixed(model, [], [])
    family = slim.family or "debian"
    if len(stages) == 1 and _builds(model, final.index, family):
        return fixed(model, [], [])  # a single stage that builds: the multi-stage split's (LEAN014) to rewrite or decline
    blocker = _compiles_or_unknown(model, final.index, family)
    if knowledge.parse_image(slim.image).repo != knowledge.parse_image(resolved).repo:
        # another image's environment: the multi-stage split's call
        return model, [declined(RULE, from_ins.lines, f"the slim counterpart of {base} is {slim.image}, another image "
                                                      "whose environment (PATH, variables, working directory) differs: "
                                                      "moving a final stage onto it is a multi-stage split (LEAN014)")]
    if blocker is not None:
        kind, ins, why = blocker
        return model, [declined(RULE, ins.lines, _WHY[kind].format(why=why, slim=slim.image, base=base)
                                                 + f"; the final stage keeps {base}")]
    if tag in (None, "latest", "stable", "testing", "unstable", "sid", "lts", "current"):
        # a floating tag: leave which image it floats to as the user chose (said last: only here is
        # it true that a versioned tag would get the slim variant)
        return model, [declined(RULE, from_ins.lines, f"the base {base} floats ({tag or 'no tag'}): which image it "
                                                      f"follows stays your choice; with a version, e.g. {resolved.split(':')[0]}:X.Y, "
                                                      "its slim variant would be used")]
    new_image = slim.image
    if variable is not None:
        value = resolved[resolved.rfind(":") + 1:]
        value = _global_args(model)[variable.strip("${}")] or value
        new_image = _templated(slim.image, resolved, value, variable)
        if new_image is None:
            return fixed(model, [], [])
    span = _image_span(model, from_ins, base)
    if span is None:
        return fixed(model, [], [])
    shown = f"{base} ({resolved})" if variable else base
    reason = (f"final stage base {shown} -> {new_image}: the stage compiles nothing (no build packages, no "
              f"build steps: it only copies artifacts and sets up the runtime); {slim.note}")
    return fixed(model, [Edit(span[0], span[1], new_image)], [change(RULE, from_ins.lines, reason)])
