"""environment.yml, pyproject.toml, README and CI stay in step."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_python_meets_requires_python():
    requires = _pyproject()["project"]["requires-python"]
    minimum = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires)
    assert minimum, f"requires-python {requires!r} is not of the form >=X.Y"
    pythons = [
        dep
        for dep in _environment()["dependencies"]
        if isinstance(dep, str) and dep.startswith("python")
    ]
    assert len(pythons) == 1
    version = re.fullmatch(r"python=(\d+)\.(\d+)", pythons[0])
    assert version, f"{pythons[0]!r} does not pin python=X.Y"
    as_tuple = (int(version[1]), int(version[2]))
    assert as_tuple >= (int(minimum[1]), int(minimum[2]))


def test_environment_installs_package_with_extras():
    pip_sections = [
        dep["pip"] for dep in _environment()["dependencies"] if isinstance(dep, dict)
    ]
    assert len(pip_sections) == 1
    (pip,) = pip_sections
    installs = [line for line in pip if re.match(r"-e\s+", line)]
    assert len(installs) == 1, f"expected one editable install, found {pip}"
    extras = re.search(r"\[([^\]]*)\]", installs[0])
    assert extras, f"{installs[0]!r} installs no extras"
    requested = {name.strip() for name in extras[1].split(",")}
    declared = set(_pyproject()["project"]["optional-dependencies"])
    assert requested <= declared, f"unknown extras {requested - declared}"
    assert "test" in requested


def test_environment_lists_no_duplicate_packages():
    # Every package comes from pyproject.toml through the editable install, so
    # a second source of versions in environment.yml could drift from it.
    conda = [d for d in _environment()["dependencies"] if isinstance(d, str)]
    names = {re.split(r"[=<>]", dep)[0] for dep in conda}
    assert names == {"python", "pip"}
    pip = [d for d in _environment()["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert all(line.startswith("-e ") for line in pip)


def test_ci_runs_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- test-command -->\s*```(?:bash|sh)?\n(.*?)```", readme, re.S
    )
    assert match, "README has no block marked <!-- test-command -->"
    command = match[1].strip().splitlines()[-1]
    ci = (ROOT / ".ci" / "run").read_text()
    test_line = command.split("&&")[-1].strip()
    assert test_line in ci, f"{test_line!r} from the README is not run by .ci/run"
