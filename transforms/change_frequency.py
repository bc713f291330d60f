"""LEAN012 — Copy what changes rarely before what changes often.

What it does: inside a stage, orders the COPY/ADD instructions that take files from the build
context from least to most frequently changed. A COPY that changes more often than a COPY
after it moves below it (past the instructions between them, when it may), else the colder one
moves above it. How often a path changes:

- when the build context is in a git repository: the number of the last N commits
  (`--history N`, default 500) that changed it; a folder counts each commit that changed
  anything under it once; an untracked file counts as changing in every commit;
- otherwise, by kind: system packages (`*.deb`, `*.rpm`, apt lists) < dependency manifests
  (`requirements*.txt`, lockfiles, `package.json`, `go.mod`, `pom.xml` ...) < configuration
  (`*.cfg *.ini *.yaml *.toml *.conf *.json`) < source (`*.py *.js *.ts *.go *.sh ...`, `src/`,
  the whole context `.`) < model and data files (`*.pt *.onnx *.bin *.pkl *.h5 *.npz
  *.safetensors *.csv *.parquet`, `models/`, `data/`).

System packages come first of all: a RUN that only sets up system packages (apt-get/apk/yum/
dnf/zypper update and install, their cache cleanups) and sits after a COPY of the context moves
above that COPY when the def-use analysis proves the install reads nothing the COPY brings in
and that nothing between depends on it (or it on them): no WORKDIR, ENV, ARG, USER or SHELL
between, no package file from the context (`apt-get install ./x.deb`, `< packages.txt`), no
destination inside the folders the package manager writes. Debian Policy keeps the packages of
the distribution's archive out of /opt, so a COPY to /opt/app does not block an apt install on
an official Debian/Ubuntu-based image — unless something before added a package source
(`/etc/apt`, `curl ... | bash`, dpkg, a .deb), after which any package may write anywhere.
A RUN that starts with the system packages and goes on with the build
(`RUN apt-get update && apt-get install -y gcc && make`) is cut after its system part when that
is provably the same (every step joined by `&&`, the system part leaves no shell state): the
system part moves, the rest stays after the COPY.

The JSON output (`--format json`) reports, for each moved instruction, the score used:
`data: {"score": 41, "scored_by": "git", "path": "src/", "commits": 500}` (or
`"scored_by": "default", "class": "source"`).

Why: each instruction's cache key depends on every layer before it. When the source is copied
before the configuration, the dependency manifest or an install step that does not read it, a
one-line edit rebuilds all of those too. Hot paths last keep the rebuild to the layers that
really depend on the edit.

Example (system packages):
    WORKDIR /opt/sqlstat
    COPY . .
    RUN apt-get update && apt-get install -y build-essential libsqlite3-dev
    RUN make
Use instead:
    WORKDIR /opt/sqlstat
    RUN apt-get update && apt-get install -y build-essential libsqlite3-dev
    COPY . .
    RUN make

Example:
    COPY app.py /app/
    RUN pip install --no-cache-dir flask==3.0.3
    COPY settings.toml /etc/app/
Use instead:
    RUN pip install --no-cache-dir flask==3.0.3
    COPY settings.toml /etc/app/
    COPY app.py /app/

Left alone: any move the def-use analysis (`leanify.defuse.can_move`) does not prove safe — a
RUN between that reads the copied files, destinations that overlap, a WORKDIR/USER/ENV/ARG the
COPY depends on, a later RUN that uses the file; COPY --from, ADD of URLs or git repositories,
heredoc COPY, sources with variables, and paths the defaults cannot classify (they stay where
they are and nothing moves across them). Equal scores keep their order. Without the def-use
analysis, nothing moves.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

from leanify.context import Facts
from leanify.edits import Edit
from leanify.model import Dockerfile, Instruction
from leanify.rulekit import cut_model, run_split
from leanify.rules import Rule, Safety, change

RULE = Rule(
    id="LEAN012",
    title="change-frequency",
    safety=Safety.SAFE,
    summary="Rarely changing files are copied first and frequently changing ones last, so an edit rebuilds as few layers as possible.",
    phase=65,
)

# ---- default classes ---------------------------------------------------------------------------
CLASSES = ("system packages", "dependency manifest", "configuration", "source", "model/data")
SYSTEM, MANIFEST, CONFIG, SOURCE, DATA = range(5)

_SYSTEM_NAMES = re.compile(r"^(.*\.(deb|rpm|apk)|sources\.list|.*\.list|apt\.txt|packages\.txt|aptfile|bindep\.txt)$", re.I)
_MANIFEST_NAMES = re.compile(
    r"^(.*requirements.*\.(txt|in)|constraints.*\.txt|pipfile|pipfile\.lock|pyproject\.toml|poetry\.lock|uv\.lock|"
    r"pdm\.lock|setup\.cfg|environment\.ya?ml|conda-lock\.ya?ml|package\.json|package-lock\.json|npm-shrinkwrap\.json|"
    r"yarn\.lock|pnpm-lock\.yaml|pnpm-workspace\.yaml|\.npmrc|\.yarnrc(\.yml)?|go\.mod|go\.sum|go\.work(\.sum)?|"
    r"cargo\.toml|cargo\.lock|pom\.xml|build\.gradle(\.kts)?|settings\.gradle(\.kts)?|gradle\.properties|"
    r"gemfile|gemfile\.lock|composer\.json|composer\.lock|mix\.exs|mix\.lock|.*\.csproj|packages\.lock\.json|"
    r"project\.clj|deps\.edn|cpanfile|renv\.lock|description|.*\.cabal|stack\.yaml|pubspec\.ya?ml|pubspec\.lock)$",
    re.I,
)
_CONFIG_EXT = {".cfg", ".ini", ".yaml", ".yml", ".toml", ".conf", ".json", ".properties", ".xml", ".env", ".config"}
_SOURCE_EXT = {
    ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".scala", ".rb", ".php",
    ".c", ".cc", ".cpp", ".h", ".hpp", ".cs", ".sh", ".bash", ".pl", ".lua", ".r", ".swift", ".ex", ".exs",
    ".ps1", ".jar", ".war", ".html", ".css", ".scss", ".vue", ".svelte", ".sql", ".ipynb",
}  # fmt: skip
_DATA_EXT = {
    ".pt", ".pth", ".onnx", ".bin", ".pkl", ".pickle", ".h5", ".hdf5", ".npz", ".npy", ".safetensors", ".csv",
    ".tsv", ".parquet", ".ckpt", ".tflite", ".joblib", ".gguf", ".pb", ".arrow", ".feather", ".mat",
}  # fmt: skip
_DATA_DIRS = {"models", "model", "data", "datasets", "dataset", "weights", "checkpoints", "artifacts"}
_SOURCE_DIRS = {"src", "app", "lib", "pkg", "cmd", "internal", "source", "sources", "server", "api", "web", "frontend", "backend"}
_CONFIG_DIRS = {"config", "configs", "conf", "etc", "settings"}


def classify_name(path: str) -> int | None:
    """The default class of a file path or glob by its name alone (None: cannot tell)."""
    name = posixpath.basename(path.rstrip("/"))
    if not name:
        return None
    if _MANIFEST_NAMES.match(name):
        return MANIFEST
    if _SYSTEM_NAMES.match(name):
        return SYSTEM
    ext = posixpath.splitext(name)[1].lower()
    if ext in _DATA_EXT:
        return DATA
    if ext in _SOURCE_EXT:
        return SOURCE
    if ext in _CONFIG_EXT:
        return CONFIG
    parent = posixpath.dirname(path.rstrip("/"))
    if parent and ext == ".txt" and posixpath.basename(parent).lower() == "requirements":
        return MANIFEST
    return None


def classify_dir(path: str) -> int | None:
    name = posixpath.basename(path.rstrip("/")).lower()
    if name in _DATA_DIRS:
        return DATA
    if name in _SOURCE_DIRS:
        return SOURCE
    if name in _CONFIG_DIRS:
        return CONFIG
    return None


# ---- sources of an instruction -----------------------------------------------------------------
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@", re.I)


def context_sources(ins: Instruction) -> list[str] | None:
    """The build-context paths a COPY/ADD reads, cleaned; None when it is not a plain context copy
    (``--from``, heredoc, URL or git source, variables, no sources)."""
    if ins.keyword not in ("COPY", "ADD") or ins.heredocs or ins.flag("from") is not None:
        return None
    if any(f.lower().startswith(("--exclude", "--parents")) for f in ins.flags):
        return None
    if len(ins.value) < 2:
        return None
    out = []
    for src in ins.value[:-1]:
        if not src or "$" in src or _REMOTE.match(src) or (ins.keyword == "ADD" and src.endswith(".git")):
            return None
        cleaned = posixpath.normpath(src.lstrip("/")) if src.lstrip("/") else "."
        if cleaned.startswith(".."):
            return None
        out.append(cleaned)
    return out


_WILD = re.compile(r"[*?\[]")


def _expand(facts: Facts, src: str) -> list[str] | None:
    """Context files under ``src`` (a file, a folder, ``.`` or a glob); None when the context is unknown."""
    if not facts.known:
        return None
    files = facts.files
    if src == ".":
        return list(files)
    if _WILD.search(src):
        depth = src.count("/")
        hits = []
        for f in files:
            parts = f.split("/")
            if len(parts) > depth and fnmatch.fnmatchcase("/".join(parts[: depth + 1]), src):
                hits.append(f)
        return hits
    if src in files:
        return [src]
    prefix = src + "/"
    return [f for f in files if f.startswith(prefix)]


def default_score(facts: Facts, src: str) -> int | None:
    if src == ".":
        inside = _expand(facts, src) or []
        classes = [c for c in (classify_name(f) for f in inside) if c is not None]
        return max([SOURCE, *classes])
    got = classify_name(src)
    if got is not None:
        return got
    is_dir = facts.known and (facts.context / src).is_dir() if not _WILD.search(src) else False
    if is_dir or src.endswith("/") or not posixpath.splitext(src)[1]:
        by_name = classify_dir(src)
        if by_name is not None:
            return by_name
        inside = _expand(facts, src) or []
        classes = [classify_name(f) for f in inside]
        if inside and all(c is not None for c in classes):
            return max(classes)  # type: ignore[type-var]
    return None


def git_score(history, facts: Facts, src: str) -> int | None:
    if _WILD.search(src):
        hits = _expand(facts, src)
        if not hits:
            return None
        scores = [history.score(h) for h in hits]
        return None if any(s is None for s in scores) else max(scores)
    return history.score(src)


# ---- scoring -----------------------------------------------------------------------------------
class Scored:
    """A COPY/ADD's scores: git change count (None without history) and default class (None: unknown)."""

    __slots__ = ("ins", "git", "cls", "commits", "path")

    def __init__(self, ins: Instruction, git: int | None, cls: int | None, commits: int, path: str):
        self.ins, self.git, self.cls, self.commits, self.path = ins, git, cls, commits, path

    def hotter_than(self, other: Scored) -> bool:
        """Git counts decide; equal counts (or no history) fall back to the default classes."""
        if self.git is not None and other.git is not None and self.git != other.git:
            return self.git > other.git
        return self.cls is not None and other.cls is not None and self.cls > other.cls

    def by_git(self, other: Scored) -> bool:
        return self.git is not None and other.git is not None and self.git != other.git


