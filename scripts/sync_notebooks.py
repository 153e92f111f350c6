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

When the notebook and its pair differ, one of them is the source and the other
is rewritten from it. The notebook is the source, except when git shows that
only the pair changed since the last commit, or that the pair was committed
after the notebook. Then the notebook's inputs are updated from the pair, and
its metadata, cell ids and outputs are kept. When both changed since the last
commit, or both were last changed in one commit, the script changes neither
and names the options ``--from-notebook`` and ``--from-pair`` that choose. The
script prints the side it took. Outside a git repository, and for files that
git does not track, the notebook is the source. Modification times are not
used: a clone or an editor's autosave changes them without an edit.

A second run changes nothing.

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
    python scripts/sync_notebooks.py --from-pair notebooks/03_dcgan.ipynb
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
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
from jupytext.combine import combine_inputs_with_outputs
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

# GitHub owners are letters, digits and inner single hyphens. Repository names
# are letters, digits, "_", "." and "-", but "." and ".." are not names.
_GITHUB_URL = re.compile(
    r"https://github\.com/([A-Za-z0-9](?:-?[A-Za-z0-9])*)/(?!\.{1,2}$)([\w.-]+)",
    re.ASCII,
)
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
    if kept:
        print(f"Installing {requirement} with pip, keeping Colab's {kept}.")
    else:
        print(f"Installing {requirement} with pip.")
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
    pip_output = (result.stdout + result.stderr).strip().splitlines()
    # pip reports conflicts with packages outside the request even when it
    # succeeds, and --quiet does not hide them.
    conflicts = [
        line
        for line in pip_output
        if "dependency resolver" in line
        or line.endswith(("which is incompatible.", "which is not installed."))
    ]
    importlib.invalidate_caches()
    if result.returncode == 0 and importlib.util.find_spec("gan_lessons"):
        print("Installed gan-lessons.")
        if conflicts:
            print("pip reported conflicts with other preinstalled packages:")
            print("\n".join("    " + line for line in conflicts))
        return

    def release(version: str) -> tuple:
        # A pre-release such as 3.8.0rc1 sorts before 3.8, as in pip.
        match = re.match(r"(\d+(?:\.\d+)*)(\.?(?:a|b|rc|dev)\d*)?", version)
        if match is None:
            return ((), 0)
        numbers = [int(part) for part in match.group(1).split(".")]
        while numbers and numbers[-1] == 0:
            numbers.pop()
        return (tuple(numbers), 0 if match.group(2) else 1)

    too_old = [
        f"{name} {installed[name]} (gan-lessons needs {name}>={minimum})"
        for name, minimum in minimum_versions.items()
        if name in installed and release(installed[name]) < release(minimum)
    ]
    # jax finds a GPU or TPU through a plugin package, which must be upgraded
    # together with jax and jaxlib, or jax falls back to the CPU.
    names = {
        re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
        for dist in importlib.metadata.distributions()
    }
    cuda = [
        match.group(1)
        for name in names
        if (match := re.fullmatch(r"jax-cuda(\d+)-(?:plugin|pjrt)", name))
    ]
    if cuda:
        jax = f"jax[cuda{max(cuda, key=int)}]"
        pip_command = f'%pip install -U "{jax}" "{requirement}"'
    elif "libtpu" in names:
        pip_command = f'%pip install -U "jax[tpu]" "{requirement}"'
    else:
        pip_command = f'%pip install "{requirement}"'
    if result.returncode == 0:
        failure = "pip succeeded, but gan_lessons still does not import."
    else:
        failure = f"pip exited with status {result.returncode}."
    if too_old:
        cause = "Too old in this Colab runtime: " + "; ".join(too_old) + "."
    else:
        cause = "None of them is older than gan-lessons needs; see pip's output."
    message = [f"Installing {requirement} failed: {failure}"]
    if kept:
        message += [
            f"This cell kept Colab's {kept} on purpose, because replacing them in a",
            "running session breaks the preinstalled packages built against them.",
            cause,
        ]
    message += [
        "To install it without these constraints, run this in a new cell:",
        f"    {pip_command}",
        "then choose Runtime > Restart session and run the lesson from the top.",
    ]
    if pip_output:
        message.append("The last lines of pip's output:")
        message += ["    " + line for line in pip_output[-20:]]
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


