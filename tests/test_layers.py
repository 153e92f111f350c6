"""Check that gan_lessons.layers computes what flax and lax compute.

Outputs and gradients with respect to the input and the kernel are compared
with `nnx.Conv`, `nnx.ConvTranspose`, `lax.conv_general_dilated` and
`lax.conv_transpose` for every formulation, on small odd shapes.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax import lax

from gan_lessons import layers

DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
# 'auto' picks one of these and is covered by the module tests.
STRIDED_CONV_IMPLS = [i for i in layers.CONV_IMPLS if i not in ("auto", "lax")]
STRIDED_TRANSPOSE_IMPLS = [
    i for i in layers.CONV_TRANSPOSE_IMPLS if i not in ("auto", "lax")
]

# (kernel, strides, padding, input height, input width)
CONFIGS = [
    (4, 2, "SAME", 4, 4),
    (4, 2, "SAME", 8, 6),
    (5, 2, "SAME", 8, 8),
    (5, 2, "SAME", 7, 5),
    (3, 2, "SAME", 6, 7),
    (4, 2, "VALID", 9, 8),
    (5, 2, "VALID", 8, 9),
    (4, 2, ((1, 2), (2, 1)), 6, 5),
    (4, 3, "SAME", 5, 6),
    (2, 2, "SAME", 4, 5),
    ((4, 5), (2, 1), "SAME", 6, 6),
]


def _random(shape, seed):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _assert_close(actual, expected, name):
    """Compare float32 results with a tolerance scaled to the values' size."""
    expected = np.asarray(expected)
    scale = max(float(np.max(np.abs(expected))), 1.0)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape}"
    np.testing.assert_allclose(
        np.asarray(actual), expected, rtol=1e-5, atol=1e-5 * scale, err_msg=name
    )


@jax.jit(static_argnums=0)
def _outputs_and_grads(apply, x, kernel, cotangent):
    y, vjp = jax.vjp(apply, x, kernel)
    dx, dkernel = vjp(cotangent)
    return y, dx, dkernel


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@pytest.mark.parametrize(
    ("config", "impl"), list(itertools.product(CONFIGS, STRIDED_TRANSPOSE_IMPLS))
)
def test_conv_transpose2d_matches_lax(config, impl):
    kernel_size, strides, padding, h, w = config
    kh, kw = _pair(kernel_size)
    x = _random((3, h, w, 5), seed=0)
    kernel = _random((kh, kw, 5, 7), seed=1)

    def reference(x, kernel):
        return lax.conv_transpose(
            x, kernel, _pair(strides), padding, dimension_numbers=DIMENSION_NUMBERS
        )

    def candidate(x, kernel):
        return layers.conv_transpose2d(
            x, kernel, strides=strides, padding=padding, impl=impl
        )

    expected_y = reference(x, kernel)
    cotangent = _random(expected_y.shape, seed=2)
    expected = _outputs_and_grads(reference, x, kernel, cotangent)
    actual = _outputs_and_grads(candidate, x, kernel, cotangent)
    for name, a, e in zip(("y", "dx", "dkernel"), actual, expected, strict=True):
        _assert_close(a, e, f"{impl} {config} {name}")


@pytest.mark.parametrize(
    ("config", "impl"), list(itertools.product(CONFIGS, STRIDED_CONV_IMPLS))
)
def test_conv2d_matches_lax(config, impl):
    kernel_size, strides, padding, h, w = config
    kh, kw = _pair(kernel_size)
    x = _random((3, h, w, 5), seed=3)
    kernel = _random((kh, kw, 5, 7), seed=4)

    def reference(x, kernel):
        return lax.conv_general_dilated(
            x, kernel, _pair(strides), padding, dimension_numbers=DIMENSION_NUMBERS
        )

    def candidate(x, kernel):
        return layers.conv2d(x, kernel, strides=strides, padding=padding, impl=impl)

    expected_y = reference(x, kernel)
    cotangent = _random(expected_y.shape, seed=5)
    expected = _outputs_and_grads(reference, x, kernel, cotangent)
    actual = _outputs_and_grads(candidate, x, kernel, cotangent)
    for name, a, e in zip(("y", "dx", "dkernel"), actual, expected, strict=True):
        _assert_close(a, e, f"{impl} {config} {name}")


