"""The original build's evidence, read off its image (engine side of ``leanify.build_evidence``).

``--verify`` builds the original anyway. With BuildKit, each instruction of the final stage after
its FROM leaves exactly one entry in the image config's ``history`` (checked on Engine 26 /
BuildKit 0.13: ARG, ENV, LABEL, USER, EXPOSE, VOLUME, SHELL, HEALTHCHECK, STOPSIGNAL, MAINTAINER,
ENTRYPOINT and CMD with ``empty_layer``; RUN, COPY, ADD and WORKDIR with a layer, even when it is
empty — a ``RUN true``, a COPY whose pattern matches nothing; ONBUILD with no entry at all). The
base's own entries come first (those of the earlier stage when the final stage is FROM one).

The mapping counts from the end (the last ``n`` entries for the ``n`` instructions) and checks
it three ways before it is believed: the entries before them are exactly the base's (their
count, and the base's layers as the first layers of the image), every entry is BuildKit's
(``buildkit.dockerfile.v0``) with the instruction's keyword, and its text agrees with the
instruction where BuildKit records it (a RUN's command, COPY/ADD's sources and destination,
WORKDIR's path, ENV's and ARG's names; ``$VAR`` matches whatever it expanded to). When any check
fails there is no evidence, and the reason says which — never a wrong mapping.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping, Sequence

from .build_evidence import BaseEvidence, BuildEvidence, StepEvidence, parse_os_release
from .errors import DockerfileError
from .model import Dockerfile, Instruction

__all__ = ["Unmapped", "map_history", "read_evidence"]

BUILDKIT = "buildkit.dockerfile.v0"
_VAR = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
_FROM_VAR = re.compile(r"\$(?:\{(?P<b>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<p>[A-Za-z_][A-Za-z0-9_]*))")


class Unmapped(Exception):
    """The image's history and the Dockerfile's final stage do not provably agree."""


def _words(text: str) -> str:
    return " ".join(text.split())


def _pattern(expected: str) -> re.Pattern:
    """``expected`` (whitespace-normalised) as a pattern in which each ``$VAR`` / ``${...}``
    matches what BuildKit expanded it to."""
    out, pos = [], 0
    for m in _VAR.finditer(expected):
        out.append(re.escape(expected[pos : m.start()]))
        out.append(".*?")
        pos = m.end()
    out.append(re.escape(expected[pos:]))
    return re.compile("".join(out).replace(r"\ ", r"\s+"), re.DOTALL)


def _unflagged(text: str) -> str:
    words = text.split()
    while words and words[0].startswith("--"):
        words.pop(0)
    return " ".join(words)


def _agrees(ins: Instruction, recorded: str) -> str | None:
    """None when the history entry's text is ``ins``'s as BuildKit records it, else why not."""
    keyword, _, rest = recorded.partition(" ")
    if keyword.upper() != ins.keyword:
        return f"{ins.keyword} at line {ins.start_line}, but the image's history entry is {recorded[:80]!r}"
    rest = rest.removesuffix(" # buildkit") if ins.keyword in ("RUN", "COPY", "ADD") else rest
    got = _words(rest)
    if ins.keyword == "RUN":
        if ins.heredocs:
            ok = all(_words(h.content) in got for h in ins.heredocs)
        else:  # after BuildKit's "|N ARG=value ..." and the shell: the command, a whole word on
            cmd = _words(" ".join(ins.value))
            ok = got == cmd or got.endswith(" " + cmd)
    elif ins.keyword in ("COPY", "ADD"):
        ok = bool(_pattern(_words(" ".join(ins.value))).fullmatch(_unflagged(got)))
    elif ins.keyword == "WORKDIR" and ins.value:
        path = ins.value[0]
        want = posixpath.normpath(path if path.startswith("/") else "/" + path)
        ok = "$" in path or (posixpath.normpath(got) == want if path.startswith("/")
                             else posixpath.normpath(got).endswith(want))
    elif ins.keyword == "ENV":
        ok, pos = True, 0
        for k in ins.value[0::2]:  # the names in order, each at a word's start ("K=V K2=two words")
            at = got.find(f"{k}=", pos)
            while at > 0 and got[at - 1] != " ":
                at = got.find(f"{k}=", at + 1)
            if at < 0:
                ok = False
                break
            pos = at + len(k) + 1
    elif ins.keyword == "ARG":
        names = [v.split("=", 1)[0] for v in ins.value]
        ok = [w.split("=", 1)[0] for w in got.split()][: len(names)] == names
    else:
        ok = True  # the other instructions change no file; the keyword is the check
    return None if ok else f"line {ins.start_line}: the history entry {recorded[:80]!r} is not this {ins.keyword}"


def _steps(model: Dockerfile) -> list[Instruction]:
    """The final stage's instructions after FROM that leave a history entry (ONBUILD leaves none)."""
    final = model.stages[-1]
    return [ins for ins in model.stage_instructions(final.index)[1:] if ins.keyword != "ONBUILD"]


