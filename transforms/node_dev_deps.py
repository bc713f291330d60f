"""LEAN018 — Keep npm devDependencies out of the runtime image; report dependencies nothing requires.

What it does:

- an ``npm ci`` / ``npm install`` (no package arguments) in the image's final stage installs the
  devDependencies too. When nothing after it in that stage needs them (no ``npm run``, ``npx``,
  ``tsc``, ``npm test``, no build tool) and the image's command does not run one (``npm start``
  is read from package.json's scripts), the install gets ``--omit=dev`` (``--production`` for
  npm < 7, i.e. node < 15), so they never reach the image. When a later step in a single-stage
  image builds with them, that is reported: LEAN014's split builds in a builder stage and runs
  ``npm prune --omit=dev`` before the runtime stage copies node_modules;
- packages under ``dependencies`` that no runtime file requires (``require('x')``, ``import ...
  from 'x'``, ``import('x')``, ``export ... from 'x'`` in the .js/.mjs/.cjs/.ts files the image
  copies, tests excluded) and that no package.json script or the image's command runs are
  reported, with their package.json line; ``@types/*`` under ``dependencies`` are reported as
  belonging in devDependencies.

Why: devDependencies are compilers, bundlers, linters, test runners and type definitions —
often most of node_modules (typescript alone is ~30 MB, a jest setup well over 50) — and none of
it runs in production.

Example:
    FROM node:18-slim
    WORKDIR /app
    COPY package*.json ./
    RUN npm ci
    COPY . .
    CMD ["node", "server.js"]
Use instead:
    RUN npm ci --omit=dev

Needs verification: a package listed under devDependencies can still be required at run time
by mistake; ``--verify`` runs the smoke command and compares the node packages the app needs.

Left alone: installs in a builder stage (LEAN014's prune covers those), installs already
without devDependencies (``--omit=dev``, ``--production``, ``--only=prod``, ``NODE_ENV=production``
set before the install), installs with package arguments, a node version leanify cannot read
from the base tag, package.json without devDependencies or that cannot be read.
"""

from __future__ import annotations

import json
import posixpath
import re

from leanify import pyimports as pi
from leanify.context import Facts
from leanify.model import Dockerfile
from leanify.rulekit import mapped_script, word_spans
from leanify.rules import Change, Rule, Safety, change, fixed
from leanify.shell import analyze_run

RULE = Rule(
    id="LEAN018",
    title="node-dev-dependencies",
    safety=Safety.NEEDS_VERIFY,
    summary="npm devDependencies never reach the runtime image (`npm ci --omit=dev`); dependencies no runtime file requires are reported.",
    phase=80,
)

_NEEDS_DEV = re.compile(r"^(npx|tsc|webpack|vite|rollup|esbuild|babel|jest|mocha|vitest|eslint|prettier|next|nest|ng|tsup|swc|parcel)$")
_OMITTED = ("--omit=dev", "--production", "--only=prod", "--only=production", "--prod")
_REQUIRE = re.compile(r"""(?:\brequire\s*\(\s*|\bimport\s*\(\s*|\bfrom\s+|^\s*import\s+)['"]([^'"\s]+)['"]""", re.M)
_SRC_EXT = (".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts")


def _finding(lines, reason: str, refs: dict | None = None, **data) -> Change:
    return Change(RULE.id, RULE.title, lines, reason, applied=False, data=data,
                  refs=tuple((k, tuple(v)) for k, v in (refs or {}).items()))


def package_of(spec: str) -> str | None:
    """``lodash/fp`` -> ``lodash``, ``@aws-sdk/client-s3/x`` -> ``@aws-sdk/client-s3``; None for
    relative paths and node builtins (``fs``, ``node:fs``)."""
    if spec.startswith((".", "/", "node:")) or not spec:
        return None
    parts = spec.split("/")
    name = "/".join(parts[:2]) if spec.startswith("@") and len(parts) > 1 else parts[0]
    return None if name in _BUILTINS else name


_BUILTINS = frozenset("""assert async_hooks buffer child_process cluster console constants crypto dgram diagnostics_channel dns
domain events fs http http2 https inspector module net os path perf_hooks process punycode querystring readline repl
stream string_decoder sys timers tls trace_events tty url util v8 vm wasi worker_threads zlib test""".split())


def required_packages(text: str) -> set[str]:
    return {p for p in (package_of(m.group(1)) for m in _REQUIRE.finditer(text)) if p}


def _omits_dev(call) -> bool:
    if any(x.startswith(o) for x in call.options for o in _OMITTED):
        return True
    return "dev" in call.values.get("--omit", ()) or any(v.startswith("prod") for v in call.values.get("--only", ()))


def _node_major(base: str) -> int | None:
    m = re.match(r"^(?:docker\.io/)?(?:library/)?node:(\d+)", base)
    return int(m.group(1)) if m else None


