"""Tests for the jitted training steps and sampling of gan_lessons.train."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import max_abs_change, state_leaves

from gan_lessons.config import train_preset
from gan_lessons.train import GAN

METRICS = (
    "discriminator_loss",
    "generator_loss",
    "d_real",
    "d_fake",
    "discriminator_grad_norm",
    "generator_grad_norm",
)


@pytest.fixture(scope="module")
def first_step(gan, init_state, batch):
    """The state and metrics after one step from ``init_state``."""
    return gan.train_step(init_state, batch)


def test_step_metrics_finite(first_step):
    _, metrics = first_step
    assert set(metrics) == set(METRICS)
    for name in METRICS:
        assert np.shape(metrics[name]) == (), name
        assert np.isfinite(float(metrics[name])), name


def test_step_params_finite(first_step):
    state, _ = first_step
    for name, leaf in state_leaves(state).items():
        assert np.all(np.isfinite(leaf)), name


def test_step_counts_steps(first_step, init_state):
    state, _ = first_step
    assert int(init_state.step) == 0
    assert int(state.step) == 1
    assert np.array_equal(state.key, init_state.key)


def test_step_moves_params(first_step, init_state):
    state, _ = first_step
    generator_change = max_abs_change(
        init_state.generator_params, state.generator_params
    )
    discriminator_change = max_abs_change(
        init_state.discriminator_params, state.discriminator_params
    )
    assert generator_change > 1e-5
    assert discriminator_change > 1e-5


def test_step_moves_batch_stats(first_step, init_state):
    state, _ = first_step
    generator_change = max_abs_change(init_state.generator_stats, state.generator_stats)
    discriminator_change = max_abs_change(
        init_state.discriminator_stats, state.discriminator_stats
    )
    assert generator_change > 1e-4
    assert discriminator_change > 1e-4


# Adam's first update of each weight is lr * g / (|g| + eps), so no weight
# moves by more than its learning rate. With one network's rate at 1e-12 its
# weights can move visibly only if the other network's update reaches them,
# for example through swapped gradients or a shared optimiser state. The other
# network, at 2e-4, must still move.
TINY_RATE = 1e-12


def test_discriminator_update_spares_generator(gan, init_state, batch):
    state = gan.set_learning_rates(init_state, generator=TINY_RATE)
    new_state, _ = gan.train_step(state, batch)
    generator_change = max_abs_change(
        state.generator_params, new_state.generator_params
    )
    discriminator_change = max_abs_change(
        state.discriminator_params, new_state.discriminator_params
    )
    assert generator_change <= 1e-9
    assert discriminator_change > 1e-5


def test_generator_update_spares_discriminator(gan, init_state, batch):
    state = gan.set_learning_rates(init_state, discriminator=TINY_RATE)
    new_state, _ = gan.train_step(state, batch)
    generator_change = max_abs_change(
        state.generator_params, new_state.generator_params
    )
    discriminator_change = max_abs_change(
        state.discriminator_params, new_state.discriminator_params
    )
    assert discriminator_change <= 1e-9
    assert generator_change > 1e-5


def test_latent_differs_between_steps(gan, trained_state, batch):
    # The same weights and real batch at step counters 3 and 4: only the
    # latent vectors, drawn from fold_in(key, step), differ.
    at_three = trained_state
    at_four = trained_state._replace(step=trained_state.step + 1)
    _, metrics_three = gan.train_step(at_three, batch)
    _, metrics_four = gan.train_step(at_four, batch)
    _, metrics_again = gan.train_step(at_three, batch)
    assert float(metrics_three["d_fake"]) != float(metrics_four["d_fake"])
    assert float(metrics_three["generator_loss"]) != float(
        metrics_four["generator_loss"]
    )
    assert float(metrics_three["d_fake"]) == float(metrics_again["d_fake"])


def test_seed_changes_weights(gan):
    state_zero = state_leaves(gan.init(0))
    state_one = state_leaves(gan.init(1))
    kernel = ".generator_params['project']['kernel'].value"
    assert kernel in state_zero
    assert not np.array_equal(state_zero[kernel], state_one[kernel])


def test_same_seed_bit_identical(model_config, train_config, trained_state, batches):
    other = GAN(model_config, train_config)
    state = other.init()
    for step_batch in batches:
        state, _ = other.train_step(state, step_batch)
    expected = state_leaves(trained_state)
    actual = state_leaves(state)
    assert actual.keys() == expected.keys()
    for name, leaf in expected.items():
        assert actual[name].dtype == leaf.dtype, name
        assert np.array_equal(actual[name], leaf), name


def test_step_compiles_once(gan, init_state, batches):
    state, _ = gan.train_step(init_state, batches[0])
    compiled = gan._train_step._cache_size()
    assert compiled >= 1

    # A jax array batch instead of a numpy one.
    state, _ = gan.train_step(state, jnp.asarray(batches[1]))
    assert gan._train_step._cache_size() == compiled

    # New learning rates as Python floats, then as a Python int.
    state = gan.set_learning_rates(state, generator=1e-3, discriminator=5e-4)
    state, _ = gan.train_step(state, batches[2])
    assert gan._train_step._cache_size() == compiled
    state = gan.set_learning_rates(state, generator=1)
    state, _ = gan.train_step(state, batches[0])
    assert gan._train_step._cache_size() == compiled


def test_set_learning_rates_values(gan, init_state):
    state = gan.set_learning_rates(init_state, generator=1e-3)
    generator_rate = state.generator_opt_state.hyperparams["learning_rate"]
    discriminator_rate = state.discriminator_opt_state.hyperparams["learning_rate"]
    assert float(generator_rate) == pytest.approx(1e-3)
    assert float(discriminator_rate) == pytest.approx(2e-4)
    assert generator_rate.dtype == jnp.float32


@pytest.mark.parametrize("value", [0.0, -1e-3, "fast"])
def test_set_learning_rates_rejects(gan, init_state, value):
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        gan.set_learning_rates(init_state, discriminator=value)


def test_train_steps_matches_loop(gan, init_state, trained_state, batches):
    scanned, metrics = gan.train_steps(init_state, batches)
    expected = state_leaves(trained_state)
    actual = state_leaves(scanned)
    assert int(scanned.step) == len(batches)
    assert actual.keys() == expected.keys()
    # scan compiles one step body for all iterations, so XLA may fuse and
    # round differently than three separate calls.
    for name, leaf in expected.items():
        np.testing.assert_allclose(
            actual[name], leaf, rtol=1e-4, atol=1e-5, err_msg=name
        )
    for name in METRICS:
        assert metrics[name].shape == (len(batches),), name
        assert np.all(np.isfinite(metrics[name])), name


def test_generator_steps_two(model_config, init_state, batch):
    gan = GAN(model_config, train_preset("dcgan", batch_size=8, generator_steps=2))
    state, metrics = gan.train_step(init_state, batch)
    for name in METRICS:
        assert np.isfinite(float(metrics[name])), name
    assert int(state.step) == 1
    # inject_hyperparams counts the updates each optimiser has applied.
    assert int(state.generator_opt_state.count) == 2
    assert int(state.discriminator_opt_state.count) == 1
    for name, leaf in state_leaves(state).items():
        assert np.all(np.isfinite(leaf)), name


def _bad_batches() -> dict[str, tuple[np.ndarray, str]]:
    rng = np.random.default_rng(0)
    good = rng.uniform(-1.0, 1.0, (8, 32, 32, 1)).astype(np.float32)
    return {
        "mnist_size": (good[:, :28, :28], "(8, 28, 28, 1)"),
        "nchw": (good.transpose(0, 3, 1, 2), "(8, 1, 32, 32)"),
        "no_batch_axis": (good[0], "(32, 32, 1)"),
        "empty": (good[:0], "empty"),
        "uint8": (((good + 1) * 127.5).astype(np.uint8), "uint8"),
        "float64": (good.astype(np.float64), "float64"),
        "pixel_range": ((good + 1) * 127.5, "255"),
    }


BAD_BATCHES = _bad_batches()


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_step_rejects_batch(gan, init_state, case):
    bad, value = BAD_BATCHES[case]
    with pytest.raises(ValueError, match=re.escape(value)):
        gan.train_step(init_state, bad)


def test_train_steps_rejects_pixel_range(gan, init_state, batches):
    bad = (batches + 1) * 127.5
    with pytest.raises(ValueError, match="255"):
        gan.train_steps(init_state, bad)


def test_train_steps_rejects_empty(gan, init_state, batches):
    with pytest.raises(ValueError, match=re.escape(str(batches[:0].shape))):
        gan.train_steps(init_state, batches[:0])


def test_train_steps_rejects_batch_shape(gan, init_state, batches):
    with pytest.raises(ValueError, match=re.escape("(8, 32, 32, 1)")):
        gan.train_steps(init_state, batches[0])


def test_generate_batch_independent(gan, trained_state):
    z = gan.sample_latent(jax.random.key(7), 64)
    together = np.asarray(gan.generate(trained_state, z))
    alone = np.asarray(gan.generate(trained_state, z[5:6]))
    assert together.shape == (64, 32, 32, 1)
    assert alone.shape == (1, 32, 32, 1)
    np.testing.assert_allclose(alone[0], together[5], atol=1e-5)


def test_generate_keeps_state(gan, trained_state):
    before = state_leaves(trained_state)
    z = gan.sample_latent(jax.random.key(8), 64)
    first = np.asarray(gan.generate(trained_state, z))
    second = np.asarray(gan.generate(trained_state, z))
    after = state_leaves(trained_state)
    assert np.array_equal(first, second)
    for name, leaf in before.items():
        assert np.array_equal(after[name], leaf), name


def test_generator_module_copies_state(gan):
    # The module returned for a state is documented as a copy, so training it
    # eagerly must leave the state's batch-norm statistics alone.
    state = gan.init()
    before = state_leaves(state.generator_stats)
    generator = gan.generator(state)
    generator(jnp.ones((4, 100)), train=True)
    after = state_leaves(state.generator_stats)
    for name, leaf in before.items():
        assert np.array_equal(after[name], leaf), name
