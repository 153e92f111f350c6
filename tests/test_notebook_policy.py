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
import subprocess
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
    assert _run(tmp_path) == 2
    assert "01_demo.ipynb has no code cell" in capsys.readouterr().err


@pytest.mark.parametrize(
    "repository",
    [
        "https://github.com/me/..",
        "https://github.com/me/.",
        "https://github.com/-me/demo",
        "https://github.com/me/demo/tree/main",
        "https://gitlab.com/example/demo",
    ],
)
def test_bad_repository_prints_message(tmp_path: Path, capsys, repository):
    _make_project(tmp_path, repository)
    assert _run(tmp_path) == 2
    output = capsys.readouterr()
    assert "not a GitHub address of the form https://github.com/OWNER/NAME" in (
        output.err
    )
    assert "Traceback" not in output.err


def test_pair_argument_names_notebook(tmp_path: Path, capsys):
    _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    capsys.readouterr()
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    assert _run(tmp_path, str(pair)) == 2
    error = capsys.readouterr().err
    assert "is a jupytext pair; pass its notebook instead" in error
    assert error.endswith("pass its notebook instead: notebooks/01_demo.ipynb\n")


def test_check_names_stored_outputs(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.execution_count = 1
            cell.outputs = [nbformat.v4.new_output("stream", text="ok\n")]
    nbformat.write(notebook, path)
    capsys.readouterr()
    assert _run(tmp_path, "--check") == 1
    output = capsys.readouterr().out
    assert "notebooks/01_demo.ipynb: has stored outputs" in output
    assert "jupyter nbconvert --clear-output --inplace notebooks/01_demo.ipynb" in (
        output
    )
    assert "badge" not in output
    assert "Run: python scripts/sync_notebooks.py" not in output


def test_check_names_orphaned_pair(tmp_path: Path, capsys):
    _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    old = tmp_path / "notebooks" / "py" / "00_old.py"
    old.write_text("# %%\nprint(1)\n")
    capsys.readouterr()
    assert _run(tmp_path, "--check") == 1
    output = capsys.readouterr().out
    assert "git rm notebooks/py/00_old.py" in output
    assert "Run: python scripts/sync_notebooks.py" not in output
    assert _run(tmp_path) == 1
    assert "git rm notebooks/py/00_old.py" in capsys.readouterr().out
    assert old.exists()


def test_check_names_non_lesson_notebook(tmp_path: Path, capsys):
    _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    nbformat.write(
        nbformat.v4.new_notebook(), tmp_path / "notebooks" / "Untitled.ipynb"
    )
    capsys.readouterr()
    assert _run(tmp_path, "--check") == 1
    output = capsys.readouterr().out
    assert "notebooks/Untitled.ipynb: not a lesson" in output
    assert "NN_name.ipynb" in output
    assert not (tmp_path / "notebooks" / "py" / "Untitled.py").exists()


def test_sync_upgrades_nbformat_4_4(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    notebook = json.loads(path.read_text())
    notebook["nbformat_minor"] = 4
    for cell in notebook["cells"]:
        del cell["id"]
    path.write_text(json.dumps(notebook))
    assert _run(tmp_path) == 0
    upgraded = nbformat.read(path, as_version=4)
    assert upgraded.nbformat_minor == 5
    ids = [cell.get("id") for cell in upgraded.cells]
    assert all(ids)
    assert len(set(ids)) == len(ids)
    nbformat.validate(upgraded)
    assert _run(tmp_path, "--check") == 0


def test_check_names_nbformat_4_4(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    notebook = json.loads(path.read_text())
    notebook["nbformat_minor"] = 4
    for cell in notebook["cells"]:
        del cell["id"]
    path.write_text(json.dumps(notebook))
    capsys.readouterr()
    assert _run(tmp_path, "--check") == 1
    assert "nbformat 4.4 without cell ids" in capsys.readouterr().out


# Which side of a differing pair the script keeps, in temporary git
# repositories. Modification times are set against the expected side, so a
# test fails if the script goes by them.


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-C",
            str(root),
            *args,
        ],
        check=True,
        capture_output=True,
    )


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)


def _synced_repository(root: Path) -> tuple[Path, Path]:
    """Returns the lesson and pair of a synced demo project in a new repository."""
    path = _make_project(root, "https://github.com/example/demo")
    assert _run(root) == 0
    _git(root, "init", "-q")
    _commit(root, "Add demo lesson")
    return path, root / "notebooks" / "py" / "01_demo.py"


def _edit_pair(pair: Path) -> None:
    pair.write_text(pair.read_text().replace("print(math.pi)", "print(math.e)"))


