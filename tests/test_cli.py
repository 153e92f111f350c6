"""Tests for the ``train`` and ``sample`` commands of gan_lessons.cli.

Most tests call ``main`` in this process, where the tiny model's programs are
already compiled. One test runs ``python -m gan_lessons`` in a subprocess to
check the module entry point and its exit status.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gan_lessons.checkpoint import Checkpointer
from gan_lessons.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY_RUN = [
    "--width",
    "8",
    "--batch-size",
    "8",
    "--log-every",
    "2",
    "--sample-every",
    "3",
    "--checkpoint-every",
    "4",
    "--data",
    "bundled",
    "--no-progress",
]


def _train_args(out: Path, steps: int, *extra: str) -> list[str]:
    return ["train", "--steps", str(steps), *TINY_RUN, "--out", str(out), *extra]


def _metric_steps(out: Path) -> list[int]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, str]:
    """A 6-step training run and its standard output, which no test changes."""
    out = tmp_path_factory.mktemp("cli") / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(_train_args(out, 6))
    assert code == 0
    return out, stdout.getvalue()


@pytest.fixture(scope="module")
def run_dir(finished_run) -> Path:
    """The output folder of ``finished_run``."""
    return finished_run[0]


@pytest.fixture
def run_copy(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of ``run_dir`` that a test may extend."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def test_train_writes_outputs(run_dir):
    for name in ("samples.png", "losses.png", "metrics.jsonl", "config.json"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "samples.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (run_dir / "losses.png").read_bytes().startswith(PNG_SIGNATURE)


def test_train_writes_sample_grids(run_dir):
    grids = sorted(path.name for path in (run_dir / "samples").glob("step_*.png"))
    assert grids == ["step_000003.png", "step_000006.png"]


def test_train_writes_checkpoints(run_dir):
    assert Checkpointer(run_dir / "checkpoints").steps() == [4, 6]


def test_train_metrics_in_order(run_dir):
    assert _metric_steps(run_dir) == [1, 2, 3, 4, 5, 6]
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert np.isfinite(record["discriminator_loss"]), record["step"]
        assert np.isfinite(record["generator_loss"]), record["step"]


def test_train_writes_config(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["train_config"]["steps"] == 6
    assert config["train_config"]["batch_size"] == 8
    assert config["model_config"]["generator_features"] == [32, 16, 8]
    assert config["data_source"] == "bundled"


def test_train_prints_summary(finished_run):
    out, stdout = finished_run
    assert "step 6: discriminator loss" in stdout
    assert str(out / "samples.png") in stdout
    assert str(out / "checkpoints") in stdout


def test_resume_continues(run_copy, capsys):
    assert main(_train_args(run_copy, 10, "--resume")) == 0
    captured = capsys.readouterr()
    assert "step 10:" in captured.out, captured.err
    assert _metric_steps(run_copy) == list(range(1, 11))
    assert Checkpointer(run_copy / "checkpoints").steps() == [6, 8, 10]


def test_rerun_needs_resume(run_dir, capsys):
    assert main(_train_args(run_dir, 10)) != 0
    error = capsys.readouterr().err
    assert "--resume" in error
    assert str(run_dir) in error
    assert _metric_steps(run_dir) == [1, 2, 3, 4, 5, 6]


def test_resume_other_width(run_copy, capsys):
    assert main(_train_args(run_copy, 10, "--resume", "--width", "16")) != 0
    error = capsys.readouterr().err
    assert "generator_features" in error
    assert _metric_steps(run_copy) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--objective", "hinge", "objective"),
        ("--seed", "3", "seed"),
        ("--batch-size", "4", "batch_size"),
        ("--lr", "0.001", "generator_learning_rate"),
        ("--loss", "minimax", "generator_loss"),
        ("--discriminator-steps", "5", "discriminator_steps"),
    ],
)
def test_resume_rejects_changed_option(run_copy, capsys, flag, value, field):
    assert main(_train_args(run_copy, 10, "--resume", flag, value)) == 2
    error = capsys.readouterr().err
    assert f"{flag} {value} differs" in error
    assert f"saved {field}=" in error
    assert _metric_steps(run_copy) == [1, 2, 3, 4, 5, 6]


def test_resume_accepts_same_option(run_copy):
    assert (
        main(_train_args(run_copy, 8, "--resume", "--objective", "cross_entropy")) == 0
    )
    assert _metric_steps(run_copy)[-1] == 8


def test_penalty_weight_needs_wasserstein(tmp_path, capsys):
    args = _train_args(tmp_path / "run", 2, "--gradient-penalty-weight", "5")
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "--gradient-penalty-weight 5.0 has no effect" in error
    assert "--objective wasserstein_gp" in error


@pytest.mark.parametrize("command", ["sample", "export"])
def test_output_folder_rejected(run_dir, tmp_path, capsys, command):
    folder = tmp_path / "out.npz"
    folder.mkdir()
    args = [command, "--checkpoint", str(run_dir), "--out", str(folder)]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "is a folder" in error
    assert "Errno" not in error


def test_sample_npz(run_dir, tmp_path, capsys):
    out = tmp_path / "samples.npz"
    code = main(
        ["sample", "--checkpoint", str(run_dir), "--n", "16", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    with np.load(out) as saved:
        assert list(saved.keys()) == ["images"]
        images = saved["images"]
    assert images.shape == (16, 32, 32, 1)
    assert images.dtype == np.float32
    assert images.min() >= -1.0
    assert images.max() <= 1.0


def test_sample_png(run_dir, tmp_path, capsys):
    out = tmp_path / "grid.png"
    code = main(["sample", "--checkpoint", str(run_dir), "--n", "4", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "args,value",
    [
        (["--steps", "0"], "0"),
        (["--steps", "-3"], "-3"),
        (["--preset", "foo"], "'foo'"),
        (["--width", "zero"], "'zero'"),
        (["--lr", "-1"], "-1"),
    ],
)
def test_train_rejects_option(tmp_path, capsys, args, value):
    # argparse reports invalid option values itself and exits with status 2.
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path / "run"), *args])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert value in error
    assert not (tmp_path / "run").exists()


def test_train_rejects_unwritable_out(tmp_path, capsys):
    # Tests may run as root, which ignores permission bits, so the output
    # folder is placed under a regular file instead.
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    out = blocker / "run"
    assert main(_train_args(out, 2)) != 0
    error = capsys.readouterr().err
    assert str(out) in error
    assert "--out" in error


def test_sample_rejects_suffix(run_dir, tmp_path, capsys):
    out = tmp_path / "images.txt"
    code = main(["sample", "--checkpoint", str(run_dir), "--out", str(out)])
    assert code != 0
    assert "images.txt" in capsys.readouterr().err
    assert not out.exists()


def test_sample_rejects_missing_checkpoint(tmp_path, capsys):
    missing = tmp_path / "no_run"
    out = tmp_path / "x.npz"
    code = main(["sample", "--checkpoint", str(missing), "--out", str(out)])
    assert code != 0
    assert "no_run" in capsys.readouterr().err
    assert not out.exists()


def test_module_entry_point(tmp_path, jax_cache_env):
    out = tmp_path / "run"
    args = _train_args(out, 2)
    process = subprocess.run(
        [sys.executable, "-m", "gan_lessons", *args],
        capture_output=True,
        text=True,
        env=jax_cache_env,
        timeout=300,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert "samples.png" in process.stdout
    assert (out / "samples.png").is_file()
    assert Checkpointer(out / "checkpoints").steps() == [2]


def test_module_entry_point_error(tmp_path, jax_cache_env):
    process = subprocess.run(
        [sys.executable, "-m", "gan_lessons", "train", "--steps", "0"],
        capture_output=True,
        text=True,
        env=jax_cache_env,
        timeout=120,
        check=False,
    )
    assert process.returncode == 2
    assert "--steps" in process.stderr


def test_evaluate_prints_figures(run_dir, tmp_path, capsys):
    record_path = tmp_path / "figures.json"
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(run_dir),
            "--n",
            "50",
            "--json",
            str(record_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Fréchet distance" in out
    assert "recall" in out
    record = json.loads(record_path.read_text())
    assert record["step"] == 6
    assert record["num_samples"] == 50
    assert record["frechet_real"] > 0


def test_evaluate_rejects_too_many_samples(run_dir, capsys):
    code = main(["evaluate", "--checkpoint", str(run_dir), "--n", "5000"])
    assert code == 2
    assert "num_samples=5000" in capsys.readouterr().err


def test_evaluate_rejects_missing_checkpoint(tmp_path, capsys):
    code = main(["evaluate", "--checkpoint", str(tmp_path / "none")])
    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_resume_uses_saved_architecture(run_copy):
    # Neither --width nor --batch-size: the run's own settings apply.
    args = ["train", "--steps", "8", "--resume", "--out", str(run_copy)]
    args += ["--data", "bundled", "--no-progress", "--log-every", "2"]
    assert main(args) == 0
    assert _metric_steps(run_copy) == [1, 2, 3, 4, 5, 6, 7, 8]
    saved = json.loads((run_copy / "config.json").read_text())
    assert saved["model_config"]["generator_features"] == [32, 16, 8]
    assert saved["train_config"]["batch_size"] == 8


def test_evaluate_rejects_tiny_n(run_dir, capsys):
    with pytest.raises(SystemExit) as error:
        main(["evaluate", "--checkpoint", str(run_dir), "--n", "2"])
    assert error.value.code == 2
    assert "at least 10" in capsys.readouterr().err
