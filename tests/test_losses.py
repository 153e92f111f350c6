"""Golden values and numerical stability of gan_lessons.losses.

Expected values are written as binary cross-entropy in terms of the
probability D = sigmoid(logit) and evaluated with ``math`` in float64, while
the package computes them with ``softplus`` in float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_lessons import losses

LOG2 = math.log(2.0)
REAL = [1.0, -2.0]
FAKE = [0.5, 3.0]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _mean(values) -> float:
    return sum(values) / len(values)


def _array(values) -> jax.Array:
    return jnp.asarray(values, jnp.float32)


def test_discriminator_loss_zero_logits():
    # D = 1/2 everywhere: -log(1/2) for the real batch plus -log(1 - 1/2).
    loss = losses.discriminator_loss(jnp.zeros(4), jnp.zeros(4))
    assert float(loss) == pytest.approx(2 * LOG2, rel=1e-6)


def test_generator_losses_zero_logits():
    non_saturating = losses.generator_loss(jnp.zeros(4), "non_saturating")
    minimax = losses.generator_loss(jnp.zeros(4), "minimax")
    assert float(non_saturating) == pytest.approx(LOG2, rel=1e-6)
    assert float(minimax) == pytest.approx(-LOG2, rel=1e-6)


def test_discriminator_loss_golden():
    real_term = _mean([-math.log(_sigmoid(x)) for x in REAL])
    fake_term = _mean([-math.log(1.0 - _sigmoid(x)) for x in FAKE])
    expected = real_term + fake_term
    assert expected == pytest.approx(3.2314270171575, rel=1e-9)
    loss = losses.discriminator_loss(_array(REAL), _array(FAKE))
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_discriminator_loss_label_smoothing():
    # One-sided smoothing: real images get target 0.9, fakes keep target 0.
    target = 0.9
    real_term = _mean(
        [
            -(target * math.log(_sigmoid(x)) + (1 - target) * math.log(1 - _sigmoid(x)))
            for x in REAL
        ]
    )
    fake_term = _mean([-math.log(1.0 - _sigmoid(x)) for x in FAKE])
    expected = real_term + fake_term
    loss = losses.discriminator_loss(_array(REAL), _array(FAKE), label_smoothing=0.1)
    plain = losses.discriminator_loss(_array(REAL), _array(FAKE))
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert float(loss) != pytest.approx(float(plain), rel=1e-3)


def test_generator_loss_non_saturating_golden():
    expected = _mean([-math.log(_sigmoid(x)) for x in FAKE])
    loss = losses.generator_loss(_array(FAKE), "non_saturating")
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_generator_loss_minimax_golden():
    expected = _mean([math.log(1.0 - _sigmoid(x)) for x in FAKE])
    loss = losses.generator_loss(_array(FAKE), "minimax")
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_generator_loss_default_kind():
    default = losses.generator_loss(_array(FAKE))
    non_saturating = losses.generator_loss(_array(FAKE), "non_saturating")
    assert float(default) == float(non_saturating)


EXTREME = [1e4, -1e4]


def test_discriminator_loss_extreme_logits():
    # softplus(1e4) = 1e4 and softplus(-1e4) = 0 to float32 precision, so each
    # batch contributes (0 + 1e4) / 2.
    real, fake = _array(EXTREME), _array(EXTREME)
    loss, (real_grad, fake_grad) = jax.value_and_grad(
        losses.discriminator_loss, argnums=(0, 1)
    )(real, fake)
    assert np.isfinite(float(loss))
    assert float(loss) == pytest.approx(1e4, rel=1e-6)
    assert np.all(np.isfinite(real_grad))
    assert np.all(np.isfinite(fake_grad))
    # d/dr mean(softplus(-r)) = -sigmoid(-r) / 2 and d/df mean(softplus(f)) =
    # sigmoid(f) / 2.
    np.testing.assert_allclose(real_grad, [0.0, -0.5], atol=1e-6)
    np.testing.assert_allclose(fake_grad, [0.5, 0.0], atol=1e-6)


def test_discriminator_loss_extreme_smoothed():
    loss, grads = jax.value_and_grad(losses.discriminator_loss, argnums=(0, 1))(
        _array(EXTREME), _array(EXTREME), 0.1
    )
    assert np.isfinite(float(loss))
    assert np.all(np.isfinite(grads[0]))
    assert np.all(np.isfinite(grads[1]))


@pytest.mark.parametrize(
    "kind,value,grad",
    [
        # -mean(log sigmoid(f)): 0 for f = 1e4, 1e4 for f = -1e4.
        ("non_saturating", 5e3, [0.0, -0.5]),
        # mean(log(1 - sigmoid(f))): -1e4 for f = 1e4, 0 for f = -1e4.
        ("minimax", -5e3, [-0.5, 0.0]),
    ],
)
def test_generator_loss_extreme_logits(kind, value, grad):
    loss, fake_grad = jax.value_and_grad(losses.generator_loss)(_array(EXTREME), kind)
    assert np.isfinite(float(loss))
    assert float(loss) == pytest.approx(value, rel=1e-6)
    assert np.all(np.isfinite(fake_grad))
    np.testing.assert_allclose(fake_grad, grad, atol=1e-6)


def test_generator_loss_unknown_kind():
    with pytest.raises(ValueError, match="'wasserstein'"):
        losses.generator_loss(_array(FAKE), "wasserstein")
