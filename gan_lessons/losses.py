"""GAN losses computed from discriminator logits.

With D(x) = sigmoid(logit), the value function of the minimax game is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

The discriminator ascends V, so its loss is -V. The generator descends V
(``minimax``) or, as Goodfellow et al. (2014) suggest for stronger early
gradients, ascends E_z[log D(G(z))] (``non_saturating``). Every log-sigmoid is
written with ``softplus``: log sigmoid(a) = -softplus(-a) and
log(1 - sigmoid(a)) = -softplus(a), which stay finite for any logit.

Two more objectives read the discriminator's output as an unbounded score, not
as log-odds:

* ``hinge``: the discriminator minimises E_x[max(0, 1 - D(x))] +
  E_z[max(0, 1 + D(G(z)))] and the generator minimises -E_z[D(G(z))] (Lim and
  Ye, "Geometric GAN", 2017; Miyato et al., "Spectral Normalization for
  Generative Adversarial Networks", ICLR 2018).
* ``wasserstein_gp``: the critic minimises E_z[D(G(z))] - E_x[D(x)] plus
  lambda * E[(||grad D(x_hat)|| - 1)^2] on points x_hat between real and
  generated samples, and the generator minimises -E_z[D(G(z))] (Gulrajani et
  al., "Improved Training of Wasserstein GANs", NeurIPS 2017).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Objectives of ``objective_discriminator_loss`` and ``objective_generator_loss``;
# ``config.OBJECTIVES`` lists the same names.
CROSS_ENTROPY = "cross_entropy"
HINGE = "hinge"
WASSERSTEIN_GP = "wasserstein_gp"


def discriminator_loss(
    real_logits: jax.Array,
    fake_logits: jax.Array,
    label_smoothing: float = 0.0,
) -> jax.Array:
    """Returns -V(D, G): binary cross-entropy with real = 1 and fake = 0.

    Args:
        real_logits: Discriminator logits on real images, ``(batch,)``.
        fake_logits: Discriminator logits on generated images, ``(batch,)``.
        label_smoothing: Lowers the real target from 1 to
            ``1 - label_smoothing`` (one-sided smoothing).

    Returns:
        The scalar loss, mean over each batch, summed over the two batches.
    """
    target = 1.0 - label_smoothing
    real_term = target * jax.nn.softplus(-real_logits) + (
        1.0 - target
    ) * jax.nn.softplus(real_logits)
    fake_term = jax.nn.softplus(fake_logits)
    return jnp.mean(real_term) + jnp.mean(fake_term)


def generator_loss(fake_logits: jax.Array, kind: str = "non_saturating") -> jax.Array:
    """Returns the generator's loss on the logits of its images.

    Args:
        fake_logits: Discriminator logits on generated images, ``(batch,)``.
        kind: ``"non_saturating"`` gives -E[log D(G(z))], ``"minimax"`` gives
            E[log(1 - D(G(z)))], whose gradient vanishes when D(G(z)) is near 0.

    Returns:
        The scalar loss.
    """
    if kind == "non_saturating":
        return jnp.mean(jax.nn.softplus(-fake_logits))
    if kind == "minimax":
        return -jnp.mean(jax.nn.softplus(fake_logits))
    raise ValueError(
        f"Unknown generator loss kind={kind!r}; expected 'non_saturating' or 'minimax'."
    )


def hinge_discriminator_loss(
    real_logits: jax.Array, fake_logits: jax.Array
) -> jax.Array:
    """Returns E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))].

    The discriminator stops pushing a real score above 1 or a generated score
    below -1, so it cannot grow its outputs without limit.

    Args:
        real_logits: Discriminator outputs on real images, ``(batch,)``.
        fake_logits: Discriminator outputs on generated images, ``(batch,)``.

    Returns:
        The scalar loss, mean over each batch, summed over the two batches.
    """
    return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(
        jax.nn.relu(1.0 + fake_logits)
    )


def wasserstein_critic_loss(
    real_logits: jax.Array, fake_logits: jax.Array
) -> jax.Array:
    """Returns E[D(G(z))] - E[D(x)], the critic's loss without its penalty.

    Its negative estimates the Wasserstein-1 distance between the real and the
    generated distribution when the critic is 1-Lipschitz.
    """
    return jnp.mean(fake_logits) - jnp.mean(real_logits)


def score_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """Returns -E[D(G(z))], the generator loss of the hinge and Wasserstein GANs."""
    return -jnp.mean(fake_logits)


def safe_norm(x: jax.Array, axis: int | tuple[int, ...]) -> jax.Array:
    """Returns the Euclidean norm of ``x`` over ``axis`` with a finite gradient.

    ``jnp.linalg.norm`` has the gradient x / ||x||, which is NaN at x = 0. Here
    the gradient at 0 is 0, a valid subgradient. Each vector is divided by its
    largest absolute entry before squaring, so entries near the float32 limit
    do not overflow to infinity.
    """
    # The norm does not depend on the scale factor (it cancels), so its
    # gradient is stopped. Differentiating through it would square the factor
    # and overflow for entries near the float32 limit.
    largest = jax.lax.stop_gradient(jnp.max(jnp.abs(x), axis=axis, keepdims=True))
    nonzero = largest > 0
    # Both branches of each where stay finite, so no NaN reaches the gradient.
    safe_largest = jnp.where(nonzero, largest, 1.0)
    squares = jnp.sum((x / safe_largest) ** 2, axis=axis, keepdims=True)
    safe_squares = jnp.where(nonzero, squares, 1.0)
    norm = jnp.where(nonzero, safe_largest * jnp.sqrt(safe_squares), 0.0)
    return jnp.squeeze(norm, axis=axis)


def gradient_penalty(input_gradients: jax.Array) -> jax.Array:
    """Returns E[(||g|| - 1)^2] over a batch of critic input gradients.

    Args:
        input_gradients: The gradient of the critic's output with respect to
            each input, ``(batch, ...)``; the norm is taken over every axis
            but the first.

    Returns:
        The scalar penalty, before its weight lambda.
    """
    if input_gradients.ndim < 2:
        raise ValueError(
            f"input_gradients has shape {input_gradients.shape}; expected "
            "(batch, ...) with one gradient per input."
        )
    norms = safe_norm(input_gradients, axis=tuple(range(1, input_gradients.ndim)))
    return jnp.mean((norms - 1.0) ** 2)


def interpolate(key: jax.Array, real: jax.Array, fake: jax.Array) -> jax.Array:
    """Returns eps * real + (1 - eps) * fake with one eps ~ U(0, 1) per sample.

    The gradient penalty is evaluated on these points, which lie on straight
    lines between real and generated samples.

    Args:
        key: PRNG key of the mixing weights.
        real: Real samples ``(batch, ...)``.
        fake: Generated samples of the same shape.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"real has shape {real.shape} but fake has shape {fake.shape}; "
            "interpolation pairs them one to one."
        )
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = jax.random.uniform(key, shape, dtype=real.dtype)
    return eps * real + (1.0 - eps) * fake


