"""What one instruction does, given the state before it (``_effects``): COPY and ADD (exact
from the context's file list when it is known), WORKDIR, ENV/ARG, USER, VOLUME, image config;
RUN in ``run``. ``queries.facts_of`` is the cached way in.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from .context_files import _context_writes
from .effects import OPAQUE, Effects
from .paths import ANY, _known, _resolve, vars_in
from .run import _run_effects
from .state import State, _pairs, _step

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Dockerfile, Instruction


def _effects(model: Dockerfile, ins: Instruction, s: State, facts) -> Effects:
    kw = ins.keyword
    args_text = " ".join(ins.flags) + " " + " ".join(ins.value)
    if kw == "ONBUILD":
        return Effects(uses_vars=frozenset({"<onbuild>"}), sets_vars=frozenset({"<onbuild>"}))
    if kw in ("COPY", "ADD"):
        return _copy_effects(model, ins, s, facts)
    if kw == "RUN":
        return _run_effects(model, ins, s, facts)
    if kw == "WORKDIR":
        after = _step(model, ins, s).cwd
        uses = vars_in(args_text) | {"<user>"} | ({"<cwd>"} if ins.value and not ins.value[0].startswith(("/", "$")) else set())
        # it creates the folder (and missing parents) if needed; as a non-root user the
        # ownership differs from a folder a COPY would create: then count the whole subtree
        rootish = s.user in (None, "root", "0", "0:0", "root:root")
        made = (after.rstrip("/") + "/." if after != "/" else "/.") if after and rootish else (after or ANY)
        return Effects(frozenset(), frozenset({made}), frozenset(uses), frozenset({"<cwd>"}), s.user)
    if kw in ("ENV", "ARG"):
        names = {k for k, _ in _pairs(ins)}
        uses = set()
        for _, v in _pairs(ins):
            uses |= vars_in(v)
        return Effects(uses_vars=frozenset(uses), sets_vars=frozenset(names), user=s.user)
    if kw == "USER":
        return Effects(uses_vars=vars_in(args_text), sets_vars=frozenset({"<user>"}), user=s.user)
    if kw == "SHELL":
        return Effects(sets_vars=frozenset({"<shell>"}), user=s.user)
    if kw == "VOLUME":
        paths = ins.value
        return Effects(
            frozenset(), frozenset(_resolve(p, s.cwd, s.env) for p in paths), vars_in(args_text), frozenset({"<volume>"}), s.user
        )
    if kw == "LABEL":
        return Effects(uses_vars=vars_in(args_text), sets_vars=frozenset(f"<label:{k}>" for k, _ in _pairs(ins)), user=s.user)
    if kw in ("CMD", "ENTRYPOINT"):
        return Effects(sets_vars=frozenset({"<cmd>"}), uses_vars=frozenset({"<cmd>"}), user=s.user)
    # EXPOSE, STOPSIGNAL, HEALTHCHECK, MAINTAINER: image config only
    return Effects(uses_vars=vars_in(args_text), sets_vars=frozenset({f"<{kw.lower()}>"}), user=s.user)


def _copy_effects(model, ins, s: State, facts) -> Effects:
    if ins.heredocs:
        return OPAQUE  # COPY <<EOF: rare; not modelled
    words = list(ins.value)
    if len(words) < 2:
        return OPAQUE
    srcs, dest = words[:-1], words[-1]
    uses = set(vars_in(" ".join(ins.flags) + " " + " ".join(words)))
    reads: set[str] = set()
    src_from = ins.flag("from")
    for src in srcs:
        if ins.keyword == "ADD" and re.match(r"^[a-z][a-z0-9+.-]*://|^git@", src, re.IGNORECASE):
            reads.add(f"url:{src}")
        elif src_from is not None:
            reads.add(f"stage:{src_from}:{src}")
        else:
            reads.add("context:" + (posixpath.normpath(src.lstrip("/")) if src not in ("", "/") else "."))
    chown = ins.flag("chown")
    if chown and not re.fullmatch(r"\d+(:\d+)?", chown):
        reads |= {"/etc/passwd", "/etc/group"}  # names are resolved in the image
    if not dest.startswith("/"):
        uses.add("<cwd>")
    base = _resolve(dest, s.cwd, s.env)
    writes: set[str] = {base}
    is_url = any(re.match(r"^[a-z][a-z0-9+.-]*://|^git@", x, re.IGNORECASE) for x in srcs)
    if _known(dest, s.cwd, s.env) and src_from is None and not is_url and facts is not None and getattr(facts, "known", False):
        precise = _context_writes(srcs, dest, base, facts, tar=ins.keyword == "ADD")
        if precise is not None:
            writes = precise
            if chown or ins.flag("chmod"):
                writes.add(base.rstrip("/") + "/." if base != "/" else "/.")  # a folder it creates is chowned
    return Effects(frozenset(reads), frozenset(writes), frozenset(uses), frozenset(), s.user)
