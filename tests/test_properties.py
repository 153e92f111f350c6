"""Property-based tests of the public helpers, with Hypothesis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gan_lessons import data, latent, losses, plotting

LOGIT = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, width=32)
LOGITS = hnp.arrays(np.float32, st.integers(1, 16), elements=LOGIT)
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(real=LOGITS, fake=LOGITS, smoothing=st.floats(0.0, 0.5))
def test_discriminator_loss_finite_with_finite_gradient(real, fake, smoothing):
    loss, (real_grad, fake_grad) = jax.value_and_grad(
        losses.discriminator_loss, argnums=(0, 1)
    )(jnp.asarray(real), jnp.asarray(fake), smoothing)
    assert np.isfinite(loss)
    assert loss >= 0
    assert np.all(np.isfinite(real_grad))
    assert np.all(np.isfinite(fake_grad))


@FAST
@given(fake=LOGITS, kind=st.sampled_from(["non_saturating", "minimax"]))
def test_generator_loss_finite_with_finite_gradient(fake, kind):
    loss, grad = jax.value_and_grad(losses.generator_loss)(jnp.asarray(fake), kind)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(grad))
    # Each logit's gradient is a sigmoid divided by the batch size.
    assert np.all(np.abs(grad) <= 1.0 / fake.size + 1e-7)


@FAST
@given(fake=LOGITS)
def test_non_saturating_loss_decreases_with_logit(fake):
    grad = jax.grad(losses.generator_loss)(jnp.asarray(fake), "non_saturating")
    assert np.all(np.asarray(grad) <= 0)


@FAST
@given(
    count=st.integers(1, 40),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    channels=st.sampled_from([1, 3]),
    columns=st.one_of(st.none(), st.integers(1, 12)),
    padding=st.integers(0, 3),
)
def test_image_grid_places_every_image(
    count, height, width, channels, columns, padding
):
    rng = np.random.default_rng(count)
    images = rng.uniform(-1, 1, (count, height, width, channels)).astype(np.float32)
    grid = plotting.image_grid(images, columns=columns, padding=padding)
    used_columns = columns or int(np.ceil(np.sqrt(count)))
    rows = -(-count // used_columns)
    assert grid.shape == (
        rows * (height + padding) + padding,
        used_columns * (width + padding) + padding,
        channels,
    )
    for index in range(count):
        top = padding + (index // used_columns) * (height + padding)
        left = padding + (index % used_columns) * (width + padding)
        np.testing.assert_array_equal(
            grid[top : top + height, left : left + width], images[index]
        )
    assert grid.min() >= -1.0
    assert grid.max() <= 1.0


@FAST
@given(pixels=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=4, max_dims=4)))
def test_uint8_round_trip(pixels):
    np.testing.assert_array_equal(data.to_uint8(data.to_float(pixels)), pixels)


VECTOR_ELEMENT = st.floats(-10.0, 10.0, allow_nan=False, width=32)


@FAST
@given(
    pair=st.integers(1, 64).flatmap(
        lambda dim: st.tuples(
            hnp.arrays(np.float32, dim, elements=VECTOR_ELEMENT),
            hnp.arrays(np.float32, dim, elements=VECTOR_ELEMENT),
        )
    ),
    count=st.integers(2, 20),
    method=st.sampled_from(["lerp", "slerp"]),
)
def test_interpolation_any_count_and_size(pair, count, method):
    start, end = pair
    path = latent.interpolate(start, end, count, method=method)
    assert path.shape == (count, start.size)
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path[0], start, atol=1e-4)
    np.testing.assert_allclose(path[-1], end, atol=1e-4)
    # Neither path leaves the ball of the larger endpoint: slerp's norm moves
    # linearly between the endpoints' norms, and lerp's is convex along it.
    norms = np.linalg.norm(path, axis=1)
    largest = max(np.linalg.norm(start), np.linalg.norm(end))
    assert np.all(norms <= largest + 1e-3)
