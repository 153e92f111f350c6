"""Write the Colab badge and setup cell into every lesson, and its jupytext pair.

For each lesson ``notebooks/NN_*.ipynb`` the script

* puts an "Open in Colab" badge in a markdown cell of its own at the top;
* puts the setup cell, the same in every lesson, right before the first code
  cell that imports a module. On Google Colab that cell installs this package
  from the repository address without upgrading Colab's own jax, jaxlib, numpy,
  matplotlib and ipywidgets, and turns on Colab's custom widget manager.
  Elsewhere it does nothing;
* writes the lesson's ``py:percent`` pair, at the path that ``jupytext.toml``
  sets (``notebooks/py/NN_*.py``).

When a pair is newer than its notebook and differs from it, the notebook is
first updated from the pair with ``jupytext --sync``, so an edit made in the
``.py`` file is kept. Otherwise the notebook is the source. A second run
changes nothing.

The repository address comes from ``[project.urls] Repository`` in
``pyproject.toml``, and the minimum versions that the setup cell names when pip
fails come from ``[project] dependencies``.

NOTE: https://github.com/gan-lessons/gan_lessons is the address where the
project is to be published, and nothing is there yet, so the badges and the
Colab install fail until it is. Changing ``Repository`` in ``pyproject.toml``
and running this script again updates every notebook. The Colab path of the
setup cell is tested with a simulated ``google.colab`` module, not on Colab.

Usage::

    python scripts/sync_notebooks.py                  # update every lesson
    python scripts/sync_notebooks.py --check          # exit 1 if one is out of date
    python scripts/sync_notebooks.py notebooks/03_dcgan.ipynb
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from jupytext.config import load_jupytext_config
from jupytext.paired_paths import paired_paths

ROOT = Path(__file__).resolve().parent.parent
LESSON_PATTERN = "[0-9][0-9]_*.ipynb"

BADGE_CELL_ID = "colab-badge"
SETUP_CELL_ID = "colab-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_PREFIX = "[![Open In Colab]("
SETUP_TITLE = "# @title Colab setup (does nothing outside Google Colab)"

# Packages that the setup cell pins at Colab's installed versions.
PINNED_PACKAGES = ("jax", "jaxlib", "numpy", "matplotlib", "ipywidgets")

_GITHUB_URL = re.compile(r"https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9_.-]+)")
_IMPORT_LINE = re.compile(r"^\s*(import|from)\s+\w", re.MULTILINE)
_MINIMUM_VERSION = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)")

# The setup cell. __REPOSITORY__ and __MINIMUM_VERSIONS__ are replaced with
# Python literals, and the result must pass `ruff check` and `ruff format`.
_SETUP_TEMPLATE = r"""
__TITLE__
# On Google Colab this cell installs gan_lessons from the project's repository
# and turns on Colab's widget manager, so the lessons' widgets render.
# Everywhere else it does nothing. scripts/sync_notebooks.py writes this cell
# into every lesson, so change it there.


