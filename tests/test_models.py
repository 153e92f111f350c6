"""Tests for gan_lessons.models and the architecture checks of gan_lessons.config.

Shapes and parameter counts come from ``jax.eval_shape``, which traces the real
modules without compiling or running them.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gan_lessons.config import ModelConfig, model_preset
from gan_lessons.models import Discriminator, Generator, count_params, sample_latent

SHAPE_CASES = [
    (preset, size, channels)
    for preset in ("dcgan", "seed")
    for size, channels in ((32, 1), (32, 3), (64, 1))
]


def _abstract(module_class, config: ModelConfig):
    """Returns ``module_class`` with abstract shapes, without drawing weights."""
    return nnx.eval_shape(lambda: module_class(config, rngs=nnx.Rngs(0)))


def _output_shapes(config: ModelConfig, batch_size: int):
    def forward(z, images):
        generator = Generator(config, rngs=nnx.Rngs(0))
        discriminator = Discriminator(config, rngs=nnx.Rngs(1))
        return generator(z, train=False), discriminator(images, train=False)

    z = jax.ShapeDtypeStruct((batch_size, config.latent_dim), jnp.float32)
    images = jax.ShapeDtypeStruct((batch_size, *config.image_shape), jnp.float32)
    return jax.eval_shape(forward, z, images)


@pytest.mark.parametrize("preset,size,channels", SHAPE_CASES)
def test_output_shapes(preset, size, channels):
    config = model_preset(preset, image_size=size, channels=channels, width=8)
    images, logits = _output_shapes(config, batch_size=2)
    assert images.shape == (2, size, size, channels)
    assert images.dtype == jnp.float32
    assert logits.shape == (2,)


def test_generator_output_tanh_range(gan, init_state):
    # Latent vectors 1e4 times too large drive the pre-activation far beyond
    # [-1, 1]. The tanh output must still bound the images and saturate near +-1.
    z = 1e4 * np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    images = np.asarray(gan.generate(init_state, z))
    assert np.all(np.isfinite(images))
    assert images.min() >= -1.0
    assert images.max() <= 1.0
    assert np.abs(images).max() > 0.99


def test_param_count_dcgan_default():
    config = model_preset("dcgan")  # width 32, 32x32x1, latent 100
    # Same layers as at width 64 below, with every channel count halved.
    generator = (
        100 * 4 * 4 * 128
        + 2 * 128
        + 4 * 4 * 128 * 64
        + 2 * 64
        + 4 * 4 * 64 * 32
        + 2 * 32
        + 4 * 4 * 32 * 1
        + 1
    )
    discriminator = (
        4 * 4 * 1 * 32
        + 32
        + 4 * 4 * 32 * 64
        + 2 * 64
        + 4 * 4 * 64 * 128
        + 2 * 128
        + 4 * 4 * 128
        + 1
    )

    assert generator == 369_601
    assert discriminator == 166_817
    assert count_params(_abstract(Generator, config)) == generator
    assert count_params(_abstract(Discriminator, config)) == discriminator


def test_param_count_dcgan_width_64():
    config = model_preset("dcgan", width=64)  # 32x32x1, latent 100
    # Generator: dense 100 -> 4x4x256 without bias, then batch norm (scale and
    # bias). Transposed 4x4 convolutions 256 -> 128 -> 64 have no bias and are
    # followed by batch norm. The image layer 64 -> 1 has a bias and no norm.
    generator = (
        100 * 4 * 4 * 256
        + 2 * 256
        + 4 * 4 * 256 * 128
        + 2 * 128
        + 4 * 4 * 128 * 64
        + 2 * 64
        + 4 * 4 * 64 * 1
        + 1
    )

    # Discriminator: 4x4 convolutions 1 -> 64 (bias, no norm), 64 -> 128 and
    # 128 -> 256 (no bias, batch norm), then dense 4x4x256 -> 1 with a bias.
    discriminator = (
        4 * 4 * 1 * 64
        + 64
        + 4 * 4 * 64 * 128
        + 2 * 128
        + 4 * 4 * 128 * 256
        + 2 * 256
        + 4 * 4 * 256
        + 1
    )

    assert generator == 1_066_881
    assert discriminator == 661_313
    assert count_params(_abstract(Generator, config)) == generator
    assert count_params(_abstract(Discriminator, config)) == discriminator


def test_param_count_seed_default():
    config = model_preset("seed")  # width 16, 32x32x1, latent 100
    # Generator: dense 100 -> 4x4x256 without bias, then batch norm. Transposed
    # 5x5 convolutions 256 -> 64 -> 32 -> 16 have no bias and are followed by
    # batch norm. A stride-1 transposed convolution 16 -> 1 with a 32x32 kernel
    # and no bias produces the image.
    generator = (
        100 * 4 * 4 * 256
        + 2 * 256
        + 5 * 5 * 256 * 64
        + 2 * 64
        + 5 * 5 * 64 * 32
        + 2 * 32
        + 5 * 5 * 32 * 16
        + 2 * 16
        + 32 * 32 * 16 * 1
    )

    # Discriminator: 4x4 convolutions 1 -> 16 (bias, no norm), 16 -> 32 and
    # 32 -> 64 (no bias, batch norm), then dense 4x4x64 -> 1 with a bias.
    discriminator = (
        4 * 4 * 1 * 16
        + 16
        + 4 * 4 * 16 * 32
        + 2 * 32
        + 4 * 4 * 32 * 64
        + 2 * 64
        + 4 * 4 * 64
        + 1
    )

    assert generator == 900_320
    assert discriminator == 42_449
    assert count_params(_abstract(Generator, config)) == generator
    assert count_params(_abstract(Discriminator, config)) == discriminator


def _kernels(params) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    return {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in leaves
        if "kernel" in jax.tree_util.keystr(path)
    }


def test_init_stddev(init_state):
    kernels = {
        **_kernels(init_state.generator_params),
        **_kernels(init_state.discriminator_params),
    }
    # A kernel of 2,048 or more weights estimates the standard deviation with
    # a standard error of about 1.6%, so 10% leaves a wide margin. Smaller
    # kernels are skipped.
    large = {name: kernel for name, kernel in kernels.items() if kernel.size >= 2048}
    assert len(large) >= 4
    for name, kernel in large.items():
        assert abs(kernel.std() - 0.02) < 0.002, name
        assert abs(kernel.mean()) < 0.003, name


INVALID_CONFIGS = {
    "preset": (lambda: model_preset("foo"), "'foo'"),
    "image_size": (lambda: model_preset("dcgan", image_size=48), "48"),
    "channels": (lambda: model_preset("dcgan", channels=2), "channels=2"),
    "latent_dim": (lambda: model_preset("dcgan", latent_dim=0), "latent_dim=0"),
    "generator_features": (
        lambda: ModelConfig(generator_features=(256, 128)),
        "generator_features=(256, 128)",
    ),
    "discriminator_features": (
        lambda: ModelConfig(discriminator_features=(64, 128, 256, 512)),
        "discriminator_features=(64, 128, 256, 512)",
    ),
    "seed_features": (
        lambda: ModelConfig(preset="seed", output_kernel=32),
        "generator_features=(128, 64, 32)",
    ),
    "width": (lambda: model_preset("dcgan", width=0), "width=0"),
}


@pytest.mark.parametrize("case", sorted(INVALID_CONFIGS))
def test_invalid_config(case):
    build, value = INVALID_CONFIGS[case]
    with pytest.raises(ValueError, match=re.escape(value)):
        build()


@pytest.mark.parametrize("shape", [(2, 99), (100,), (2, 100, 1)])
def test_generator_rejects_latent_shape(gan, init_state, shape):
    generator = gan.generator(init_state)
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        generator(jnp.zeros(shape), train=False)


@pytest.mark.parametrize(
    "shape", [(2, 28, 28, 1), (2, 1, 32, 32), (2, 32, 32, 3), (32, 32, 1)]
)
def test_discriminator_rejects_image_shape(gan, init_state, shape):
    discriminator = gan.discriminator(init_state)
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        discriminator(jnp.zeros(shape), train=False)


def test_gan_generate_rejects_shape(gan, init_state):
    with pytest.raises(ValueError, match=re.escape("(4, 64)")):
        gan.generate(init_state, np.zeros((4, 64), np.float32))


def test_gan_discriminate_rejects_shape(gan, init_state):
    with pytest.raises(ValueError, match=re.escape("(4, 64, 64, 1)")):
        gan.discriminate(init_state, np.zeros((4, 64, 64, 1), np.float32))


def test_sample_latent_priors():
    key = jax.random.key(0)
    uniform = np.asarray(sample_latent(key, 512, model_preset("seed", width=8)))
    normal = np.asarray(sample_latent(key, 512, model_preset("dcgan", width=8)))
    assert uniform.shape == (512, 100)
    assert normal.shape == (512, 100)
    assert uniform.min() >= -1.0
    assert uniform.max() <= 1.0
    # About 16,200 of 51,200 standard normal values exceed 1 in magnitude, but
    # no U(-1, 1) value does.
    assert np.sum(np.abs(normal) > 1.0) > 10_000
    assert abs(normal.std() - 1.0) < 0.05
