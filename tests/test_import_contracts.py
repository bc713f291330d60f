"""The import contracts hold (pyproject.toml ``[tool.importlinter]``, docs/architecture.md): the
rooms import only downwards, no rule imports another, the core reaches the rules only through the
pipeline's discovery. Checked by import-linter's ``lint-imports`` through scripts/lint_imports.sh,
the same command CI runs first.

The second test breaks a contract in a copy of the source on purpose: the check must see the rules
in transforms/ (an editable install hides them from import-linter's walk of refactor/), and say
which import broke which contract."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "lint_imports.sh"


def lint_imports(root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LEANIFY_ROOT=str(root))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # this venv's lint-imports
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_every_import_contract_is_kept() -> None:
    res = lint_imports()
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_a_rule_importing_another_rule_breaks_the_contracts(tmp_path: Path) -> None:
    for name in ("refactor", "transforms"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    rule = tmp_path / "transforms" / "apt_update.py"
    rule.write_text(rule.read_text(encoding="utf-8") + "\n\ndef _late():\n    from leanify.transforms import merge_runs  # noqa: F401\n",
                    encoding="utf-8")
    res = lint_imports(tmp_path)
    assert res.returncode == 1, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Rules stand alone: no rule imports another" in res.stdout
    assert "leanify.transforms.apt_update -> leanify.transforms.merge_runs" in res.stdout