def _set_up_colab() -> None:
    import sys

    # Colab's IPython shell is a class in google.colab._shell, so google.colab
    # is imported before the first cell runs. find_spec would also match a
    # local Jupyter that merely has the google-colab package installed.
    if "google.colab" not in sys.modules:
        return

    import importlib.metadata
    import importlib.util
    import os
    import re
    import subprocess
    import tempfile

    from google.colab import output

    repository = __REPOSITORY__
    requirement = f"gan-lessons @ git+{repository}"
    minimum_versions = __MINIMUM_VERSIONS__

    # The custom widget manager loads the widgets' front end from Google's CDN
    # in place of Colab's built-in one. Calling it again changes nothing.
    output.enable_custom_widget_manager()
    if importlib.util.find_spec("gan_lessons") is not None:
        print("gan_lessons is already installed.")
        return

    # Colab's own builds stay: pip may not replace a package that other
    # preinstalled packages were compiled against while the session runs.
    installed = {}
    for name in __PINNED_PACKAGES__:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    kept = ", ".join(f"{name} {version}" for name, version in installed.items())
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
        file.writelines(f"{name}=={version}\n" for name, version in installed.items())
    print(f"Installing {requirement} with pip, keeping Colab's {kept}.")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--constraint",
                file.name,
                requirement,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.remove(file.name)
    importlib.invalidate_caches()
    if result.returncode == 0 and importlib.util.find_spec("gan_lessons"):
        print("Installed gan-lessons.")
        return

    def release(version: str) -> tuple[int, ...]:
        match = re.match(r"\d+(\.\d+)*", version)
        numbers = [int(part) for part in match.group().split(".")] if match else []
        while numbers and numbers[-1] == 0:
            numbers.pop()
        return tuple(numbers)

    too_old = [
        f"{name} {installed[name]} (gan-lessons needs {name}>={minimum})"
        for name, minimum in minimum_versions.items()
        if name in installed and release(installed[name]) < release(minimum)
    ]
    if result.returncode == 0:
        failure = "pip succeeded, but gan_lessons still does not import."
    else:
        failure = f"pip exited with status {result.returncode}."
    if too_old:
        cause = "Too old in this Colab runtime: " + "; ".join(too_old) + "."
    else:
        cause = "None of them is older than gan-lessons needs; see pip's output."
    pip_output = (result.stdout + result.stderr).strip().splitlines()[-20:]
    message = [
        f"Installing {requirement} failed: {failure}",
        f"This cell kept Colab's {kept} on purpose, because replacing them in a",
        "running session breaks the preinstalled packages built against them.",
        cause,
        "To upgrade them anyway, run this in a new cell:",
        f'    %pip install "{requirement}"',
        "then choose Runtime > Restart session and run the lesson from the top.",
        "The last lines of pip's output:",
        *("    " + line for line in pip_output),
    ]
    print("\n".join(message), file=sys.stderr)


