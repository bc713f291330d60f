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
  ``cleanup(run_id)`` removes one run, ``cleanup_stale(hours)`` removes abandoned runs;
- every image and container also names its owner (``org.leanify.owner``: boot id, pid and
  process start time): ``cleanup_dead()`` removes the runs whose owning process is gone on this
  machine (a run killed with SIGKILL, a test session killed before its teardown), never a live
  run's, never another machine's, never one built with ``--keep-images``;
- a build is a child process group with a deadline (``timeout``): on the deadline, Ctrl-C or an
  exception it gets SIGINT (buildx then cancels the build in the engine), then SIGKILL;
- an engine that stops answering during a build raises ``EngineError`` with what it was doing.

Confinement of the containers we start (``run``): ``--network none``, no new privileges, not
privileged, all capabilities dropped unless the original image cannot run without them, memory
(no swap on top), one CPU, 256 pids, a 10 MB log cap, a timeout, and removal in every case.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

LABEL_RUN = "org.leanify.run"
LABEL_ROLE = "org.leanify.role"
LABEL_CREATED = "org.leanify.created"
LABEL_OWNER = "org.leanify.owner"
LABEL_KEEP = "org.leanify.keep"
REPO = "leanify-verify"
NETWORKS = ("host", "default", "none")


class EngineError(Exception):
    """The engine is unreachable or misbehaves (not: a Dockerfile that fails to build)."""


class Cancelled(Exception):
    """A build stopped because its ``cancel`` event was set (another part of the run failed)."""


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """The start time of a process (field 22 of /proc/PID/stat), None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def owner_token(pid: int | None = None) -> str:
    """``<boot id>:<pid>:<start ticks>`` of this process (or ``pid``)."""
    pid = os.getpid() if pid is None else pid
    return f"{_boot_id()}:{pid}:{_start_ticks(pid) or '?'}"


def temp_prefix(kind: str) -> str:
    """``leanify-<kind>-<pid>.<start ticks>-``: temp dirs that name their owner, so
    ``Engine.cleanup_dead`` can remove those of a killed process."""
    pid = os.getpid()
    return f"leanify-{kind}-{pid}.{_start_ticks(pid) or 0}-"


_TEMP_OWNED = re.compile(r"^leanify-(?:build|rebuild)-(\d+)\.(\d+)-")


def sweep_temp(tmpdir: str | None = None) -> list[str]:
    """Remove our temp dirs whose owning process is gone; returns their paths."""
    tmpdir = tmpdir or tempfile.gettempdir()
    gone = []
    try:
        names = os.listdir(tmpdir)
    except OSError:
        return gone
    for name in names:
        m = _TEMP_OWNED.match(name)
        if m and _start_ticks(int(m.group(1))) != m.group(2):
            path = os.path.join(tmpdir, name)
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


def _die_with_parent(parent: int):
    """preexec_fn: the build child gets SIGINT when leanify dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG), so buildx cancels the build instead of finishing it for nobody.

    SIGINT is reset to its default first: a process started with it ignored (a `cmd &` job of
    a script, nohup, some CI runners) passes SIG_IGN on through exec, and the child would
    ignore both this signal and the deadline's SIGINT."""
    prctl = _prctl()  # looked up here, not in the child: builds start from threads too, and a
    # forked child must take no lock (the import lock, the loader's) another thread may hold

    def hook() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if prctl is None:  # not Linux: the deadline and cleanup still apply
            return
        try:
            prctl(1, int(signal.SIGINT))  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGINT)
    return hook


def _prctl():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except Exception:  # noqa: BLE001 - not Linux
        return None


def owner_alive(token: str | None) -> bool | None:
    """Whether the process named by an owner label still runs: None when it cannot be known
    (no label, another machine or an earlier boot of this one — both handled by age)."""
    if not token or token.count(":") != 2:
        return None
    boot, pid, ticks = token.split(":")
    if not boot or boot != _boot_id() or not pid.isdigit():
        return None
    return _start_ticks(int(pid)) == ticks


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
    timed_out: bool = False  # stopped at the build timeout

    def tail(self, n: int = 30) -> list[str]:
        return [line for line in self.log.splitlines() if line.strip()][-n:]


def redact(text: str, secrets: Iterable[str]) -> str:
    """``leanify.redact.redact``: the given values and anything shaped like a credential."""
    from .redact import redact as _redact

    return _redact(text, secrets)