def map_history(history: Sequence[Mapping], base_entries: int, steps: Sequence[Instruction]
                ) -> list[tuple[Instruction, Mapping, int | None]]:
    """Each step with its history entry and the index of its layer in the image (None for an
    ``empty_layer`` entry). Raises ``Unmapped`` with the reason when it is not certain."""
    if len(history) - len(steps) != base_entries:
        raise Unmapped(f"the image has {len(history) - base_entries} history entries after its base's "
                       f"{base_entries}, the final stage {len(steps)} instructions")
    layer_of: list[int | None] = []
    n = 0
    for h in history:
        layer_of.append(None if h.get("empty_layer") else n)
        n += 0 if h.get("empty_layer") else 1
    out = []
    for i, ins in enumerate(steps):
        k = base_entries + i
        h = history[k]
        if h.get("comment") != BUILDKIT:
            raise Unmapped(f"line {ins.start_line}: the image's history entry was not written by BuildKit's "
                           "Dockerfile frontend (the classic builder records instructions differently)")
        why = _agrees(ins, h.get("created_by") or "")
        if why:
            raise Unmapped(why)
        out.append((ins, h, layer_of[k]))
    return out


def _global_args(model: Dockerfile, build_args: Mapping[str, str]) -> dict[str, str | None]:
    args: dict[str, str | None] = {}
    for ins in model.instructions:
        if ins.stage >= 0:
            break
        if ins.keyword == "ARG":
            for v in ins.value:
                name, eq, default = v.partition("=")
                args[name] = build_args.get(name, default.strip("\"'") if eq else None)
    return args


def _resolve_from(model: Dockerfile, base: str, build_args: Mapping[str, str]) -> str | None:
    """The final FROM's image with global ARGs substituted (``$NAME`` and ``${NAME}`` only)."""
    args = _global_args(model, build_args)

    def sub(m: re.Match) -> str:
        value = args.get(m.group("b") or m.group("p"))
        if value is None:
            raise KeyError(m.group(0))
        return value

    try:
        ref = _FROM_VAR.sub(sub, base)
    except KeyError:
        return None
    return None if "$" in ref else ref


def _base_image(engine, model: Dockerfile, context, build_args, network, run_id, timeout) -> tuple[str, str]:
    """(engine reference, name as the FROM line names it) of the final stage's base."""
    final = model.stages[-1]
    stages = {s.name.lower(): s for s in model.stages[:-1] if s.name}
    earlier = stages.get(final.base.lower())
    if earlier is not None:  # FROM an earlier stage: its image, from the engine's cache of the original build
        if context is None or run_id is None:
            raise Unmapped(f"the final stage is FROM stage {final.base!r}, and no build context was given to build it")
        last = model.stage_instructions(earlier.index)[-1]
        text = model.text[: last.end]
        res = engine.build(text if text.endswith("\n") else text + "\n", context, run_id=run_id,
                           role="evidence-base", build_args=dict(build_args), network=network, timeout=timeout)
        if not res.ok:
            raise Unmapped(f"stage {final.base!r} (the final stage's base) did not build on its own")
        return res.image_id, final.base
    ref = _resolve_from(model, final.base, build_args)
    if ref is None:
        raise Unmapped(f"the final FROM {final.base!r} names a variable leanify cannot resolve")
    return ref, ref


