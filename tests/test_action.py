"""action.yml (composite GitHub Action): its wiring is consistent, the leanify commands and options
it runs exist, and its shell steps really work — run here with bash the way the Actions runner
runs them (inputs through `env:`, outputs through $GITHUB_OUTPUT), on a copy of a corpus app.
`uses:` steps (setup-python, upload-sarif) are GitHub's own and are only checked for presence."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expressions(node) -> list[str]:
    if isinstance(node, dict):
        return [e for v in node.values() for e in expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in expressions(v)]
    return EXPR.findall(node) if isinstance(node, str) else []


def test_composite_with_described_inputs_and_outputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert ACTION["name"] and ACTION["description"]
    for name, spec in {**ACTION["inputs"], **ACTION["outputs"]}.items():
        assert spec.get("description"), name
    for name, spec in ACTION["inputs"].items():
        assert "default" in spec or spec.get("required"), name


def test_every_referenced_input_is_declared_and_every_input_is_used() -> None:
    used = set()
    for expr in expressions(ACTION["runs"]) + expressions(ACTION["outputs"]) + expressions(ACTION["inputs"]):
        used |= set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", expr))
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    assert set(ACTION["inputs"]) <= used, set(ACTION["inputs"]) - used


def test_step_outputs_referenced_exist() -> None:
    ids = {s["id"]: s for s in STEPS if "id" in s}
    refs = re.findall(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", " ".join(expressions(ACTION)))
    assert refs
    for step, out in refs:
        assert step in ids, step
        assert re.search(rf"\b{re.escape(out)}=", ids[step].get("run", "")), f"step {step} never writes {out}"


def test_shell_variables_come_from_the_step_env() -> None:
    runner_vars = {"GITHUB_OUTPUT"}
    for step in STEPS:
        if "run" not in step:
            continue
        assert step.get("shell") == "bash", step["name"]
        assert not EXPR.search(step["run"]), f"{step['name']}: expressions go through env:, never into the script"
        for var in set(re.findall(r"\$\{?((?:INPUT|LEANIFY|ACTION)_[A-Z_]+)", step["run"])):
            assert var in step.get("env", {}), f"{step['name']}: ${var} is not in env"
        for var in runner_vars & set(re.findall(r"\$([A-Z_]+)", step["run"])):
            assert var == "GITHUB_OUTPUT"


def test_uses_setup_python_and_upload_sarif() -> None:
    uses = {s["uses"].split("@")[0]: s for s in STEPS if "uses" in s}
    assert set(uses) == {"actions/setup-python", "github/codeql-action/upload-sarif"}
    upload = uses["github/codeql-action/upload-sarif"]
    assert upload["with"]["sarif_file"] == "${{ steps.sarif.outputs.sarif-file }}"


def leanify_commands() -> list[list[str]]:
    cmds = []
    for step in STEPS:
        for line in step.get("run", "").splitlines():
            for m in re.finditer(r"(?:^|[;|&(]\s*|\)\s*)leanify(\s[^;|&>]*)?", line.strip()):
                cmds.append(shlex.split(m.group(0)[m.group(0).index("leanify"):]))
    return cmds


def help_of(*sub: str) -> str:
    r = subprocess.run([sys.executable, "-m", "leanify", *sub, "--help"], capture_output=True, text=True)
    assert r.returncode == 0, (sub, r.stderr)
    return r.stdout


def test_commands_and_options_it_runs_exist_in_the_cli() -> None:
    cmds = leanify_commands()
    subs = {c[1] for c in cmds if len(c) > 1 and not c[1].startswith(("-", '"', "."))}
    assert subs == {"pr"}, cmds
    assert any("--check" in c for c in cmds) and any("--diff" in c for c in cmds) and any("sarif" in c for c in cmds)
    run_help = help_of("run")
    for cmd in cmds:
        if cmd == ["leanify", "--version"]:
            assert subprocess.run([sys.executable, "-m", "leanify", "--version"], capture_output=True).returncode == 0
            continue
        text = help_of("pr") if cmd[1:2] == ["pr"] else run_help
        for opt in (a for a in cmd[1:] if a.startswith("--")):
            assert re.search(rf"(^|\s){re.escape(opt)}\b", text, re.M), f"{opt} not in `leanify {cmd[1]} --help`"
        if "--format" in cmd:
            value = cmd[cmd.index("--format") + 1]
            choices = re.search(r"--format \[([a-z|]+)\]", text).group(1).split("|")
            assert value in choices, (value, choices)


# --- the steps, run with bash ------------------------------------------------------------------

def substitute(text: str, inputs: dict, outputs: dict, env: dict) -> str:
    def value(expr: str) -> str:
        if m := re.fullmatch(r"inputs\.([\w-]+)", expr):
            return inputs[m.group(1)]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            return outputs.get(m.group(1), {}).get(m.group(2), "")
        return {"github.action_path": str(ROOT), "runner.temp": env["RUNNER_TEMP"], "github.token": "t0ken"}[expr]
    return EXPR.sub(lambda m: value(m.group(1)), text)


def condition(expr: str, inputs: dict) -> bool:
    parts = [p.strip() for p in EXPR.fullmatch(expr.strip()).group(1).split("&&")]
    return all(inputs[re.fullmatch(r"inputs\.([\w-]+) == '(.*)'", p).group(1)] == re.fullmatch(r"inputs\.([\w-]+) == '(.*)'", p).group(2)
               for p in parts)


def run_action(workdir: Path, tmp: Path, **given: str) -> tuple[dict, list[str], dict]:
    """Run the bash steps (install skipped: leanify is installed here). Returns (outputs by step,
    names of the steps run, the action's outputs); raises CalledProcessError at a failing step."""
    inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    inputs.update({k.replace("_", "-"): v for k, v in given.items()})
    base = {**os.environ, "RUNNER_TEMP": str(tmp)}
    outputs: dict[str, dict] = {}
    ran = []
    for n, step in enumerate(STEPS):
        if "if" in step and not condition(step["if"], inputs):
            continue
        ran.append(step["name"])
        if "run" not in step or step.get("id") == "install":
            continue
        out_file = tmp / f"out-{n}"
        out_file.write_text("")
        env = {**base, "GITHUB_OUTPUT": str(out_file)}
        env.update({k: substitute(str(v), inputs, outputs, base) for k, v in step.get("env", {}).items()})
        cwd = workdir / substitute(step.get("working-directory", "."), inputs, outputs, base)
        p = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
                           cwd=cwd, env=env, capture_output=True, text=True)
        (tmp / f"log-{n}").write_text(p.stdout + p.stderr)
        if p.returncode != 0:
            raise subprocess.CalledProcessError(p.returncode, step["name"], p.stdout, p.stderr)
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)
    action_out = {k: substitute(v["value"], inputs, outputs, base) for k, v in ACTION["outputs"].items()}
    return outputs, ran, action_out