def with_cell_ids(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Returns a copy of ``notebook`` in nbformat 4.5, where every cell has an id.

    Notebooks in nbformat 4.4 and older, which Colab and older tools still
    write, have no cell ids. A cell without one gets an id made from its
    position and source, so the same notebook always gets the same ids.
    """
    result = nbformat.from_dict(notebook)
    result.nbformat_minor = max(result.nbformat_minor, 5)
    used = {cell.get("id") for cell in result.cells}
    for index, cell in enumerate(result.cells):
        if cell.get("id"):
            continue
        digest = hashlib.sha256(f"{index}:{cell.source}".encode()).hexdigest()
        cell_id = digest[:8]
        while cell_id in used:
            digest = hashlib.sha256(digest.encode()).hexdigest()
            cell_id = digest[:8]
        cell.id = cell_id
        used.add(cell_id)
    return result


def with_header(
    notebook: nbformat.NotebookNode, settings: ProjectSettings, notebook_name: str
) -> nbformat.NotebookNode:
    """Returns a copy of ``notebook`` with the current badge and setup cells.

    Badge and setup cells from an earlier run are removed first, so the result
    does not depend on how many times the script ran.

    Raises:
        ValueError: If the notebook has no code cell to put the setup cell before.
    """
    result = with_cell_ids(notebook)
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


def without_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Returns a copy of ``notebook`` with outputs and execution counts cleared."""
    result = nbformat.from_dict(notebook)
    for cell in result.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return result


def has_outputs(notebook: nbformat.NotebookNode) -> bool:
    return any(
        cell.cell_type == "code" and (cell.outputs or cell.execution_count)
        for cell in notebook.cells
    )


@dataclass(frozen=True)
class Pairing:
    """The jupytext pair of one notebook: its path, format and configuration."""

    path: Path
    format: dict
    config: object

    def text(self, notebook: nbformat.NotebookNode) -> str:
        """Returns the pair's text for ``notebook`` as jupytext writes it."""
        return jupytext.writes(notebook, fmt=self.format, config=self.config)

    def agrees_with(self, notebook: nbformat.NotebookNode) -> bool:
        """Returns whether the pair exists and equals the text of ``notebook``."""
        return self.path.exists() and (
            self.path.read_text(encoding="utf-8") == self.text(notebook)
        )


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


# Which file of a pair is the source when the two differ.

NOTEBOOK = "notebook"
PAIR = "pair"


class SourceConflict(Exception):
    """Both files of a pair may contain edits, so neither may overwrite the other."""


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess | None:
    """Runs git in ``folder``, or returns None when git is not installed."""
    try:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None


def changed_since_head(path: Path) -> bool | None:
    """Returns whether the content of ``path`` differs from the last commit.

    Returns None when git cannot tell: no git, no repository, no commit yet,
    or a file that git does not track. A new modification time alone is no
    change, because git compares the content.
    """
    tracked = _git(path.parent, "ls-files", "--error-unmatch", "--", path.name)
    if tracked is None or tracked.returncode != 0:
        return None
    diff = _git(path.parent, "diff", "--quiet", "HEAD", "--", path.name)
    if diff.returncode not in (0, 1):
        return None
    return diff.returncode == 1


def committed_later(first: Path, second: Path) -> Path | None:
    """Returns the file of the two whose last commit came after the other's.

    Returns None when both were last changed in one commit or when neither
    of their last commits is an ancestor of the other.
    """
    commits = []
    for path in (first, second):
        log = _git(path.parent, "log", "-1", "--format=%H", "--", path.name)
        commits.append(log.stdout.strip() if log else "")
    if not all(commits) or commits[0] == commits[1]:
        return None
    first_commit, second_commit = commits
    for older, newer, path in (
        (first_commit, second_commit, second),
        (second_commit, first_commit, first),
    ):
        ancestor = _git(first.parent, "merge-base", "--is-ancestor", older, newer)
        if ancestor.returncode == 0:
            return path
    return None


def choose_source(
    notebook_path: Path, pair_path: Path, requested: str | None, root: Path
) -> tuple[str, str]:
    """Returns the side to keep of a pair that differs, and the reason.

    Raises:
        SourceConflict: If both files may contain edits and ``requested`` is None.
    """
    if requested is not None:
        return requested, f"--from-{requested} was given"
    notebook_changed = changed_since_head(notebook_path)
    pair_changed = changed_since_head(pair_path)
    if notebook_changed is None or pair_changed is None:
        return NOTEBOOK, "git does not track both files, so the notebook is the source"
    if pair_changed and not notebook_changed:
        return PAIR, "only the pair changed since the last commit"
    if notebook_changed and not pair_changed:
        return NOTEBOOK, "only the notebook changed since the last commit"
    if notebook_changed and pair_changed:
        ambiguity = "both changed since the last commit"
    else:
        later = committed_later(notebook_path, pair_path)
        if later == notebook_path:
            return NOTEBOOK, "the notebook was committed after the pair"
        if later == pair_path:
            return PAIR, "the pair was committed after the notebook"
        ambiguity = "both were last changed in the same commit"
    notebook_shown = display_path(notebook_path, root)
    pair_shown = display_path(pair_path, root)
    raise SourceConflict(
        f"{notebook_shown} and {pair_shown} differ and {ambiguity}, so either may "
        "hold edits. Compare them, then run "
        f"python scripts/sync_notebooks.py --from-notebook {notebook_shown} to "
        f"overwrite the pair, or --from-pair {notebook_shown} to update the "
        "notebook from the pair."
    )


def update_from_pair(
    notebook: nbformat.NotebookNode, pairing: Pairing
) -> nbformat.NotebookNode:
    """Returns ``notebook`` with the cells of its pair and its own metadata.

    Cells that the pair keeps get back their ids, metadata and outputs. The
    pair contains no metadata, because ``jupytext.toml`` filters all of it out.
    """
    inputs = jupytext.read(pairing.path, fmt=pairing.format)
    result = combine_inputs_with_outputs(inputs, notebook, fmt=pairing.format)
    result.metadata = notebook.metadata
    metadata = {cell.get("id"): cell.metadata for cell in notebook.cells}
    for cell in result.cells:
        if cell.get("id") in metadata:
            cell.metadata = metadata[cell.id]
    return result


@dataclass(frozen=True)
class Problem:
    """An out-of-date file found by ``--check``."""

    message: str
    # Whether running the script without --check fixes it.
    fixed_by_sync: bool = True


def check_notebook(
    path: Path, settings: ProjectSettings, root: Path, requested: str | None
) -> list[Problem]:
    """Returns what is out of date in one lesson and its pair, or ``[]``."""
    problems = []
    notebook = nbformat.read(path, as_version=4)
    shown = display_path(path, root)

    if has_outputs(notebook):
        problems.append(
            Problem(
                f"{shown}: has stored outputs; clear them with "
                f"jupyter nbconvert --clear-output --inplace {shown}",
                fixed_by_sync=False,
            )
        )

    cleared = without_outputs(notebook)
    expected = with_header(cleared, settings, path.name)
    if notebook_text(expected) != notebook_text(cleared):
        if any(not cell.get("id") for cell in notebook.cells):
            problems.append(
                Problem(
                    f"{shown}: nbformat 4.{notebook.nbformat_minor} without cell "
                    "ids; a sync upgrades it to 4.5"
                )
            )
        else:
            problems.append(
                Problem(f"{shown}: the Colab badge or setup cell is missing or stale")
            )

    pairing = find_pairing(path)
    pair = display_path(pairing.path, root)
    if not pairing.path.exists():
        problems.append(Problem(f"{pair}: missing (the jupytext pair of {shown})"))
    elif not pairing.agrees_with(notebook):
        try:
            side, reason = choose_source(path, pairing.path, requested, root)
        except SourceConflict as error:
            problems.append(Problem(f"{pair}: {error}", fixed_by_sync=False))
        else:
            source = shown if side == NOTEBOOK else pair
            problems.append(
                Problem(
                    f"{pair}: differs from {shown}; a sync keeps {source} ({reason})"
                )
            )
    return problems


def sync_notebook(
    path: Path, settings: ProjectSettings, root: Path, requested: str | None
) -> list[Path]:
    """Updates one lesson and its pair, and returns the files it rewrote.

    Raises:
        SourceConflict: If the files differ and both may contain edits.
    """
    pairing = find_pairing(path)
    notebook = nbformat.read(path, as_version=4)
    if pairing.path.exists() and not pairing.agrees_with(notebook):
        side, reason = choose_source(path, pairing.path, requested, root)
        if side == PAIR:
            notebook = update_from_pair(notebook, pairing)
            source, target = pairing.path, path
        else:
            source, target = path, pairing.path
        print(
            f"{display_path(target, root)}: updated from "
            f"{display_path(source, root)} ({reason})"
        )

    written = []
    updated = with_header(notebook, settings, path.name)
    nbformat.validate(updated)
    text = notebook_text(updated)
    if path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if not pairing.agrees_with(updated):
        pairing.path.parent.mkdir(parents=True, exist_ok=True)
        pairing.path.write_text(pairing.text(updated), encoding="utf-8")
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


def folder_problems(root: Path, notebooks: Sequence[Path]) -> list[Problem]:
    """Returns orphaned pairs and notebooks that are not lessons."""
    problems = []
    for path in orphaned_pairs(root, notebooks):
        shown = display_path(path, root)
        problems.append(
            Problem(
                f"{shown}: the jupytext pair of no lesson (there is no "
                f"notebooks/{path.stem}.ipynb); if the lesson was renamed or "
                f"removed, delete the pair: git rm {shown}",
                fixed_by_sync=False,
            )
        )
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        if not fnmatch.fnmatch(path.name, LESSON_PATTERN):
            problems.append(
                Problem(
                    f"{display_path(path, root)}: not a lesson, because lesson "
                    "names have the form NN_name.ipynb (e.g. 10_new_topic.ipynb); "
                    "rename it, or move it out of notebooks/",
                    fixed_by_sync=False,
                )
            )
    return problems


def lesson_paths(paths: Sequence[Path], root: Path) -> list[Path]:
    """Returns the lessons named on the command line, or all lessons.

    Raises:
        ValueError: If a path is not an existing lesson notebook.
    """
    if not paths:
        return sorted((root / "notebooks").glob(LESSON_PATTERN))
    lessons = []
    for path in paths:
        if path.suffix == ".py":
            notebook = display_path(root / "notebooks" / f"{path.stem}.ipynb", root)
            raise ValueError(
                f"{path} is a jupytext pair; pass its notebook instead: {notebook}"
            )
        if path.suffix != ".ipynb" or not fnmatch.fnmatch(path.name, LESSON_PATTERN):
            raise ValueError(
                f"{path} is not a lesson notebook; lesson names have the form "
                "NN_name.ipynb (e.g. 03_dcgan.ipynb)"
            )
        if not path.is_file():
            raise ValueError(f"{path} not found")
        lessons.append(path.resolve())
    return lessons


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
        help="change nothing; exit with status 1 and name each out-of-date file, "
        "and the file that a sync would keep",
    )
    sources = parser.add_mutually_exclusive_group()
    sources.add_argument(
        "--from-notebook",
        dest="source",
        action="store_const",
        const=NOTEBOOK,
        help="where a notebook and its pair differ, overwrite the pair",
    )
    sources.add_argument(
        "--from-pair",
        dest="source",
        action="store_const",
        const=PAIR,
        help="where a notebook and its pair differ, update the notebook from the pair",
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
    try:
        notebooks = lesson_paths(args.notebooks, root)
        settings = read_project_settings(root)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not notebooks:
        print(f"No lessons match {root / 'notebooks' / LESSON_PATTERN}.")
        return 1
    problems = [] if args.notebooks else folder_problems(root, notebooks)

    if args.check:
        for path in notebooks:
            try:
                problems += check_notebook(path, settings, root, args.source)
            except ValueError as error:
                problems.append(Problem(str(error), fixed_by_sync=False))
        for problem in problems:
            print(problem.message)
        if any(problem.fixed_by_sync for problem in problems):
            print("Run: python scripts/sync_notebooks.py")
        return 1 if problems else 0

    status = 0
    for path in notebooks:
        try:
            written = sync_notebook(path, settings, root, args.source)
        except (ValueError, SourceConflict) as error:
            print(f"error: {error}", file=sys.stderr)
            status = 2
            continue
        for written_path in written:
            print(f"wrote {display_path(written_path, root)}")
    for problem in problems:
        print(f"warning: {problem.message}")
    if problems and status == 0:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
