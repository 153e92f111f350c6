"""GAN losses computed from discriminator logits.

With D(x) = sigmoid(logit), the value function of the minimax game is

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))].

The discriminator ascends V, so its loss is -V. The generator descends V
(``minimax``) or, as Goodfellow et al. (2014) suggest for stronger early
gradients, ascends E_z[log D(G(z))] (``non_saturating``). Every log-sigmoid is
written with ``softplus``: log sigmoid(a) = -softplus(-a) and
log(1 - sigmoid(a)) = -softplus(a), which stay finite for any logit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
