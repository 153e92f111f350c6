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
        # With upsampling="resize" each layer is a stride-1 convolution that
        # runs after a nearest-neighbour upsampling (see __call__). Its kernel
        # has the same shape, so both choices have the same parameters.
        resize = config.upsampling == "resize"
        for i, (cin, cout) in enumerate(zip(inputs, outputs, strict=True)):
            is_image = last_is_image and i == len(outputs) - 1
            ups.append(
                (_conv if resize else _conv_transpose)(
                    cin,
                    cout,
                    config.generator_kernel,
                    1 if resize else 2,
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
        resize = self.config.upsampling == "resize"
        for i, up in enumerate(self.upsample):
            if resize:
                x = up(upsample_nearest(x))  # doubles height and width
            else:
                x = up(x)  # doubles height and width
            if i < len(self.upsample_norms):
                norm = self.upsample_norms[i]
                x = nnx.relu(norm(x, use_running_average=use_running_average))
        if self.output is not None:
            x = self.output(x)
        return jnp.tanh(x.astype(jnp.float32))


def upsample_nearest(x: jax.Array, factor: int = 2) -> jax.Array:
    """Repeats each pixel of ``(batch, height, width, channels)`` images.

    Returns ``(batch, factor * height, factor * width, channels)``, where each
    input pixel becomes a ``factor`` x ``factor`` block of copies.
    """
    n, h, w, c = x.shape
    blocks = jnp.broadcast_to(x[:, :, None, :, None, :], (n, h, factor, w, factor, c))
    return blocks.reshape(n, h * factor, w * factor, c)


class SpectralNorm(nnx.Module):
    """Wraps a layer so that it uses its kernel divided by the kernel's
    largest singular value (Miyato et al., "Spectral Normalization for
    Generative Adversarial Networks", ICLR 2018).

    The kernel ``(..., out_features)`` is read as a matrix with
    ``out_features`` columns. Power iteration estimates its largest singular
    value sigma from a vector ``u`` ``(out_features,)``, kept as a
    ``nnx.BatchStat`` so that training carries it from step to step, which
    makes one iteration per call enough. ``u`` and ``v`` are held constant
    under differentiation, as in the paper. The wrapped layer's parameter is
    never overwritten, so calling the module twice computes the same output.
    ``flax.nnx.SpectralNorm`` (flax 0.12.8) writes the normalised kernel into
    the wrapped layer's parameter, so a second call would normalise it again.
    """

    def __init__(self, layer: layers.Conv | nnx.Linear, *, rngs: nnx.Rngs):
        self.layer = layer
        out_features = layer.kernel.shape[-1]
        u = jax.random.normal(rngs.params(), (out_features,), jnp.float32)
        self.u = nnx.BatchStat(u / jnp.linalg.norm(u))

    def __call__(self, x: jax.Array, *, update_stats: bool) -> jax.Array:
        """Applies the layer with its normalised kernel.

        Args:
            x: The layer's input.
            update_stats: Store the new ``u`` of this call's power iteration.
        """
        kernel = self.layer.kernel[...]
        matrix = kernel.reshape(-1, kernel.shape[-1]).astype(jnp.float32)
        u = self.u[...]
        # One step of power iteration: v ~ W u, u ~ W^T v, sigma = v^T W u.
        v = _l2_normalize(matrix @ u)
        u = _l2_normalize(matrix.T @ v)
        u = jax.lax.stop_gradient(u)
        v = jax.lax.stop_gradient(v)
        sigma = v @ matrix @ u
        # An all-zero kernel has sigma 0 and stays zero rather than NaN.
        sigma = jnp.where(sigma > 0, sigma, 1.0)
        if update_stats:
            self.u[...] = u
        normalised = (matrix / sigma).reshape(kernel.shape).astype(kernel.dtype)
        self.layer.kernel[...] = normalised
        try:
            return self.layer(x)
        finally:
            self.layer.kernel[...] = kernel

    def sigma(self) -> jax.Array:
        """Returns the current estimate of the kernel's largest singular value."""
        kernel = self.layer.kernel[...]
        matrix = kernel.reshape(-1, kernel.shape[-1]).astype(jnp.float32)
        v = _l2_normalize(matrix @ self.u[...])
        return v @ matrix @ _l2_normalize(matrix.T @ v)


def _l2_normalize(x: jax.Array) -> jax.Array:
    # The 1e-12 keeps an all-zero kernel from dividing by zero.
    return x / (jnp.linalg.norm(x) + 1e-12)


def _layer_norm(features: int, dtype: jnp.dtype, rngs: nnx.Rngs) -> nnx.LayerNorm:
    # Statistics over height, width and channels of each image; one scale and
    # bias per channel.
    return nnx.LayerNorm(
        features,
        reduction_axes=(-3, -2, -1),
        feature_axes=-1,
        dtype=dtype,
        rngs=rngs,
    )


class Discriminator(nnx.Module):
    """Maps images ``(batch, size, size, channels)`` to one logit per image.

    The logit is the log-odds that the image is real, so D(x) = sigmoid(logit).
    For the ``dcgan`` preset at 32x32x1 and width 32 the shapes are::

        32x32x1 -> 16x16x32 -> 8x8x64 -> 4x4x128 -> dense -> logit

    ``config.discriminator_norm`` picks the normalisation after every
    convolution but the first, and ``config.spectral_norm`` wraps every
    convolution and the dense layer in ``SpectralNorm``.
    """

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        self.config = config
        init = nnx.initializers.normal(config.init_stddev)
        dtype = jnp.dtype(config.compute_dtype)
        convs, norms = [], []
        cin = config.channels
        for i, cout in enumerate(config.discriminator_features):
            # A layer without a normalisation after it keeps its bias: the
            # first one always, the others with discriminator_norm="none".
            use_bias = i == 0 or config.discriminator_norm == "none"
            conv = _conv(
                cin,
                cout,
                config.discriminator_kernel,
                2,
                use_bias=use_bias,
                init=init,
                dtype=dtype,
                rngs=rngs,
            )
            if config.spectral_norm:
                conv = SpectralNorm(conv, rngs=rngs)
            convs.append(conv)
            if i > 0 and config.discriminator_norm == "batch":
                norms.append(_batch_norm(cout, dtype, rngs))
            elif i > 0 and config.discriminator_norm == "layer":
                norms.append(_layer_norm(cout, dtype, rngs))
            cin = cout
        self.convs = nnx.List(convs)
        self.norms = nnx.List(norms)
        classify = nnx.Linear(4 * 4 * cin, 1, kernel_init=init, rngs=rngs)
        if config.spectral_norm:
            classify = SpectralNorm(classify, rngs=rngs)
        self.classify = classify

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
        norm_kind = self.config.discriminator_norm
        x = images
        for i, conv in enumerate(self.convs):
            x = self._apply(conv, x, train)  # halves height and width
            if i > 0 and norm_kind == "batch":
                x = self.norms[i - 1](x, use_running_average=not train)
            elif i > 0 and norm_kind == "layer":
                x = self.norms[i - 1](x)
            x = nnx.leaky_relu(x, slope)
        # The dense layer is float32, so the logits and the losses are too.
        x = x.reshape(x.shape[0], -1).astype(jnp.float32)
        return self._apply(self.classify, x, train)[:, 0]

    @staticmethod
    def _apply(layer, x: jax.Array, train: bool) -> jax.Array:
        if isinstance(layer, SpectralNorm):
            return layer(x, update_stats=train)
        return layer(x)


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