def run_cli(argv: Sequence[str], env: Mapping[str, str], timeout: float,
            cancel: threading.Event | None = None) -> tuple[str, int, bool]:
    """(output, return code, timed out) of a CLI child in its own process group. On the
    deadline, KeyboardInterrupt or any exception the group gets SIGINT (buildx cancels the build
    in the engine), 10 s later SIGKILL; the exception is re-raised. ``cancel`` set (checked every
    half second: a build run beside another, in a thread, whose partner failed or was
    interrupted) does the same and raises :class:`Cancelled`. Argument lists only: no shell ever
    sees Dockerfile text or build-arg values."""
    p = subprocess.Popen(list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True,
                         preexec_fn=_die_with_parent(os.getpid()))
    deadline = time.monotonic() + timeout
    try:
        while True:  # communicate() may be called again after its timeout: no output is lost
            left = deadline - time.monotonic()
            try:
                out, _ = p.communicate(timeout=max(0.0, left if cancel is None else min(left, 0.5)))
                return out.decode("utf-8", "replace"), p.returncode, False
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise
                if cancel is not None and cancel.is_set():
                    _stop(p)
                    raise Cancelled(argv[0]) from None
    except subprocess.TimeoutExpired:
        out = _stop(p)
        return out.decode("utf-8", "replace"), -1, True
    except Cancelled:
        raise
    except BaseException:
        _stop(p)
        raise