_set_up_colab()
del _set_up_colab
"""


@dataclass(frozen=True)
class ProjectSettings:
    """Values from ``pyproject.toml`` that the generated cells contain."""

    repository: str
    owner: str
    name: str
    minimum_versions: dict[str, str]


def read_project_settings(root: Path) -> ProjectSettings:
    """Reads the repository address and the pinned packages' minimum versions.

    Raises:
        ValueError: If ``[project.urls] Repository`` is missing or is not a
            GitHub repository address, which Colab needs to open a notebook.
    """
    pyproject = root / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    repository = project.get("urls", {}).get("Repository")
    if repository is None:
        raise ValueError(
            f"{pyproject} has no [project.urls] Repository; add the GitHub address "
            'of the project, e.g. Repository = "https://github.com/OWNER/NAME".'
        )
    repository = repository.rstrip("/").removesuffix(".git")
    match = _GITHUB_URL.fullmatch(repository)
    if match is None:
        raise ValueError(
            f"Repository = {repository!r} in {pyproject} is not a GitHub address "
            "of the form https://github.com/OWNER/NAME. Colab opens notebooks "
            "only from GitHub addresses of that form."
        )
    minimum_versions = {}
    for dependency in project.get("dependencies", []):
        version = _MINIMUM_VERSION.match(dependency)
        if version and version.group(1).lower() in PINNED_PACKAGES:
            minimum_versions[version.group(1).lower()] = version.group(2)
    return ProjectSettings(
        repository=repository,
        owner=match.group(1),
        name=match.group(2),
        minimum_versions=minimum_versions,
    )


def setup_cell_source(settings: ProjectSettings) -> str:
    """Returns the source of the setup cell for ``settings``."""
    # One entry per line with a trailing comma, as `ruff format` keeps it.
    entries = "".join(
        f"        {json.dumps(name)}: {json.dumps(version)},\n"
        for name, version in settings.minimum_versions.items()
    )
    minimum_versions = "{\n" + entries + "    }" if entries else "{}"
    pinned = "(" + ", ".join(json.dumps(name) for name in PINNED_PACKAGES) + ")"
    source = (
        _SETUP_TEMPLATE.replace("__TITLE__", SETUP_TITLE)
        .replace("__REPOSITORY__", json.dumps(settings.repository))
        .replace("__MINIMUM_VERSIONS__", minimum_versions)
        .replace("__PINNED_PACKAGES__", pinned)
    )
    return source.strip("\n")


def badge_cell_source(settings: ProjectSettings, notebook_name: str) -> str:
    """Returns the markdown of the badge that opens ``notebook_name`` in Colab."""
    target = (
        f"https://colab.research.google.com/github/{settings.owner}/"
        f"{settings.name}/blob/main/notebooks/{notebook_name}"
    )
    return f"{BADGE_PREFIX}{BADGE_IMAGE})]({target})"


def is_badge_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(BADGE_PREFIX)


def is_setup_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.startswith("# @title Colab setup")


def with_header(
    notebook: nbformat.NotebookNode, settings: ProjectSettings, notebook_name: str
) -> nbformat.NotebookNode:
    """Returns a copy of ``notebook`` with the current badge and setup cells.

    Badge and setup cells from an earlier run are removed first, so the result
    does not depend on how many times the script ran.

    Raises:
        ValueError: If the notebook has no code cell to put the setup cell before.
    """
    result = nbformat.from_dict(notebook)
    cells = [
        cell
        for cell in result.cells
        if not (is_badge_cell(cell) or is_setup_cell(cell))
    ]
    taken = {cell.get("id") for cell in cells} & {BADGE_CELL_ID, SETUP_CELL_ID}
    if taken:
        raise ValueError(
            f"{notebook_name}: cell id(s) {sorted(taken)} are reserved for the "
            "Colab badge and setup cells; rename those cells."
        )
    code_indices = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    if not code_indices:
        raise ValueError(
            f"{notebook_name} has no code cell, so there is no imports cell to "
            "put the Colab setup cell before."
        )
    imports = [i for i in code_indices if _IMPORT_LINE.search(cells[i].source)]
    position = imports[0] if imports else code_indices[0]

    setup = nbformat.v4.new_code_cell(setup_cell_source(settings))
    setup.id = SETUP_CELL_ID
    # Colab shows a cell with "cellView": "form" as its title with the code
    # folded. JupyterLab and Notebook 7 fold the code of a cell whose
    # "source_hidden" is true, and a click on the fold shows it.
    setup.metadata["cellView"] = "form"
    setup.metadata["jupyter"] = {"source_hidden": True}
    cells.insert(position, setup)

    badge = nbformat.v4.new_markdown_cell(badge_cell_source(settings, notebook_name))
    badge.id = BADGE_CELL_ID
    cells.insert(0, badge)
    result.cells = cells
    return result


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """Returns the notebook as stored: nbformat's JSON and a final newline."""
    return nbformat.writes(notebook) + "\n"


@dataclass(frozen=True)
class Pairing:
    """The jupytext pair of one notebook: its path, format and configuration."""

    path: Path
    format: dict
    config: object

    def text(self, notebook: nbformat.NotebookNode) -> str:
        """Returns the pair's text for ``notebook`` as jupytext writes it."""
        return jupytext.writes(notebook, fmt=self.format, config=self.config)


def find_pairing(notebook_path: Path) -> Pairing:
    """Returns the ``.py`` pair that ``jupytext.toml`` sets for ``notebook_path``.

    Raises:
        ValueError: If no jupytext configuration pairs the notebook with a
            ``.py`` file.
    """
    config = load_jupytext_config(str(notebook_path.parent))
    formats = config.default_formats(str(notebook_path)) if config else None
    if not formats:
        raise ValueError(
            f"No jupytext configuration pairs {notebook_path} with a .py file; "
            "jupytext.toml at the repository root sets the pairing."
        )
    for path, fmt in paired_paths(str(notebook_path), "ipynb", formats):
        if fmt.get("extension") == ".py":
            return Pairing(path=Path(path), format=fmt, config=config)
    raise ValueError(
        f"jupytext.toml pairs {notebook_path} with {formats!r}, which has no .py "
        'format; expected e.g. "notebooks/py/" = "py:percent".'
    )


