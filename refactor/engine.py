"""A thin layer over the Docker engine for verification builds and runs.

Talks to the engine through the ``docker`` SDK (``docker.from_env()``: ``DOCKER_HOST``, TLS
and ``ssh://`` all honoured). Builds go through BuildKit (``docker buildx build``, or
``DOCKER_BUILDKIT=1 docker build``) when the client and engine offer it — heredocs and
``RUN --mount`` need it — and through the SDK's classic builder otherwise.

Hygiene:
- the Dockerfile text is written to a private temp dir *outside* the build context and passed
  by absolute path; nothing is written into the user's context; it never reaches a shell
  (subprocesses get argument lists);
- build-arg values are passed through the environment (``--build-arg NAME``), never on a
  command line, and are redacted from every log we keep;
- every image and container carries ``org.leanify.run=<run id>`` and ``org.leanify.role``;
  tags are unique per run id, so concurrent or killed runs never collide;
  ``cleanup(run_id)`` removes one run, ``cleanup_stale(hours)`` removes abandoned runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

LABEL_RUN = "org.leanify.run"
LABEL_ROLE = "org.leanify.role"
LABEL_CREATED = "org.leanify.created"
REPO = "leanify-verify"
NETWORKS = ("host", "default", "none")


class EngineError(Exception):
    """The engine is unreachable or misbehaves (not: a Dockerfile that fails to build)."""


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]


@dataclass
class BuildResult:
    ok: bool
    image_id: str | None
    tag: str | None
    seconds: float
    builder: str  # "buildkit" | "classic"
    log: str = field(repr=False, default="")
    steps_total: int = 0
    steps_rerun: int = 0
    rerun: tuple[str, ...] = ()  # the instructions that re-ran, as the builder printed them

    def tail(self, n: int = 30) -> list[str]:
        return [l for l in self.log.splitlines() if l.strip()][-n:]


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in sorted({s for s in secrets if s and len(s) >= 1}, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


# ---------------------------------------------------------------------------------------------
# Step counting (pure; unit tested)

_BK_STEP = re.compile(r"^#(\d+) \[(?:[^\]]*? )?(\d+)/(\d+)\] (\S+)(.*)$")
_BK_CACHED = re.compile(r"^#(\d+) CACHED\s*$")


def count_buildkit_steps(log: str) -> tuple[int, int]:
    """(steps, steps re-run) from BuildKit ``--progress=plain`` output; FROM steps excluded."""
    total, rerun = buildkit_steps(log)
    return total, len(rerun)


def buildkit_steps(log: str) -> tuple[int, tuple[str, ...]]:
    """(steps, the instructions re-run) from BuildKit's plain progress; FROM steps excluded."""
    steps: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        m = _BK_STEP.match(line)
        if m:
            steps[m.group(1)] = (m.group(4) + m.group(5)).strip()
            continue
        m = _BK_CACHED.match(line)
        if m:
            cached.add(m.group(1))
    real = [n for n, text in steps.items() if text.split(None, 1)[0].upper() != "FROM"]
    return len(real), tuple(steps[n] for n in real if n not in cached)


_CL_STEP = re.compile(r"^Step (\d+)/(\d+) : (\S+)", re.I)


def count_classic_steps(log: str) -> tuple[int, int]:
    """(steps, steps re-run) from the classic builder's stream; FROM steps excluded."""
    total = rerun = 0
    current: str | None = None
    used_cache = False

    def close() -> None:
        nonlocal total, rerun
        if current is not None and current != "FROM":
            total += 1
            if not used_cache:
                rerun += 1

    for line in log.splitlines():
        m = _CL_STEP.match(line.strip())
        if m:
            close()
            current, used_cache = m.group(3).upper(), False
            if "org.leanify." in line:  # the labels we add ourselves are not the user's steps
                current = "FROM"
        elif "Using cache" in line:
            used_cache = True
    close()
    return total, rerun