def _display(ins: Instruction) -> str:
    return ", ".join(ins.value[:-1])


def score_stage(model: Dockerfile, facts: Facts, stage: int, history) -> dict[int, Scored] | None:
    """Scores of the stage's context COPY/ADDs by index (instructions missing: not scorable).
    Git counts are used only when every such COPY/ADD of the stage has one (one scale)."""
    copies = [(ins, context_sources(ins)) for ins in model.stage_instructions(stage) if ins.keyword in ("COPY", "ADD")]
    copies = [(ins, s) for ins, s in copies if s is not None]
    if len(copies) < 2:
        return None
    gits: dict[int, int] | None = None
    if history is not None:
        gits = {}
        for ins, srcs in copies:
            scores = [git_score(history, facts, s) for s in srcs]
            if any(x is None for x in scores):
                gits = None
                break
            # several sources: the most often changed one decides (a lower bound of "any of them")
            gits[ins.index] = max(scores)  # type: ignore[type-var]
    out = {}
    for ins, srcs in copies:
        classes = [default_score(facts, s) for s in srcs]
        cls = None if any(c is None for c in classes) else max(classes)  # type: ignore[type-var]
        git = gits[ins.index] if gits is not None else None
        if git is None and cls is None:
            continue
        out[ins.index] = Scored(ins, git, cls, history.commits if history is not None else 0, _display(ins))
    return out


