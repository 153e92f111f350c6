"""A conditional GAN on MNIST: the class label chooses which digit is drawn.

Both networks receive the label ``y`` in 0..9 beside their usual input, and
both reuse the DCGAN layers of :mod:`gan_lessons.models` unchanged:

* ``ConditionalGenerator`` looks up a learned embedding ``e(y)`` of
  :data:`EMBEDDING_DIM` numbers and feeds ``concat(z, e(y))`` to an ordinary
  ``Generator`` whose latent length is ``latent_dim + EMBEDDING_DIM``. The
  first dense layer maps the concatenation to the 4x4 feature map, so the
  label adds a class-dependent offset to that map.
* ``ProjectionDiscriminator`` is a projection discriminator (Miyato and
  Koyama, "cGANs with Projection Discriminator", ICLR 2018). With ``phi(x)``
  the flattened 4x4 features of the DCGAN discriminator, the logit is

      logit(x, y) = w . phi(x) + b + V[y] . phi(x),

  where ``w . phi(x) + b`` is the unconditional dense layer and ``V`` is a
  learned ``(num_classes, feature_dim)`` embedding. The label enters as an
  inner product with the features instead of as extra input channels.

``ConditionalGAN`` contains the jit-compiled training step, built on
``losses.py`` and on ``train.TrainState``, so ``checkpoint.Checkpointer``
saves and restores it. ``train`` trains with checkpoints and resumes after an
interruption, ``export_generator`` writes a small ``.npz`` generator file and
``load_generator`` reads it. The command line::

    python -m gan_lessons.conditional train --out runs/conditional
    python -m gan_lessons.conditional export --checkpoint runs/conditional \\
        --out gan_lessons/assets/generator_conditional_mnist.npz

:mod:`gan_lessons.conditional_lesson` measures whether each label produces its
digit, draws the lesson's figures and digit explorer and checks its exercises.
Images are float32 NHWC ``(batch, 32, 32, 1)`` in [-1, 1] and labels are
int32 ``(batch,)`` in ``0..num_classes - 1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import os
import sys
import time
import zipfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from numpy.typing import ArrayLike

from gan_lessons import __version__, data, losses, pretrained
from gan_lessons.config import ModelConfig, TrainConfig, model_preset, train_preset
from gan_lessons.models import Discriminator, Generator, sample_latent
from gan_lessons.train import GAN, TrainState, apply_optimizer, step_metrics

logger = logging.getLogger(__name__)

NUM_CLASSES = 10
# Length of the generator's label embedding, appended to the 100 latent
# entries. A one-hot code would need 10; 16 gives the embedding some room.
EMBEDDING_DIM = 16
FORMAT_NAME = "gan_lessons.conditional_generator"
FORMAT_VERSION = 1
GENERATOR_ASSET = "generator_conditional_mnist.npz"
CHECKPOINT_EVERY = 500
# Weight of the mode seeking term in the generator's loss. Without it the
# generator learned to ignore z: one image per label (see the lesson).
MODE_SEEKING_WEIGHT = 1.0
SHIPPED_COMMANDS = (
    "python -m gan_lessons.conditional train --out runs/conditional && "
    "python -m gan_lessons.conditional export --checkpoint runs/conditional "
    "--out gan_lessons/assets/generator_conditional_mnist.npz"
)
EXPORT_COMMAND = (
    "python -m gan_lessons.conditional export --checkpoint RUN --out FILE.npz"
)
_METADATA_KEYS = (
    "format",
    "format_version",
    "model_config",
    "num_classes",
    "embedding_dim",
    "step",
    "package_version",
)


# Models.


class ConditionalGenerator(nnx.Module):
    """Maps latent vectors and labels to images of the labelled class.

    For the ``dcgan`` preset at width 32 the shapes are::

        z (100,), y -> e(y) (16,) -> concat (116,) -> dense -> 4x4x128
            -> 8x8x64 -> 16x16x32 -> 32x32x1 (tanh)
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        num_classes: int = NUM_CLASSES,
        embedding_dim: int = EMBEDDING_DIM,
        rngs: nnx.Rngs,
    ):
        check_positive_int("num_classes", num_classes)
        check_positive_int("embedding_dim", embedding_dim)
        self.config = config
        self.num_classes = num_classes
        # N(0, 1) entries give the embedding the same scale as the latent prior.
        self.embed = nnx.Embed(
            num_classes,
            embedding_dim,
            embedding_init=nnx.initializers.normal(1.0),
            rngs=rngs,
        )
        body_config = dataclasses.replace(
            config, latent_dim=config.latent_dim + embedding_dim
        )
        self.body = Generator(body_config, rngs=rngs)

    def __call__(self, z: jax.Array, labels: jax.Array, *, train: bool) -> jax.Array:
        """Generates images.

        Args:
            z: Latent vectors, ``(batch, latent_dim)``.
            labels: Integer class labels, ``(batch,)``.
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
        _check_label_shape(labels, z.shape[0])
        code = self.embed(labels).astype(z.dtype)
        return self.body(jnp.concatenate([z, code], axis=-1), train=train)


class ProjectionDiscriminator(Discriminator):
    """A DCGAN discriminator with a projection term for the label.

    The logit is ``classify(phi(x)) + embed(y) . phi(x)``, where ``phi(x)``
    are the flattened 4x4 features, 2,048 numbers at width 32.
    """

    def __init__(
        self, config: ModelConfig, *, num_classes: int = NUM_CLASSES, rngs: nnx.Rngs
    ):
        check_positive_int("num_classes", num_classes)
        super().__init__(config, rngs=rngs)
        self.num_classes = num_classes
        feature_dim = 4 * 4 * config.discriminator_features[-1]
        self.embed = nnx.Embed(
            num_classes,
            feature_dim,
            embedding_init=nnx.initializers.normal(config.init_stddev),
            rngs=rngs,
        )

    def features(self, images: jax.Array, *, train: bool) -> jax.Array:
        """Computes ``phi(x)``, float32 ``(batch, 4 * 4 * channels)``."""
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
        return x.reshape(x.shape[0], -1).astype(jnp.float32)

    def __call__(  # type: ignore[override]
        self, images: jax.Array, labels: jax.Array, *, train: bool
    ) -> jax.Array:
        """Scores images as real examples of their label.

        Args:
            images: ``(batch, size, size, channels)``, values in [-1, 1].
            labels: Integer class labels, ``(batch,)``.
            train: Use batch statistics (``True``) or running averages.

        Returns:
            Float32 logits ``(batch,)``.
        """
        phi = self.features(images, train=train)
        _check_label_shape(labels, images.shape[0])
        unconditional = self.classify(phi)[:, 0]
        projection = jnp.sum(self.embed(labels) * phi, axis=-1)
        return unconditional + projection


def _check_label_shape(labels: jax.Array, batch: int) -> None:
    if labels.shape != (batch,) or not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(
            f"labels have shape {labels.shape} and dtype {labels.dtype}; "
            f"expected integers of shape ({batch},)."
        )


def check_positive_int(name: str, value: Any) -> None:
    """Raises ``ValueError`` unless ``value`` is an int above 0 (bool is not)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer.")


