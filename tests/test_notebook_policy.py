"""Every lesson has its Colab badge, the setup cell and an up-to-date jupytext pair.

``scripts/sync_notebooks.py`` writes all three. The first tests read the stored
lessons and compare them with values taken straight from ``pyproject.toml`` and
``jupytext.toml``. The rest run the script on a small project in a temporary
folder. That outputs are cleared is tested in ``test_notebooks.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import tomllib
import types
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "sync_notebooks.py"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [path.name for path in LESSONS]
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
IMPORT_LINE = re.compile(r"^(import|from) \w", re.MULTILINE)


def _load_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("sync_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses looks the module up in sys.modules while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sync_notebooks = _load_script()


def _repository() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["project"]["urls"]["Repository"]


def _code_cells(notebook) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]


def test_lessons_found():
    assert LESSONS, "no notebooks/NN_*.ipynb found"


def test_repository_is_github_address():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", _repository())


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_badge_opens_own_notebook(path: Path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    owner_and_name = _repository().removeprefix("https://github.com/")
    target = (
        f"https://colab.research.google.com/github/{owner_and_name}"
        f"/blob/main/notebooks/{path.name}"
    )
    assert first.cell_type == "markdown"
    assert first.source == f"[![Open In Colab]({BADGE_IMAGE})]({target})"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_setup_cell_precedes_imports(path: Path):
    notebook = nbformat.read(path, as_version=4)
    code_cells = _code_cells(notebook)
    setup = [(i, c) for i, c in code_cells if "_set_up_colab" in c.source]
    assert len(setup) == 1, f"{len(setup)} setup cells"
    index, cell = setup[0]
    assert cell.id == "colab-setup"
    imports = [i for i, c in code_cells if IMPORT_LINE.search(c.source)]
    assert imports[0] == index + 1, "the setup cell is not right before the imports"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_setup_cell_equals_template(path: Path):
    notebook = nbformat.read(path, as_version=4)
    sources = [c.source for _, c in _code_cells(notebook) if c.id == "colab-setup"]
    settings = sync_notebooks.read_project_settings(ROOT)
    assert sources == [sync_notebooks.setup_cell_source(settings)]
    assert _repository() in sources[0]


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_pair_agrees_with_notebook(path: Path):
    pair = ROOT / "notebooks" / "py" / f"{path.stem}.py"
    assert pair.exists(), f"{pair} is missing; run python scripts/sync_notebooks.py"
    config = load_jupytext_config(str(path.parent))
    expected = jupytext.writes(jupytext.read(path), fmt="py:percent", config=config)
    assert pair.read_text() == expected, (
        f"{pair.name} and {path.name} differ; run python scripts/sync_notebooks.py"
    )


def test_no_pair_without_lesson():
    pairs = {path.stem for path in (ROOT / "notebooks" / "py").glob("*.py")}
    assert pairs <= {path.stem for path in LESSONS}


def test_check_mode_passes(capsys):
    status = sync_notebooks.main(["--check"])
    assert status == 0, capsys.readouterr().out


def test_precommit_runs_check_and_clears_outputs():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    entries = [hook["entry"] for hook in hooks]
    assert "python scripts/sync_notebooks.py --check" in entries
    assert any("--clear-output" in entry for entry in entries)


# The script on a small project in a temporary folder.


def _make_project(root: Path, repository: str) -> Path:
    """Writes a project with one lesson and returns the lesson's path."""
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "jupytext.toml", root)
    (root / "pyproject.toml").write_text(
        "[project]\n"
        'name = "demo"\n'
        'dependencies = ["jax>=0.10.2", "numpy>=2.0"]\n'
        "[project.urls]\n"
        f"Repository = {json.dumps(repository)}\n"
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Demo\n\nA goal."),
        nbformat.v4.new_code_cell("import math\n\nprint(math.pi)"),
        nbformat.v4.new_markdown_cell("The number above is pi."),
    ]
    path = root / "notebooks" / "01_demo.ipynb"
    nbformat.write(notebook, path)
    return path


def _run(root: Path, *args: str) -> int:
    return sync_notebooks.main([*args, "--root", str(root)])


def test_check_names_stale_lesson(tmp_path: Path, capsys):
    _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path, "--check") == 1
    output = capsys.readouterr().out
    assert "notebooks/01_demo.ipynb: the Colab badge or setup cell" in output
    assert "notebooks/py/01_demo.py: missing" in output


def test_sync_is_idempotent(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    assert _run(tmp_path) == 0
    first = (path.read_bytes(), pair.read_bytes())
    assert _run(tmp_path) == 0
    assert (path.read_bytes(), pair.read_bytes()) == first
    assert _run(tmp_path, "--check") == 0

    notebook = nbformat.read(path, as_version=4)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds == ["markdown", "markdown", "code", "code", "markdown"]
    assert "github/example/demo/blob/main/notebooks/01_demo.ipynb" in (
        notebook.cells[0].source
    )
    assert notebook.cells[2].id == "colab-setup"
    assert '"jax": "0.10.2"' in notebook.cells[2].source


def test_changed_repository_updates_badge(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("example/demo", "new/place"))
    assert _run(tmp_path, "--check") == 1
    assert _run(tmp_path) == 0
    notebook = nbformat.read(path, as_version=4)
    assert "github/new/place/blob/main" in notebook.cells[0].source
    assert "git+{repository}" in notebook.cells[2].source
    assert '"https://github.com/new/place"' in notebook.cells[2].source


def test_check_detects_edited_pair(tmp_path: Path, capsys):
    _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    pair.write_text(pair.read_text().replace("print(math.pi)", "print(math.e)"))
    capsys.readouterr()
    assert _run(tmp_path, "--check") == 1
    assert "01_demo.py: differs from notebooks/01_demo.ipynb" in (
        capsys.readouterr().out
    )


def test_sync_takes_edits_from_newer_pair(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    ids = [cell.id for cell in nbformat.read(path, as_version=4).cells]
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    pair.write_text(pair.read_text().replace("print(math.pi)", "print(math.e)"))
    later = path.stat().st_mtime + 10
    os.utime(pair, (later, later))

    assert _run(tmp_path) == 0
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[3].source == "import math\n\nprint(math.e)"
    assert [cell.id for cell in notebook.cells] == ids
    assert _run(tmp_path, "--check") == 0


def test_sync_keeps_notebook_when_it_is_newer(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    pair.write_text(pair.read_text().replace("print(math.pi)", "print(math.e)"))
    earlier = path.stat().st_mtime - 10
    os.utime(pair, (earlier, earlier))

    assert _run(tmp_path) == 0
    assert "print(math.pi)" in pair.read_text()
    assert "print(math.pi)" in nbformat.read(path, as_version=4).cells[3].source


def test_rejects_non_github_repository(tmp_path: Path):
    _make_project(tmp_path, "https://gitlab.com/example/demo")
    with pytest.raises(ValueError, match="gitlab.com/example/demo.*not a GitHub"):
        sync_notebooks.read_project_settings(tmp_path)


def test_rejects_missing_repository(tmp_path: Path):
    _make_project(tmp_path, "https://github.com/example/demo")
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text[: text.index("[project.urls]")])
    with pytest.raises(ValueError, match=r"no \[project.urls\] Repository"):
        sync_notebooks.read_project_settings(tmp_path)


def test_rejects_notebook_without_code(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type != "code"]
    nbformat.write(notebook, path)
    with pytest.raises(ValueError, match="01_demo.ipynb has no code cell"):
        _run(tmp_path)