# ---- moving ------------------------------------------------------------------------------------
def _can_move(model: Dockerfile, ins: Instruction, facts: Facts, before: Instruction | None = None,
              after: Instruction | None = None) -> bool:
    """Whether the def-use analysis proves ``ins`` may move to just before ``before`` (or just
    after ``after``, which may end its stage). Any doubt, or no analysis: no."""
    try:
        from leanify.defuse import can_move, can_swap
    except ImportError:
        return False  # no def-use analysis: nothing can be proved, nothing moves
    try:
        if before is not None:
            ok, _why = can_move(model, ins, before, facts)
            return bool(ok)
        assert after is not None and after.index > ins.index
        return all(can_swap(model, ins, other, facts)[0] for other in model.instructions[ins.index + 1 : after.index + 1])
    except Exception:  # noqa: BLE001 - the analysis could not tell: nothing moves
        return False


def _sink(model: Dockerfile, a: Instruction, b: Instruction) -> list[Edit]:
    """Edits that move ``a`` (with the comments right above it) to just after ``b``."""
    start = model.leading_comments(a)[0]
    chunk = model.text[start : a.end - len(a.line_ending)]
    return [model.delete(a, with_comments=True), model.insert_after(b, chunk)]


# ---- system packages before the source --------------------------------------------------------
_SYSTEM_MANAGERS = frozenset({"apt", "apk", "yum", "dnf", "microdnf", "zypper"})
_SYSTEM_ACTIONS = frozenset({"update", "install", "add", "upgrade", "dist-upgrade", "makecache", "reinstall"})
_SYSTEM_CLEANUPS = frozenset({"apt-lists", "apt-clean", "apk-cache", "yum-cache", "dnf-cache", "zypper-cache"})
_QUIET = frozenset({"echo", "true", ":", "set", "printf"})