def check_labels(labels: ArrayLike, num_classes: int, batch: int) -> np.ndarray:
    """Returns ``labels`` as int32 ``(batch,)`` after checking their values.

    Raises:
        ValueError: If the shape differs, the values are not integers, or a
            label is outside ``0..num_classes - 1``.
    """
    array = np.asarray(labels)
    if array.shape != (batch,):
        raise ValueError(f"labels have shape {array.shape}; expected ({batch},).")
    if array.dtype.kind not in "iu":
        raise ValueError(
            f"labels have dtype {array.dtype}; expected integers in "
            f"0..{num_classes - 1}."
        )
    if batch and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"labels span {array.min()}..{array.max()}; expected 0..{num_classes - 1}."
        )
    return array.astype(np.int32)


# Training step.


class ConditionalGAN(GAN):
    """A conditional generator and discriminator with their jit-compiled steps.

    A ``train.GAN`` whose networks also take the labels, so initialisation,
    ``generator``, ``discriminator``, ``sample_latent`` and
    ``set_learning_rates`` are those of ``train.GAN``. Every array is in a
    ``TrainState``, so ``checkpoint.Checkpointer`` saves and restores it.
    Step ``s`` draws its latent vectors and the labels of its generated batch
    from ``fold_in(key, s)``, so a resumed run repeats an uninterrupted one.
    The step trains the cross-entropy objective of ``losses.py`` on one
    device, one step per call.

    Args:
        model_config: Architecture shared with the unconditional DCGAN.
        train_config: Optimisation settings.
        num_classes: Number of labels.
        embedding_dim: Length of the generator's label embedding.
        mode_seeking_weight: Weight of ``mode_seeking_loss`` in the
            generator's loss; 0 trains without it.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        *,
        num_classes: int = NUM_CLASSES,
        embedding_dim: int = EMBEDDING_DIM,
        mode_seeking_weight: float = MODE_SEEKING_WEIGHT,
    ):
        check_positive_int("num_classes", num_classes)
        check_positive_int("embedding_dim", embedding_dim)
        _check_weight(mode_seeking_weight)
        # The network constructors below read these, so they are set first.
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.mode_seeking_weight = float(mode_seeking_weight)
        super().__init__(model_config, train_config)

    @property
    def extra(self) -> dict[str, int]:
        """Settings beyond the two configurations, stored with checkpoints."""
        return {
            "num_classes": self.num_classes,
            "embedding_dim": self.embedding_dim,
            "mode_seeking_weight": self.mode_seeking_weight,
        }

    def _check_configs(
        self, model_config: ModelConfig, train_config: TrainConfig
    ) -> None:
        # _step trains the cross-entropy objective with one discriminator
        # update per step; other settings would be silently ignored.
        if train_config.objective != losses.CROSS_ENTROPY:
            raise ValueError(
                f"objective={train_config.objective!r} is not supported by the "
                "conditional GAN, which trains the cross-entropy objective; "
                "use TrainConfig(objective='cross_entropy')."
            )
        # ProjectionDiscriminator.features follows the batch-norm layout.
        if model_config.discriminator_norm != "batch" or model_config.spectral_norm:
            raise ValueError(
                f"discriminator_norm={model_config.discriminator_norm!r} with "
                f"spectral_norm={model_config.spectral_norm!r} is not supported "
                "by the conditional GAN's projection discriminator; use "
                "ModelConfig(discriminator_norm='batch', spectral_norm=False)."
            )
        if train_config.discriminator_steps != 1:
            raise ValueError(
                f"discriminator_steps={train_config.discriminator_steps!r} is "
                "not supported by the conditional GAN, which updates both "
                "networks at every step; use discriminator_steps=1."
            )

    def _new_generator(self, rngs: nnx.Rngs) -> ConditionalGenerator:
        return ConditionalGenerator(
            self.model_config,
            num_classes=self.num_classes,
            embedding_dim=self.embedding_dim,
            rngs=rngs,
        )

    def _new_discriminator(self, rngs: nnx.Rngs) -> ProjectionDiscriminator:
        return ProjectionDiscriminator(
            self.model_config, num_classes=self.num_classes, rngs=rngs
        )

    def train_step(  # type: ignore[override]
        self, state: TrainState, images: ArrayLike, labels: ArrayLike
    ) -> tuple[TrainState, dict[str, jax.Array]]:
        """Runs one training step; compiled on the first call only.

        Args:
            state: The current state.
            images: Real images ``(batch, size, size, channels)``, float32
                NHWC in [-1, 1].
            labels: Their integer labels, ``(batch,)``.

        Returns:
            The new state and the scalar metrics of ``train.GAN.train_step``:
            ``discriminator_loss``, ``generator_loss``, ``d_real``, ``d_fake``,
            ``discriminator_grad_norm`` and ``generator_grad_norm``, plus
            ``mode_seeking_loss`` before its weight.
        """
        images = self._check_images(images)
        labels = check_labels(labels, self.num_classes, images.shape[0])
        return self._train_step(state, images, jnp.asarray(labels))

    def train_steps(self, state, batches, *, unroll=1):
        """Raises ``NotImplementedError``, because every batch needs its labels."""
        raise NotImplementedError(
            "ConditionalGAN has no train_steps, because each batch needs its "
            "labels. Call train_step(state, images, labels) once per batch."
        )

    def generate(  # type: ignore[override]
        self, state: TrainState, z: ArrayLike, labels: ArrayLike
    ) -> jax.Array:
        """Renders images ``(n, size, size, channels)`` of the given labels.

        Batch norm uses the running averages, so each image depends only on
        its own latent vector and label.
        """
        z = _check_latent(z, self.model_config.latent_dim)
        labels = check_labels(labels, self.num_classes, z.shape[0])
        return self._generate(
            state.generator_params, state.generator_stats, z, jnp.asarray(labels)
        )

    def discriminate(  # type: ignore[override]
        self, state: TrainState, images: ArrayLike, labels: ArrayLike
    ) -> jax.Array:
        """Returns discriminator logits ``(n,)`` with the running averages."""
        images = self._check_images(images)
        labels = check_labels(labels, self.num_classes, images.shape[0])
        return self._discriminate(
            state.discriminator_params,
            state.discriminator_stats,
            images,
            jnp.asarray(labels),
        )

    def _check_images(self, images: ArrayLike) -> jax.Array:
        expected = self.model_config.image_shape
        array = np.asarray(images)
        if array.ndim != 4 or array.shape[1:] != expected or array.shape[0] == 0:
            raise ValueError(
                f"images have shape {array.shape}; expected (batch, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) float32 NHWC with batch >= 1."
            )
        if array.dtype != np.float32:
            raise ValueError(
                f"images have dtype {array.dtype}; expected float32 in [-1, 1]. "
                "Convert uint8 digits with gan_lessons.data.to_float."
            )
        if not np.isfinite(array).all() or np.abs(array).max() > 1.0 + 1e-3:
            raise ValueError(
                "images contain values outside [-1, 1] or NaN; scale uint8 "
                "digits with gan_lessons.data.to_float."
            )
        return jnp.asarray(array)

    # Pure functions behind the jitted ones.

    def _draw(self, key: jax.Array, batch_size: int):
        """Draws latent vectors and uniform labels whose two ends repeat.

        Image ``i`` and image ``batch_size - n + i`` share a label for
        ``i < n = batch_size // 2``, the pairs that ``mode_seeking_loss``
        compares.
        """
        latent_key, label_key = jax.random.split(key)
        z = sample_latent(latent_key, batch_size, self.model_config)
        pairs = batch_size // 2
        first = jax.random.randint(
            label_key, (batch_size - pairs,), 0, self.num_classes
        )
        return z, jnp.concatenate([first, first[:pairs]])

    def _step(  # type: ignore[override]
        self, state: TrainState, real: jax.Array, real_labels: jax.Array
    ):
        tc = self.train_config
        batch_size = real.shape[0]
        _, keys = self._step_keys(state)

        # Generate once with uniformly drawn labels, keeping the VJP: the
        # discriminator trains on these images and the first generator update
        # backpropagates through them.
        z, fake_labels = self._draw(keys[0], batch_size)

        def generate(params):
            return self._apply_generator(
                params, state.generator_stats, z, fake_labels, train=True
            )

        fake, pullback, g_stats = jax.vjp(
            generate, state.generator_params, has_aux=True
        )

        # Update the discriminator: real images with their labels count as
        # real, generated images with the labels they were asked for as fake.
        def discriminator_objective(d_params):
            real_logits, d_stats = self._apply_discriminator(
                d_params, state.discriminator_stats, real, real_labels, train=True
            )
            fake_logits, d_stats = self._apply_discriminator(
                d_params, d_stats, jax.lax.stop_gradient(fake), fake_labels, train=True
            )
            loss = losses.discriminator_loss(
                real_logits, fake_logits, tc.label_smoothing
            )
            return loss, (d_stats, real_logits, fake_logits)

        (d_loss, (d_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(
            discriminator_objective, has_aux=True
        )(state.discriminator_params)
        d_params, d_opt_state = apply_optimizer(
            self.discriminator_optimizer,
            d_grads,
            state.discriminator_opt_state,
            state.discriminator_params,
        )

        # Update the generator through the updated discriminator, plus the
        # mode seeking term that rewards different images for different z.
        def generator_objective(images, labels, z):
            logits, _ = self._apply_discriminator(
                d_params, d_stats, images, labels, train=True
            )
            adversarial = losses.generator_loss(logits, tc.generator_loss)
            seeking = mode_seeking_loss(images, z)
            total = adversarial + self.mode_seeking_weight * seeking
            return total, (adversarial, seeking)

        (_, (g_loss, seeking)), d_fake_images = jax.value_and_grad(
            generator_objective, has_aux=True
        )(fake, fake_labels, z)
        (g_grads,) = pullback(d_fake_images)
        g_params, g_opt_state = apply_optimizer(
            self.generator_optimizer,
            g_grads,
            state.generator_opt_state,
            state.generator_params,
        )

        # Extra generator updates, each on fresh latent vectors and labels.
        for key in keys[1:]:
            z, labels = self._draw(key, batch_size)

            def full_objective(params, stats, z=z, labels=labels):
                images, stats = self._apply_generator(
                    params, stats, z, labels, train=True
                )
                total, parts = generator_objective(images, labels, z)
                return total, (parts, stats)

            (_, ((g_loss, seeking), g_stats)), g_grads = jax.value_and_grad(
                full_objective, has_aux=True
            )(g_params, g_stats)
            g_params, g_opt_state = apply_optimizer(
                self.generator_optimizer, g_grads, g_opt_state, g_params
            )

        new_state = TrainState(
            step=state.step + 1,
            key=state.key,
            generator_params=g_params,
            generator_stats=g_stats,
            discriminator_params=d_params,
            discriminator_stats=d_stats,
            generator_opt_state=g_opt_state,
            discriminator_opt_state=d_opt_state,
        )
        metrics = step_metrics(
            d_loss, g_loss, real_logits, fake_logits, d_grads, g_grads
        )
        return new_state, {**metrics, "mode_seeking_loss": seeking}


def mode_seeking_loss(images: jax.Array, z: jax.Array) -> jax.Array:
    """Returns the mode seeking term of Mao et al. (CVPR 2019).

    With ``n = batch // 2``, image ``i`` is paired with image
    ``batch - n + i``, which has the same label. The ratio

        r = mean |x_a - x_b| / mean |z_a - z_b|

    over all pairs measures how much the images move per unit of latent
    change, and the loss is ``1 / (r + 1e-5)``: a generator that ignores ``z``
    has ``r`` near 0 and a large loss. A batch of one image has no pair, so
    the loss is 0.

    Args:
        images: Generated images ``(batch, ...)``.
        z: Their latent vectors ``(batch, latent_dim)``.
    """
    pairs = images.shape[0] // 2
    if pairs == 0:
        return jnp.zeros((), jnp.float32)
    offset = images.shape[0] - pairs
    image_distance = jnp.mean(jnp.abs(images[:pairs] - images[offset:]))
    latent_distance = jnp.mean(jnp.abs(z[:pairs] - z[offset:]))
    return 1.0 / (image_distance / latent_distance + 1e-5)


def _check_weight(value: Any) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not np.isfinite(value) or value < 0:
        raise ValueError(f"mode_seeking_weight={value!r} must be a finite number >= 0.")


def _check_latent(z: ArrayLike, latent_dim: int) -> jax.Array:
    array = jnp.asarray(z, jnp.float32)
    if array.ndim != 2 or array.shape[1] != latent_dim:
        raise ValueError(f"z has shape {array.shape}; expected (n, {latent_dim}).")
    return array


# Training with checkpoints.


@dataclasses.dataclass
class TrainingResult:
    """Result of ``train``.

    Attributes:
        gan: The model structure.
        state: The state after the last step.
        history: Each metric of every step run by this call, as a list.
        start_step: The step this call started from: 0, or the checkpoint it
            resumed.
        seconds: Wall-clock time of this call, compilation included.
    """

    gan: ConditionalGAN
    state: TrainState
    history: dict[str, list[float]]
    start_step: int
    seconds: float


def train(
    out: str | os.PathLike,
    *,
    steps: int = 3000,
    width: int = 32,
    seed: int = 0,
    batch_size: int = 64,
    checkpoint_every: int = CHECKPOINT_EVERY,
    mode_seeking_weight: float = MODE_SEEKING_WEIGHT,
    source: str = "bundled",
    progress: bool = True,
) -> TrainingResult:
    """Trains a conditional GAN, resuming from the newest checkpoint in ``out``.

    Checkpoints go to ``out/checkpoints`` every ``checkpoint_every`` steps,
    after the last step and when the run is interrupted with Ctrl-C. A later
    call with the same folder continues from the newest readable checkpoint
    and, because batches and latent draws depend only on the step number,
    reaches the same weights as an uninterrupted run.

    Args:
        out: Output folder of the run.
        steps: Total steps of the run, counting the resumed ones.
        width: Channels of the generator's last hidden layer (``dcgan``).
        seed: Seed of the weights, latent draws and shuffling.
        batch_size: Real images per step.
        checkpoint_every: Steps between checkpoints.
        mode_seeking_weight: Weight of ``mode_seeking_loss``; 0 turns it off.
        source: MNIST source, as in ``data.load_mnist``.
        progress: Show a tqdm progress bar.

    Raises:
        checkpoint.CheckpointMismatchError: ``out`` contains a run of another
            architecture.
    """
    from tqdm.auto import tqdm

    from gan_lessons.checkpoint import Checkpointer

    check_positive_int("checkpoint_every", checkpoint_every)
    started = time.perf_counter()
    gan = ConditionalGAN(
        model_preset("dcgan", width=width),
        train_preset("dcgan", steps=steps, seed=seed, batch_size=batch_size),
        mode_seeking_weight=mode_seeking_weight,
    )
    folder = Path(out)
    checkpointer = Checkpointer(folder / "checkpoints")
    if checkpointer.latest_step() is None:
        state = gan.init()
    else:
        _check_same_extra(checkpointer.read_meta(), gan, folder)
        state = checkpointer.restore(gan)
    start_step = int(state.step)
    stream = data.BatchStream(
        data.load_mnist(source=source, split="train"), batch_size, seed=seed
    )
    history: dict[str, list[float]] = {}
    if start_step < steps:
        logger.info(
            "Training steps %d to %d; the first step compiles, which takes a moment.",
            start_step,
            steps,
        )
    bar = tqdm(
        total=steps, initial=start_step, disable=not progress, desc="conditional GAN"
    )
    step = start_step
    try:
        for step in range(start_step, steps):
            images, labels = stream.labeled_batch_at(step)
            state, step_metrics = gan.train_step(state, images, labels)

            # Log.
            for name, value in step_metrics.items():
                history.setdefault(name, []).append(float(value))
            bar.update(1)
            if (step + 1) % 50 == 0:
                bar.set_postfix(
                    d_loss=f"{history['discriminator_loss'][-1]:.3f}",
                    g_loss=f"{history['generator_loss'][-1]:.3f}",
                )

            # Checkpoint.
            if (step + 1) % checkpoint_every == 0 and step + 1 < steps:
                checkpointer.save(gan, state, extra=gan.extra)
    except KeyboardInterrupt:
        logger.warning(
            "Interrupted at step %d; saving a checkpoint to resume from.",
            int(state.step),
        )
        checkpointer.save(gan, state, extra=gan.extra)
        raise
    finally:
        bar.close()
    if checkpointer.latest_step() != int(state.step):
        checkpointer.save(gan, state, extra=gan.extra)
    return TrainingResult(
        gan=gan,
        state=state,
        history=history,
        start_step=start_step,
        seconds=time.perf_counter() - started,
    )


def _check_same_extra(meta: dict[str, Any], gan: ConditionalGAN, where) -> None:
    from gan_lessons.checkpoint import CheckpointMismatchError

    saved = meta.get("extra", {})
    if saved.get("num_classes") is None:
        raise CheckpointMismatchError(
            f"{where} contains no conditional GAN checkpoint. Choose a new output "
            "folder."
        )
    for name, value in gan.extra.items():
        if saved.get(name) != value:
            raise CheckpointMismatchError(
                f"{where} was saved with {name}={saved.get(name)!r}, but this "
                f"model has {name}={value!r}. Choose a new output folder."
            )
    # Batches and latent draws follow the seed and the batch size, so a run
    # resumed with other values would match neither the record nor an
    # uninterrupted run.
    saved_train = meta.get("train_config", {})
    for name in ("seed", "batch_size"):
        value = getattr(gan.train_config, name)
        if name in saved_train and saved_train[name] != value:
            raise CheckpointMismatchError(
                f"{where} was saved with {name}={saved_train[name]!r}, but this "
                f"run has {name}={value!r}. Pass --{name.replace('_', '-')} "
                f"{saved_train[name]} to continue it, or choose a new output folder."
            )


def restore(checkpoint_dir: str | os.PathLike, step: int | None = None):
    """Restores a conditional GAN and its state from a run or checkpoint folder.

    Returns:
        ``(gan, state)``.
    """
    from gan_lessons.checkpoint import Checkpointer, CheckpointError

    folder = pretrained.find_checkpoint_folder(checkpoint_dir, "runs/conditional")
    checkpointer = Checkpointer(folder)
    meta = checkpointer.read_meta(step)
    extra = meta.get("extra", {})
    if extra.get("num_classes") is None:
        raise CheckpointError(
            f"{folder} contains no conditional GAN checkpoint (its record has no "
            "num_classes). Export unconditional runs with `python -m gan_lessons "
            "export`."
        )
    gan = ConditionalGAN(
        ModelConfig.from_dict(meta["model_config"]),
        TrainConfig.from_dict(meta["train_config"]),
        num_classes=int(extra["num_classes"]),
        embedding_dim=int(extra["embedding_dim"]),
        mode_seeking_weight=float(extra.get("mode_seeking_weight", 0.0)),
    )
    return gan, checkpointer.restore(gan, step)


# Generator files.


class GeneratorFileError(ValueError):
    """A conditional generator file is unreadable, of another format or
    version, or does not match the model it describes."""


class PretrainedConditionalGenerator:
    """A trained conditional generator with its batch-norm running averages.

    Attributes:
        model_config: Architecture of the generator.
        num_classes: Number of labels.
        embedding_dim: Length of the label embedding.
        params: The generator's ``nnx.Param`` values.
        batch_stats: Its batch-norm running averages.
        step: Training step the weights come from, or ``None``.
        path: File the generator was loaded from, or ``None``.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        params: nnx.State,
        batch_stats: nnx.State,
        *,
        num_classes: int = NUM_CLASSES,
        embedding_dim: int = EMBEDDING_DIM,
        step: int | None = None,
        path: Path | None = None,
    ):
        self.model_config = model_config
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.params = params
        self.batch_stats = batch_stats
        self.step = step
        self.path = path
        self._graphdef = _abstract_parts(model_config, num_classes, embedding_dim)[0]

    @property
    def latent_dim(self) -> int:
        """Length of the latent vectors."""
        return self.model_config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(height, width, channels)``."""
        return self.model_config.image_shape

    def generate(self, z: ArrayLike, labels: ArrayLike) -> jax.Array:
        """Renders images ``(n, 32, 32, 1)`` in [-1, 1] of the given labels.

        Args:
            z: Latent vectors ``(n, latent_dim)``.
            labels: Integer labels ``(n,)`` in ``0..num_classes - 1``.
        """
        z = _check_latent(z, self.latent_dim)
        labels = check_labels(labels, self.num_classes, z.shape[0])
        return _render(
            self._graphdef, self.params, self.batch_stats, z, jnp.asarray(labels)
        )

    def sample_latent(self, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` latent vectors from the prior."""
        return sample_latent(key, num, self.model_config)

    def module(self) -> ConditionalGenerator:
        """Returns a ``ConditionalGenerator`` holding copies of the weights."""
        return nnx.merge(self._graphdef, self.params, self.batch_stats, copy=True)

    def __repr__(self) -> str:
        return (
            f"PretrainedConditionalGenerator(num_classes={self.num_classes}, "
            f"latent_dim={self.latent_dim}, image_shape={self.image_shape}, "
            f"step={self.step})"
        )


