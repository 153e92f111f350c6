"""The generator and discriminator of a DCGAN, as Flax NNX modules.

Images are NHWC batches ``(batch, height, width, channels)`` with values in
[-1, 1]. Both networks take ``train`` explicitly: ``train=True`` normalises with
the batch's own statistics and updates the running averages, ``train=False``
uses the running averages and changes nothing, so one latent vector gives the
same image alone or inside a batch.

The convolutions come from ``gan_lessons.layers``: they hold the same
parameters as ``nnx.Conv`` and ``nnx.ConvTranspose`` and compute the same
outputs, in formulations that train several times faster on XLA's CPU backend.

``ModelConfig.compute_dtype`` sets the dtype of activations, matrix products
and convolutions. Parameters and batch-norm running averages are always
float32 and are cast to the compute dtype where they are used, so their
gradients are float32 too. Batch norm computes its statistics in float32
(``nnx.BatchNorm`` promotes them to at least float32), the discriminator's
dense layer computes the logits in float32, and the generator applies its tanh
in float32 and returns float32 images.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from gan_lessons import layers
from gan_lessons.config import ModelConfig

# Momentum of the batch-norm running averages. PyTorch's default of 0.1 for the
# new value (0.9 here) follows a generator that changes quickly during a short
# training run better than flax's default of 0.99.
BATCH_NORM_MOMENTUM = 0.9


def _square_conv(
    layer_type: type[layers.Conv] | type[layers.ConvTranspose],
    in_features: int,
    out_features: int,
    kernel: int,
    stride: int,
    *,
    use_bias: bool,
    init: nnx.Initializer,
    dtype: jnp.dtype,
    rngs: nnx.Rngs,
) -> layers.Conv | layers.ConvTranspose:
    """Builds a ``kernel`` x ``kernel`` layer with 'SAME' padding."""
    return layer_type(
        in_features,
        out_features,
        (kernel, kernel),
        strides=(stride, stride),
        padding="SAME",
        use_bias=use_bias,
        kernel_init=init,
        dtype=dtype,
        rngs=rngs,
    )


_conv = functools.partial(_square_conv, layers.Conv)
_conv_transpose = functools.partial(_square_conv, layers.ConvTranspose)


def _batch_norm(features: int, dtype: jnp.dtype, rngs: nnx.Rngs) -> nnx.BatchNorm:
    return nnx.BatchNorm(features, momentum=BATCH_NORM_MOMENTUM, dtype=dtype, rngs=rngs)


class Generator(nnx.Module):
    """Maps latent vectors ``(batch, latent_dim)`` to images in [-1, 1].

    For the ``dcgan`` preset at 32x32x1 and its default width 32 the shapes
    are::

        z (100,) -> dense -> 4x4x128 -> 8x8x64 -> 16x16x32 -> 32x32x1 (tanh)
    """

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        self.config = config
        init = nnx.initializers.normal(config.init_stddev)
        dtype = jnp.dtype(config.compute_dtype)
        features = config.generator_features
        self.project = nnx.Linear(
            config.latent_dim,
            4 * 4 * features[0],
            use_bias=False,
            kernel_init=init,
            dtype=dtype,
            rngs=rngs,
        )
        self.project_norm = _batch_norm(features[0], dtype, rngs)

        # Stride-2 layers, each doubling the height and width.
        outputs = list(features[1:])
        last_is_image = config.output_kernel is None
        if last_is_image:
            outputs.append(config.channels)
        ups, norms = [], []
        inputs = features[: len(outputs)]
        for i, (cin, cout) in enumerate(zip(inputs, outputs, strict=True)):
            is_image = last_is_image and i == len(outputs) - 1
            ups.append(
                _conv_transpose(
                    cin,
                    cout,
                    config.generator_kernel,
                    2,
                    use_bias=is_image,
                    init=init,
                    dtype=dtype,
                    rngs=rngs,
                )
            )
            if not is_image:
                norms.append(_batch_norm(cout, dtype, rngs))
        self.upsample = nnx.List(ups)
        self.upsample_norms = nnx.List(norms)

        # The seed preset's stride-1 output layer with an image-sized kernel.
        if config.output_kernel is None:
            self.output = None
        else:
            self.output = _conv_transpose(
                features[-1],
                config.channels,
                config.output_kernel,
                1,
                use_bias=False,
                init=init,
                dtype=dtype,
                rngs=rngs,
            )

    def __call__(self, z: jax.Array, *, train: bool) -> jax.Array:
        """Generates images.

        Args:
            z: Latent vectors, ``(batch, latent_dim)``.
            train: Normalise with batch statistics and update the running
                averages (``True``), or use the running averages (``False``).

        Returns:
            Float32 images ``(batch, image_size, image_size, channels)`` in
            [-1, 1].
        """
        if z.ndim != 2 or z.shape[-1] != self.config.latent_dim:
            raise ValueError(
                f"z has shape {z.shape}; expected (batch, {self.config.latent_dim})."
            )
        use_running_average = not train
        x = self.project(z)
        x = x.reshape(z.shape[0], 4, 4, self.config.generator_features[0])
        x = nnx.relu(self.project_norm(x, use_running_average=use_running_average))
        for i, up in enumerate(self.upsample):
            x = up(x)  # doubles height and width
            if i < len(self.upsample_norms):
                norm = self.upsample_norms[i]
                x = nnx.relu(norm(x, use_running_average=use_running_average))
        if self.output is not None:
            x = self.output(x)
        return jnp.tanh(x.astype(jnp.float32))


class Discriminator(nnx.Module):
    """Maps images ``(batch, size, size, channels)`` to one logit per image.

    The logit is the log-odds that the image is real, so D(x) = sigmoid(logit).
    For the ``dcgan`` preset at 32x32x1 and width 32 the shapes are::

        32x32x1 -> 16x16x32 -> 8x8x64 -> 4x4x128 -> dense -> logit
    """

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        self.config = config
        init = nnx.initializers.normal(config.init_stddev)
        dtype = jnp.dtype(config.compute_dtype)
        convs, norms = [], []
        cin = config.channels
        for i, cout in enumerate(config.discriminator_features):
            # The first layer has no batch norm, so it keeps its bias.
            convs.append(
                _conv(
                    cin,
                    cout,
                    config.discriminator_kernel,
                    2,
                    use_bias=i == 0,
                    init=init,
                    dtype=dtype,
                    rngs=rngs,
                )
            )
            if i > 0:
                norms.append(_batch_norm(cout, dtype, rngs))
            cin = cout
        self.convs = nnx.List(convs)
        self.norms = nnx.List(norms)
        self.classify = nnx.Linear(4 * 4 * cin, 1, kernel_init=init, rngs=rngs)

    def __call__(self, images: jax.Array, *, train: bool) -> jax.Array:
        """Scores images.

        Args:
            images: ``(batch, size, size, channels)``, values in [-1, 1].
            train: Normalise with batch statistics and update the running
                averages (``True``), or use the running averages (``False``).

        Returns:
            Float32 logits ``(batch,)``.
        """
        expected = self.config.image_shape
        if images.ndim != 4 or images.shape[1:] != expected:
            raise ValueError(
                f"images have shape {images.shape}; expected (batch, "
                f"{expected[0]}, {expected[1]}, {expected[2]}) in NHWC layout."
            )
        slope = self.config.leaky_relu_slope
        x = nnx.leaky_relu(self.convs[0](images), slope)
        for conv, norm in zip(self.convs[1:], self.norms, strict=True):
            x = conv(x)  # halves height and width
            x = nnx.leaky_relu(norm(x, use_running_average=not train), slope)
        # The dense layer is float32, so the logits and the losses are too.
        x = x.reshape(x.shape[0], -1).astype(jnp.float32)
        return self.classify(x)[:, 0]


def sample_latent(key: jax.Array, num: int, config: ModelConfig) -> jax.Array:
    """Draws ``num`` latent vectors ``(num, latent_dim)`` from the prior."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 0:
        raise ValueError(f"num={num!r} must be a non-negative integer.")
    shape = (num, config.latent_dim)
    if config.latent_distribution == "uniform":
        return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
    return jax.random.normal(key, shape)


def count_params(module: nnx.Module) -> int:
    """Returns the number of trainable parameters of ``module``."""
    params = nnx.state(module, nnx.Param)
    return sum(x.size for x in jax.tree.leaves(params))