def _npm_installs(model: Dockerfile, stage: int):
    out = []
    env_prod = False
    for ins in model.stage_instructions(stage):
        if ins.command == "ENV":
            vals = list(ins.value)
            if any(k == "NODE_ENV" and v.strip("\"'") == "production" for k, v in zip(vals[0::2], vals[1::2])):
                env_prod = True
        if ins.command != "RUN":
            continue
        script = analyze_run(ins, model)
        if script is None:
            continue
        for call in script.package_calls():
            if call.manager == "npm" and call.action in ("ci", "install") and not call.packages:
                out.append((ins, call, env_prod or call.command.env.get("NODE_ENV") == "production"))
    return out


def _later_needs_dev(model: Dockerfile, stage: int, after_index: int, ins_call) -> tuple[str, int] | None:
    """What, after the install, needs the devDependencies (said with ``{line:later}``) and its line."""
    for ins in model.stage_instructions(stage):
        if ins.command != "RUN" or ins.index < after_index:
            continue
        script = analyze_run(ins, model)
        if script is None:
            return "the RUN on {line:later}, which cannot be read,", ins.lines[0]
        for c in script.commands:
            if ins.index == after_index and c.start <= ins_call.command.start:
                continue
            b = c.basename
            if _NEEDS_DEV.match(b):
                return f"`{b}` ({{line:later}})", ins.lines[0]
            if b in ("npm", "yarn", "pnpm") and c.program_args[:1] and c.program_args[0] in ("run", "run-script", "test", "t", "exec", "rebuild", "x"):
                return f"`{b} {' '.join(c.program_args[:2])}` ({{line:later}})", ins.lines[0]
    return None


def _command_words(model: Dockerfile, stage: int, scripts: dict) -> list[str]:
    words: list[str] = []
    for ins in model.stage_instructions(stage):
        if ins.command in ("CMD", "ENTRYPOINT"):
            words = [w for w in (list(ins.value) if ins.json else " ".join(ins.value).split())]
    out = list(words)
    for i, w in enumerate(words):
        if posixpath.basename(w) in ("npm", "yarn", "pnpm") and i + 1 < len(words):
            name = words[i + 2] if words[i + 1] in ("run", "run-script") and i + 2 < len(words) else words[i + 1]
            out += str(scripts.get(name, "")).split()
    return out


def _bins(facts: Facts, base_dir: str, pkg: str) -> set[str]:
    """The executables a package installs (node_modules/<pkg>/package.json "bin"), when present."""
    from leanify import dep_audit

    out = ({pkg} if not pkg.startswith("@") else set()) | set(dep_audit.table()["node_bins"].get(pkg, ()))
    text = facts.read_text(posixpath.join(base_dir, "node_modules", pkg, "package.json"))
    try:
        b = json.loads(text).get("bin") if text else None
    except ValueError:
        b = None
    if isinstance(b, dict):
        out |= set(b)
    elif isinstance(b, str) and not pkg.startswith("@"):
        out.add(pkg)
    return out - {"node", "npm", "npx", "sh", "bash"}


def _line_of(text: str, section: str, name: str) -> int:
    in_section = False
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf'\s*"{re.escape(section)}"\s*:', line):
            in_section = True
        elif in_section and re.match(rf'\s*"{re.escape(name)}"\s*:', line):
            return n
        elif in_section and re.match(r"\s*}", line):
            in_section = False
    return 1


