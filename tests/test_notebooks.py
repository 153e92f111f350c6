"""Every lesson notebook runs top to bottom in quick mode and is stored clean.

Each notebook runs in a fresh kernel started with the interpreter that runs
pytest, through a kernel spec written to a temporary folder. So the test needs
no kernel installed by hand, and a ``python3`` kernel spec of another
environment cannot be picked up by mistake. The kernel's working directory is
an empty temporary folder, so a notebook that depends on where it was started
fails here. After the top-to-bottom run, every cell runs a second time in the
same kernel, as when a learner re-runs cells.

The module also tests the notebooks' helpers in ``gan_lessons.notebook``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from gan_lessons import notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

KERNEL_NAME = "gan-lessons-test"
# Seconds one cell may run in quick mode. Each notebook states its own run time.
CELL_TIMEOUT = 600
KERNEL_STARTUP_TIMEOUT = 120


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _write_kernel_spec(folder: Path) -> Path:
    """Writes a kernel spec that starts ipykernel with this interpreter."""
    spec_dir = folder / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (gan_lessons tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return folder


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with the one kernel spec the notebook tests start."""
    return _write_kernel_spec(tmp_path_factory.mktemp("kernels"))


@pytest.fixture(scope="module")
def kernel_env(jax_cache_env: dict[str, str]) -> dict[str, str]:
    """Environment of the notebook kernels: quick mode and the shared JAX cache."""
    env = dict(jax_cache_env)
    # The shared fixture pins subprocesses to the CPU. A notebook should see
    # the machine's real devices, as a learner's kernel would, unless the
    # caller chose platforms.
    env.pop("JAX_PLATFORMS", None)
    if "JAX_PLATFORMS" in os.environ:
        env["JAX_PLATFORMS"] = os.environ["JAX_PLATFORMS"]
    env[notebook.QUICK_ENV] = "1"
    return env