def display_path(path: Path, root: Path) -> str:
    """Returns ``path`` relative to ``root`` when it is inside it."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def check_notebook(path: Path, settings: ProjectSettings, root: Path) -> list[str]:
    """Returns what is out of date in one lesson and its pair, or ``[]``."""
    problems = []
    notebook = nbformat.read(path, as_version=4)
    expected = with_header(notebook, settings, path.name)
    shown = display_path(path, root)
    if notebook_text(expected) != notebook_text(notebook):
        problems.append(f"{shown}: the Colab badge or setup cell is missing or stale")
    pairing = find_pairing(path)
    pair = display_path(pairing.path, root)
    if not pairing.path.exists():
        problems.append(f"{pair}: missing (the jupytext pair of {shown})")
    elif pairing.path.read_text(encoding="utf-8") != pairing.text(notebook):
        problems.append(f"{pair}: differs from {shown}")
    return problems


def sync_notebook(path: Path, settings: ProjectSettings) -> list[Path]:
    """Updates one lesson and its pair, and returns the files it rewrote."""
    pairing = find_pairing(path)
    written = []
    notebook = nbformat.read(path, as_version=4)
    if (
        pairing.path.exists()
        and pairing.path.stat().st_mtime > path.stat().st_mtime
        and pairing.path.read_text(encoding="utf-8") != pairing.text(notebook)
    ):
        # The pair was edited last: take its inputs, keep the notebook's
        # metadata, cell ids and outputs. jupytext runs in a subprocess: its
        # command-line function, called in this process under pytest's output
        # capture, left sys.stderr closed at exit.
        command = [sys.executable, "-m", "jupytext", "--sync", str(pairing.path)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"Updating {path.name} from {pairing.path.name} failed: "
                f"{' '.join(command)} exited with status {result.returncode}:\n"
                f"{result.stderr}"
            )
        notebook = nbformat.read(path, as_version=4)
        written.append(path)

    updated = with_header(notebook, settings, path.name)
    text = notebook_text(updated)
    if path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        if path not in written:
            written.append(path)

    pair_text = pairing.text(updated)
    if not pairing.path.exists() or pairing.path.read_text(encoding="utf-8") != (
        pair_text
    ):
        pairing.path.parent.mkdir(parents=True, exist_ok=True)
        pairing.path.write_text(pair_text, encoding="utf-8")
        written.append(pairing.path)
    return written


def orphaned_pairs(root: Path, notebooks: Sequence[Path]) -> list[Path]:
    """Returns ``.py`` files in the pairs' folder that belong to no lesson."""
    pairs = {find_pairing(path).path.resolve() for path in notebooks}
    folders = {path.parent for path in pairs}
    return sorted(
        path
        for folder in folders
        for path in folder.glob("*.py")
        if path.resolve() not in pairs
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help=f"lessons to process (default: notebooks/{LESSON_PATTERN})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit with status 1 and name each out-of-date file",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="repository root with pyproject.toml and jupytext.toml "
        "(default: the folder above this script)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    notebooks = [path.resolve() for path in args.notebooks] or sorted(
        (root / "notebooks").glob(LESSON_PATTERN)
    )
    if not notebooks:
        print(f"No lessons match {root / 'notebooks' / LESSON_PATTERN}.")
        return 1
    settings = read_project_settings(root)

    if args.check:
        problems = [
            problem
            for path in notebooks
            for problem in check_notebook(path, settings, root)
        ]
        if not args.notebooks:
            problems += [
                f"{display_path(path, root)}: no lesson notebook of this name; "
                "delete it or restore the notebook"
                for path in orphaned_pairs(root, notebooks)
            ]
        for problem in problems:
            print(problem)
        if problems:
            print(
                f"{len(problems)} file(s) out of date. Run: "
                "python scripts/sync_notebooks.py"
            )
            return 1
        return 0

    for path in notebooks:
        for written in sync_notebook(path, settings):
            print(f"updated {display_path(written, root)}")
    for path in orphaned_pairs(root, notebooks) if not args.notebooks else []:
        print(f"warning: {display_path(path, root)} belongs to no lesson notebook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