def apply(model: Dockerfile, facts: Facts):
    if not facts.known or not model.stages or "npm" not in model.text:
        return model, []
    last = len(model.stages) - 1
    files = pi.image_files(model, facts, last)
    manifests = sorted({rel for path, rel in files.items() if posixpath.basename(rel) == "package.json"
                        and "node_modules/" not in rel}, key=lambda r: (r.count("/"), r))
    if not manifests and not any(i for i in _npm_installs(model, last)):
        return model, []
    rel = manifests[0] if manifests else ("package.json" if facts.exists("package.json") else None)
    if rel is None:
        return model, []
    text = facts.read_text(rel)
    try:
        pkg = json.loads(text or "")
    except ValueError:
        return model, []
    if not isinstance(pkg, dict):
        return model, []
    deps = dict(pkg.get("dependencies") or {})
    dev = dict(pkg.get("devDependencies") or {})
    scripts = dict(pkg.get("scripts") or {})
    edits, changes = [], []
    base_dir = posixpath.dirname(rel)
    cmd_words = _command_words(model, last, scripts)
    # 1. devDependencies in the final stage's install
    if dev:
        major = _node_major(pi_root_base(model, last))
        runtime_dev = sorted(d for d in dev if _bins(facts, base_dir, d) & {posixpath.basename(w) for w in cmd_words})
        for ins, call, prod in _npm_installs(model, last):
            if prod or _omits_dev(call):
                continue
            if runtime_dev:
                changes.append(_finding(ins.lines, f"the image's command runs {', '.join(runtime_dev)}, listed under "
                                                   f"devDependencies in {rel}: move it to dependencies so that `npm "
                                                   f"{call.action} --omit=dev` can leave the other devDependencies out",
                                        files=[rel]))
                continue
            later = _later_needs_dev(model, last, ins.index, call)
            if later is not None:
                why, at = later
                if len(model.stages) == 1:
                    changes.append(_finding(ins.lines, f"`npm {call.action}` installs the devDependencies "
                                                       f"({', '.join(sorted(dev)[:6])}{' …' if len(dev) > 6 else ''}) into the "
                                                       f"only stage, where {why} needs them: LEAN014's multi-stage split builds in a "
                                                       "builder and runs `npm prune --omit=dev` before the runtime stage copies "
                                                       "node_modules", refs={"later": [at]}, files=[rel]))
                continue
            if major is None:
                continue
            flag = "--omit=dev" if major >= 15 else "--production"
            got = _flag_edit(model, ins, call, flag)
            if got is None:
                continue
            edits.append(got)
            changes.append(change(RULE, ins.lines, f"`npm {call.action} {flag}`: the devDependencies in {rel} "
                                                   f"({', '.join(sorted(dev)[:6])}{' …' if len(dev) > 6 else ''}) are not "
                                                   "installed; nothing after this install in the image's stage builds or "
                                                   "tests with them and its command does not run one", files=[rel]))
    # 2. dependencies no runtime file requires
    if deps:
        required: set[str] = set()
        sources = [r for p, r in files.items() if r.endswith(_SRC_EXT) and "node_modules/" not in r
                   and not pi.is_test_path(r) and not re.search(r"(^|/)(__tests__|test|tests|spec)/|\.(test|spec)\.", r)]
        if not sources:
            return fixed(model, edits, changes)
        for r in sources[:2000]:
            required |= required_packages(facts.read_text(r) or "")
        used_by_scripts = {posixpath.basename(w) for s in scripts.values() for w in str(s).split()} | \
                          {posixpath.basename(w) for w in cmd_words}
        unused, types = [], []
        for d in sorted(deps):
            if d in required:
                continue
            if d.startswith("@types/"):
                types.append(d)
                continue
            if _bins(facts, base_dir, d) & used_by_scripts:
                continue
            unused.append(d)
        where = _install_lines(model, last)
        if unused:
            unused.sort(key=lambda d: _line_of(text, "dependencies", d))
            elsewhere = _required_elsewhere(facts, set(sources))
            listed = ", ".join(f"{d} ({rel}:{_line_of(text, 'dependencies', d)}; " + (
                "required only by " + ", ".join(elsewhere[d][:3]) if d in elsewhere else "required nowhere") + ")"
                for d in unused)
            changes.append(_finding(where, f"dependencies no runtime file requires (read: {len(sources)} source file(s) the "
                                           f"image copies, tests excluded) and no script runs: {listed}; drop them or move "
                                           "them to devDependencies unless something loads them by name (a plugin, a "
                                           "config file)", files=[rel]))
        if types:
            listed = ", ".join(f"{d} ({rel}:{_line_of(text, 'dependencies', d)})" for d in types)
            changes.append(_finding(where, f"type definitions under dependencies: {listed}; they belong in devDependencies "
                                           "(types are erased at compile time)", files=[rel]))
    return fixed(model, edits, changes)


def _required_elsewhere(facts: Facts, done: set[str]) -> dict[str, list[str]]:
    """package -> context files outside the runtime sources (tests, tooling) that require it."""
    out: dict[str, list[str]] = {}
    todo = [f for f in facts.files if f.endswith(_SRC_EXT) and f not in done and "node_modules/" not in f][:500]
    for rel in todo:
        for p in sorted(required_packages(facts.read_text(rel) or "")):
            out.setdefault(p, []).append(rel)
    return out


def pi_root_base(model: Dockerfile, stage: int) -> str:
    for _ in range(16):
        base = model.stages[stage].base
        names = [(s.name or "").lower() for s in model.stages[:stage]]
        if base.lower() not in names:
            return base
        stage = names.index(base.lower())
    return model.stages[stage].base


def _install_lines(model: Dockerfile, stage: int) -> tuple[int, int]:
    got = _npm_installs(model, stage)
    if got:
        return got[0][0].lines
    for st in range(len(model.stages)):
        got = _npm_installs(model, st)
        if got:
            return got[0][0].lines
    return model.stage_instructions(stage)[0].lines


def _flag_edit(model: Dockerfile, ins, call, flag: str):
    got = mapped_script(ins, model)
    if got is None or call.via is not None:
        return None
    _script, shift = got
    cmd = call.command
    spans = word_spans(cmd)
    if spans is None or len(spans) != len(cmd.words_text):
        return None
    words = list(cmd.words_text)
    try:
        k = next(i for i, w in enumerate(words) if i and w in ("ci", "install", "i", "isntall", "add") and
                 words[i] == call.command.args[i - 1])
    except StopIteration:
        return None
    end = spans[k][1]
    return model.body_edit(ins, end + shift, end + shift, f" {flag}")