# ---------------------------------------------------------------------------------------------


class Engine:
    def __init__(self, client=None, *, prefer_buildkit: bool = True):
        import docker  # local: keeps `import leanify` light

        try:
            self.client = client or docker.from_env(timeout=600)
            self.client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
            host = os.environ.get("DOCKER_HOST", "the default socket")
            raise EngineError(f"Docker engine not reachable at {host}: {_one_line(exc)}") from None
        self._buildkit: list[str] | None | bool = None if prefer_buildkit else False

    # -- builder selection -------------------------------------------------------------------
    def buildkit_command(self) -> list[str] | None:
        """The argv prefix for a BuildKit build, or None when only the classic builder works."""
        if self._buildkit is False:
            return None
        if self._buildkit is None:
            self._buildkit = False
            docker_cli = shutil.which("docker")
            if docker_cli and self._engine_has_buildkit():
                env = self._cli_env()
                try:
                    r = subprocess.run([docker_cli, "buildx", "version"], env=env,
                                       capture_output=True, timeout=30)
                    if r.returncode == 0:
                        self._buildkit = [docker_cli, "buildx", "build"]
                except (OSError, subprocess.TimeoutExpired):
                    pass
                if self._buildkit is False:
                    self._buildkit = [docker_cli, "build"]  # with DOCKER_BUILDKIT=1
                    r = subprocess.run([docker_cli, "build", "--help"], env=self._cli_env(True),
                                       capture_output=True, text=True, timeout=30)
                    if r.returncode != 0 or "--iidfile" not in r.stdout:
                        self._buildkit = False
        return self._buildkit or None

    @property
    def builder(self) -> str:
        return "buildkit" if self.buildkit_command() else "classic"

    def _engine_has_buildkit(self) -> bool:
        try:
            version = self.client.version()
            api = tuple(int(x) for x in version.get("ApiVersion", "0.0").split("."))
            return api >= (1, 39) and version.get("Os", "linux") == "linux"
        except Exception:  # noqa: BLE001
            return False

    def _cli_env(self, buildkit: bool = False) -> dict[str, str]:
        env = dict(os.environ)  # DOCKER_HOST / DOCKER_CONTEXT / TLS settings reach the CLI as-is
        if buildkit:
            env["DOCKER_BUILDKIT"] = "1"
        return env

    # -- builds ------------------------------------------------------------------------------
    def build(
        self,
        dockerfile_text: str,
        context: str | os.PathLike,
        *,
        run_id: str,
        role: str,
        tag: str | None = None,
        build_args: Mapping[str, str] | None = None,
        network: str = "host",
        no_cache: bool = False,
        timeout: float = 3600,
    ) -> BuildResult:
        if network not in NETWORKS:
            raise ValueError(f"build network must be one of {NETWORKS}")
        context = os.path.abspath(os.fspath(context))
        if not os.path.isdir(context):
            raise EngineError(f"build context {context} is not a directory")
        tag = tag or f"{REPO}:{run_id}-{role}"
        labels = {LABEL_RUN: run_id, LABEL_ROLE: role, LABEL_CREATED: str(int(time.time()))}
        build_args = dict(build_args or {})
        with tempfile.TemporaryDirectory(prefix="leanify-build-") as tmp:
            df = os.path.join(tmp, "Dockerfile")
            with open(df, "w", encoding="utf-8", newline="") as fh:
                fh.write(dockerfile_text)
            cmd = self.buildkit_command()
            if cmd:
                res = self._build_buildkit(cmd, df, context, tmp, tag, labels, build_args,
                                           network, no_cache, timeout)
            else:
                res = self._build_classic(df, context, tag, labels, build_args, network,
                                          no_cache, timeout)
        res.log = redact(res.log, build_args.values())
        return res

    def _build_buildkit(self, cmd, df, context, tmp, tag, labels, build_args, network, no_cache,
                        timeout) -> BuildResult:
        iid = os.path.join(tmp, "iid")
        argv = list(cmd) + ["--progress=plain", "--iidfile", iid, "-f", df, "-t", tag]
        if cmd[-2:] == ["buildx", "build"]:
            # --provenance=false: no attestation to capture (the docker driver cannot store it
            # anyway), and BuildKit 0.13's provenance walk has crashed dockerd under
            # concurrent builds on this engine (nil pointer in solver.(*Job).walkProvenance)
            argv += ["--load", "--provenance=false"]
        if network != "default":
            argv += ["--network", network]
        for k, v in labels.items():
            argv += ["--label", f"{k}={v}"]
        env = self._cli_env(buildkit=True)
        for k, v in build_args.items():
            argv += ["--build-arg", k]  # value comes from the environment: not in argv/ps
            env[k] = v
        if no_cache:
            argv.append("--no-cache")
        argv.append(context)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                               errors="replace")
            log, rc = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired as exc:
            log = (exc.stdout or "") + (exc.stderr or "") if isinstance(exc.stdout, str) else ""
            log += f"\nbuild timed out after {timeout:.0f}s"
            rc = -1
        seconds = time.monotonic() - t0
        image_id = None
        if rc == 0 and os.path.exists(iid):
            image_id = open(iid, encoding="utf-8").read().strip() or None
        total, rerun = buildkit_steps(log)
        return BuildResult(ok=image_id is not None, image_id=image_id, tag=tag if image_id else None,
                           seconds=seconds, builder="buildkit", log=log, steps_total=total,
                           steps_rerun=len(rerun), rerun=rerun)

    def _build_classic(self, df, context, tag, labels, build_args, network, no_cache,
                       timeout) -> BuildResult:
        lines: list[str] = []
        image_id = None
        error = None
        t0 = time.monotonic()
        try:
            stream = self.client.api.build(
                path=context, dockerfile=df, tag=tag, nocache=no_cache, rm=True, forcerm=True,
                decode=True, buildargs=build_args or None, labels=labels,
                network_mode=None if network == "default" else network, timeout=timeout,
            )
            for chunk in stream:
                if "stream" in chunk:
                    lines.append(chunk["stream"])
                if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                if "error" in chunk:
                    error = chunk["error"]
                    lines.append(chunk["error"] + "\n")
        except Exception as exc:  # noqa: BLE001 - API errors are build failures here
            error = _one_line(exc)
            lines.append(error + "\n")
        seconds = time.monotonic() - t0
        log = "".join(lines)
        if error:
            image_id = None
        elif image_id is None:
            m = re.findall(r"Successfully built ([0-9a-f]+)", log)
            if m:
                image_id = self.client.images.get(m[-1]).id
        total, rerun = count_classic_steps(log)
        return BuildResult(ok=image_id is not None, image_id=image_id, tag=tag if image_id else None,
                           seconds=seconds, builder="classic", log=log, steps_total=total,
                           steps_rerun=rerun)

    # -- images and containers ---------------------------------------------------------------
    def inspect(self, ref: str) -> dict:
        return self.client.api.inspect_image(ref)

    def create(self, image: str, *, run_id: str, role: str, command=None, entrypoint=None):
        """A created (never started) container, e.g. to read files with ``get_archive``."""
        return self.client.containers.create(
            image, command=command if command is not None else ["/leanify-never-started"],
            entrypoint=entrypoint if entrypoint is not None else [],
            labels={LABEL_RUN: run_id, LABEL_ROLE: role}, network_mode="none",
        )

    def run(self, image: str, argv: Sequence[str] | None, *, run_id: str, role: str,
            entrypoint: Sequence[str] | None = None, timeout: float = 60,
            cap_drop_all: bool = True, mem_limit: str = "1g", user: str | None = None) -> "RunResult":
        """Run a container confined (no network, limits, no new privileges) and remove it."""
        kwargs = dict(
            detach=True, network_mode="none", mem_limit=mem_limit, memswap_limit=mem_limit,
            pids_limit=256, nano_cpus=1_000_000_000, security_opt=["no-new-privileges"],
            privileged=False, labels={LABEL_RUN: run_id, LABEL_ROLE: role},
        )
        if cap_drop_all:
            kwargs["cap_drop"] = ["ALL"]
        if entrypoint is not None:
            kwargs["entrypoint"] = list(entrypoint)
        if user is not None:
            kwargs["user"] = user
        t0 = time.monotonic()
        container = None
        try:
            container = self.client.containers.run(image, list(argv) if argv is not None else None,
                                                   **kwargs)
            timed_out = False
            try:
                status = container.wait(timeout=timeout)
                code = status.get("StatusCode")
            except Exception:  # noqa: BLE001 - read timeout from the API
                timed_out = True
                code = None
                try:
                    container.kill()
                except Exception:  # noqa: BLE001
                    pass
            out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
            return RunResult(exit_code=code, stdout=out, stderr=err, timed_out=timed_out,
                             seconds=time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001 - e.g. executable not found in the image
            return RunResult(exit_code=None, stdout="", stderr=_one_line(exc), timed_out=False,
                             seconds=time.monotonic() - t0, error=_one_line(exc))
        finally:
            if container is not None:
                try:
                    container.remove(force=True)
                except Exception:  # noqa: BLE001
                    pass

    # -- cleanup -----------------------------------------------------------------------------
    def cleanup(self, run_id: str) -> int:
        """Remove containers and images of one run. Returns the number of images removed."""
        f = {"label": f"{LABEL_RUN}={run_id}"}
        for c in self.client.containers.list(all=True, filters=f):
            try:
                c.remove(force=True)
            except Exception:  # noqa: BLE001
                pass
        removed = 0
        for img in self.client.images.list(filters=f):
            for ref in list(img.tags) or [img.id]:
                try:
                    self.client.images.remove(ref, force=True, noprune=False)
                    removed += 1
                except Exception:  # noqa: BLE001 - already gone / shared with another tag
                    pass
        return removed

    def cleanup_stale(self, hours: float = 6) -> int:
        """Remove leanify verification images (any run) older than ``hours``."""
        cutoff = time.time() - hours * 3600
        removed = 0
        for img in self.client.images.list(filters={"label": LABEL_RUN}):
            labels = (img.attrs.get("Config") or {}).get("Labels") or {}
            try:
                created = float(labels.get(LABEL_CREATED, "inf"))
            except ValueError:
                continue
            if created < cutoff:
                removed += self.cleanup(labels.get(LABEL_RUN, ""))
        return removed

    def waste(self, image_ref: str):
        """``leanify.waste.analyze_image`` when that module exists, else None."""
        try:
            from . import waste as _waste  # noqa: PLC0415 - optional, written separately
        except ImportError:
            return None
        fn = getattr(_waste, "analyze_image", None)
        if fn is None:
            return None
        return fn(self.client, image_ref)


@dataclass
class RunResult:
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    error: str | None = None

    def to_json(self) -> dict:
        return {"exit_code": self.exit_code, "stdout": self.stdout[-4000:],
                "timed_out": self.timed_out, **({"error": self.error} if self.error else {})}


def _one_line(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()
    return (s[-1] if s else type(exc).__name__)[:500]


def parse_build_args(pairs: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs:
        if "=" in p:
            k, v = p.split("=", 1)
        else:
            k, v = p, os.environ.get(p, "")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            raise ValueError(f"invalid build arg name {k!r}")
        out[k] = v
    return out


__all__ = ["Engine", "EngineError", "BuildResult", "RunResult", "new_run_id", "parse_build_args",
           "count_buildkit_steps", "count_classic_steps", "redact", "LABEL_RUN", "LABEL_ROLE"]
