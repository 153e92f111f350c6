"""Killed and interrupted ``train`` commands lose nothing but unsaved steps.

Each test runs ``python -m gan_lessons train`` in subprocesses. The kill
test stops a run with SIGKILL at random moments, several times in a row,
resumes it each time, and requires the final state to equal, bit for bit,
that of a run that was never interrupted.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from gan_lessons import config
from gan_lessons.checkpoint import Checkpointer
from gan_lessons.train import GAN

STEPS = 300
CHECKPOINT_EVERY = 20
KILLS = 4
WIDTH = 8
BATCH_SIZE = 8


def _command(out: Path, *, resume: bool) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gan_lessons",
        "train",
        "--steps",
        str(STEPS),
        "--width",
        str(WIDTH),
        "--batch-size",
        str(BATCH_SIZE),
        "--checkpoint-every",
        str(CHECKPOINT_EVERY),
        "--log-every",
        "10",
        "--sample-every",
        "0",
        "--data",
        "bundled",
        "--no-progress",
        "--out",
        str(out),
    ]
    return [*command, "--resume"] if resume else command


def _run_to_end(out: Path, env: dict[str, str], *, resume: bool) -> None:
    process = subprocess.run(
        _command(out, resume=resume),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert process.returncode == 0, process.stderr


def _final_leaves(out: Path) -> list[np.ndarray]:
    gan = GAN(
        config.model_preset("dcgan", width=WIDTH),
        config.train_preset("dcgan", batch_size=BATCH_SIZE, steps=STEPS),
    )
    checkpointer = Checkpointer(out / "checkpoints")
    assert checkpointer.latest_step() == STEPS
    return [np.asarray(leaf) for leaf in jax.tree.leaves(checkpointer.restore(gan))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, jax_cache_env) -> list[np.ndarray]:
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    _run_to_end(out, jax_cache_env, resume=False)
    return _final_leaves(out)


def _wait_for_checkpoint_after(
    checkpointer: Checkpointer, step: int | None, process: subprocess.Popen
) -> None:
    """Waits until ``checkpointer`` has a step newer than ``step``."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        latest = checkpointer.latest_step()
        if latest is not None and (step is None or latest > step):
            return
        time.sleep(0.02)


def test_repeated_kills_reach_same_state(tmp_path, jax_cache_env, uninterrupted):
    out = tmp_path / "run"
    checkpointer = Checkpointer(out / "checkpoints")
    chooser = random.Random(0)
    saved_at_kill = []
    for _ in range(KILLS):
        saved = checkpointer.latest_step()
        process = subprocess.Popen(
            _command(out, resume=saved is not None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=jax_cache_env,
        )
        # Let each run make progress, then kill it at a random moment: during
        # a step, a metrics write or a checkpoint save.
        _wait_for_checkpoint_after(checkpointer, saved, process)
        time.sleep(chooser.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        saved_at_kill.append(checkpointer.latest_step())
    _run_to_end(out, jax_cache_env, resume=True)

    killed = _final_leaves(out)
    assert len(killed) == len(uninterrupted)
    for index, (got, expected) in enumerate(zip(killed, uninterrupted, strict=True)):
        assert np.array_equal(got, expected), f"leaf {index} differs"
    # Every kill must have stopped a run that still had steps to go.
    assert all(step < STEPS for step in saved_at_kill), saved_at_kill
    assert saved_at_kill == sorted(saved_at_kill)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_checkpoint(tmp_path, jax_cache_env):
    out = tmp_path / "run"
    process = subprocess.Popen(
        _command(out, resume=False),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=jax_cache_env,
        # A child inherits ignored signals; pytest may run under nohup.
        preexec_fn=_default_sigint,
    )
    checkpointer = Checkpointer(out / "checkpoints")
    deadline = time.monotonic() + 300
    while checkpointer.latest_step() is None and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"training ended before its first checkpoint: {process.stderr}")
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    saved = checkpointer.latest_step()
    assert f"saving a checkpoint of step {saved}" in stderr
    if saved < STEPS:
        # Resuming continues from the saved step and finishes the run.
        _run_to_end(out, jax_cache_env, resume=True)
        assert checkpointer.latest_step() == STEPS
