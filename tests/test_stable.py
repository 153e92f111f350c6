"""Tests of the hinge and Wasserstein objectives, spectral normalisation, the
gradient penalty and the comparisons and exercise checks of lesson 7."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gan_lessons import cli, config, diagnostics, losses, models, stable, toy
from gan_lessons.train import GAN


def _array(values) -> jax.Array:
    return jnp.asarray(values, jnp.float32)


# Losses against hand values.


def test_hinge_discriminator_loss_hand_values():
    # Real: max(0, 1 - 2) = 0, max(0, 1 - 0.5) = 0.5; mean 0.25.
    # Fake: max(0, 1 - 3) = 0, max(0, 1 + 0.5) = 1.5; mean 0.75.
    loss = losses.hinge_discriminator_loss(_array([2.0, 0.5]), _array([-3.0, 0.5]))
    assert float(loss) == pytest.approx(1.0, rel=1e-6)


def test_hinge_loss_huge_scores():
    confident = losses.hinge_discriminator_loss(_array([1e30]), _array([-1e30]))
    wrong = losses.hinge_discriminator_loss(_array([-1e30]), _array([1e30]))
    assert float(confident) == 0.0
    assert float(wrong) == pytest.approx(2e30, rel=1e-6)
    grads = jax.grad(losses.hinge_discriminator_loss, argnums=(0, 1))(
        _array([1e30]), _array([-1e30])
    )
    assert float(grads[0][0]) == 0.0
    assert float(grads[1][0]) == 0.0


def test_wasserstein_losses_hand_values():
    critic = losses.wasserstein_critic_loss(_array([1.0, 3.0]), _array([-1.0, 0.0]))
    generator = losses.score_generator_loss(_array([-1.0, 0.0]))
    assert float(critic) == pytest.approx(-2.5, rel=1e-6)
    assert float(generator) == pytest.approx(0.5, rel=1e-6)


def test_wasserstein_loss_huge_scores_finite():
    critic = losses.wasserstein_critic_loss(_array([1e30, 1e30]), _array([-1e30, 0]))
    assert float(critic) == pytest.approx(-1.5e30, rel=1e-6)


def test_gradient_penalty_hand_values():
    # Norms 5, 0 and 1: penalties 16, 1 and 0, mean 17 / 3.
    gradients = _array([[3.0, 4.0], [0.0, 0.0], [0.6, 0.8]])
    assert float(losses.gradient_penalty(gradients)) == pytest.approx(17 / 3, rel=1e-6)


def test_gradient_penalty_gradient_hand_values():
    # d/dg mean((||g|| - 1)^2) = 2 (||g|| - 1) g / ||g|| / batch.
    gradients = _array([[3.0, 4.0], [0.0, 0.0]])
    grad = np.asarray(jax.grad(losses.gradient_penalty)(gradients))
    np.testing.assert_allclose(grad[0], [2.4, 3.2], rtol=1e-6)
    np.testing.assert_array_equal(grad[1], [0.0, 0.0])


def test_gradient_penalty_zero_gradient_finite():
    zeros = jnp.zeros((4, 8, 8, 1))
    assert float(losses.gradient_penalty(zeros)) == 1.0
    grad = jax.grad(losses.gradient_penalty)(zeros)
    assert bool(jnp.all(jnp.isfinite(grad)))
    assert float(jnp.max(jnp.abs(grad))) == 0.0
    # The plain norm that the safe one replaces is NaN here.
    naive = jax.grad(lambda g: jnp.mean((jnp.linalg.norm(g, axis=1) - 1.0) ** 2))
    assert bool(jnp.any(jnp.isnan(naive(jnp.zeros((4, 3))))))


def test_gradient_penalty_huge_gradient_finite():
    # The sum of squares, 2e60, overflows float32; the scaled norm does not.
    gradients = _array([[1e30, 1e30]])
    norm = losses.safe_norm(gradients, axis=1)
    assert float(norm[0]) == pytest.approx(math.sqrt(2) * 1e30, rel=1e-6)
    grad = jax.grad(lambda g: jnp.sum(losses.safe_norm(g, axis=1)))(gradients)
    np.testing.assert_allclose(np.asarray(grad), [[0.70710677, 0.70710677]], rtol=1e-6)


def test_safe_norm_gradient_matches_plain_norm():
    x = jax.random.normal(jax.random.key(0), (5, 7))
    plain = jax.grad(lambda v: jnp.sum(jnp.linalg.norm(v, axis=1)))(x)
    safe = jax.grad(lambda v: jnp.sum(losses.safe_norm(v, axis=1)))(x)
    np.testing.assert_allclose(np.asarray(safe), np.asarray(plain), rtol=1e-5)


def test_gradient_penalty_rejects_one_axis():
    with pytest.raises(ValueError, match="one gradient per input"):
        losses.gradient_penalty(jnp.zeros(4))


def test_interpolate_between_pairs():
    real = jnp.ones((64, 2))
    fake = -jnp.ones((64, 2))
    points = np.asarray(losses.interpolate(jax.random.key(0), real, fake))
    assert points.min() >= -1.0
    assert points.max() <= 1.0
    # One mixing weight per sample: both coordinates of a point agree.
    np.testing.assert_array_equal(points[:, 0], points[:, 1])
    assert np.std(points[:, 0]) > 0.3


def test_objective_losses_dispatch():
    real, fake = _array([0.5, -1.0]), _array([0.2, 2.0])
    assert float(
        losses.objective_discriminator_loss("cross_entropy", real, fake)
    ) == pytest.approx(float(losses.discriminator_loss(real, fake)))
    assert float(losses.objective_generator_loss("hinge", fake)) == pytest.approx(-1.1)
    with pytest.raises(ValueError, match="Unknown objective"):
        losses.objective_generator_loss("wasserstein", fake)


# Configurations.


def test_old_train_record_loads_defaults():
    record = config.TrainConfig().to_dict()
    for name in ("objective", "gradient_penalty_weight", "discriminator_steps"):
        del record[name]
    loaded = config.TrainConfig.from_dict(record)
    assert loaded.objective == "cross_entropy"
    assert loaded.discriminator_steps == 1


def test_old_model_record_loads_defaults():
    record = config.ModelConfig().to_dict()
    del record["discriminator_norm"]
    del record["spectral_norm"]
    loaded = config.ModelConfig.from_dict(record)
    assert loaded.discriminator_norm == "batch"
    assert loaded.spectral_norm is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"objective": "wgan"}, "Unknown objective"),
        ({"objective": "hinge", "generator_loss": "minimax"}, "cross_entropy"),
        ({"objective": "hinge", "label_smoothing": 0.1}, "cross_entropy"),
        ({"discriminator_steps": 0}, "positive integer"),
        ({"discriminator_steps": 5, "generator_steps": 2}, "set one of them"),
        ({"gradient_penalty_weight": -1.0}, "positive"),
    ],
)
def test_train_config_rejects(fields, message):
    with pytest.raises(ValueError, match=message):
        config.TrainConfig(**fields)


def test_model_config_rejects_unknown_norm():
    with pytest.raises(ValueError, match="discriminator_norm"):
        config.ModelConfig(discriminator_norm="group")


def test_penalty_with_batch_norm_rejected():
    model = config.model_preset("dcgan", width=4)
    train = config.TrainConfig(objective="wasserstein_gp")
    with pytest.raises(ValueError, match="discriminator_norm='layer'"):
        GAN(model, train)


def test_cli_penalty_with_batch_norm_fails(capsys, tmp_path):
    code = cli.main(
        ["train", "--objective", "wasserstein_gp", "--out", str(tmp_path / "run")]
    )
    assert code == 2
    assert "--discriminator-norm layer" in capsys.readouterr().err


# Models.


def _small_model(**fields) -> config.ModelConfig:
    return dataclasses.replace(config.model_preset("dcgan", width=4), **fields)


def test_default_discriminator_structure_unchanged():
    plain = nnx.eval_shape(
        lambda: models.Discriminator(config.ModelConfig(), rngs=nnx.Rngs(0))
    )
    state = nnx.state(plain)
    paths = sorted("/".join(map(str, path)) for path, _ in nnx.to_flat_state(state))
    assert "convs/1/kernel" in paths
    assert "norms/0/mean" in paths
    assert not any(path.endswith("/u") for path in paths)


def test_spectral_norm_estimate_converges():
    layer = nnx.Linear(6, 4, rngs=nnx.Rngs(0))
    wrapped = models.SpectralNorm(layer, rngs=nnx.Rngs(1))
    x = jnp.ones((2, 6))
    for _ in range(30):
        wrapped(x, update_stats=True)
    largest = np.linalg.svd(np.asarray(layer.kernel[...]), compute_uv=False)[0]
    assert float(wrapped.sigma()) == pytest.approx(largest, rel=1e-4)
    # With the estimate converged, the layer acts with kernel / sigma.
    expected = x @ (layer.kernel[...] / largest) + layer.bias[...]
    np.testing.assert_allclose(
        np.asarray(wrapped(x, update_stats=False)), np.asarray(expected), rtol=1e-4
    )


def test_spectral_norm_keeps_kernel():
    layer = nnx.Linear(6, 4, rngs=nnx.Rngs(0))
    kernel = np.asarray(layer.kernel[...])
    wrapped = models.SpectralNorm(layer, rngs=nnx.Rngs(1))
    x = jnp.ones((2, 6))
    first = wrapped(x, update_stats=False)
    second = wrapped(x, update_stats=False)
    np.testing.assert_array_equal(np.asarray(layer.kernel[...]), kernel)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))


def test_spectral_norm_updates_u_in_train_mode_only():
    model_config = _small_model(spectral_norm=True, discriminator_norm="none")
    discriminator = models.Discriminator(model_config, rngs=nnx.Rngs(0))
    images = jnp.zeros((2, 32, 32, 1))
    u = np.asarray(discriminator.convs[-1].u[...])
    discriminator(images, train=False)
    np.testing.assert_array_equal(np.asarray(discriminator.convs[-1].u[...]), u)
    discriminator(images, train=True)
    assert not np.allclose(np.asarray(discriminator.convs[-1].u[...]), u)


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_critic_score_independent_of_batch(norm):
    model_config = _small_model(discriminator_norm=norm)
    discriminator = models.Discriminator(model_config, rngs=nnx.Rngs(0))
    images = jax.random.uniform(jax.random.key(0), (4, 32, 32, 1), minval=-1)
    together = discriminator(images, train=True)
    alone = discriminator(images[:1], train=True)
    assert float(alone[0]) == pytest.approx(float(together[0]), rel=1e-5, abs=1e-6)


# Training steps.


def _tiny_gan(objective: str, **model_fields) -> GAN:
    model = config.model_preset("dcgan", width=4)
    model = dataclasses.replace(model, **model_fields)
    steps = 2 if objective == "wasserstein_gp" else 1
    train = config.TrainConfig(
        batch_size=4, objective=objective, discriminator_steps=steps
    )
    return GAN(model, train)


def _batch() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32)


def test_wasserstein_step_updates_generator_every_second_step():
    gan = _tiny_gan("wasserstein_gp", discriminator_norm="layer")
    state = gan.init()
    first, metrics = gan.train_step(state, _batch())
    assert {"gradient_penalty", "critic_gap"} <= set(metrics)
    assert all(bool(jnp.isfinite(v)) for v in metrics.values())
    same = jax.tree.map(jnp.array_equal, state.generator_params, first.generator_params)
    assert all(jax.tree.leaves(same))
    assert not all(
        jax.tree.leaves(
            jax.tree.map(
                jnp.array_equal,
                state.discriminator_params,
                first.discriminator_params,
            )
        )
    )
    second, _ = gan.train_step(first, _batch())
    changed = jax.tree.map(
        jnp.array_equal, first.generator_params, second.generator_params
    )
    assert not all(jax.tree.leaves(changed))


def test_hinge_spectral_norm_step_finite():
    gan = _tiny_gan("hinge", discriminator_norm="none", spectral_norm=True)
    state = gan.init()
    new_state, metrics = gan.train_step(state, _batch())
    assert "gradient_penalty" not in metrics
    assert all(bool(jnp.isfinite(v)) for v in metrics.values())
    u_changed = jax.tree.map(
        jnp.array_equal, state.discriminator_stats, new_state.discriminator_stats
    )
    assert not all(jax.tree.leaves(u_changed))


# The toy GAN.


@pytest.mark.parametrize("objective", config.OBJECTIVES)
def test_toy_objective_round_finite(objective):
    # The ring and step counts of compare_ring, so its test reuses these
    # compiled programs from the compilation cache.
    gan = toy.ToyGAN(diagnostics.lesson_ring(), stable.toy_config(objective))
    steps = stable.DISCRIMINATOR_STEPS[objective]
    state, metrics = gan.train_round(gan.init(0), discriminator_steps=steps)
    assert all(bool(jnp.isfinite(v)) for v in metrics.values())
    assert int(state.discriminator_updates) == steps
    assert ("gradient_penalty" in metrics) == (objective == "wasserstein_gp")
    direction = gan.generator_direction(state, jnp.zeros((3, 2)))
    assert direction.shape == (3, 2)


def test_toy_config_rejects_minimax_with_hinge():
    with pytest.raises(ValueError, match="cross_entropy objective only"):
        toy.ToyConfig(objective="hinge", generator_loss="minimax")


# Comparisons.


def test_compare_ring_table():
    results = stable.compare_ring(
        ("hinge", "wasserstein_gp"), seeds=(0,), generator_updates=4, check_every=2
    )
    assert [r.objective for r in results] == ["hinge", "wasserstein_gp"]
    assert all(0 <= r.modes <= 8 for r in results)
    assert results[1].run.history["gradient_penalty"].shape == (4,)
    table = stable.ring_table(results)
    assert "wasserstein_gp" in table.splitlines()[2]


def test_image_configs_follow_recipes():
    model, train = stable.image_configs("wasserstein_gp", generator_updates=10)
    assert model.discriminator_norm == "layer"
    assert (train.beta1, train.beta2, train.discriminator_steps) == (0.0, 0.9, 5)
    assert train.steps == 50
    model, train = stable.image_configs("hinge", generator_updates=10)
    assert model.spectral_norm
    assert train.steps == 10


def test_mnist_results_round_trip(tmp_path):
    result = stable.MnistResult(
        objective="hinge",
        seed=0,
        steps=10,
        generator_updates=10,
        width=8,
        frechet=100.0,
        frechet_real=3.0,
        classes=7,
        confident_fraction=0.25,
        seconds=12.0,
    )
    path = tmp_path / "results.json"
    stable.save_mnist_results([result], path)
    assert stable.load_mnist_results(path) == [result]
    assert "100.0" in stable.mnist_table([result])


# Exercise checks.


def test_check_hinge_accepts_reference(capsys):
    assert stable.check_hinge_loss(losses.hinge_discriminator_loss)
    assert capsys.readouterr().out.startswith("Correct")


@pytest.mark.parametrize("mistake", stable._HINGE_MISTAKES, ids=lambda m: m.name)
def test_check_hinge_rejects_mistake(mistake, capsys):
    assert not stable.check_hinge_loss(mistake.answer)
    assert mistake.hint in capsys.readouterr().out


def test_check_penalty_accepts_reference(capsys):
    assert stable.check_gradient_penalty(losses.gradient_penalty)
    assert "finite at a zero" in capsys.readouterr().out


@pytest.mark.parametrize("mistake", stable._PENALTY_MISTAKES, ids=lambda m: m.name)
def test_check_penalty_rejects_mistake(mistake, capsys):
    assert not stable.check_gradient_penalty(mistake.answer)
    assert mistake.hint in capsys.readouterr().out


def test_check_penalty_rejects_nan_gradient(capsys):
    def plain(g):
        norms = jnp.linalg.norm(g.reshape(g.shape[0], -1), axis=1)
        return jnp.mean((norms - 1.0) ** 2)

    assert not stable.check_gradient_penalty(plain)
    assert "NaN where an input gradient is all zeros" in capsys.readouterr().out


def test_check_penalty_unanswered(capsys):
    assert not stable.check_gradient_penalty(lambda g: None)
    assert "Not answered yet" in capsys.readouterr().out


def test_recorded_mnist_results_load():
    results = stable.load_mnist_results(stable.recorded_mnist_path())
    assert {r.objective for r in results} == set(config.OBJECTIVES)
    assert all(math.isfinite(r.frechet) for r in results)
    assert all(r.frechet > r.frechet_real for r in results)
