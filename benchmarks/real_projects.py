"""Real open-source projects, built here: the original Dockerfile, ``leanify --write`` (safe rules
only), ``leanify --write --verify --smoke CMD`` and, where one is known, an expert's multi-stage
file — image size, layers, build time, a smoke run in each image, verify time, and what leanify
left alone and why.

    python benchmarks/real_projects.py [--only NAME[,NAME]] [--jobs N] [--fresh] [--json OUT]

The projects are listed in ``benchmarks/real_projects.toml`` (repository, commit, Dockerfile,
context, the base-image stand-ins each needs, a smoke command; see the header of that file).
Their trees are not committed: each is read from a bare git snapshot under ``--mirrors``
(``/work/.mirror/<owner>+<name>/repo``, as the development session's fetch tool leaves them) and
extracted to ``--cache`` (default ``/var/tmp/leanify-real``). No registry is reachable here, so
the base images a file names are local stand-ins tagged under those names (the list says which
per project; the bases a rewrite introduces get the stand-in of their family, printed).

Every image it builds carries the ``org.leanify.run`` label and is removed after its project
(``--keep-images`` keeps them). A project's results are cached per leanify commit under
``<cache>/results/<label>/``: a restarted run resumes where it stopped (``--fresh`` redoes).
A build or smoke that fails in a rewrite mode is a loud ``BROKEN`` line and is counted.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = Path(__file__).resolve().parent / "real_projects.toml"
EXPERTS = Path(__file__).resolve().parent / "experts"
MIRRORS = Path("/work/.mirror")
CACHE = Path("/var/tmp/leanify-real")

#: the base images that exist on this machine (built by shared/tools/local-base-images.sh)
STAND_INS = ("debian:bookworm", "debian:bookworm-slim", "python:3.11", "python:3.11-slim",
             "node:18", "node:18-slim", "golang:1.19", "rust:1.63",
             "eclipse-temurin:17-jdk", "eclipse-temurin:17-jre")
ECOSYSTEMS = ("python", "node", "go", "java")
MODES = ("original", "write", "verify", "expert")
REQUIRED = ("name", "repo", "commit", "dockerfile", "context", "ecosystem", "toolchain",
            "stand_ins", "smoke")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


# -- the list --------------------------------------------------------------------------------

@dataclass
class Project:
    name: str
    repo: str
    commit: str
    dockerfile: str
    context: str
    ecosystem: str
    toolchain: bool
    stand_ins: dict[str, str]
    smoke: str
    ml: bool = False
    build_args: dict[str, str] = field(default_factory=dict)
    smoke_timeout: float = 60.0
    expert: dict | None = None
    note: str = ""

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:12]


def validate(entries: list[dict]) -> list[str]:
    """Schema errors of the list's entries (empty: valid)."""
    errors: list[str] = []
    seen: set[str] = set()
    for i, e in enumerate(entries):
        where = f"project {i + 1} ({e.get('name', '?')})"
        for k in REQUIRED:
            if k not in e:
                errors.append(f"{where}: missing {k}")
        unknown = set(e) - set(Project.__dataclass_fields__)
        if unknown:
            errors.append(f"{where}: unknown fields {sorted(unknown)}")
        name = e.get("name", "")
        if not isinstance(name, str) or not NAME.match(name):
            errors.append(f"{where}: name must be lower-case [a-z0-9._-]")
        if name in seen:
            errors.append(f"{where}: duplicate name")
        seen.add(name)
        if not re.match(r"^[\w.-]+/[\w.-]+$", str(e.get("repo", ""))):
            errors.append(f"{where}: repo must be owner/name")
        if not HEX40.match(str(e.get("commit", ""))):
            errors.append(f"{where}: commit must be 40 lower-case hex digits")
        if e.get("ecosystem") not in ECOSYSTEMS:
            errors.append(f"{where}: ecosystem must be one of {ECOSYSTEMS}")
        if not isinstance(e.get("toolchain"), bool):
            errors.append(f"{where}: toolchain must be true or false")
        for path_key in ("dockerfile", "context"):
            v = e.get(path_key, "")
            if not isinstance(v, str) or v.startswith("/") or ".." in Path(v).parts:
                errors.append(f"{where}: {path_key} must be a relative path inside the repository")
        si = e.get("stand_ins")
        if not isinstance(si, dict) or not si:
            errors.append(f"{where}: stand_ins must map each base image the file names to a local stand-in")
        else:
            for asked, local in si.items():
                if local not in STAND_INS:
                    errors.append(f"{where}: stand-in {local!r} for {asked!r} is not a local stand-in {STAND_INS}")
        if not isinstance(e.get("smoke", ""), str) or not e.get("smoke", "").strip():
            errors.append(f"{where}: smoke must be a non-empty command")
        ba = e.get("build_args", {})
        if not isinstance(ba, dict) or not all(isinstance(v, str) for v in ba.values()):
            errors.append(f"{where}: build_args must map names to strings")
        ex = e.get("expert")
        if ex is not None:
            if not isinstance(ex, dict) or set(ex) - {"repo", "commit", "path", "context", "stand_ins"}:
                errors.append(f"{where}: expert takes repo, commit, path, context, stand_ins")
            elif not HEX40.match(str(ex.get("commit", ""))) or not ex.get("path") or not ex.get("repo"):
                errors.append(f"{where}: expert needs repo, a 40-hex commit and path")
            else:
                for asked, local in (ex.get("stand_ins") or {}).items():
                    if local not in STAND_INS:
                        errors.append(f"{where}: expert stand-in {local!r} for {asked!r} is not local")
    return errors


