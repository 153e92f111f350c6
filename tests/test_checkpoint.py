"""Tests for saving and restoring training state with gan_lessons.checkpoint.

Restores use a new ``Checkpointer`` on the folder, as a resumed run or the
``sample`` command in a new process does.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import state_leaves

from gan_lessons.checkpoint import (
    Checkpointer,
    CheckpointError,
    CheckpointMismatchError,
    model_config_of,
)
from gan_lessons.config import model_preset
from gan_lessons.train import GAN


def _assert_same_state(actual, expected) -> None:
    actual_leaves = state_leaves(actual)
    expected_leaves = state_leaves(expected)
    assert actual_leaves.keys() == expected_leaves.keys()
    for name, leaf in expected_leaves.items():
        assert actual_leaves[name].dtype == leaf.dtype, name
        assert np.array_equal(actual_leaves[name], leaf), name


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, gan, init_state, batches) -> tuple[Path, dict]:
    """A folder with checkpoints of steps 1 and 2, and those states."""
    directory = tmp_path_factory.mktemp("saved") / "checkpoints"
    checkpointer = Checkpointer(directory)
    states = {}
    state = init_state
    for step_batch in batches[:2]:
        state, _ = gan.train_step(state, step_batch)
        checkpointer.save(gan, state)
        states[int(state.step)] = state
    return directory, states


def test_save_lists_steps(saved_run):
    directory, _ = saved_run
    checkpointer = Checkpointer(directory)
    assert checkpointer.steps() == [1, 2]
    assert checkpointer.latest_step() == 2
    assert (directory / "2" / "state").is_dir()


def test_round_trip_bit_identical(gan, saved_run):
    directory, states = saved_run
    restored = Checkpointer(directory).restore(gan)
    _assert_same_state(restored, states[2])


def test_restore_named_step(gan, saved_run):
    directory, states = saved_run
    restored = Checkpointer(directory).restore(gan, step=1)
    _assert_same_state(restored, states[1])


def test_round_trip_same_object(gan, trained_state, tmp_path):
    checkpointer = Checkpointer(tmp_path / "checkpoints")
    checkpointer.save(gan, trained_state)
    _assert_same_state(checkpointer.restore(gan), trained_state)


def test_resume_matches_continuing(gan, saved_run, batches):
    directory, states = saved_run
    continued, continued_metrics = gan.train_step(states[2], batches[2])
    restored = Checkpointer(directory).restore(gan)
    resumed, resumed_metrics = gan.train_step(restored, batches[2])
    _assert_same_state(resumed, continued)
    for name, value in continued_metrics.items():
        assert float(resumed_metrics[name]) == float(value), name


def test_meta_records_configs(gan, saved_run):
    directory, _ = saved_run
    meta = Checkpointer(directory).read_meta()
    assert meta["step"] == 2
    assert meta["model_config"] == gan.model_config.to_dict() | {
        "generator_features": list(gan.model_config.generator_features),
        "discriminator_features": list(gan.model_config.discriminator_features),
    }
    model_config, train_config = model_config_of(directory)
    assert model_config == gan.model_config
    assert train_config == gan.train_config


@pytest.mark.parametrize(
    "field,overrides",
    [
        ("latent_dim", {"latent_dim": 16}),
        ("channels", {"channels": 3}),
        ("generator_features", {"width": 16}),
    ],
)
def test_restore_other_architecture(saved_run, train_config, field, overrides):
    directory, _ = saved_run
    other = GAN(model_preset("dcgan", **{"width": 8, **overrides}), train_config)
    with pytest.raises(CheckpointMismatchError, match=field):
        Checkpointer(directory).restore(other)


def test_restore_missing_folder(gan, tmp_path):
    missing = tmp_path / "nowhere"
    checkpointer = Checkpointer(missing)
    assert checkpointer.steps() == []
    assert checkpointer.latest_step() is None
    with pytest.raises(CheckpointError, match="nowhere"):
        checkpointer.restore(gan)


def test_restore_missing_step(gan, saved_run):
    directory, _ = saved_run
    with pytest.raises(CheckpointError, match="step 7"):
        Checkpointer(directory).restore(gan, step=7)


def _truncate_arrays(step_dir: Path) -> None:
    files = [path for path in (step_dir / "state").rglob("d/*") if path.is_file()]
    assert files
    for path in files:
        path.write_bytes(b"")


def _delete_array_metadata(step_dir: Path) -> None:
    (step_dir / "state" / "_METADATA").unlink()


def _break_meta_json(step_dir: Path) -> None:
    (step_dir / "meta" / "metadata").write_text("{")


CORRUPTIONS = {
    "truncated_arrays": _truncate_arrays,
    "deleted_array_metadata": _delete_array_metadata,
    "broken_meta_json": _break_meta_json,
}


def _save_two_steps(gan, init_state, batches, directory: Path) -> dict:
    checkpointer = Checkpointer(directory)
    states = {}
    state = init_state
    for step_batch in batches[:2]:
        state, _ = gan.train_step(state, step_batch)
        checkpointer.save(gan, state)
        states[int(state.step)] = state
    return states


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_restore_skips_corrupt_newest(
    gan, init_state, batches, tmp_path, caplog, corruption
):
    directory = tmp_path / "checkpoints"
    states = _save_two_steps(gan, init_state, batches, directory)
    CORRUPTIONS[corruption](directory / "2")
    with caplog.at_level(logging.WARNING, logger="gan_lessons.checkpoint"):
        restored = Checkpointer(directory).restore(gan)
    assert int(restored.step) == 1
    _assert_same_state(restored, states[1])
    assert "step 2" in caplog.text


def test_restore_all_corrupt(gan, init_state, batches, tmp_path):
    directory = tmp_path / "checkpoints"
    _save_two_steps(gan, init_state, batches, directory)
    _truncate_arrays(directory / "1")
    _truncate_arrays(directory / "2")
    with pytest.raises(CheckpointError, match="No readable checkpoint") as error:
        Checkpointer(directory).restore(gan)
    assert not isinstance(error.value, CheckpointMismatchError)


def test_max_to_keep(gan, init_state, tmp_path):
    checkpointer = Checkpointer(tmp_path / "checkpoints", max_to_keep=2)
    for step in (1, 2, 3):
        checkpointer.save(gan, init_state._replace(step=init_state.step + step))
    assert checkpointer.steps() == [2, 3]
    assert Checkpointer(tmp_path / "checkpoints").steps() == [2, 3]


def test_restore_without_optimizer_state(gan, trained_state, tmp_path, monkeypatch):
    from gan_lessons import checkpoint

    flatten = checkpoint._flatten

    def without_optimizer(state):
        return {k: v for k, v in flatten(state).items() if "opt_state" not in k}

    directory = tmp_path / "checkpoints"
    monkeypatch.setattr(checkpoint, "_flatten", without_optimizer)
    Checkpointer(directory).save(gan, trained_state)
    monkeypatch.undo()
    with pytest.raises(CheckpointMismatchError, match="missing arrays") as error:
        Checkpointer(directory).restore(gan)
    assert "opt_state" in str(error.value)
