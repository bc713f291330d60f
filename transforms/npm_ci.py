"""LEAN007 — `npm ci` instead of `npm install` when the lockfile is in the image.

What it does: rewrites `npm install` (or `npm i`) with no package arguments as `npm ci`, keeping
its options (`--omit=dev`, `--only=production`, `--production`, `--legacy-peer-deps`,
`--no-audit`, ... mean the same to `npm ci`), when it can prove that `npm ci` succeeds where
`npm install` did and installs the same tree:
- the build context holds `package-lock.json` (or `npm-shrinkwrap.json`) next to `package.json`,
  no `.dockerignore` pattern can exclude either, and a COPY in the stage puts both into the
  directory the RUN works in (WORKDIR followed; no `cd` in the RUN);
- the lockfile is in sync with package.json (lockfileVersion ≥ 2: the root entry
  `packages[""]` lists exactly package.json's dependencies, devDependencies,
  optionalDependencies and peerDependencies; lockfileVersion 1: every dependency of package.json
  is in the lock);
- no `node_modules` can already be in that directory (`npm ci` deletes it; `npm install` would
  have merged into it): none in the context unless `.dockerignore` excludes it, no `COPY --from`,
  and no earlier RUN of npm/yarn/pnpm in the stage;
- the base is the official `node` image, version 10 or later (older npm has no `ci`).

Why: `npm ci` installs exactly what the lockfile says — reproducible builds — is faster, and
fails loudly when package.json and the lockfile drift apart instead of silently resolving new
versions inside the image. The committed lockfile also reaches the image unchanged (`npm install`
may rewrite it, e.g. upgrade a lockfileVersion 1 file).

Example:
    COPY package.json package-lock.json ./
    RUN npm install --omit=dev
Use instead:
    COPY package.json package-lock.json ./
    RUN npm ci --omit=dev

Left alone (silently: `npm install` is not wrong there, only `npm ci` would break): no build
context, no lockfile or one out of sync, workspaces, `npm install <pkg>`, options `npm ci` does not
share (`-g`, `--prefix`, `--no-package-lock`, `--save*`, `--force` ...), `cd` in the RUN, bind
mounts, `sh -c` strings, exec form, a non-default SHELL. `yarn install` and `pnpm install` are not
rewritten by this rule.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re

from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rules import Rule, Safety, change, fixed
from leanify.shell import Script, analyze_run, parse_script
from leanify.transforms.pip_no_cache import logical_shift, run_instructions, stage_chain, word_spans

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
_DEP_KEYS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


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


def in_sync(package: dict, lock: dict) -> bool:
    """``npm ci`` accepts this lockfile for this package.json (the checks npm itself makes first)."""
    version = lock.get("lockfileVersion")
    if not isinstance(version, int) or package.get("workspaces") or package.get("bundleDependencies") or package.get("bundledDependencies"):
        return False
    if version >= 2:
        root = (lock.get("packages") or {}).get("")
        if not isinstance(root, dict):
            return False
        return all((package.get(k) or {}) == (root.get(k) or {}) for k in _DEP_KEYS)
    if version == 1:
        deps = lock.get("dependencies") or {}
        wanted = {}
        for k in _DEP_KEYS[:3]:
            wanted.update(package.get(k) or {})
        return isinstance(deps, dict) and all(name in deps for name in wanted)
    return False


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


def node_base_ok(model: Dockerfile, stage: int) -> bool:
    base = model.stages[stage_chain(model, stage)[-1]].base.strip()
    args = _global_args(model)
    base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), "\0"), base)
    m = _NODE_BASE.match(base)
    if not m or "\0" in base:
        return False
    tag = (m.group(1) or "latest").lower()
    if tag.split("-")[0] in ("latest", "lts", "current", "alpine", "slim", "bookworm", "bullseye", "buster", "trixie"):
        return True
    major = re.match(r"^(\d+)", tag)
    return bool(major) and int(major.group(1)) >= 10


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


def apply(model: Dockerfile, facts: Facts):
    if not facts.known:
        return model, []
    edits, changes = [], []
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
        if not node_base_ok(model, ins.stage):
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
        package, lock = _load(facts, pkg_src), _load(facts, lock_src)
        if package is None or lock is None or not in_sync(package, lock):
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
