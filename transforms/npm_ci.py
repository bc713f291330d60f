"""LEAN007 — `npm ci` instead of `npm install` when the lockfile is in the image.

What it does: rewrites `npm install` (or `npm i`) with no package arguments as `npm ci`, keeping
its options (`--omit=dev`, `--only=production`, `--production`, `--legacy-peer-deps`,
`--no-audit`, ... mean the same to `npm ci`), when it can prove that `npm ci` succeeds where
`npm install` did and installs the same tree:
- the build context holds `package-lock.json` (or `npm-shrinkwrap.json`) next to `package.json`,
  no `.dockerignore` pattern can exclude either, and a COPY in the stage puts both into the
  directory the RUN works in (WORKDIR followed; no `cd` in the RUN);
- npm itself would call the lockfile in sync (`leanify.npm_lock`, npm's own check replayed from
  its source): lockfileVersion 2 or 3, package.json declares exactly what the lock's root entry
  records, and every dependency of every package in the lock (optional and peer dependencies
  included) finds a package there that satisfies it, the way node resolves it; no package that
  is not optional is limited to some platforms;
- no `node_modules` can already be in that directory (`npm ci` deletes it; `npm install` would
  have merged into it): none in the context unless `.dockerignore` excludes it, no `COPY --from`,
  and no earlier RUN of npm/yarn/pnpm in the stage;
- the base is the official `node` image, version 15 or later (npm 7 and later; npm 6's `npm ci`
  reads another part of the lockfile).

Why: `npm ci` installs exactly what the lockfile says — reproducible builds — is faster, and
fails loudly when package.json and the lockfile drift apart instead of silently resolving new
versions inside the image. The committed lockfile also reaches the image unchanged (`npm install`
may rewrite it).

Example:
    COPY package.json package-lock.json ./
    RUN npm install --omit=dev
Use instead:
    COPY package.json package-lock.json ./
    RUN npm ci --omit=dev

Left alone, with the reason in `skip_reasons` (`npm ci` would fail, or leanify cannot tell): a lock
npm would refuse (a dependency missing from it, optional ones included, such as `fsevents` under
`chokidar`; a version that does not satisfy its spec), lockfileVersion 1 (npm 7 and later fetch
every manifest from the registry before judging it), workspaces, links, `overrides`, git/file/URL
dependencies, a node image older than 15.
Left alone silently (`npm install` is not wrong there): no build context, no lockfile, `npm install
<pkg>`, options `npm ci` does not share (`-g`, `--prefix`, `--no-package-lock`, `--save*`,
`--force` ...), `cd` in the RUN, bind mounts, `sh -c` strings, exec form, a non-default SHELL.
`yarn install` and `pnpm install` are not rewritten by this rule.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re

from leanify import npm_lock
from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import logical_shift, run_instructions, stage_chain, word_spans
from leanify.rules import Rule, Safety, change, declined, fixed
from leanify.shell import Script, analyze_run, parse_script

RULE = Rule(
    id="LEAN007",
    title="npm-ci",
    safety=Safety.SAFE,
    summary="`npm ci` installs exactly the committed lockfile: reproducible, faster, and loud about drift.",
    phase=20,
)

LOCKFILES = ("npm-shrinkwrap.json", "package-lock.json")  # npm prefers the shrinkwrap
#: options `npm ci` takes with the same meaning (value-taking ones listed in _VALUED)
_SAME_FLAGS = frozenset(
    "--production --legacy-peer-deps --strict-peer-deps --no-audit --audit --no-fund --fund --silent --quiet -q "
    "--verbose -d -dd -ddd --ignore-scripts --no-optional --unsafe-perm --no-progress --progress --prefer-offline "
    "--prefer-online --offline --no-bin-links --foreground-scripts --no-update-notifier --include-workspace-root "
    "--install-links".split()
)
_VALUED = frozenset("--omit --only --include --loglevel --registry --cache --install-strategy".split())
_VALUED_OK = {"--only": {"prod", "production", "dev", "development"}, "--omit": {"dev", "optional", "peer"},
              "--include": {"dev", "optional", "peer", "prod"}}  # fmt: skip
_EARLIER_NODE_WORK = re.compile(r"\b(npm|npx|yarn|pnpm|corepack)\b|node_modules|package(-lock)?\.json|npm-shrinkwrap")
_NODE_BASE = re.compile(r"^(?:(?:docker\.io/)?library/)?node(?::([\w.-]+))?$", re.I)


# ---- context --------------------------------------------------------------------------------------
def ignored(facts: Facts, relpath: str) -> bool:
    """Whether any .dockerignore pattern could exclude ``relpath`` (conservative: a pattern that
    matches counts even if a later ``!`` line re-includes it)."""
    patterns = facts.dockerignore or []
    parts = relpath.split("/")
    for raw in patterns:
        if raw.startswith("!"):
            continue
        p = posixpath.normpath(raw.strip().lstrip("/")).rstrip("/")
        if p in (".", ""):
            continue
        candidates = {relpath, parts[-1]} | {"/".join(parts[: i + 1]) for i in range(len(parts))}
        pats = {p, p.replace("**/", ""), p.replace("/**", "")}
        if any(fnmatch.fnmatchcase(c, q) for c in candidates for q in pats):
            return True
    return False


def in_sync(package: dict, lock: dict, *, legacy_peer_deps: bool = False) -> npm_lock.Verdict:
    """Whether ``npm ci`` accepts this lockfile for this package.json, and why not."""
    return npm_lock.check(package, lock, legacy_peer_deps=legacy_peer_deps)


def _load(facts: Facts, relpath: str) -> dict | None:
    text = facts.read_text(relpath, limit=64 << 20)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# ---- the image, instruction by instruction ---------------------------------------------------------
def _global_args(model: Dockerfile) -> dict[str, str]:
    out = {}
    for ins in model:
        if ins.stage >= 0:
            break
        if ins.keyword == "ARG":
            for v in ins.value:
                k, eq, d = v.partition("=")
                if eq:
                    out[k] = d.strip("\"'")
    return out


def node_major(model: Dockerfile, stage: int) -> int | None:
    """The node major version of the stage's official `node` base (99 for a moving tag such as
    `lts` or `alpine`), None when the base is not the official node image or cannot be read."""
    base = model.stages[stage_chain(model, stage)[-1]].base.strip()
    args = _global_args(model)
    base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), "\0"), base)
    m = _NODE_BASE.match(base)
    if not m or "\0" in base:
        return None
    tag = (m.group(1) or "latest").lower()
    if tag.split("-")[0] in ("latest", "lts", "current", "alpine", "slim", "bookworm", "bullseye", "buster", "trixie"):
        return 99
    major = re.match(r"^(\d+)", tag)
    return int(major.group(1)) if major else None


def node_base_ok(model: Dockerfile, stage: int) -> bool:
    """npm 7 or later (node 15+): the npm whose `npm ci` check ``leanify.npm_lock`` replays."""
    major = node_major(model, stage)
    return major is not None and major >= 15


def _is_dir_dest(dest: str, nsrc: int, known_dirs: set[str], abs_dest: str) -> bool:
    return dest.endswith("/") or dest in (".", "./") or nsrc > 1 or abs_dest in known_dirs


class _State:
    """What the stage chain put into the image before the RUN, as far as this rule cares."""

    def __init__(self):
        self.workdir: str | None = "/"
        self.dirs: set[str] = {"/"}
        self.files: dict[str, str | None] = {}  # image path -> context path (None: unknown content)
        self.blocked = False  # something we cannot follow (COPY --from, $vars, earlier npm ...)


def image_state(model: Dockerfile, ins: Instruction, facts: Facts) -> _State:
    st = _State()
    chain = list(reversed(stage_chain(model, ins.stage)))
    for s in chain:
        for j in model.stage_instructions(s):
            if s == ins.stage and j.index >= ins.index:
                return st
            kw = j.command
            if kw == "WORKDIR":
                w = " ".join(j.value)
                if "$" in w or st.workdir is None:
                    st.workdir = None
                    st.blocked = True
                else:
                    st.workdir = posixpath.normpath(posixpath.join(st.workdir, w))
                    st.dirs.add(st.workdir)
            elif kw in ("COPY", "ADD"):
                _copy(j, st, facts)
            elif kw == "RUN":
                if _EARLIER_NODE_WORK.search(" ".join(j.value)) or any(h.content and _EARLIER_NODE_WORK.search(h.content) for h in j.heredocs):
                    st.blocked = True
            elif kw == "ONBUILD" and j.sub_keyword in ("COPY", "ADD", "RUN") and s != ins.stage:
                st.blocked = True  # triggers run when a child stage builds FROM this one
    return st


def _copy(j: Instruction, st: _State, facts: Facts) -> None:
    if j.heredocs or j.flag("from") is not None or any(f.split("=")[0].lower() in ("--parents", "--exclude") for f in j.flags):
        st.blocked = True
        return
    words = list(j.value)
    if len(words) < 2 or st.workdir is None or any("$" in w for w in words):
        st.blocked = True
        return
    srcs, dest = words[:-1], words[-1]
    abs_dest = posixpath.normpath(posixpath.join(st.workdir, dest))
    if j.command == "ADD" and any(re.search(r"^[a-z]+://|\.(tar|tgz|gz|bz2|xz|zst)$|^git@", s, re.I) for s in srcs):
        st.blocked = True
        return
    expanded: list[str] = []
    for src in srcs:
        s = posixpath.normpath(src.lstrip("/")) if src not in (".", "./", "/") else "."
        if any(ch in s for ch in "*?["):
            expanded.extend(f for f in facts.files if fnmatch.fnmatchcase(f, s) and not ignored(facts, f))
            # directories matched by a glob: treat as unknown unless no directory could match
            if any(fnmatch.fnmatchcase(d, s) for d in _context_dirs(facts)):
                st.blocked = True
        else:
            expanded.append(s)
    as_dir = _is_dir_dest(dest, len(srcs), st.dirs, abs_dest) or any(any(ch in s for ch in "*?[") for s in srcs)
    for s in expanded:
        if s == "." or _is_context_dir(facts, s):
            root = "" if s == "." else s + "/"
            st.dirs.add(abs_dest)
            # every file of the context dir lands under abs_dest
            for image_path in list(st.files):
                if image_path.startswith(abs_dest.rstrip("/") + "/"):
                    del st.files[image_path]
            for f in facts.files:
                if f.startswith(root) and not ignored(facts, f):
                    st.files[posixpath.join(abs_dest, f[len(root):])] = f
            nm = root + "node_modules"
            if facts.exists(nm) and not ignored(facts, nm):
                st.files[posixpath.join(abs_dest, "node_modules")] = None
        else:
            target = posixpath.join(abs_dest, posixpath.basename(s)) if as_dir else abs_dest
            st.files[target] = s if facts.exists(s) and not ignored(facts, s) else None


def _context_dirs(facts: Facts) -> set[str]:
    out = set()
    for f in facts.files:
        parts = f.split("/")[:-1]
        for i in range(len(parts)):
            out.add("/".join(parts[: i + 1]))
    return out


def _is_context_dir(facts: Facts, rel: str) -> bool:
    return facts.known and (facts.context / rel).is_dir()


# ---- the rule -------------------------------------------------------------------------------------
def _options_ok(call) -> bool:
    opts = list(call.options)
    i = 0
    while i < len(opts):
        o = opts[i]
        key, eq, val = o.partition("=")
        if key in _VALUED:
            if not eq:
                if i + 1 >= len(opts):
                    return False
                val = opts[i + 1]
                i += 1
            if key in _VALUED_OK and val not in _VALUED_OK[key]:
                return False
        elif o not in _SAME_FLAGS:
            return False
        i += 1
    return True


def _candidates(model: Dockerfile, facts: Facts):
    """Each `npm install` RUN the rule considers, as (ins, script, cmd, workdir, lock_src, pkg_src,
    why_not): ``why_not`` is '' when the rewrite is proven, else the reason a reviewer reads.
    RUNs the rule does not take up at all (no lockfile copied, other options...) are not yielded."""
    if not facts.known:
        return
    for ins in run_instructions(model):
        if ins.heredocs or "npm" not in ins.value[0]:
            continue
        if any(f.lower().startswith("--mount") and "type=bind" in f.lower() for f in ins.flags):
            continue
        script = analyze_run(ins, model)
        if script is None or not script.ok:
            continue
        calls = [
            c for c in script.package_calls()
            if c.manager == "npm" and c.action == "install" and not c.packages and c.via is None
        ]  # fmt: skip
        if len(calls) != 1 or not _options_ok(calls[0]):
            continue
        call = calls[0]
        cmd = call.command
        if cmd.basename != "npm" or cmd.wrappers or any(k.lower().startswith("npm_config") for k in cmd.env) or any(c.basename in ("cd", "pushd", "popd") for c in script.commands):
            continue
        major = node_major(model, ins.stage)
        if major is None:
            continue
        st = image_state(model, ins, facts)
        if st.blocked or st.workdir is None:
            continue
        w = st.workdir
        if posixpath.join(w, "node_modules") in st.files or any(p.startswith(posixpath.join(w, "node_modules") + "/") for p in st.files):
            continue
        pkg_src = st.files.get(posixpath.join(w, "package.json"))
        lock_name = next((n for n in LOCKFILES if posixpath.join(w, n) in st.files), None)
        if pkg_src is None or lock_name is None:
            continue
        lock_src = st.files[posixpath.join(w, lock_name)]
        if lock_src is None:
            continue
        if major < 15:
            why = (f"node {major} ships npm 6, whose `npm ci` reads another part of {lock_src} "
                   f"(lockfileVersion 3 has none); not checked")
            yield ins, script, cmd, w, lock_src, pkg_src, why
            continue
        package, lock = _load(facts, pkg_src), _load(facts, lock_src)
        if package is None or lock is None:
            why = f"{pkg_src if package is None else lock_src} is not a JSON object leanify can read"
            yield ins, script, cmd, w, lock_src, pkg_src, why
            continue
        verdict = in_sync(package, lock, legacy_peer_deps="--legacy-peer-deps" in call.options)
        yield ins, script, cmd, w, lock_src, pkg_src, "" if verdict.in_sync else f"{lock_src}: {verdict.why}"


def apply(model: Dockerfile, facts: Facts):
    edits, changes = [], []
    for ins, script, cmd, w, lock_src, pkg_src, why_not in _candidates(model, facts):
        if why_not:  # a lock that reaches the image but is not provably in sync: say why npm install stays
            changes.append(declined(RULE, ins.lines, f"`npm install` kept: {why_not}"))
            continue
        edit = _action_edit(ins, script, cmd)
        if edit is None:
            continue
        edits.append(edit)
        before = " ".join(("npm",) + cmd.program_args)
        changes.append(
            change(
                RULE,
                ins.lines,
                f"`{before}` → `npm ci`: {lock_src} is copied into {w} and matches {pkg_src}, so npm ci installs "
                f"exactly the locked versions (reproducible, faster, and it fails on drift instead of resolving anew)",
            )
        )
    return fixed(model, edits, changes)


def skip_reasons(model: Dockerfile, facts: Facts) -> list[tuple[tuple[int, int], str]]:
    """Why each `npm install` whose lockfile reaches the image stays `npm install`: the lock npm
    would refuse, or what leanify cannot judge (as (lines, reason), like ``multistage.skip_reasons``)."""
    return [(c.lines, c.reason) for c in apply(model, facts)[1] if c.declined]


def _action_edit(ins: Instruction, script: Script, cmd) -> Edit | None:
    spans = word_spans(cmd)
    if spans is None:
        return None
    words = (cmd.name,) + cmd.args
    first = len(words) - len(cmd.program_args)
    idx = next((i for i in range(max(first, 1), len(words)) if words[i] in ("install", "i")), None)
    if idx is None or cmd.words_text[idx] != words[idx]:
        return None
    s, e = spans[idx]
    new = script.source[:s] + "ci" + script.source[e:]
    check = parse_script(new, errexit=script.errexit, pipefail=script.pipefail)
    after = [c for c in check.package_calls() if c.manager == "npm"]
    before = [c for c in script.package_calls() if c.manager == "npm"]
    if not check.ok or len(after) != len(before) or sum(c.action == "ci" for c in after) != 1 + sum(c.action == "ci" for c in before):
        return None
    shift = logical_shift(ins, script)
    if shift is None:
        return None
    a = ins.source_offset(shift + s)
    b = ins.source_offset(shift + e - 1)
    if a is None or b is None or b + 1 - a != e - s:
        return None  # the word is split by a line continuation
    return Edit(a, b + 1, "ci")