def objective_discriminator_loss(
    objective: str,
    real_logits: jax.Array,
    fake_logits: jax.Array,
    label_smoothing: float = 0.0,
) -> jax.Array:
    """Returns the discriminator's loss of ``objective``, without a penalty.

    ``label_smoothing`` applies to ``"cross_entropy"`` only.
    """
    if objective == CROSS_ENTROPY:
        return discriminator_loss(real_logits, fake_logits, label_smoothing)
    if objective == HINGE:
        return hinge_discriminator_loss(real_logits, fake_logits)
    if objective == WASSERSTEIN_GP:
        return wasserstein_critic_loss(real_logits, fake_logits)
    raise ValueError(_unknown_objective(objective))


def objective_generator_loss(
    objective: str, fake_logits: jax.Array, kind: str = "non_saturating"
) -> jax.Array:
    """Returns the generator's loss of ``objective``.

    ``kind`` picks the form of ``generator_loss`` for ``"cross_entropy"``; the
    other objectives use ``score_generator_loss``.
    """
    if objective == CROSS_ENTROPY:
        return generator_loss(fake_logits, kind)
    if objective in (HINGE, WASSERSTEIN_GP):
        return score_generator_loss(fake_logits)
    raise ValueError(_unknown_objective(objective))


def _unknown_objective(objective: str) -> str:
    return (
        f"Unknown objective={objective!r}; expected one of "
        f"{CROSS_ENTROPY!r}, {HINGE!r} or {WASSERSTEIN_GP!r}."
    )