@pytest.fixture()
def app(tmp_path: Path) -> Path:
    work = shutil.copytree(ROOT / "corpus" / "apps" / "flask-psycopg2", tmp_path / "repo")
    (work / "docker").mkdir()
    (work / "docker" / "tools.Dockerfile").write_text("FROM debian:bookworm-slim\nRUN echo tools\n")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    (tmp_path / "runner").mkdir()
    return work


def test_check_mode_finds_the_committed_dockerfiles_fails_the_job_and_writes_sarif(app: Path, tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_action(app, tmp_path / "runner", args="--history 0")
    assert failed.value.cmd == "Verdict" and failed.value.returncode == 1
    assert "::error::leanify would change Dockerfiles" in failed.value.stdout
    outputs, ran, out = run_action(app, tmp_path / "runner", args="--history 0", fail_on_changes="false")
    assert ran == ["Set up Python", "Install leanify", "leanify", "leanify SARIF", "Upload SARIF", "Verdict"]
    committed = subprocess.run(["git", "ls-files"], cwd=app, capture_output=True, text=True, check=True).stdout.split()
    pattern = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]["files"]  # the same file set
    expected = [f for f in committed if re.search(pattern, f) and not f.endswith(".dockerignore")]
    assert "Dockerfile" in expected and "docker/tools.Dockerfile" in expected and "README.md" not in expected
    assert out["changed"] == "true" and out["exit-code"] == "1" and out["files"] == str(len(expected))
    log = (tmp_path / "runner" / "log-2").read_text()
    assert [line.split(":")[0] for line in log.splitlines()] == expected
    assert "docker/tools.Dockerfile: already lean" in log
    sarif = json.loads((app / out["sarif-file"]).read_text())
    assert out["sarif-file"] == "leanify.sarif" and sarif["version"] == "2.1.0"
    results = [r for run in sarif["runs"] for r in run["results"]]
    assert results and all(r["ruleId"].startswith("LEAN") for r in results)


def test_diff_mode_on_given_paths_without_sarif(app: Path, tmp_path: Path) -> None:
    outputs, ran, out = run_action(app, tmp_path / "runner", mode="diff", paths="Dockerfile\ndocker/tools.Dockerfile",
                                   sarif="false", args="--history 0 --select LEAN00")
    assert "leanify SARIF" not in ran and "Upload SARIF" not in ran and "leanify pr" not in ran
    diff = Path(out["diff-file"]).read_text()
    assert diff.startswith("# LEAN00") and "--- a/Dockerfile\n+++ b/Dockerfile\n" in diff
    assert out["changed"] == "true" and out["sarif-file"] == ""
    clean, _ran, out = run_action(app, tmp_path / "runner", mode="diff", paths="docker/tools.Dockerfile", sarif="false")
    assert out["changed"] == "false" and out["exit-code"] == "0"


def test_a_bad_dockerfile_fails_the_job_with_exit_2(app: Path, tmp_path: Path) -> None:
    (app / "Dockerfile").write_text("FROM debian:bookworm-slim\nONBUILD ONBUILD RUN true\n")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        run_action(app, tmp_path / "runner", paths="Dockerfile", sarif="false")
    assert failed.value.cmd == "Verdict" and failed.value.returncode == 2
    assert "Dockerfile:2: " in (tmp_path / "runner" / "log-2").read_text()


def test_pr_step_runs_only_when_asked(app: Path, tmp_path: Path) -> None:
    _o, ran, _out = run_action(app, tmp_path / "runner", sarif="false", fail_on_changes="false", args="--history 0")
    assert "leanify pr" not in ran
    pr = next(s for s in STEPS if s["name"] == "leanify pr")
    assert pr["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    assert 'leanify pr . "${extra[@]}"' in pr["run"]


def test_readme_documents_every_input_and_output() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## GitHub Action\n", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([\w-]+)` \|", section, re.M))
    assert set(ACTION["inputs"]) | set(ACTION["outputs"]) == rows
