"""Toy data, the toy GAN's updates and the discriminator's feature reliance."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from gan_lessons import losses, toy


def test_gaussian_density_matches_scipy():
    data = toy.Gaussian(mean=(1.0, -2.0), std=(0.5, 2.0))
    x = np.array([[1.0, -2.0], [0.3, 1.0], [4.0, -5.0]], np.float32)
    expected = stats.norm.pdf(x[:, 0], 1.0, 0.5) * stats.norm.pdf(x[:, 1], -2.0, 2.0)
    np.testing.assert_allclose(data.density(x), expected, rtol=1e-5)


def test_gaussian_samples_have_its_moments():
    data = toy.Gaussian(mean=(4.0, 1.0), std=(0.5, 0.25))
    points = np.asarray(data.sample(jax.random.key(0), 20_000))
    assert points.shape == (20_000, 2)
    np.testing.assert_allclose(points.mean(axis=0), [4.0, 1.0], atol=0.02)
    np.testing.assert_allclose(points.std(axis=0), [0.5, 0.25], rtol=0.03)


def test_mixture_density_integrates_to_one():
    data = toy.GaussianMixture(
        means=((-1.0,), (2.0,)), stds=((0.3,), (0.8,)), weights=(1.0, 3.0)
    )
    grid = np.linspace(-6, 8, 20_001, dtype=np.float32)[:, None]
    total = np.trapezoid(np.asarray(data.density(grid)), grid[:, 0])
    assert total == pytest.approx(1.0, abs=1e-4)


def test_mixture_weights_set_component_shares():
    data = toy.GaussianMixture(
        means=((-5.0,), (5.0,)), stds=((0.1,), (0.1,)), weights=(1.0, 3.0)
    )
    points = np.asarray(data.sample(jax.random.key(1), 8_000))
    assert np.mean(points[:, 0] > 0) == pytest.approx(0.75, abs=0.02)


def test_ring_modes_lie_on_circle():
    data = toy.ring(num_modes=8, radius=2.0)
    radii = np.hypot(*np.asarray(data.means).T)
    np.testing.assert_allclose(radii, 2.0, rtol=1e-6)
    assert len(set(np.round(np.arctan2(*np.asarray(data.means).T), 4))) == 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean": (0.0,), "std": (0.0,)}, "positive"),
        ({"mean": (0.0, 1.0), "std": (1.0,)}, "same positive length"),
        ({"mean": (), "std": ()}, "same positive length"),
    ],
)
def test_gaussian_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toy.Gaussian(**kwargs)


def test_mixture_rejects_count_mismatch():
    with pytest.raises(ValueError, match="one of each per component"):
        toy.GaussianMixture(means=((0.0,),), stds=((1.0,),), weights=(1.0, 1.0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size=0"),
        ({"generator_learning_rate": -1.0}, "generator_learning_rate=-1.0"),
        ({"generator_loss": "hinge"}, "generator_loss='hinge'"),
        ({"latent": "cauchy"}, "latent='cauchy'"),
        ({"batch_size": True}, "batch_size=True"),
        ({"generator_hidden": (-3,)}, "generator_hidden"),
        ({"discriminator_hidden": 32}, "discriminator_hidden=32"),
        ({"beta1": 2.0}, "beta1=2.0"),
        ({"discriminator_learning_rate": float("inf")}, "finite positive"),
        ({"generator_learning_rate": "0.1"}, "generator_learning_rate='0.1'"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toy.ToyConfig(**kwargs)


def test_gan_rejects_data_of_other_dimension():
    with pytest.raises(ValueError, match="data_dim=1"):
        toy.ToyGAN(toy.Gaussian((0.0,), (1.0,)), toy.ToyConfig(data_dim=2))


@pytest.fixture(scope="module")
def gan():
    return toy.ToyGAN(toy.tough_guys(), toy.ToyConfig(batch_size=64))


def test_round_counts_updates(gan):
    state = gan.init(0)
    state, metrics = gan.train_round(state, discriminator_steps=3, generator_steps=2)
    assert int(state.updates) == 5
    assert int(state.discriminator_updates) == 3
    assert int(state.generator_updates) == 2
    for name, value in metrics.items():
        assert np.isfinite(value), name


def test_discriminator_steps_leave_generator_alone(gan):
    state = gan.init(0)
    new_state, _ = gan.discriminator_steps(state, 4)
    same = jax.tree.map(
        lambda a, b: bool(jnp.array_equal(a, b)),
        state.generator_params,
        new_state.generator_params,
    )
    assert all(jax.tree.leaves(same))
    changed = jax.tree.map(
        lambda a, b: bool(jnp.array_equal(a, b)),
        state.discriminator_params,
        new_state.discriminator_params,
    )
    assert not any(jax.tree.leaves(changed))


def test_discriminator_learns_to_separate(gan):
    state = gan.init(0)
    state, before = gan.discriminator_steps(state, 1)
    state, after = gan.discriminator_steps(state, 100)
    assert float(after["discriminator_loss"]) < float(before["discriminator_loss"])
    assert float(after["d_real"]) > 0.9
    assert float(after["d_fake"]) < 0.1


def test_generator_moves_toward_data(gan):
    state = gan.init(0)
    key = jax.random.key(3)
    start = float(jnp.mean(gan.sample(state, key, 512)[:, 0]))
    for _ in range(40):
        state, _ = gan.train_round(state, discriminator_steps=2, generator_steps=1)
    end = float(jnp.mean(gan.sample(state, key, 512)[:, 0]))
    # Real strength has mean 4; a fresh generator starts near 0.
    assert abs(end - 4.0) < abs(start - 4.0) - 1.0


def test_same_seed_same_state(gan):
    runs = []
    for _ in range(2):
        state = gan.init(7)
        state, _ = gan.train_round(state, discriminator_steps=2, generator_steps=2)
        runs.append(state)
    equal = jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), *runs)
    assert all(jax.tree.leaves(equal))


def test_learning_rate_zero_rejected_and_change_applies(gan):
    state = gan.init(0)
    with pytest.raises(ValueError, match="discriminator learning rate 0"):
        gan.set_learning_rates(state, discriminator=0)
    slow = gan.set_learning_rates(state, discriminator=1e-9)
    slow_next, _ = gan.discriminator_steps(slow, 1)
    difference = jax.tree.map(
        lambda a, b: float(jnp.max(jnp.abs(a - b))),
        slow.discriminator_params,
        slow_next.discriminator_params,
    )
    assert max(jax.tree.leaves(difference)) < 1e-6


def test_round_rejects_negative_steps(gan):
    with pytest.raises(ValueError, match="generator_steps=-1"):
        gan.train_round(gan.init(0), generator_steps=-1)


def test_points_of_wrong_shape_rejected(gan):
    with pytest.raises(ValueError, match=r"expected \(n, 2\)"):
        gan.discriminator_probability(gan.init(0), np.zeros((5, 3)))


def test_generator_direction_is_loss_descent(gan):
    state, _ = gan.discriminator_steps(gan.init(0), 20)
    points = np.array([[0.0, 0.0], [2.0, 0.5], [4.0, 1.0]], np.float32)
    direction = np.asarray(gan.generator_direction(state, points))
    # A small move along the direction lowers the generator's loss.
    step = 1e-3 * direction / np.linalg.norm(direction, axis=1, keepdims=True)

    def loss(x):
        logits = gan.discriminator_logits(state, x)
        return float(losses.generator_loss(logits))

    assert loss(points + step) < loss(points)


def test_generator_direction_points_to_real_strength(gan):
    state, _ = gan.discriminator_steps(gan.init(0), 100)
    points = np.array([[0.0, 1.0], [1.0, 1.0]], np.float32)
    direction = np.asarray(gan.generator_direction(state, points))
    assert np.all(direction[:, 0] > 0)


def test_reliance_follows_the_feature_used():
    # Real data that differ from a fresh generator's points in the first
    # feature only: same spread, second feature at the same mean.
    probe = toy.ToyGAN(toy.tough_guys(), toy.ToyConfig())
    fresh = np.asarray(probe.sample(probe.init(0), jax.random.key(2), 4096))
    mean, std = fresh.mean(axis=0), fresh.std(axis=0)
    data = toy.Gaussian((mean[0] + 3.0, mean[1]), tuple(std.tolist()))
    gan = toy.ToyGAN(data, toy.ToyConfig())
    state, _ = gan.discriminator_steps(gan.init(0), 200)
    real = np.asarray(data.sample(jax.random.key(1), 512))
    fake = np.asarray(gan.sample(state, jax.random.key(3), 512))
    reliance = toy.feature_reliance(gan, state, real, fake)
    assert reliance.shape == (2,)
    assert reliance[0] > 1.0
    assert reliance[1] < 0.01 * reliance[0]


def test_reliance_of_flat_discriminator_is_zero(gan):
    state = gan.init(0)
    flat = jax.tree.map(jnp.zeros_like, state.discriminator_params)
    state = state._replace(discriminator_params=flat)
    real = np.asarray(gan.data.sample(jax.random.key(1), 64))
    fake = np.zeros((64, 2), np.float32)
    np.testing.assert_array_equal(toy.feature_reliance(gan, state, real, fake), 0)


def test_round_does_not_recompile(gan):
    state = gan.init(0)
    state, _ = gan.train_round(state, discriminator_steps=1, generator_steps=1)
    state = gan.set_learning_rates(state, generator=1e-3, discriminator=5e-3)
    with jax.log_compiles():
        before = gan._round._cache_size()
        gan.train_round(state, discriminator_steps=1, generator_steps=1)
    assert gan._round._cache_size() == before


def test_numpy_integers_accepted(gan):
    config = toy.ToyConfig(batch_size=np.int64(16))
    assert config.batch_size == 16
    state, _ = gan.train_round(gan.init(0), discriminator_steps=np.int64(1))
    assert int(state.discriminator_updates) == 1
