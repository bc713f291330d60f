"""The smoke run: which command proves the image still starts (the one given, the image's own
ENTRYPOINT/CMD, or a probe of its language), run in both images. Compared (``--smoke-compare``):
``output`` (the default), the exit code and stdout once what varies from run to run is masked
(``smoke_noise``); ``exit``, the exit code alone.

Both runs share one hostname, and a pair that differs is run again (twice at most) before the
difference counts: the engine stops copying a container's output 2 s after it exits (moby's
``handleContainerExit`` waits that long for the stream, then closes it), so on a loaded machine
the end of one run's output can be lost, and one flapping comparison once named a sound rule as
the culprit. A real difference differs every time."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..engine import Engine, RunResult
from .at_once import at_once
from .content import runtime_relevance
from .runtime_needs import _cmd_tokens
from .smoke_noise import normalize

#: how a smoke run is compared, in the report's words
COMPARE_MODES = {"output": "exit code and stdout, run-to-run noise masked", "exit": "exit code only"}
#: runs of a pair that differs before the difference counts
RERUNS = 2
#: the hostname of every smoke run (the engine's default is the container id: different each run)
HOSTNAME = "leanify-smoke"


@dataclass
class SmokeResult:
    command: list[str] | None  # None: the image's own ENTRYPOINT/CMD
    how: str  # "given" | "image" | "probe:python" ...
    before: RunResult | None
    after: RunResult | None
    env: dict[str, str] = field(default_factory=dict)  # a given command's leading assignments
    compare: str = "output"  # COMPARE_MODES
    reruns: int = 0  # pairs run again because the first differed
    flapped: str | None = None  # the first pair's difference, when a rerun agreed

    @property
    def equal(self) -> bool:
        return compare_runs(self.before, self.after, self.compare)[0]

    def to_json(self) -> dict:
        return {
            "command": self.command, "how": self.how,
            "env": [f"{k}={v}" for k, v in self.env.items()],  # as K=V: scrubbed like Dockerfile text
            "compare": self.compare, "reruns": self.reruns, "flapped": self.flapped,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
            "equal": self.equal,
        }


def compare_runs(before: RunResult | None, after: RunResult | None,
                 mode: str = "output") -> tuple[bool, str | None]:
    """The exit codes must match, and (``mode`` "output") stdout once what varies from run to
    run is masked. A run that could not start never matches. Two runs stopped at the timeout
    (a server) are compared on the lines both printed: the kill cut each at another point."""
    if before is None or after is None:
        return False, "smoke did not run"
    if after.error and not before.error:
        return False, f"smoke command could not start in the after image: {after.error}"
    if before.error and after.error:  # nothing to compare: no proof, and the rewrite is not to blame
        return False, (f"smoke command could not start in either image (the original's too): {before.error}; "
                       "give one that runs with --smoke CMD")
    if before.exit_code != after.exit_code or before.timed_out != after.timed_out:
        return False, (f"smoke exit code differs: before {_code(before)}, after {_code(after)}"
                       + (f"; after stderr: {_last_line(after.stderr)}" if after.stderr else ""))
    if mode == "exit":
        return True, None
    b_lines, a_lines = normalize(before.stdout).splitlines(), normalize(after.stdout).splitlines()
    if before.timed_out:
        cut = min(len(_complete(before.stdout, b_lines)), len(_complete(after.stdout, a_lines)))
        b_lines, a_lines = b_lines[:cut], a_lines[:cut]
    if b_lines != a_lines:
        at = next((i for i, (x, y) in enumerate(zip(b_lines, a_lines, strict=False)) if x != y), min(len(b_lines), len(a_lines)))
        return False, (f"smoke stdout differs at line {at + 1} (timestamps, durations, ids, addresses "
                       f"masked): before {_line(b_lines, at)!r}, after {_line(a_lines, at)!r}")
    return True, None


def _line(lines: list[str], at: int) -> str:
    return _clip(lines[at]) if at < len(lines) else "(no more output)"


def _complete(text: str, lines: list[str]) -> list[str]:
    """The lines a run printed in full (the last one may have been cut by the kill)."""
    return lines if text.endswith("\n") else lines[:-1]


def _code(r: RunResult) -> str:
    return "timeout" if r.timed_out else str(r.exit_code)


def _clip(s: str, n: int = 120) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _last_line(s: str) -> str:
    lines = [line for line in s.splitlines() if line.strip()]
    return _clip(lines[-1]) if lines else ""


def smoke_command(smoke: str | Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of a smoke command. A list is argv as given. A string is read as a
    shell reads it (tree-sitter-bash, ``leanify.shell.plain_command``): a plain command runs as
    its words, its leading assignments (``SECRET_KEY=x app check``) in the environment, so an
    image without a shell can run it; anything more (``&&``, pipes, ``$X``, globs) runs as
    ``/bin/sh -c TEXT``. Either way it replaces the image's ENTRYPOINT and CMD."""
    if not isinstance(smoke, str):
        return list(smoke), {}
    from ..shell import plain_command

    cmd = plain_command(smoke)
    if cmd is None:
        return ["/bin/sh", "-c", smoke], {}
    return [cmd.name, *cmd.args], dict(cmd.env)