def system_run(model: Dockerfile, ins: Instruction) -> list | None:
    """The system package calls of a RUN that does nothing else (apt-get/apk/yum/dnf/zypper
    update and install, their cache cleanups, echo); None for any other RUN."""
    if ins.keyword != "RUN":
        return None
    from leanify.shell import analyze_run

    script = analyze_run(ins, model)
    if script is None or not script.ok or not script.commands:
        return None
    return _system_calls(script, script.commands)


def _system_calls(script, commands) -> list | None:
    calls = {id(c.command): c for c in script.package_calls()}
    cleaning = {id(c.command) for c in script.cleanups() if c.kind in _SYSTEM_CLEANUPS}
    found = []
    for cmd in commands:
        call = calls.get(id(cmd))
        if call is not None and call.manager in _SYSTEM_MANAGERS:
            found.append(call)
        elif id(cmd) in cleaning or (cmd.basename in _QUIET and not cmd.redirects):
            continue
        else:
            return None
    return found if any(c.action in _SYSTEM_ACTIONS for c in found) else None


def _system_prefix(script, items) -> int | None:
    """The last item of the leading system-package part of an `&&` chain (None: there is none)."""
    j = None
    for n, it in enumerate(items):
        if it.kind not in ("command", "pipeline") or _system_calls(script, it.commands) is None and not all(
            _system_calls(script, (c,)) is not None or _quiet_or_cleanup(script, c) for c in it.commands
        ):
            break
        j = n
    if j is None or _system_calls(script, [c for it in items[: j + 1] for c in it.commands]) is None:
        return None
    if _manager_after(script, items[j + 1 :]):
        return None
    return j


_MANAGER_PROGRAMS = frozenset({"apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf", "zypper"})
_NO_LISTS = frozenset({"remove", "purge", "autoremove", "del", "clean"})


def _manager_after(script, items) -> bool:
    """The rest runs the package manager (``xargs apt-get install``, an install after ``make``):
    cut away from it, the lists the system part refreshes come from a cached layer, stale."""
    calls = {id(c.command): c for c in script.package_calls()}
    for it in items:
        for cmd in it.commands:
            call = calls.get(id(cmd))
            words = (t for w in (cmd.name, *cmd.args) for t in w.split())
            if call is None and any(posixpath.basename(t) in _MANAGER_PROGRAMS for t in words) or (
                    call is not None and call.manager in _SYSTEM_MANAGERS and call.action not in _NO_LISTS):
                return True
    return False