def load(path: Path = LIST) -> list[Project]:
    entries = tomllib.loads(path.read_text()).get("project", [])
    errors = validate(entries)
    if errors:
        raise SystemExit(f"{path}: " + "; ".join(errors))
    return [Project(**e) for e in entries]


# -- stand-ins -------------------------------------------------------------------------------

def family_stand_in(image: str) -> str | None:
    """The local stand-in for a base a rewrite introduces (None: none fits, e.g. alpine)."""
    name, _, tag = image.partition(":")
    name = name.removeprefix("docker.io/").removeprefix("library/")
    if "alpine" in tag:
        return None
    slim = "slim" in tag
    if name == "python":
        return "python:3.11-slim" if slim else "python:3.11"
    if name == "node":
        return "node:18-slim" if slim else "node:18"
    if name == "golang":
        return "golang:1.19"
    if name == "rust":
        return "rust:1.63"
    if name in ("eclipse-temurin", "openjdk", "amazoncorretto"):
        return "eclipse-temurin:17-jre" if "jre" in tag else "eclipse-temurin:17-jdk"
    if name in ("debian", "ubuntu"):
        return "debian:bookworm-slim" if slim else "debian:bookworm"
    if name.startswith("gcr.io/distroless/"):
        return "debian:bookworm-slim"  # no distroless here: the closest small glibc base
    return None


def bases(text: str) -> list[str]:
    """External base images of a Dockerfile (stage names and scratch excluded)."""
    from leanify.model import Dockerfile

    model = Dockerfile.parse(text, strict=False)
    names = {s.name.lower() for s in model.stages if s.name}
    out = []
    for s in model.stages:
        img = s.base
        if img and img.lower() not in names and img != "scratch" and "$" not in img:
            out.append(img)
    return out


def ensure_tags(client, wanted: dict[str, str], made: list[str]) -> list[str]:
    """Tag local stand-ins under the names asked; returns problems. A name that already exists
    is kept when it is the stand-in itself, and reported when it is another image."""
    problems = []
    for asked, local in wanted.items():
        asked = asked if ":" in asked.rsplit("/", 1)[-1] else asked + ":latest"
        try:
            src = client.images.get(local)
        except Exception:  # noqa: BLE001
            problems.append(f"stand-in {local} is not on this engine")
            continue
        have = None
        with contextlib.suppress(Exception):  # absent: tag it
            have = client.images.get(asked)
        if have is not None:
            if have.id != src.id:
                problems.append(f"{asked} exists as another image than {local}: kept, results may differ")
            continue
        repo, _, tag = asked.rpartition(":")
        src.tag(repo, tag)
        made.append(asked)
    return problems