def _stop(p: subprocess.Popen) -> bytes:
    for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            out, _ = p.communicate(timeout=grace)
            return out or b""
        except subprocess.TimeoutExpired:
            continue
        except ValueError:  # output already consumed
            p.wait(timeout=grace)
            return b""
    return b""


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
            if client is None:
                probe = docker.from_env(timeout=15)  # a dead or black-holed host fails fast
                try:
                    probe.ping()
                finally:
                    probe.close()
            self.client = client or docker.from_env(timeout=600)
            self.client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
            host = os.environ.get("DOCKER_HOST") or "the default socket"
            raise EngineError(f"Docker engine not reachable at {host}: {_one_line(exc)} "
                              "(is it running? is DOCKER_HOST right?)") from None
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
        keep: bool = False,
        cancel: threading.Event | None = None,
    ) -> BuildResult:
        """Build ``dockerfile_text``. ``cancel``: an event that stops the build when set (BuildKit
        only; :class:`Cancelled` is raised) — for builds run at once in threads."""
        if network not in NETWORKS:
            raise ValueError(f"build network must be one of {NETWORKS}")
        context = os.path.abspath(os.fspath(context))
        if not os.path.isdir(context):
            raise EngineError(f"build context {context} is not a directory")
        tag = tag or f"{REPO}:{run_id}-{role}"
        labels = {LABEL_RUN: run_id, LABEL_ROLE: role, LABEL_CREATED: str(int(time.time())),
                  LABEL_OWNER: owner_token()}
        if keep:
            labels[LABEL_KEEP] = "1"
        build_args = dict(build_args or {})
        with tempfile.TemporaryDirectory(prefix=temp_prefix("build")) as tmp:
            df = os.path.join(tmp, "Dockerfile")
            with open(df, "w", encoding="utf-8", newline="") as fh:
                fh.write(dockerfile_text)
            cmd = self.buildkit_command()
            if cmd:
                res = self._build_buildkit(cmd, df, context, tmp, tag, labels, build_args,
                                           network, no_cache, timeout, cancel)
            else:
                res = self._build_classic(df, context, tag, labels, build_args, network,
                                          no_cache, timeout)
        from .redact import build_arg_values  # noqa: PLC0415

        res.log = redact(res.log, build_arg_values(build_args))
        if not res.ok and not res.timed_out and not self.alive():
            last = (res.tail(1) or ["no output"])[0]
            raise EngineError(f"the Docker engine at {self.host} stopped answering while building "
                              f"the {role} image ({last}); nothing is claimed")
        if res.timed_out:
            res.log += (f"\nleanify: the {role} build did not finish within {timeout:.0f}s and was "
                        "stopped (--build-timeout)")
        return res

    @property
    def host(self) -> str:
        return os.environ.get("DOCKER_HOST") or "the default socket"

    def alive(self) -> bool:
        """Does the engine still answer (a short ping)?"""
        try:
            import docker  # noqa: PLC0415

            client = docker.from_env(timeout=10)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - any failure: not answering
            return False

    def _build_buildkit(self, cmd, df, context, tmp, tag, labels, build_args, network, no_cache,
                        timeout, cancel=None) -> BuildResult:
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
        log, rc, timed_out = run_cli(argv, env, timeout, cancel)
        seconds = time.monotonic() - t0
        image_id = None
        if rc == 0 and os.path.exists(iid):
            image_id = open(iid, encoding="utf-8").read().strip() or None
        total, rerun = buildkit_steps(log)
        return BuildResult(ok=image_id is not None, image_id=image_id, tag=tag if image_id else None,
                           seconds=seconds, builder="buildkit", log=log, steps_total=total,
                           steps_rerun=len(rerun), rerun=rerun, timed_out=timed_out)

    def _build_classic(self, df, context, tag, labels, build_args, network, no_cache,
                       timeout) -> BuildResult:
        lines: list[str] = []
        image_id = None
        error = None
        timed_out = False
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
            timed_out = "timed out" in error.lower() or "timeout" in type(exc).__name__.lower()
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
                           steps_rerun=rerun, timed_out=timed_out)

    # -- images and containers ---------------------------------------------------------------
    def inspect(self, ref: str) -> dict:
        return self.client.api.inspect_image(ref)

    def create(self, image: str, *, run_id: str, role: str, command=None, entrypoint=None):
        """A created (never started) container, e.g. to read files with ``get_archive``."""
        return self.client.containers.create(
            image, command=command if command is not None else ["/leanify-never-started"],
            entrypoint=entrypoint if entrypoint is not None else [],
            labels=self._labels(run_id, role), network_mode="none",
        )

    @staticmethod
    def _labels(run_id: str, role: str) -> dict[str, str]:
        return {LABEL_RUN: run_id, LABEL_ROLE: role, LABEL_OWNER: owner_token()}

    def run(self, image: str, argv: Sequence[str] | None, *, run_id: str, role: str,
            entrypoint: Sequence[str] | None = None, timeout: float = 60,
            cap_drop_all: bool = True, mem_limit: str = "1g", user: str | None = None,
            environment: Mapping[str, str] | None = None, hostname: str | None = None) -> RunResult:
        """Run a container confined (no network, limits, no new privileges) and remove it.
        ``environment`` adds to (or replaces) the image's variables, as ``docker run -e`` does;
        ``hostname`` replaces the default (the container's id, new each run)."""
        from docker.types import LogConfig  # noqa: PLC0415

        name = f"leanify-{run_id}-{role}-{uuid.uuid4().hex[:8]}"
        kwargs = dict(
            detach=True, name=name, network_mode="none", mem_limit=mem_limit,
            memswap_limit=mem_limit, pids_limit=256, nano_cpus=1_000_000_000,
            security_opt=["no-new-privileges"], privileged=False,
            labels=self._labels(run_id, role),
            log_config=LogConfig(type="json-file", config={"max-size": "10m", "max-file": "1"}),
        )
        if cap_drop_all:
            kwargs["cap_drop"] = ["ALL"]
        if entrypoint is not None:
            kwargs["entrypoint"] = list(entrypoint)
        if user is not None:
            kwargs["user"] = user
        if environment:
            kwargs["environment"] = dict(environment)
        if hostname:
            kwargs["hostname"] = hostname
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
            return RunResult(exit_code=None, stdout="", stderr=run_error(exc), timed_out=False,
                             seconds=time.monotonic() - t0, error=run_error(exc))
        finally:  # also on KeyboardInterrupt / SIGTERM-as-exception: never leave it running
            try:
                if container is not None:
                    container.remove(force=True)
                else:  # interrupted between create and start: find it by its unique name
                    self.client.api.remove_container(name, force=True)
            except Exception:  # noqa: BLE001 - never created, or the engine is gone
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

    def cleanup_dead(self) -> int:
        """Remove the runs whose owning process is gone (same machine, same boot), except runs
        kept on purpose (``--keep-images``). Returns the number of images removed."""
        dead: set[str] = set()
        f = {"label": LABEL_RUN}
        objs = list(self.client.containers.list(all=True, filters=f)) + list(self.client.images.list(filters=f))
        for obj in objs:
            labels = getattr(obj, "labels", None) or {}
            if labels.get(LABEL_KEEP) == "1" or not labels.get(LABEL_RUN):
                continue
            if owner_alive(labels.get(LABEL_OWNER)) is False:
                dead.add(labels[LABEL_RUN])
        sweep_temp()
        return sum(self.cleanup(run_id) for run_id in sorted(dead))

    def cleanup_stale(self, hours: float = 6) -> int:
        """Remove the runs of dead owners (``cleanup_dead``) and leanify verification images
        (any run, except kept ones) older than ``hours``."""
        try:
            removed = self.cleanup_dead()
        except Exception:  # noqa: BLE001 - best effort
            removed = 0
        cutoff = time.time() - hours * 3600
        for img in self.client.images.list(filters={"label": LABEL_RUN}):
            labels = (img.attrs.get("Config") or {}).get("Labels") or {}
            if labels.get(LABEL_KEEP) == "1":
                continue
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


def run_error(exc: BaseException) -> str:
    """Why a container did not start, in the engine's own words: the API error's explanation,
    from the runtime's ``unable to start container process:`` on (``exec: "x": executable file
    not found in $PATH``), not the HTTP error around it with its container id."""
    text = getattr(exc, "explanation", None)
    if not isinstance(text, str) or not text.strip():
        return _one_line(exc)
    marker = "unable to start container process: "
    return text.strip().split(marker, 1)[-1].splitlines()[-1][:500]


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


__all__ = ["Engine", "EngineError", "Cancelled", "BuildResult", "RunResult", "new_run_id", "parse_build_args",
           "count_buildkit_steps", "count_classic_steps", "redact", "run_cli", "owner_token",
           "owner_alive", "sweep_temp", "temp_prefix", "LABEL_RUN", "LABEL_ROLE", "LABEL_OWNER", "LABEL_KEEP"]