def _quiet_or_cleanup(script, cmd) -> bool:
    cleaning = {id(c.command) for c in script.cleanups() if c.kind in _SYSTEM_CLEANUPS}
    return id(cmd) in cleaning or (cmd.basename in _QUIET and not cmd.redirects)


def _cut_system_part(model: Dockerfile, run: Instruction) -> Dockerfile | None:
    """The model with ``apt-get update && apt-get install ... && make`` cut into a RUN of the
    system part and a RUN of the rest, when that is provably the same (``run_split``)."""
    if run.keyword != "RUN" or not re.search(r"\b(apt-get|apt|apk|yum|dnf|microdnf|zypper)\b", run.original):
        return None
    sp = run_split(model, run, where=_system_prefix)
    return cut_model(model, run, sp) if sp is not None else None


def _describe_calls(calls: list) -> str:
    installs = [c for c in calls if c.action in ("install", "add", "reinstall")] or calls
    return "; ".join(f"{c.command.name} {c.action or ''}".strip() + (" " + ", ".join(c.packages) if c.packages else "")
                     for c in installs)  # fmt: skip


def _hoist_system_runs(model: Dockerfile, facts: Facts):
    """Move each system-package RUN above the earliest context COPY/ADD of its stage that it
    provably does not depend on (and nothing between depends on it): a source edit then no
    longer re-runs the package install. One RUN at a time; the order among them is kept (two
    package RUNs always depend on each other)."""
    original = model
    perm = list(range(len(model.instructions)))  # current position -> original index
    moved: list[tuple[int, int, str, bool]] = []  # (original RUN, original COPY, what it installs, cut off a RUN)
    tried: set[int] = set()
    for _ in range(len(model.instructions)):
        found = None
        for stage in model.stages:
            members = [model.instructions[i] for i in stage.instructions]
            copies = [i for i in members if i.keyword in ("COPY", "ADD") and context_sources(i) is not None]
            if not copies:
                continue
            for run in members:
                if run.keyword != "RUN" or perm[run.index] in tried or copies[0].index > run.index:
                    continue
                tried.add(perm[run.index])
                calls = system_run(model, run)
                here = model
                if calls is None:
                    # `RUN apt-get ... && make`: the system part alone, in the model cut after it
                    here = _cut_system_part(model, run)
                    calls = system_run(here, here.instructions[run.index]) if here is not None else None
                    if calls is None:
                        continue
                for c in copies:
                    if c.index > run.index:
                        break
                    if _can_move(here, here.instructions[run.index], facts, before=here.instructions[c.index]):
                        found = (run, c, calls, here)
                        break
                if found:
                    break
            if found:
                break
        if found is None:
            break
        run, c, calls, here = found
        cut = here is not model
        if cut:
            perm = perm[: run.index + 1] + perm[run.index :]  # the rest of the cut RUN: the same original line
            model = here
            run, c = model.instructions[run.index], model.instructions[c.index]
        start = model.leading_comments(run)[0]
        chunk = model.text[start : run.end - len(run.line_ending)]
        at = model.leading_comments(c)[0]
        edits = [model.delete(run, with_comments=True), Edit(at, at, chunk + model.newline)]
        moved.append((perm[run.index], perm[c.index], _describe_calls(calls), cut))
        perm = perm[: c.index] + [perm[run.index]] + perm[c.index : run.index] + perm[run.index + 1 :]
        model = model.edit(edits)
    changes = []
    for run_i, copy_i, what, cut in moved:
        run, copy = original.instructions[run_i], original.instructions[copy_i]
        srcs = context_sources(copy) or []
        classes = [default_score(facts, x) for x in srcs]
        cls = None if any(x is None for x in classes) or not classes else max(classes)
        path = _display(copy)
        label = f"{path} ({CLASSES[cls]})" if cls is not None else path
        how = " (cut from the steps after it in the same RUN, which stay after the copy)" if cut else ""
        reason = (f"system packages ({what}) change less often than {label} and the install reads nothing it "
                  f"copies: installed before it{how}, so an edit to any file of {path} no longer re-runs the package "
                  f"install")  # fmt: skip
        changes.append(change(RULE, run.lines, reason, score=SYSTEM, scored_by="default", path=what,
                              **{"class": CLASSES[SYSTEM]}))  # fmt: skip
    return model, changes