@functools.partial(jax.jit, static_argnums=0)
def _render(graphdef, params, stats, z, labels):
    model = nnx.merge(graphdef, params, stats, copy=True)
    return model(z, labels, train=False)


@functools.cache
def _abstract_parts(model_config: ModelConfig, num_classes: int, embedding_dim: int):
    generator = nnx.eval_shape(
        lambda: ConditionalGenerator(
            model_config,
            num_classes=num_classes,
            embedding_dim=embedding_dim,
            rngs=nnx.Rngs(0),
        )
    )
    return nnx.split(generator, nnx.Param, nnx.BatchStat)


def _weight_arrays(params: nnx.State, stats: nnx.State) -> dict[str, np.ndarray]:
    return {
        **pretrained.flatten_state(params, pretrained.PARAMS_PREFIX),
        **pretrained.flatten_state(stats, pretrained.STATS_PREFIX),
    }


def _check_weights(
    arrays: dict[str, np.ndarray],
    model_config: ModelConfig,
    num_classes: int,
    embedding_dim: int,
    where: Path,
) -> None:
    _, params, stats = _abstract_parts(model_config, num_classes, embedding_dim)
    expected = pretrained.expected_arrays(params, stats)
    problems = pretrained.find_array_problems(arrays, expected)
    if problems:
        raise GeneratorFileError(
            f"The arrays of {where} do not match its model: "
            + "; ".join(problems[:5])
            + f". Write it again with `{EXPORT_COMMAND}`."
        )