def _edit_notebook(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[-1].source = "The number above is tau / 2."
    nbformat.write(notebook, path)


def _make_newer(path: Path, than: Path) -> None:
    later = than.stat().st_mtime + 10
    os.utime(path, (later, later))


def _lesson_sources(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


def test_pair_edit_survives_touched_notebook(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    ids = [cell.id for cell in nbformat.read(path, as_version=4).cells]
    _edit_pair(pair)
    _make_newer(path, than=pair)
    capsys.readouterr()

    assert _run(tmp_path, "--check") == 1
    assert "a sync keeps notebooks/py/01_demo.py" in capsys.readouterr().out
    assert _run(tmp_path) == 0
    output = capsys.readouterr().out
    assert "notebooks/01_demo.ipynb: updated from notebooks/py/01_demo.py" in output
    assert "only the pair changed" in output
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[3].source == "import math\n\nprint(math.e)"
    assert [cell.id for cell in notebook.cells] == ids
    assert notebook.cells[2].metadata["cellView"] == "form"
    assert _run(tmp_path, "--check") == 0


def test_notebook_edit_survives_newer_pair(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _edit_notebook(path)
    _make_newer(pair, than=path)
    capsys.readouterr()

    assert _run(tmp_path) == 0
    output = capsys.readouterr().out
    assert "notebooks/py/01_demo.py: updated from notebooks/01_demo.ipynb" in output
    assert "tau / 2" in pair.read_text()
    assert _lesson_sources(path)[-1] == "The number above is tau / 2."


def test_committed_notebook_edit_survives_clone(tmp_path: Path, capsys):
    # A commit changed only the notebook, and a clone wrote the pair last.
    path, pair = _synced_repository(tmp_path)
    _edit_notebook(path)
    _commit(tmp_path, "Edit the notebook only")
    _make_newer(pair, than=path)
    capsys.readouterr()

    assert _run(tmp_path) == 0
    assert "the notebook was committed after the pair" in capsys.readouterr().out
    assert "tau / 2" in pair.read_text()
    assert _lesson_sources(path)[-1] == "The number above is tau / 2."


def test_committed_pair_edit_survives_clone(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _edit_pair(pair)
    _commit(tmp_path, "Edit the pair only")
    _make_newer(path, than=pair)
    capsys.readouterr()

    assert _run(tmp_path) == 0
    assert "the pair was committed after the notebook" in capsys.readouterr().out
    assert "print(math.e)" in _lesson_sources(path)[3]


def _assert_conflict(root: Path, path: Path, pair: Path, capsys, reason: str):
    before = (path.read_bytes(), pair.read_bytes())
    capsys.readouterr()
    assert _run(root) == 2
    error = capsys.readouterr().err
    assert "notebooks/01_demo.ipynb and notebooks/py/01_demo.py differ" in error
    assert reason in error
    assert "--from-notebook" in error
    assert "--from-pair" in error
    assert (path.read_bytes(), pair.read_bytes()) == before
    assert _run(root, "--check") == 1
    assert "--from-pair" in capsys.readouterr().out


def test_both_edited_stops_sync(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _edit_notebook(path)
    _edit_pair(pair)
    _assert_conflict(tmp_path, path, pair, capsys, "both changed since the last")


def test_both_in_one_commit_stops_sync(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _edit_notebook(path)
    _edit_pair(pair)
    _commit(tmp_path, "Edit both files differently")
    _assert_conflict(tmp_path, path, pair, capsys, "in the same commit")


def test_from_pair_resolves_conflict(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _edit_notebook(path)
    _edit_pair(pair)
    assert _run(tmp_path, "--from-pair") == 0
    sources = _lesson_sources(path)
    assert "print(math.e)" in sources[3]
    assert sources[-1] == "The number above is pi."
    assert "--from-pair was given" in capsys.readouterr().out


def test_from_notebook_resolves_conflict(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _edit_notebook(path)
    _edit_pair(pair)
    assert _run(tmp_path, "--from-notebook") == 0
    assert "print(math.pi)" in pair.read_text()
    assert "tau / 2" in pair.read_text()


def test_without_git_notebook_is_source(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    _edit_pair(pair)
    _make_newer(pair, than=path)
    capsys.readouterr()
    assert _run(tmp_path) == 0
    assert "git does not track both files" in capsys.readouterr().out
    assert "print(math.pi)" in pair.read_text()


def test_without_git_from_pair_takes_pair(tmp_path: Path, capsys):
    path = _make_project(tmp_path, "https://github.com/example/demo")
    assert _run(tmp_path) == 0
    pair = tmp_path / "notebooks" / "py" / "01_demo.py"
    _edit_pair(pair)
    assert _run(tmp_path, "--from-pair") == 0
    assert "print(math.e)" in _lesson_sources(path)[3]


def test_untracked_pair_notebook_is_source(tmp_path: Path, capsys):
    path, pair = _synced_repository(tmp_path)
    _git(tmp_path, "rm", "-q", "--cached", "notebooks/py/01_demo.py")
    _edit_pair(pair)
    capsys.readouterr()
    assert _run(tmp_path) == 0
    assert "git does not track both files" in capsys.readouterr().out
    assert "print(math.pi)" in pair.read_text()
