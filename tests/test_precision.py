"""Tests for bfloat16 mixed precision, ``ModelConfig.compute_dtype``."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import state_leaves

from gan_lessons.checkpoint import (
    Checkpointer,
    model_config_of,
)
from gan_lessons.config import ModelConfig
from gan_lessons.train import GAN, TrainState

NUM_IMAGES = 16


@pytest.fixture(scope="module")
def bfloat16_config(model_config: ModelConfig) -> ModelConfig:
    """The session's tiny dcgan configuration with bfloat16 compute."""
    return dataclasses.replace(model_config, compute_dtype="bfloat16")


@pytest.fixture(scope="module")
def bfloat16_gan(bfloat16_config, train_config) -> GAN:
    return GAN(bfloat16_config, train_config)


@pytest.fixture(scope="module")
def bfloat16_run(bfloat16_gan, batches) -> tuple[TrainState, list[dict]]:
    """The state after one step on each of ``batches`` and each step's metrics."""
    state = bfloat16_gan.init()
    history = []
    for step_batch in batches:
        state, metrics = bfloat16_gan.train_step(state, step_batch)
        history.append({name: float(value) for name, value in metrics.items()})
    return state, history


@pytest.fixture(scope="module")
def latent(gan) -> jax.Array:
    """Latent vectors ``(16, 100)``."""
    return gan.sample_latent(jax.random.key(7), NUM_IMAGES)


def test_bfloat16_metrics_finite(bfloat16_run):
    state, history = bfloat16_run
    assert int(state.step) == len(history)
    for step, metrics in enumerate(history):
        for name, value in metrics.items():
            assert np.isfinite(value), (step, name)


def test_bfloat16_state_stays_float32(bfloat16_run):
    state, _ = bfloat16_run
    float_leaves = {
        name: leaf
        for name, leaf in state_leaves(state).items()
        if np.issubdtype(leaf.dtype, np.floating) or leaf.dtype == jnp.bfloat16
    }
    for part in ("generator_params", "discriminator_params"):
        assert any(part in name for name in float_leaves), part
    for part in ("generator_stats", "discriminator_stats"):
        assert any(part in name for name in float_leaves), part
    for part in ("generator_opt_state", "discriminator_opt_state"):
        assert any(part in name for name in float_leaves), part
    for name, leaf in float_leaves.items():
        assert leaf.dtype == np.float32, name
        assert np.all(np.isfinite(leaf)), name


def test_bfloat16_step_moves_params(bfloat16_gan, bfloat16_run):
    state, _ = bfloat16_run
    initial = state_leaves(bfloat16_gan.init())
    trained = state_leaves(state)
    for part in ("generator_params", "discriminator_params"):
        changes = [
            float(np.max(np.abs(trained[name] - initial[name])))
            for name in initial
            if part in name
        ]
        assert max(changes) > 0, part


def test_bfloat16_images_float32(bfloat16_gan, bfloat16_run, latent):
    state, _ = bfloat16_run
    images = bfloat16_gan.generate(state, latent)
    assert images.dtype == jnp.float32
    assert images.shape == (NUM_IMAGES, 32, 32, 1)
    assert float(jnp.min(images)) >= -1.0
    assert float(jnp.max(images)) <= 1.0


def test_bfloat16_logits_float32(bfloat16_gan, bfloat16_run, batch):
    state, _ = bfloat16_run
    logits = bfloat16_gan.discriminate(state, batch)
    assert logits.dtype == jnp.float32
    assert logits.shape == (batch.shape[0],)


def test_bfloat16_images_near_float32(gan, bfloat16_gan, bfloat16_run, latent):
    # Batch statistics (train=True) keep the activations near unit scale, so the
    # images span a visible range. The running averages of an early state
    # would shrink them towards 0 and hide any difference.
    state, _ = bfloat16_run
    full = np.asarray(gan.generator(state)(latent, train=True))
    mixed = np.asarray(bfloat16_gan.generator(state)(latent, train=True))
    assert mixed.dtype == np.float32
    assert np.mean(np.abs(full)) > 0.02
    difference = np.abs(mixed - full)
    assert np.mean(difference) < 0.05
    assert np.mean(difference) < 0.1 * np.mean(np.abs(full))
    # Equal outputs would mean that nothing ran in bfloat16.
    assert np.max(difference) > 0


def test_bfloat16_logits_near_float32(gan, bfloat16_gan, bfloat16_run, batch):
    state, _ = bfloat16_run
    images = jnp.asarray(batch)
    full = np.asarray(gan.discriminator(state)(images, train=True))
    mixed = np.asarray(bfloat16_gan.discriminator(state)(images, train=True))
    difference = np.abs(mixed - full)
    assert np.mean(difference) < 0.1 * np.mean(np.abs(full)) + 1e-3
    assert np.max(difference) > 0


def test_compute_dtype_invalid():
    with pytest.raises(ValueError, match="compute_dtype='float16'"):
        ModelConfig(compute_dtype="float16")


def test_compute_dtype_default_float32(model_config):
    assert ModelConfig().compute_dtype == "float32"
    assert model_config.compute_dtype == "float32"


def test_compute_dtype_round_trip(bfloat16_config):
    values = bfloat16_config.to_dict()
    assert values["compute_dtype"] == "bfloat16"
    assert ModelConfig.from_dict(values) == bfloat16_config


def test_from_dict_without_compute_dtype(model_config):
    values = model_config.to_dict()
    del values["compute_dtype"]
    loaded = ModelConfig.from_dict(values)
    assert loaded.compute_dtype == "float32"
    assert loaded == model_config


def _save_old_checkpoint(gan: GAN, state: TrainState, directory) -> None:
    """Saves ``state``, then removes ``compute_dtype`` from its JSON record."""
    Checkpointer(directory).save(gan, state)
    path = directory / str(int(state.step)) / "meta" / "metadata"
    meta = json.loads(path.read_text())
    del meta["model_config"]["compute_dtype"]
    path.write_text(json.dumps(meta))


def test_old_checkpoint_config_loads(gan, trained_state, model_config, tmp_path):
    directory = tmp_path / "checkpoints"
    _save_old_checkpoint(gan, trained_state, directory)
    assert "compute_dtype" not in Checkpointer(directory).read_meta()["model_config"]
    loaded, _ = model_config_of(directory)
    assert loaded.compute_dtype == "float32"
    assert loaded == model_config


def test_old_checkpoint_restores(gan, trained_state, tmp_path):
    directory = tmp_path / "checkpoints"
    _save_old_checkpoint(gan, trained_state, directory)
    restored = Checkpointer(directory).restore(gan)
    assert int(restored.step) == int(trained_state.step)


def test_bfloat16_checkpoint_records_dtype(bfloat16_gan, bfloat16_run, tmp_path):
    state, _ = bfloat16_run
    directory = tmp_path / "checkpoints"
    Checkpointer(directory).save(bfloat16_gan, state)
    loaded, _ = model_config_of(directory)
    assert loaded.compute_dtype == "bfloat16"
    restored = Checkpointer(directory).restore(bfloat16_gan)
    for name, leaf in state_leaves(restored).items():
        assert np.array_equal(leaf, state_leaves(state)[name]), name


def test_checkpoint_restores_across_compute_dtype(gan, trained_state, tmp_path):
    directory = tmp_path / "checkpoints"
    Checkpointer(directory).save(gan, trained_state)
    other = dataclasses.replace(gan.model_config, compute_dtype="bfloat16")
    restored = Checkpointer(directory).restore(GAN(other, gan.train_config))
    assert int(restored.step) == int(trained_state.step)