# DCGAN layers at a small batch: (in size, in channels, out channels, kernel).
GENERATOR_LAYERS = [(4, 256, 128, 4), (8, 128, 64, 4), (16, 64, 1, 4), (4, 32, 16, 5)]
DISCRIMINATOR_LAYERS = [
    (32, 1, 64, 4),
    (16, 64, 128, 4),
    (8, 128, 256, 4),
    (16, 3, 8, 5),
]


def _module_grads(module, x, cotangent):
    """Return the output, the input gradient and the parameter gradients."""
    graphdef, params = nnx.split(module)

    def apply(params, x):
        return nnx.merge(graphdef, params)(x)

    @jax.jit
    def outputs_and_grads(params, x, cotangent):
        y, vjp = jax.vjp(apply, params, x)
        dparams, dx = vjp(cotangent)
        return y, dx, dparams

    return outputs_and_grads(params, x, cotangent)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("shape", GENERATOR_LAYERS)
def test_conv_transpose_module_matches_flax(shape, batch):
    size, c_in, c_out, k = shape
    ours = layers.ConvTranspose(c_in, c_out, (k, k), strides=2, rngs=nnx.Rngs(0))
    flax_layer = nnx.ConvTranspose(c_in, c_out, (k, k), strides=2, rngs=nnx.Rngs(0))
    # A nonzero bias, so that a missing bias addition fails the test.
    bias = _random((c_out,), seed=6)
    ours.bias[...] = bias
    flax_layer.bias[...] = bias
    x = _random((batch, size, size, c_in), seed=7)
    cotangent = _random((batch, 2 * size, 2 * size, c_out), seed=8)

    y, dx, dparams = _module_grads(ours, x, cotangent)
    y_flax, dx_flax, dparams_flax = _module_grads(flax_layer, x, cotangent)
    _assert_close(y, y_flax, "y")
    _assert_close(dx, dx_flax, "dx")
    _assert_close(dparams["kernel"][...], dparams_flax["kernel"][...], "dkernel")
    _assert_close(dparams["bias"][...], dparams_flax["bias"][...], "dbias")


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("shape", DISCRIMINATOR_LAYERS)
def test_conv_module_matches_flax(shape, batch):
    size, c_in, c_out, k = shape
    ours = layers.Conv(c_in, c_out, (k, k), strides=2, rngs=nnx.Rngs(0))
    flax_layer = nnx.Conv(c_in, c_out, (k, k), strides=2, rngs=nnx.Rngs(0))
    bias = _random((c_out,), seed=9)
    ours.bias[...] = bias
    flax_layer.bias[...] = bias
    x = _random((batch, size, size, c_in), seed=10)
    cotangent = _random((batch, size // 2, size // 2, c_out), seed=11)

    y, dx, dparams = _module_grads(ours, x, cotangent)
    y_flax, dx_flax, dparams_flax = _module_grads(flax_layer, x, cotangent)
    _assert_close(y, y_flax, "y")
    _assert_close(dx, dx_flax, "dx")
    _assert_close(dparams["kernel"][...], dparams_flax["kernel"][...], "dkernel")
    _assert_close(dparams["bias"][...], dparams_flax["bias"][...], "dbias")


@pytest.mark.parametrize(
    ("ours_cls", "flax_cls"),
    [(layers.Conv, nnx.Conv), (layers.ConvTranspose, nnx.ConvTranspose)],
)
@pytest.mark.parametrize("use_bias", [True, False])
def test_module_params_match_flax(ours_cls, flax_cls, use_bias):
    ours = ours_cls(3, 5, (4, 5), strides=2, use_bias=use_bias, rngs=nnx.Rngs(1))
    flax_layer = flax_cls(3, 5, (4, 5), strides=2, use_bias=use_bias, rngs=nnx.Rngs(1))
    ours_state = dict(nnx.to_flat_state(nnx.state(ours, nnx.Param)))
    flax_state = dict(nnx.to_flat_state(nnx.state(flax_layer, nnx.Param)))
    assert ours_state.keys() == flax_state.keys()
    for path, value in flax_state.items():
        assert ours_state[path][...].shape == value[...].shape, path
        # The same seed gives the same initial values.
        np.testing.assert_array_equal(ours_state[path][...], value[...])
    assert (ours.bias is None) == (not use_bias)


def test_module_loads_flax_params():
    flax_layer = nnx.ConvTranspose(8, 4, (4, 4), strides=2, rngs=nnx.Rngs(2))
    ours = layers.ConvTranspose(8, 4, (4, 4), strides=2, rngs=nnx.Rngs(3))
    nnx.update(ours, nnx.state(flax_layer, nnx.Param))
    x = _random((2, 4, 4, 8), seed=12)
    _assert_close(ours(x), flax_layer(x), "y")


@pytest.mark.parametrize("kernel_size", [1, 3, 4])
def test_stride_one_uses_lax(kernel_size):
    x = _random((2, 6, 6, 3), seed=13)
    ours = layers.Conv(3, 4, kernel_size, rngs=nnx.Rngs(0))
    flax_layer = nnx.Conv(3, 4, (kernel_size, kernel_size), rngs=nnx.Rngs(0))
    nnx.update(ours, nnx.state(flax_layer, nnx.Param))
    _assert_close(ours(x), flax_layer(x), "conv")
    ours_t = layers.ConvTranspose(3, 4, kernel_size, rngs=nnx.Rngs(0))
    flax_t = nnx.ConvTranspose(3, 4, (kernel_size, kernel_size), rngs=nnx.Rngs(0))
    nnx.update(ours_t, nnx.state(flax_t, nnx.Param))
    _assert_close(ours_t(x), flax_t(x), "conv_transpose")


def test_module_under_jit_and_grad():
    model = layers.ConvTranspose(6, 3, (4, 4), strides=2, rngs=nnx.Rngs(0))
    x = _random((2, 4, 4, 6), seed=14)

    @nnx.jit
    def loss_and_grads(model, x):
        return nnx.value_and_grad(lambda m: jnp.mean(m(x) ** 2))(model)

    loss, grads = loss_and_grads(model, x)
    assert np.isfinite(float(loss))
    assert grads["kernel"][...].shape == (4, 4, 6, 3)


def test_auto_impl_is_a_concrete_choice():
    for shape in GENERATOR_LAYERS:
        size, c_in, c_out, k = shape
        impl = layers.select_conv_transpose_impl(
            (128, size, size, c_in), (k, k, c_in, c_out), (2, 2)
        )
        assert impl in layers.CONV_TRANSPOSE_IMPLS[1:], shape
    for shape in DISCRIMINATOR_LAYERS:
        size, c_in, c_out, k = shape
        impl = layers.select_conv_impl(
            (128, size, size, c_in), (k, k, c_in, c_out), (2, 2)
        )
        assert impl in layers.CONV_IMPLS[1:], shape


def test_invalid_impl_raises():
    x = _random((1, 4, 4, 2), seed=15)
    kernel = _random((4, 4, 2, 3), seed=16)
    with pytest.raises(ValueError, match="'fft'"):
        layers.conv2d(x, kernel, strides=2, impl="fft")
    with pytest.raises(ValueError, match="'fft'"):
        layers.conv_transpose2d(x, kernel, strides=2, impl="fft")
    with pytest.raises(ValueError, match="'fft'"):
        layers.Conv(2, 3, 4, strides=2, impl="fft", rngs=nnx.Rngs(0))


@pytest.mark.parametrize("padding", ["CIRCULAR", "CAUSAL", "full"])
def test_unsupported_padding_raises(padding):
    with pytest.raises(ValueError, match=padding):
        layers.ConvTranspose(2, 3, 4, strides=2, padding=padding, rngs=nnx.Rngs(0))
    x = _random((1, 4, 4, 2), seed=17)
    kernel = _random((4, 4, 2, 3), seed=18)
    with pytest.raises(ValueError, match=padding):
        layers.conv2d(x, kernel, strides=2, padding=padding)


@pytest.mark.parametrize("strides", [0, (2, 2, 2), (2, -1)])
def test_invalid_strides_raise(strides):
    with pytest.raises(ValueError, match="strides"):
        layers.Conv(2, 3, 4, strides=strides, rngs=nnx.Rngs(0))


def test_channel_mismatch_raises():
    x = _random((1, 4, 4, 2), seed=19)
    kernel = _random((4, 4, 3, 3), seed=20)
    with pytest.raises(ValueError, match="channels"):
        layers.conv_transpose2d(x, kernel, strides=2)