def _cell_failure(name: str, index: int, cell, reason: str) -> str:
    """Returns a failure message with the cell's source, output and traceback."""
    if cell is None:
        return f"{name}: {reason} before the first cell ran"
    parts = [f"{name}, cell {index}: {reason}", "--- cell source ---", cell.source]
    outputs = cell.get("outputs", [])
    streams = "".join(
        output.get("text", "") for output in outputs if output.output_type == "stream"
    )
    if streams:
        parts += ["--- cell output (end) ---", _strip_ansi(streams[-2000:])]
    for output in outputs:
        if output.output_type == "error":
            traceback = "\n".join(output.get("traceback", []))
            parts += ["--- traceback ---", _strip_ansi(traceback)]
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel_dir: Path, kernel_env, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    current = {"index": -1, "cell": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index
        current["cell"] = cell

    kernel_manager = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]),
    )
    client = NotebookClient(
        nb,
        km=kernel_manager,
        timeout=CELL_TIMEOUT,
        startup_timeout=KERNEL_STARTUP_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
        on_cell_start=on_cell_start,
    )
    reason = None
    try:
        # The client does not own a kernel manager it was given, so it shuts
        # the kernel down only when asked through cleanup_kc.
        with client.setup_kernel(cleanup_kc=True, env=kernel_env, cwd=str(tmp_path)):
            # Top to bottom, then every cell again in the same kernel, as a
            # learner re-runs cells: nothing may depend on running only once.
            for run in (1, 2):
                current["run"] = run
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
    except CellExecutionError as error:
        reason = f"{error.ename}: {_strip_ansi(error.evalue)}"
    except CellTimeoutError:
        reason = f"timed out after {CELL_TIMEOUT} s"
    except DeadKernelError as error:
        reason = f"the kernel died ({error})"
    # Failing outside the except blocks keeps nbclient's coloured traceback
    # out of the report.
    if reason is not None:
        if current.get("run") == 2:
            reason += " (when the cells ran a second time)"
        message = _cell_failure(path.name, current["index"], current["cell"], reason)
        pytest.fail(message, pytrace=False)


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_valid_nbformat_4(path: Path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_enough_markdown(path: Path):
    nb = nbformat.read(path, as_version=4)
    markdown = sum(cell.cell_type == "markdown" for cell in nb.cells)
    code = sum(cell.cell_type == "code" for cell in nb.cells)
    assert code > 0, "notebook has no code cells"
    assert markdown >= code, f"{markdown} markdown cells but {code} code cells"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_empty_cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    empty = [index for index, cell in enumerate(nb.cells) if not cell.source.strip()]
    assert empty == [], f"cells {empty} are empty"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_stored_without_outputs(path: Path):
    # Stored notebooks keep no outputs, so diffs show only source changes. Clear
    # them with: jupyter nbconvert --clear-output --inplace notebooks/*.ipynb
    nb = nbformat.read(path, as_version=4)
    code_cells = [
        (index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"
    ]
    with_outputs = [index for index, cell in code_cells if cell.outputs]
    with_counts = [
        index for index, cell in code_cells if cell.execution_count is not None
    ]
    clear = f"clear them with jupyter nbconvert --clear-output --inplace {path}"
    assert with_outputs == [], f"cells {with_outputs} have stored outputs; {clear}"
    assert with_counts == [], f"cells {with_counts} have an execution count; {clear}"


def _ruff() -> list[str]:
    executable = shutil.which("ruff")
    return [executable] if executable else [sys.executable, "-m", "ruff"]


def test_notebooks_pass_ruff_check():
    result = subprocess.run(
        [*_ruff(), "check", "--no-cache", str(NOTEBOOK_DIR)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebooks_pass_ruff_format():
    result = subprocess.run(
        [*_ruff(), "format", "--check", "--no-cache", str(NOTEBOOK_DIR)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Helpers in gan_lessons.notebook.


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), (" Yes ", True), ("0", False), ("", False)],
)
def test_quick_mode_reads_environment(monkeypatch, value, expected):
    monkeypatch.setenv(notebook.QUICK_ENV, value)
    assert notebook.quick_mode() is expected


def test_quick_mode_off_when_unset(monkeypatch):
    monkeypatch.delenv(notebook.QUICK_ENV, raising=False)
    assert notebook.quick_mode() is False


def test_virtual_device_environment_replaces_count():
    base = {
        "XLA_FLAGS": "--xla_cpu_foo=1 --xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cuda",
    }
    env = notebook.virtual_device_environment(4, base)
    flags = env["XLA_FLAGS"].split()
    assert "--xla_force_host_platform_device_count=4" in flags
    assert "--xla_force_host_platform_device_count=2" not in flags
    assert "--xla_cpu_foo=1" in flags
    assert env["JAX_PLATFORMS"] == "cpu"
    assert base["JAX_PLATFORMS"] == "cuda"


def test_compare_data_parallel_rejects_one_device():
    with pytest.raises(ValueError, match="virtual_devices=1"):
        notebook.compare_data_parallel(virtual_devices=1)


def test_compare_data_parallel_rejects_zero_steps():
    with pytest.raises(ValueError, match="steps=0"):
        notebook.compare_data_parallel(steps=0)


def test_comparison_report_lists_steps():
    comparison = notebook.DataParallelComparison(
        platform="cpu",
        devices=2,
        virtual=True,
        batch_size=4,
        parameter_differences=(1e-7, 3e-7),
        loss_differences=(0.0, 1e-8),
        state_sharding="replicated",
        batch_sharding="split",
        batch_shards=(("cpu:0", "0:2", (2, 32, 32, 1)),),
        batch_picture="",
        seconds=1.0,
    )
    report = comparison.report()
    assert comparison.max_difference == 3e-7
    assert "2 virtual CPU devices" in report
    assert "cpu:0: rows 0:2, shape (2, 32, 32, 1)" in report
    assert "3.00e-07" in report
    assert "Batch layout" not in report


def test_check_even_split_accepts_answer(capsys):
    candidates = (16, 20, 24, 30)
    assert notebook.check_even_split({16, 24}, devices=8, candidates=candidates)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (set(), "Not answered yet"),
        ({16, 20}, "[20] would leave"),
        ({16}, "1 more"),
        ({17}, "not among"),
    ],
)
def test_check_even_split_hints(capsys, answer, hint):
    candidates = (16, 20, 24, 30)
    assert not notebook.check_even_split(answer, devices=8, candidates=candidates)
    assert hint in capsys.readouterr().out


def test_check_even_split_hides_missing_size(capsys):
    candidates = (16, 20, 24, 30)
    assert not notebook.check_even_split({16}, devices=8, candidates=candidates)
    assert "24" not in capsys.readouterr().out


def _weighted_mean(gradients, sizes):
    total = sum(sizes)
    return sum(size / total * g for g, size in zip(gradients, sizes, strict=True))


@pytest.mark.parametrize(
    ("combine", "hint"),
    [
        (lambda gradients, sizes: None, "Not answered yet"),
        (lambda gradients, sizes: np.mean(gradients, axis=0), "plain mean"),
        (lambda gradients, sizes: np.sum(gradients, axis=0), "sum of the shard"),
        (lambda gradients, sizes: np.mean(gradients), "has shape ()"),
        (lambda gradients, sizes: gradients[0], "differs from"),
    ],
)
def test_check_combine_shard_gradients_hints(capsys, combine, hint):
    assert not notebook.check_combine_shard_gradients(combine)
    output = capsys.readouterr().out
    assert hint in output
    assert "size / total" not in output


def test_check_combine_shard_gradients_accepts_weighted_mean(capsys):
    assert notebook.check_combine_shard_gradients(_weighted_mean)
    assert "Correct" in capsys.readouterr().out