def save_generator(
    path: str | os.PathLike,
    gan: ConditionalGAN,
    state: TrainState,
) -> Path:
    """Writes the generator of ``state`` to a compressed ``.npz`` file.

    The file contains plain arrays only, so ``np.load(path,
    allow_pickle=False)`` reads it: ``format``, ``format_version``,
    ``model_config`` (JSON), ``num_classes``, ``embedding_dim``, ``step``,
    ``package_version`` and one array per parameter (``params/<path>``) and
    per running average (``batch_stats/<path>``), as in
    ``pretrained.save_generator``. It is written under a temporary name and
    then renamed, so an interrupted write keeps any older file.
    """
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ValueError(f"Generator file {str(path)!r} must end in .npz.")
    arrays = _weight_arrays(state.generator_params, state.generator_stats)
    _check_weights(arrays, gan.model_config, gan.num_classes, gan.embedding_dim, path)
    arrays.update(
        format=np.asarray(FORMAT_NAME),
        format_version=np.asarray(FORMAT_VERSION),
        model_config=np.asarray(json.dumps(gan.model_config.to_dict(), sort_keys=True)),
        num_classes=np.asarray(gan.num_classes),
        embedding_dim=np.asarray(gan.embedding_dim),
        step=np.asarray(int(state.step)),
        package_version=np.asarray(__version__),
    )
    pretrained.write_npz(path, arrays)
    logger.info("Wrote conditional generator of step %d to %s", int(state.step), path)
    return path