def _default_smoke(engine: Engine, before_img: str, cfg: Mapping, tree: Mapping, run_id: str,
                   timeout: float, has_python: bool) -> tuple[list[str] | None, str, RunResult | None]:
    """Pick the smoke command: the image's own command when it exits by itself, else a probe."""
    argv = list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or [])
    first = None
    if argv:
        first = engine.run(before_img, None, run_id=run_id, role="before", timeout=min(timeout, 15))
        if not first.timed_out and first.error is None:
            return None, "image", None  # rerun both the same way below for a fair comparison
    tokens = _cmd_tokens(cfg)
    text = " ".join(tokens)
    pyfiles = [r for r in tree if r.endswith(".py") and "/" not in r and not runtime_relevance(r)]
    pkgdirs = sorted({r.split("/")[0] for r in tree if r.endswith("/__init__.py")
                      and r.count("/") == 1})
    if has_python and (re.search(r"\b(python[0-9.]*|gunicorn|uvicorn|flask|celery|waitress)\b", text)
                       or pyfiles or pkgdirs):
        module = None
        for t in tokens:
            m = re.fullmatch(r"([A-Za-z_][\w.]*):[\w.()]+", t)
            if m:
                module = m.group(1)
                break
            if t.endswith(".py") and "/" not in t:
                module = t[:-3]
                break
        if module is None and "-m" in tokens and tokens.index("-m") + 1 < len(tokens):
            module = tokens[tokens.index("-m") + 1]
        if module is None:
            module = (pkgdirs or [p[:-3] for p in pyfiles] or [None])[0]
        if module:
            py = next((t for t in tokens if re.fullmatch(r"(.*/)?python[0-9.]*", t)), "python3")
            return [py, "-c", f"import {module}; print('ok')"], "probe:python", None
    if "package.json" in tree or re.search(r"\bnode\b|\bnpm\b", text):
        js = ("const p=require('./package.json');"
              "for (const d of Object.keys(p.dependencies||{})) require(d);"
              "console.log('ok')")
        return ["node", "-e", js], "probe:node", None
    if "java" in text:
        return ["java", "-version"], "probe:java", None
    if argv:
        return [argv[0], "--version"], "probe:--version", None
    return None, "none", None


def run_smoke(engine: Engine, before_img: str, after_img: str, smoke, cfg: Mapping, tree: Mapping,
              run_id: str, timeout: float, has_python: bool, compare: str = "output") -> SmokeResult:
    env: dict[str, str] = {}
    if smoke:
        (argv, env), how = smoke_command(smoke), "given"
    else:
        argv, how, _ = _default_smoke(engine, before_img, cfg, tree, run_id, timeout, has_python)
        if how == "none":
            return SmokeResult(None, "none", None, None, compare=compare)

    def go(img: str, role: str, cap_drop: bool) -> RunResult:
        if argv is None:
            return engine.run(img, None, run_id=run_id, role=role, timeout=timeout,
                              cap_drop_all=cap_drop, hostname=HOSTNAME)
        return engine.run(img, argv[1:], entrypoint=argv[:1], run_id=run_id, role=role,
                          timeout=timeout, cap_drop_all=cap_drop, environment=env or None,
                          hostname=HOSTNAME)

    cap_drop = True
    b, a = at_once(lambda _c: go(before_img, "before", True), lambda _c: go(after_img, "after", True))
    if b.exit_code not in (0, None) or b.error:
        b2 = go(before_img, "before", False)
        if b2.exit_code == 0:  # dropping all capabilities breaks this image: run both as-is
            b, cap_drop = b2, False
            a = go(after_img, "after", False)
    result = SmokeResult(argv, how + ("" if cap_drop else " (default capabilities)"), b, a, env, compare)
    ok, why = compare_runs(b, a, compare)
    while not ok and result.reruns < RERUNS and _worth_a_rerun(b, a):
        result.reruns += 1
        b2, a2 = at_once(lambda _c: go(before_img, "before", cap_drop), lambda _c: go(after_img, "after", cap_drop))
        if compare_runs(b2, a2, compare)[0]:
            result.before, result.after, result.flapped = b2, a2, why
            break
    return result


def _worth_a_rerun(before: RunResult, after: RunResult) -> bool:
    """Both ran and exited by themselves: a start error is no flap, and a run stopped at the
    timeout costs the whole timeout again."""
    return not (before.error or after.error or before.timed_out or after.timed_out)