def read_evidence(engine, image: str, dockerfile_text: str, *, context=None, build_args: Mapping[str, str] | None = None,
                  network: str = "host", run_id: str | None = None, timeout: float = 3600,
                  cache="default") -> tuple[BuildEvidence | None, str]:
    """(evidence, why-not) for the final stage of ``dockerfile_text`` built as ``image``.

    ``context``, ``run_id``, ``build_args`` and ``network`` are needed only when the final stage
    is FROM an earlier stage: that stage is built on its own (from the engine's cache of the
    original's build) to know its image. The image is read with one export at most, through
    ``leanify.layer_cache`` (``cache``: a ``LayerCache``, None, or "default": the process's)."""
    from . import image_layers, layer_cache
    from .redact import build_arg_values, redact

    if cache == "default":
        cache = layer_cache.default()

    build_args = dict(build_args or {})
    try:
        model = Dockerfile.parse(dockerfile_text)
    except DockerfileError as exc:
        return None, f"the Dockerfile does not parse: {exc}"
    if not model.stages:
        return None, "the Dockerfile has no stage"
    try:
        attrs = engine.inspect(image)
        ref, name = _base_image(engine, model, context, build_args, network, run_id, timeout)
        if ref.lower() == "scratch":
            base_cfg, base_ids, base_entries, onbuild = {}, [], 0, []
        else:
            try:
                base_attrs = engine.inspect(ref)
            except Exception as exc:  # noqa: BLE001 - docker.errors.ImageNotFound and the like
                raise Unmapped(f"the base image {name} is not in the engine ({type(exc).__name__})") from None
            base_cfg = base_attrs.get("Config") or {}
            base_ids = list((base_attrs.get("RootFS") or {}).get("Layers") or [])
            base_entries = len(engine.client.api.history(ref))
            onbuild = base_cfg.get("OnBuild") or []
        if onbuild:
            raise Unmapped(f"the base image {name} has ONBUILD triggers: they run at the FROM and leave "
                           "entries of their own")
        try:
            img = image_layers.read_image(engine.client, attrs["Id"], cache=cache)
        except image_layers.LayerReadError as exc:
            raise Unmapped(f"the image's layers cannot be read: {exc}") from None
        if len(img.history) - sum(1 for h in img.history if h.get("empty_layer")) != len(img.layers):
            raise Unmapped(f"the image config's history names {len(img.history)} entries for {len(img.layers)} layers "
                           "in a way that does not add up")
        mapped = map_history(img.history, base_entries, _steps(model))
        if img.diff_ids[: len(base_ids)] != base_ids:
            raise Unmapped(f"the image was not built on the base image {name} the engine has now (its "
                           "first layers differ)")
        base_layers = sum(1 for h in img.history[:base_entries] if not h.get("empty_layer"))
        if base_layers != len(base_ids):
            raise Unmapped(f"the base image {name} has {len(base_ids)} layers, the image's history "
                           f"{base_layers} before the final stage")
    except Unmapped as exc:
        return None, str(exc)

    secrets = build_arg_values(build_args)
    same = image_layers.unchanged(img)
    steps = []
    for ins, h, k in mapped:
        layer = img.layers[k] if k is not None else None
        steps.append(StepEvidence(line=ins.start_line, keyword=ins.keyword,
                                  created_by=redact(h.get("created_by") or "", secrets),
                                  written=layer.entries if layer is not None else (),
                                  empty=k is None or same[k], diff_id=layer.diff_id if layer is not None else None))
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in base_cfg.get("Env") or [])
    base = BaseEvidence(image=name, workdir=base_cfg.get("WorkingDir") or "/", user=base_cfg.get("User") or "",
                        env=env, os_release=parse_os_release(img.read("/etc/os-release", upto=len(base_ids))),
                        layers=len(base_ids))
    return BuildEvidence(hashlib.sha256(dockerfile_text.encode("utf-8")).hexdigest(), base, tuple(steps),
                         image_bytes=int(attrs.get("Size") or 0), image_id=attrs["Id"]), ""