def export_generator(
    checkpoint_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    step: int | None = None,
) -> Path:
    """Writes the generator of a conditional training run to ``out`` (.npz)."""
    if Path(out).suffix.lower() != ".npz":
        raise ValueError(f"Output {os.fspath(out)!r} must end in .npz.")
    if Path(out).is_dir():
        raise ValueError(
            f"Output {os.fspath(out)!r} is a folder; pass a file path such as "
            "generator_conditional.npz."
        )
    gan, state = restore(checkpoint_dir, step)
    return save_generator(out, gan, state)


def default_generator_path() -> Path:
    """Returns the path of the shipped conditional MNIST generator."""
    return Path(str(resources.files("gan_lessons") / "assets" / GENERATOR_ASSET))


def load_generator(
    path: str | os.PathLike | None = None,
) -> PretrainedConditionalGenerator:
    """Loads a file written by ``save_generator``; ``None`` loads the shipped one.

    Raises:
        FileNotFoundError: If the file does not exist.
        GeneratorFileError: If it is not a readable npz archive, is of another
            format or version, or its arrays do not match its model.
    """
    path = default_generator_path() if path is None else Path(path)
    hint = (
        f"Rebuild it with `{SHIPPED_COMMANDS}`."
        if path == default_generator_path()
        else f"Write it again with `{EXPORT_COMMAND}`."
    )
    if not path.is_file():
        raise FileNotFoundError(f"Conditional generator file {path} not found. {hint}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as error:
        # A single .npy array has no ``files`` and no context manager.
        raise GeneratorFileError(
            f"Reading {path} as an npz archive failed ({error}). {hint}"
        ) from error
    found = arrays.get("format")
    if found is None or str(found) != FORMAT_NAME:
        raise GeneratorFileError(
            f"{path} is not a conditional generator file: its 'format' entry is "
            f"{None if found is None else str(found)!r}, expected {FORMAT_NAME!r}. "
            f"{hint}"
        )
    version = arrays.get("format_version")
    if version is None or version.shape != () or int(version) != FORMAT_VERSION:
        raise GeneratorFileError(
            f"{path} has format version {None if version is None else version!s}, "
            f"but this gan_lessons {__version__} reads version {FORMAT_VERSION}. "
            f"{hint}"
        )
    try:
        model_config = ModelConfig.from_dict(json.loads(str(arrays["model_config"])))
        num_classes = int(arrays["num_classes"])
        embedding_dim = int(arrays["embedding_dim"])
    except (KeyError, TypeError, ValueError) as error:
        raise GeneratorFileError(
            f"{path} has a missing or unusable model description ({error}). {hint}"
        ) from error
    weights = {k: v for k, v in arrays.items() if k not in _METADATA_KEYS}
    _check_weights(weights, model_config, num_classes, embedding_dim, path)
    _, params, stats = _abstract_parts(model_config, num_classes, embedding_dim)
    params = pretrained.fill_state(params, weights, pretrained.PARAMS_PREFIX)
    stats = pretrained.fill_state(stats, weights, pretrained.STATS_PREFIX)
    step = arrays.get("step")
    return PretrainedConditionalGenerator(
        model_config,
        params,
        stats,
        num_classes=num_classes,
        embedding_dim=embedding_dim,
        step=None if step is None else int(step),
        path=path,
    )


# Command line.


def build_parser() -> argparse.ArgumentParser:
    """Returns the parser of ``python -m gan_lessons.conditional``."""
    parser = argparse.ArgumentParser(
        prog="python -m gan_lessons.conditional",
        description="Train and export a conditional DCGAN on MNIST.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser(
        "train", help="Train, resuming from the newest checkpoint in --out."
    )
    train_parser.add_argument(
        "--out", required=True, help="Output folder; checkpoints go to OUT/checkpoints."
    )
    train_parser.add_argument(
        "--steps", type=int, default=3000, help="Total training steps (default 3000)."
    )
    train_parser.add_argument(
        "--width",
        type=int,
        default=32,
        help="Channels of the generator's last hidden layer (default 32).",
    )
    train_parser.add_argument("--seed", type=int, default=0, help="Seed (default 0).")
    train_parser.add_argument(
        "--batch-size", type=int, default=64, help="Real images per step (default 64)."
    )
    train_parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=CHECKPOINT_EVERY,
        help=f"Steps between checkpoints (default {CHECKPOINT_EVERY}).",
    )
    train_parser.add_argument(
        "--mode-seeking-weight",
        type=float,
        default=MODE_SEEKING_WEIGHT,
        help="Weight of the mode seeking term in the generator's loss; 0 turns "
        f"it off (default {MODE_SEEKING_WEIGHT}).",
    )
    train_parser.add_argument(
        "--data",
        choices=data.SOURCES,
        default="bundled",
        help="MNIST source, as in gan_lessons.data.load_mnist (default bundled).",
    )

    export_parser = commands.add_parser(
        "export", help="Write the generator of a run to an .npz file."
    )
    export_parser.add_argument(
        "--checkpoint", required=True, help="The run's output folder."
    )
    export_parser.add_argument("--out", required=True, help="Output .npz file.")
    export_parser.add_argument(
        "--step", type=int, default=None, help="Step to export (default: newest)."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line and returns the exit status."""
    from gan_lessons.checkpoint import CheckpointError

    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        if arguments.command == "train":
            result = train(
                arguments.out,
                steps=arguments.steps,
                width=arguments.width,
                seed=arguments.seed,
                batch_size=arguments.batch_size,
                checkpoint_every=arguments.checkpoint_every,
                mode_seeking_weight=arguments.mode_seeking_weight,
                source=arguments.data,
            )
            history = result.history
            if history:
                print(
                    f"step {int(result.state.step)}: discriminator loss "
                    f"{history['discriminator_loss'][-1]:.3f}, generator loss "
                    f"{history['generator_loss'][-1]:.3f}"
                )
            print(
                f"Trained steps {result.start_step} to {int(result.state.step)} in "
                f"{result.seconds:.0f} s; checkpoints in {Path(arguments.out)}"
                "/checkpoints"
            )
        else:
            path = export_generator(
                arguments.checkpoint, arguments.out, step=arguments.step
            )
            print(f"Wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # An interrupt inside the training loop saves a checkpoint first.
        print(
            "Interrupted. Run the same command again to continue from the "
            "newest checkpoint.",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