# -- one project -----------------------------------------------------------------------------

def _git_dir(mirrors: Path, repo: str) -> Path:
    d = mirrors / repo.replace("/", "+") / "repo"
    return d / ".git" if (d / ".git").is_dir() else d


def extract(mirrors: Path, repo: str, commit: str, dest: Path) -> Path:
    """The snapshot's tree at ``commit`` in ``dest`` (once; reused after)."""
    if (dest / ".extracted").exists():
        return dest
    gd = _git_dir(mirrors, repo)
    if not gd.exists():
        raise RuntimeError(f"no snapshot of {repo} under {mirrors} (fetch it first)")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    arch = subprocess.run(["git", f"--git-dir={gd}", "archive", commit], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=arch.stdout, check=True)
    (dest / ".extracted").write_text(commit)
    return dest


def fresh_copy(src: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".extracted"))
    return dest


class Bench:
    def __init__(self, args):
        from leanify.engine import Engine

        self.args = args
        self.engine = Engine()
        self.leanify = args.leanify or str(Path(sys.executable).with_name("leanify"))
        self.tags_made: list[str] = []
        self.say_lock = __import__("threading").Lock()

    def say(self, msg: str) -> None:
        with self.say_lock:
            print(msg, file=sys.stderr, flush=True)

    def tag_for(self, text: str, declared: dict[str, str], row: dict) -> None:
        wanted = dict(declared)
        for img in bases(text):
            if img in wanted or img in STAND_INS:
                continue
            local = family_stand_in(img)
            if local:
                wanted[img] = local
                row.setdefault("stand_ins_added", {})[img] = local
        row.setdefault("problems", []).extend(ensure_tags(self.engine.client, wanted, self.tags_made))

    def build(self, text: str, context: Path, run_id: str, role: str, p: Project, cold: bool) -> dict:
        r = self.engine.build(text, context, run_id=run_id, role=role, build_args=p.build_args,
                              no_cache=cold, timeout=self.args.build_timeout)
        out = {"ok": r.ok, "build_seconds": round(r.seconds, 1), "cold": cold}
        if r.ok:
            attrs = self.engine.inspect(r.image_id)
            out |= {"image": r.image_id, "image_bytes": attrs.get("Size"),
                    "layers": len((attrs.get("RootFS") or {}).get("Layers") or [])}
        else:
            out["error"] = r.tail(12)
        return out

    def smoke(self, m: dict, p: Project, run_id: str, role: str) -> None:
        from leanify.verify.smoke import smoke_command

        if not m.get("ok"):
            return
        argv, env = smoke_command(p.smoke)  # as --verify reads it: assignments, quotes, /bin/sh -c
        r = self.engine.run(m["image"], argv[1:], entrypoint=argv[:1], environment=env, run_id=run_id,
                            role=f"smoke-{role}", timeout=p.smoke_timeout, cap_drop_all=False,
                            mem_limit="4g")
        m["smoke"] = {"ok": r.exit_code == 0 and not r.timed_out and not r.error,
                      "exit_code": r.exit_code, "timed_out": r.timed_out, "seconds": round(r.seconds, 1)}
        if not m["smoke"]["ok"]:
            m["smoke"]["stderr"] = (r.error or r.stderr or r.stdout)[-800:]

    def run_leanify(self, copy: Path, p: Project, verify: bool) -> tuple[dict, float]:
        df = copy / p.dockerfile
        argv = [self.leanify, "--write", "--format", "json", "--history", "0",
                "--context", str(copy / p.context), str(df)]
        if verify:
            argv += ["--verify", "--smoke", p.smoke, "--smoke-timeout", str(p.smoke_timeout),
                     "--build-timeout", str(self.args.build_timeout)]
            for k, v in p.build_args.items():
                argv += ["--build-arg", f"{k}={v}"]
        t0 = time.monotonic()
        r = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=copy)
        secs = time.monotonic() - t0
        try:
            js = json.loads(r.stdout) if r.stdout.strip() else {}
        except json.JSONDecodeError:
            js = {}
        if isinstance(js, list):
            js = js[0] if js else {}
        return {"exit_code": r.returncode, "json": js, "stderr": r.stderr[-3000:]}, secs

    def candidate(self, copy: Path, p: Project) -> str | None:
        """What ``--unsafe-fixes`` would write: the file --verify builds as its candidate."""
        argv = [self.leanify, "--unsafe-fixes", "--format", "json", "--history", "0",
                "--context", str(copy / p.context), str(copy / p.dockerfile)]
        r = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=copy)
        try:
            js = json.loads(r.stdout)
        except json.JSONDecodeError:
            return None
        js = js[0] if isinstance(js, list) and js else js
        return js.get("output") if isinstance(js, dict) else None

    def measure(self, p: Project) -> dict:
        from leanify.engine import new_run_id

        base = self.args.cache / "projects" / p.name
        src = extract(self.args.mirrors, p.repo, p.commit, base / "src")
        text = (src / p.dockerfile).read_text()
        run_id = new_run_id()
        row: dict = {"name": p.name, "repo": p.repo, "commit": p.commit, "ecosystem": p.ecosystem,
                     "toolchain": p.toolchain, "ml": p.ml, "digest": p.digest, "problems": [],
                     "lean014_skip": lean014_skip(src / p.dockerfile, src / p.context)}
        modes = self.args.modes
        try:
            self.tag_for(text, p.stand_ins, row)
            self.say(f"[{p.name}] original: cold build")
            orig = row["original"] = self.build(text, src / p.context, run_id, "original", p, cold=True)
            self.smoke(orig, p, run_id, "original")
            if not orig["ok"] or not orig.get("smoke", {}).get("ok"):
                row["unusable"] = "the original does not build" if not orig["ok"] else "the original fails its smoke"
                return row
            if "write" in modes:
                self.say(f"[{p.name}] leanify --write")
                copy = fresh_copy(src, base / "write")
                res, secs = self.run_leanify(copy, p, verify=False)
                new = (copy / p.dockerfile).read_text()
                # a rewrite may only add files (LEAN013's .dockerignore): that changes the build too
                changed = new != text or bool(res["json"].get("files"))
                w = row["write"] = {"leanify_exit": res["exit_code"], "leanify_seconds": round(secs, 1),
                                    "changed": changed, "rules": _rules(res["json"], applied=True),
                                    "left_alone": _left_alone(res["json"]),
                                    "stderr": _stderr_notes(res["stderr"])}
                if res["exit_code"] not in (0, 1):
                    w["leanify_error"] = res["stderr"][-1500:]
                if changed:
                    self.tag_for(new, p.stand_ins, row)
                    w |= self.build(new, copy / p.context, run_id, "write", p, cold=self.args.cold_all)
                    self.smoke(w, p, run_id, "write")
                else:
                    w |= {k: orig.get(k) for k in ("ok", "image_bytes", "layers", "smoke")}
                    w["same_as_original"] = True
            if "verify" in modes:
                self.say(f"[{p.name}] leanify --write --verify")
                copy = fresh_copy(src, base / "verify")
                # the bases --verify's candidate introduces (python:3.9 -> python:3.9-slim) must
                # exist before leanify builds it: read them from the unverified rewrite
                cand = self.candidate(copy, p)
                if cand:
                    self.tag_for(cand, p.stand_ins, row)
                res, secs = self.run_leanify(copy, p, verify=True)
                new = (copy / p.dockerfile).read_text()
                js = res["json"]
                ver = js.get("verification") or {}
                changed = new != text or bool(js.get("files"))
                v = row["verify"] = {"leanify_exit": res["exit_code"], "verify_seconds": round(secs, 1),
                                     "verdict": ver.get("verdict"), "reasons": ver.get("reasons", []),
                                     "changed": changed, "rules": _rules(js, applied=True),
                                     "left_alone": _left_alone(js),
                                     "stderr": _stderr_notes(res["stderr"]),
                                     "timings": ver.get("timings")}
                if res["exit_code"] not in (0, 1):
                    v["leanify_error"] = res["stderr"][-1500:]
                if changed:
                    self.tag_for(new, p.stand_ins, row)
                    v |= self.build(new, copy / p.context, run_id, "verify", p, cold=self.args.cold_all)
                    self.smoke(v, p, run_id, "verify")
                else:
                    v |= {k: orig.get(k) for k in ("ok", "image_bytes", "layers", "smoke")}
                    v["same_as_original"] = True
            if "expert" in modes:
                self.measure_expert(p, row, run_id)
        except Exception as exc:  # noqa: BLE001 - one project's trouble must not hide the rest
            row["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            self.done_with(run_id, row)
        return row

    def done_with(self, run_id: str, row: dict) -> None:
        if not self.args.keep_images:
            self.engine.cleanup(run_id)
        for m in MODES:
            if isinstance(row.get(m), dict):
                row[m].pop("image", None)

    def measure_expert(self, p: Project, row: dict, run_id: str | None = None) -> bool:
        """Build and smoke the expert's file, when there is one; True when it was measured."""
        from leanify.engine import new_run_id

        ex = self.expert_of(p, self.args.cache / "projects" / p.name)
        if not ex:
            return False
        own = run_id is None
        run_id = run_id or new_run_id()
        etext, ectx, eorigin = ex
        self.say(f"[{p.name}] expert ({eorigin})")
        try:
            self.tag_for(etext, {**p.stand_ins, **((p.expert or {}).get("stand_ins") or {})}, row)
            e = row["expert"] = {"origin": eorigin} | self.build(etext, ectx, run_id, "expert", p,
                                                                 cold=self.args.cold_all)
            self.smoke(e, p, run_id, "expert")
        finally:
            if own:
                self.done_with(run_id, row)
        return True

    def expert_of(self, p: Project, base: Path) -> tuple[str, Path, str] | None:
        if self.args.experts:
            f = self.args.experts / p.name / "Dockerfile"
            if f.exists():
                return f.read_text(), base / "src" / p.context, f"hand-written {f.relative_to(f.parents[2]) if len(f.parents) > 2 else f}"
        if p.expert:
            ex = p.expert
            tree = extract(self.args.mirrors, ex["repo"], ex["commit"], base / f"expert-{ex['commit'][:12]}")
            return ((tree / ex["path"]).read_text(), tree / ex.get("context", "."),
                    f"upstream {ex['repo']}@{ex['commit'][:12]}:{ex['path']}")
        return None


def lean014_skip(dockerfile: Path, context: Path) -> str | None:
    """LEAN014's own reason for leaving a file single-stage, read through the API as
    benchmarks/multistage.py does (``multistage.analyze`` on what the earlier rules leave).
    A decline reaches the JSON notes; a file with nothing to split gets no note, so its reason is
    read here."""
    try:
        from leanify.context import Facts
        from leanify.model import Dockerfile
        from leanify.pipeline import all_transforms, run_pipeline
        from leanify.transforms import multistage as ms

        model = Dockerfile.from_bytes(dockerfile.read_bytes())
        facts = Facts.for_path(dockerfile, context, history=0)
        pre = run_pipeline(model, facts, [t for t in all_transforms() if t.rule.phase < ms.RULE.phase],
                           unsafe=True).output
        told: list[str] = []
        plan = ms.analyze(pre, facts, told)
    except Exception as exc:  # noqa: BLE001 - the benchmark reports, it does not crash
        return f"(could not read LEAN014's plan: {type(exc).__name__}: {exc})"
    if plan is None:
        if told:
            return f"LEAN014: {'; '.join(told)} (nothing a builder stage could leave behind)"
        return (f"LEAN014: nothing to split on {pre.stages[0].base}: no compiler, -dev package or build tool "
                "is installed and no build step runs that a runtime stage could do without")
    return getattr(plan, "reason", None)


def _stderr_notes(stderr: str) -> list[str]:
    """leanify's own words on stderr (notes, warnings, the verification summary), trimmed."""
    return [line.strip() for line in stderr.splitlines() if line.strip()][-12:]


def _rules(js: dict, applied: bool) -> list[str]:
    return sorted({c["rule"] for c in js.get("changes", []) if c.get("applied", True) == applied})


def _left_alone(js: dict) -> list[str]:
    """Why leanify did not do more: its notes and the suggestions it did not apply (one line
    per rule and reason, as a reviewer reads them)."""
    out = [n if isinstance(n, str) else json.dumps(n) for n in js.get("notes", [])]
    seen = set()
    for c in js.get("changes", []):
        if c.get("applied", True) is False:
            key = (c["rule"], c["reason"])
            if key not in seen:
                seen.add(key)
                out.append(f"{c['rule']} line {c['lines'][0]}: {c['reason']}")
    return out


# -- results ---------------------------------------------------------------------------------

def size_change(row: dict, mode: str) -> float | None:
    a, b = row.get("original") or {}, row.get(mode) or {}
    if not (a.get("ok") and b.get("ok") and a.get("image_bytes") and b.get("image_bytes") is not None):
        return None
    return 100.0 * (b["image_bytes"] - a["image_bytes"]) / a["image_bytes"]


def broken(row: dict, mode: str) -> list[str]:
    """What a rewrite mode broke in this project (the original built and passed its smoke)."""
    m = row.get(mode)
    if not m or row.get("unusable") or m.get("same_as_original"):
        return []
    out = []
    if m.get("ok") is False:
        out.append(f"build failed: {' | '.join((m.get('error') or [])[-3:])}")
    elif m.get("smoke") and not m["smoke"]["ok"]:
        s = m["smoke"]
        out.append(f"smoke failed (exit {s['exit_code']}{', timeout' if s['timed_out'] else ''}): "
                   f"{(s.get('stderr') or '').strip().splitlines()[-1:]}")
    if mode == "verify" and m.get("leanify_exit") not in (0, 1, 3, None):
        out.append(f"leanify exited {m['leanify_exit']}: {(m.get('leanify_error') or '').strip().splitlines()[-1:]}")
    return out


def summarize(rows: list[dict]) -> dict:
    usable = [r for r in rows if r.get("original", {}).get("ok") and not r.get("unusable")]
    s: dict = {"projects": len(rows), "usable": len(usable),
               "unusable": {r["name"]: r.get("unusable") or r.get("error") for r in rows if r not in usable}}
    for mode in ("write", "verify", "expert"):
        ch = [c for r in usable if (c := size_change(r, mode)) is not None]
        tc = [c for r in usable if r["toolchain"] and (c := size_change(r, mode)) is not None]
        s[mode] = {
            "measured": len(ch),
            "median_size_change_pct": round(statistics.median(ch), 1) if ch else None,
            "median_size_change_pct_toolchain_or_full_base": round(statistics.median(tc), 1) if tc else None,
            "changed_by_more_than_5pct": sum(1 for c in ch if c < -5),
            "broken_builds": sum(1 for r in usable if r.get(mode, {}).get("ok") is False),
            "broken_smokes": sum(1 for r in usable if r.get(mode, {}).get("ok")
                                 and r[mode].get("smoke") and not r[mode]["smoke"]["ok"]),
        }
    # over the projects where --verify built something (no change: nothing to verify)
    ratios = [r["verify"]["verify_seconds"] / r["original"]["build_seconds"] for r in usable
              if r.get("verify", {}).get("verdict") and r["original"].get("build_seconds")]
    s["verify"]["median_verify_over_cold_build"] = round(statistics.median(ratios), 2) if ratios else None
    s["verify"]["verdicts"] = _count(r.get("verify", {}).get("verdict") for r in usable if r.get("verify"))
    s["verify"]["total_verify_seconds"] = round(sum(r.get("verify", {}).get("verify_seconds") or 0 for r in usable))
    ex = [(r["name"], r["verify"]["image_bytes"] / r["expert"]["image_bytes"]) for r in usable
          if r.get("expert", {}).get("ok") and r.get("verify", {}).get("ok") and r["expert"].get("image_bytes")]
    s["verify"]["over_expert"] = {n: round(x, 2) for n, x in ex}
    return s


def _count(items) -> dict:
    out: dict = {}
    for i in items:
        out[str(i)] = out.get(str(i), 0) + 1
    return out


def _mb(n) -> str:
    return "—" if n is None else f"{n / 1e6:.0f}"


def _pct(x) -> str:
    return "—" if x is None else f"{x:+.1f}%"


def render(rows: list[dict], s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=200)
    t = Table(title="real projects: original vs leanify --write vs --write --verify vs expert "
                    "(MB/layers, cold build s, smoke; 'verify s' is leanify --write --verify's wall time)",
              show_lines=False)
    for c in ("project", "eco", "tc", "original", "write", "Δ write", "verify", "Δ verify", "verdict",
              "verify s", "expert", "Δ expert"):
        t.add_column(c, justify="left" if c in ("project", "eco", "verdict") else "right")

    def cell(m: dict | None) -> str:
        if not m:
            return "—"
        if m.get("ok") is False:
            return "[red]BUILD FAILED[/]"
        sm = m.get("smoke") or {}
        flag = "" if not sm else (" ok" if sm["ok"] else " [red]SMOKE FAILED[/]")
        # a rewrite is built with the cache (its steps shared with the original): no cold time
        secs = f" {m.get('build_seconds', 0):.0f}s" if m.get("cold") else ""
        return f"{_mb(m.get('image_bytes'))}/{m.get('layers')}{secs}{flag}"

    for r in rows:
        if r.get("unusable") or r.get("error") and not r.get("original"):
            t.add_row(r["name"], r["ecosystem"], "y" if r["toolchain"] else "", cell(r.get("original")),
                      f"[yellow]{r.get('unusable') or r.get('error')}[/]", *[""] * 7)
            continue
        v = r.get("verify") or {}
        t.add_row(r["name"], r["ecosystem"], "y" if r["toolchain"] else "", cell(r.get("original")),
                  cell(r.get("write")), _pct(size_change(r, "write")), cell(v or None),
                  _pct(size_change(r, "verify")), str(v.get("verdict") or "—"),
                  f"{v.get('verify_seconds', 0):.0f}" if v else "—",
                  cell(r.get("expert")), _pct(size_change(r, "expert")))
    con.print(t)
    for r in rows:
        for mode in ("write", "verify", "expert"):
            for b in broken(r, mode):
                con.print(f"[bold red]BROKEN[/] {r['name']} {mode}: {b}", highlight=False)
        if r.get("error"):
            con.print(f"[bold red]ERROR[/] {r['name']}: {r['error']}", highlight=False)
    con.print("\n[bold]left alone, and why[/] (leanify --write --verify, JSON notes and unapplied suggestions)")
    for r in rows:
        v = r.get("verify") or {}
        if v and not v.get("rules") or (v and size_change(r, "verify") is not None and size_change(r, "verify") > -5):
            why = v.get("left_alone") or ["(no reason given in leanify's JSON)"]
            if r.get("lean014_skip"):
                why = why + [f"LEAN014, read from its plan (not in the JSON): {r['lean014_skip']}"]
            if v.get("verdict") not in (None, "pass"):
                why = [f"verification {v.get('verdict')}: {'; '.join(v.get('reasons') or [])}"] + why
            con.print(f"  {r['name']}:", highlight=False)
            for line in why[:6]:
                con.print(f"    {line[:300]}", highlight=False)
    con.print("\n[bold]verify time by phase[/] (leanify's verification.timings; × the original's cold build)")
    for r in rows:
        v, o = r.get("verify") or {}, r.get("original") or {}
        tm = v.get("timings")
        if tm and o.get("build_seconds"):
            phases = ", ".join(f"{k} {x:.0f}" for k, x in tm["phases"].items())
            con.print(f"  {r['name']}: {v['verify_seconds']:.0f} s = {v['verify_seconds'] / o['build_seconds']:.1f}× "
                      f"{o['build_seconds']:.0f} s; {phases}", highlight=False)
    con.print()
    con.print(json.dumps(s, indent=1))


# -- main ------------------------------------------------------------------------------------

def label_of_leanify() -> str:
    try:
        # the last commit of leanify's own code: commits to benchmarks/ or docs keep the cache
        head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--abbrev=12", "--",
                               "refactor", "transforms", "pyproject.toml"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "refactor", "transforms"],
                               check=False, capture_output=True, text=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (subprocess.CalledProcessError, OSError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", type=Path, default=LIST)
    ap.add_argument("--only", default="", help="comma list of project names")
    ap.add_argument("--jobs", type=int, default=1, help="projects measured at once (default 1)")
    ap.add_argument("--mirrors", type=Path, default=MIRRORS, help="folder of <owner>+<name>/repo git snapshots")
    ap.add_argument("--cache", type=Path, default=CACHE, help="extracted trees and cached results")
    ap.add_argument("--experts", type=Path, default=EXPERTS,
                    help="folder of <name>/Dockerfile hand-written experts (default: benchmarks/experts)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma list of {MODES} (original always)")
    ap.add_argument("--label", help="results label (default: the last commit of leanify's code)")
    ap.add_argument("--fresh", action="store_true", help="ignore cached results")
    ap.add_argument("--cold-all", action="store_true", help="build the rewrites without cache too")
    ap.add_argument("--keep-images", action="store_true")
    ap.add_argument("--build-timeout", type=float, default=3600)
    ap.add_argument("--leanify", help="leanify executable (default: the one beside this Python)")
    ap.add_argument("--json", type=Path, help="write all results and the summary here")
    ap.add_argument("--untag", action="store_true", help="remove the stand-in tags earlier runs made, and exit")
    args = ap.parse_args(argv)
    args.modes = tuple(m for m in args.modes.split(",") if m)
    projects = load(args.list)
    if args.only:
        wanted = set(args.only.split(","))
        missing = wanted - {p.name for p in projects}
        if missing:
            ap.error(f"no such project: {', '.join(sorted(missing))}")
        projects = [p for p in projects if p.name in wanted]
    from leanify.engine import EngineError

    try:
        bench = Bench(args)
    except EngineError as exc:
        print(f"real_projects.py: {exc}", file=sys.stderr)
        return 2
    tagfile = args.cache / "stand-in-tags.json"
    if args.untag:
        for t in json.loads(tagfile.read_text()) if tagfile.exists() else []:
            with contextlib.suppress(Exception):  # already gone
                bench.engine.client.images.remove(t, noprune=True)
        tagfile.unlink(missing_ok=True)
        return 0
    label = args.label or label_of_leanify()
    rdir = args.cache / "results" / label
    rdir.mkdir(parents=True, exist_ok=True)
    print(f"leanify {label}; results in {rdir}", file=sys.stderr)

    def one(p: Project) -> dict:
        f = rdir / f"{p.name}.json"
        if f.exists() and not args.fresh:
            row = json.loads(f.read_text())
            if row.get("digest") == p.digest and set(args.modes) <= set(row.get("modes", ())):
                bench.say(f"[{p.name}] cached")
                if "lean014_skip" not in row:
                    src = args.cache / "projects" / p.name / "src"
                    row["lean014_skip"] = lean014_skip(src / p.dockerfile, src / p.context)
                    f.write_text(json.dumps(row, indent=1))
                if ("expert" in args.modes and not row.get("expert") and row.get("original", {}).get("ok")
                        and not row.get("unusable") and bench.measure_expert(p, row)):
                    f.write_text(json.dumps(row, indent=1))
                return row
        t0 = time.monotonic()
        row = bench.measure(p)
        row["modes"] = list(args.modes)
        row["seconds"] = round(time.monotonic() - t0)
        f.write_text(json.dumps(row, indent=1))
        known = set(json.loads(tagfile.read_text())) if tagfile.exists() else set()
        tagfile.write_text(json.dumps(sorted(known | set(bench.tags_made))))
        for mode in ("write", "verify", "expert"):
            for b in broken(row, mode):
                bench.say(f"BROKEN {p.name} {mode}: {b}")
        bench.say(f"[{p.name}] done in {row['seconds']}s")
        return row

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(one, projects))
    s = summarize(rows)
    render(rows, s)
    if args.json:
        args.json.write_text(json.dumps({"label": label, "projects": rows, "summary": s}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