def apply(model: Dockerfile, facts: Facts):
    hoisted, changes = _hoist_system_runs(model, facts)
    if changes:
        return hoisted, changes  # the COPY order is looked at in the next pass, on the new layout
    return _order_copies(model, facts)


def _order_copies(model: Dockerfile, facts: Facts):
    from leanify.history import history_for

    stages_with_copies = [
        s.index for s in model.stages
        if sum(1 for i in s.instructions if model.instructions[i].keyword in ("COPY", "ADD")) >= 2
    ]  # fmt: skip
    if not stages_with_copies:
        return model, []
    history = history_for(facts)
    original = model
    perm = list(range(len(model.instructions)))  # current position -> original index
    moved: dict[int, Scored] = {}
    passed: dict[int, list[Scored]] = {}
    for stage in stages_with_copies:
        scored = score_stage(original, facts, stage, history)
        if not scored or len(scored) < 2:
            continue
        by_orig = scored  # original index -> Scored
        for _ in range(len(scored) ** 2 + 1):
            swapped = False
            cur = [model.instructions[i] for i in model.stages[stage].instructions]
            cands = [ins for ins in cur if ins.keyword in ("COPY", "ADD")]
            for a, b in zip(cands, cands[1:], strict=False):
                sa, sb = by_orig.get(perm[a.index]), by_orig.get(perm[b.index])
                if sa is None or sb is None or not sa.hotter_than(sb):
                    continue  # an unscored COPY between is a barrier: zip pairs only neighbours
                if _can_move(model, a, facts, after=b):
                    edits = _sink(model, a, b)
                    new_order = perm[: a.index] + perm[a.index + 1 : b.index + 1] + [perm[a.index]] + perm[b.index + 1 :]
                    mover, over = sa, sb
                elif _can_move(model, b, facts, before=a):
                    edits = model.move(b, before=a)
                    new_order = perm[: a.index] + [perm[b.index]] + perm[a.index : b.index] + perm[b.index + 1 :]
                    mover, over = sb, sa
                else:
                    continue
                model = model.edit(edits)
                perm = new_order
                moved.setdefault(mover.ins.index, mover)
                passed.setdefault(mover.ins.index, []).append(over)
                swapped = True
                break
            if not swapped:
                break
    if not moved:
        return original, []
    changes = []
    final_pos = {orig: pos for pos, orig in enumerate(perm)}
    for idx in sorted(moved):
        m = moved[idx]
        if not _displaced(perm, idx):
            continue  # moved and moved back
        changes.append(change(RULE, m.ins.lines, _reason(m, passed[idx], perm, final_pos, original), **_data(m, passed[idx])))
    if not changes or perm == sorted(perm):
        return original, []
    return model, changes


def _displaced(perm: list[int], idx: int) -> bool:
    pos = perm.index(idx)
    return any(o > idx for o in perm[:pos]) or any(o < idx for o in perm[pos + 1 :])


def _data(m: Scored, over: list[Scored]) -> dict:
    git = any(m.by_git(o) for o in over)
    d = {"score": m.git if git else m.cls, "scored_by": "git" if git else "default", "path": m.path}
    if git:
        d["commits"] = m.commits
    if m.cls is not None:
        d["class"] = CLASSES[m.cls]
    return d


def _what(s: Scored, git: bool) -> str:
    if git:
        return f"{s.path} (changed in {s.git} of the last {s.commits} commits)"
    return f"{s.path} ({CLASSES[s.cls]})" if s.cls is not None else s.path


def _reason(m: Scored, over: list[Scored], perm: list[int], final_pos: dict[int, int], model: Dockerfile) -> str:
    idx = m.ins.index
    pos = final_pos[idx]
    went_down = [o for o in perm[:pos] if o > idx]
    git = any(m.by_git(o) for o in over)
    others = ", ".join(dict.fromkeys(_what(o, git) for o in over))
    if went_down:
        n = len(went_down)
        return (f"{_what(m, git)} changes more often than {others}: copied after it, so an edit to {m.path} "
                f"no longer rebuilds the {n} instruction{'s' if n != 1 else ''} now before it")
    return (f"{_what(m, git)} changes less often than {others}: copied before it, so an edit to "
            f"{over[0].path} no longer invalidates this layer")
