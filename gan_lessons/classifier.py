"""A small MNIST classifier that judges generated digits.

Tests and lessons use it to check that a generator draws recognisable digits of
many classes (:func:`judge_samples`), and its penultimate activations
(:func:`features`) feed a Fréchet distance between real and generated digits, an
MNIST analogue of FID.

The shipped weights in ``gan_lessons/assets/classifier.npz`` were written by::

    python -m gan_lessons.classifier train --steps 1200 --seed 0

On a 2-core CPU shared with other jobs (jax 0.10.2) the command ran for 3 min 14 s,
177 s of it in training steps, and the model classifies 980 of the 1,000 bundled
test digits correctly (accuracy 0.980). Two runs gave identical weights. The file
stores the accuracy and the command, and :func:`load_metadata` reads them back.

Training also shows the network noise images with the uniform distribution as
target, so pixel noise, blobs and blank images get a top class probability near
0.1 and count as unconfident in :func:`judge_samples`.

Images are NHWC float32 batches ``(batch, 32, 32, 1)`` with values in [-1, 1],
as returned by :func:`gan_lessons.data.to_float` and by the generators.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
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
import optax
from flax import nnx
from numpy.typing import ArrayLike

from gan_lessons import data

logger = logging.getLogger(__name__)

NUM_CLASSES = 10
IMAGE_SHAPE = (32, 32, 1)
# Stored in every weights file and compared on load. Increase it whenever the
# layers below change, so that old files fail with a clear message.
ARCHITECTURE_VERSION = 1
CONV_FEATURES = (16, 32, 32)
FEATURE_DIM = 128
DROPOUT_RATE = 0.3
# Training shifts each image by up to this many pixels in each direction, so the
# classifier also accepts digits that are slightly off centre.
MAX_SHIFT = 2
# Each training batch also contains OUTLIER_FRACTION noise images per digit. The
# loss pulls their predicted distribution towards uniform with weight
# OUTLIER_WEIGHT, because without them noise can get a confident class by chance.
OUTLIER_FRACTION = 0.25
OUTLIER_WEIGHT = 0.5
LEARNING_RATE = 1e-3
DEFAULT_STEPS = 1200
DEFAULT_BATCH_SIZE = 64
DEFAULT_SEED = 0
# Inference runs in batches of this fixed size, and the last batch is padded, so
# each helper compiles once for any number of images.
INFERENCE_BATCH_SIZE = 512
# Values this far outside [-1, 1] still pass the input check, to allow for
# rounding in arithmetic on images.
RANGE_TOLERANCE = 1e-3
WEIGHTS_ASSET = "classifier.npz"
PARAM_PREFIX = "params/"
META_PREFIX = "meta/"
TRAIN_COMMAND = "python -m gan_lessons.classifier train"


class Classifier(nnx.Module):
    """A CNN that maps images ``(batch, 32, 32, 1)`` in [-1, 1] to 10 logits.

    Every convolution is 3x3, stride 1, ``SAME`` padding, then ReLU and a 2x2
    max pool::

        32x32x1 -> conv 32x32x16 -> pool 16x16x16
                -> conv 16x16x32 -> pool 8x8x32
                -> conv 8x8x32   -> pool 4x4x32 -> flatten 512
                -> dense 128, ReLU (the features) -> dropout -> dense 10 (logits)

    The 81,002 parameters take 324 KB as float32.
    """

    def __init__(self, *, rngs: nnx.Rngs):
        """Initialise the layers from the ``params`` stream of ``rngs``."""
        channels = (IMAGE_SHAPE[-1], *CONV_FEATURES)
        self.convs = nnx.List(
            [
                nnx.Conv(in_features, out_features, (3, 3), padding="SAME", rngs=rngs)
                for in_features, out_features in zip(
                    channels[:-1], channels[1:], strict=True
                )
            ]
        )
        size = IMAGE_SHAPE[0] // 2 ** len(CONV_FEATURES)
        self.feature_layer = nnx.Linear(
            size * size * CONV_FEATURES[-1], FEATURE_DIM, rngs=rngs
        )
        self.dropout = nnx.Dropout(DROPOUT_RATE)
        self.output_layer = nnx.Linear(FEATURE_DIM, NUM_CLASSES, rngs=rngs)

    def features(self, images: jax.Array) -> jax.Array:
        """Compute the penultimate activations ``(batch, 128)``, all >= 0."""
        x = images
        for conv in self.convs:
            x = nnx.relu(conv(x))
            x = nnx.max_pool(x, (2, 2), strides=(2, 2))  # halves height and width
        x = x.reshape(x.shape[0], -1)
        return nnx.relu(self.feature_layer(x))

    def __call__(
        self, images: jax.Array, *, dropout_key: jax.Array | None = None
    ) -> jax.Array:
        """Compute logits ``(batch, 10)``.

        Args:
            images: float32 ``(batch, 32, 32, 1)``, NHWC, values in [-1, 1].
            dropout_key: PRNG key of the dropout mask during training. None
                turns dropout off, as for evaluation.
        """
        x = self.features(images)
        x = self.dropout(x, deterministic=dropout_key is None, rngs=dropout_key)
        return self.output_layer(x)


def count_params(model: nnx.Module) -> int:
    """Return the number of trainable parameters of ``model``."""
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


# Input checks.


def check_images(images: ArrayLike, name: str = "images") -> np.ndarray:
    """Check a batch of images and return it as a float32 numpy array.

    Args:
        images: float ``(batch, 32, 32, 1)``, NHWC, values in [-1, 1]. Any float
            dtype is accepted and converted to float32.
        name: The argument name used in error messages.

    Returns:
        float32 ``(batch, 32, 32, 1)``.

    Raises:
        ValueError: If the shape is not ``(batch, 32, 32, 1)``, the dtype is not a
            float dtype, or a value is NaN, infinite or outside [-1, 1] by more than
            ``RANGE_TOLERANCE``.
    """
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[1:] != IMAGE_SHAPE:
        hint = " Add a batch axis with images[None]." if array.ndim == 3 else ""
        raise ValueError(
            f"{name} must have shape (batch, 32, 32, 1) in NHWC layout, got shape "
            f"{array.shape}.{hint}"
        )
    if array.dtype.kind != "f" and array.dtype.name != "bfloat16":
        raise ValueError(
            f"{name} must be float images in [-1, 1], got dtype {array.dtype}. "
            "Convert uint8 images in [0, 255] with gan_lessons.data.to_float."
        )
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} contains {np.count_nonzero(~np.isfinite(array))} NaN or "
            "infinite values. Check the model that produced the images."
        )
    if array.size:
        low, high = float(array.min()), float(array.max())
        if low < -1.0 - RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
            raise ValueError(
                f"{name} must have values in [-1, 1], got values in [{low:g}, "
                f"{high:g}]. Scale images in [0, 1] with images * 2 - 1, and convert "
                "uint8 images in [0, 255] with gan_lessons.data.to_float."
            )
    return array


# Inference.


@functools.partial(jax.jit, static_argnums=0)
def _forward(
    graphdef: nnx.GraphDef, params: nnx.State, images: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Return the features and logits of one batch, with dropout off."""
    model = nnx.merge(graphdef, params)
    features = model.features(images)
    return features, model.output_layer(features)


def _predict(model: Classifier, images: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return features ``(N, 128)`` and logits ``(N, 10)`` of checked images."""
    images = check_images(images)
    count = images.shape[0]
    if count == 0:
        return np.zeros((0, FEATURE_DIM), np.float32), np.zeros(
            (0, NUM_CLASSES), np.float32
        )
    graphdef, params = nnx.split(model, nnx.Param)
    padded_count = math.ceil(count / INFERENCE_BATCH_SIZE) * INFERENCE_BATCH_SIZE
    padding = ((0, padded_count - count), (0, 0), (0, 0), (0, 0))
    images = np.pad(images, padding, constant_values=-1.0)
    features, logits = [], []
    for start in range(0, padded_count, INFERENCE_BATCH_SIZE):
        batch = images[start : start + INFERENCE_BATCH_SIZE]
        batch_features, batch_logits = _forward(graphdef, params, batch)
        features.append(batch_features)
        logits.append(batch_logits)
    features = np.asarray(jnp.concatenate(features))[:count]
    logits = np.asarray(jnp.concatenate(logits))[:count]
    return features, logits


def predict_logits(model: Classifier, images: ArrayLike) -> np.ndarray:
    """Classify images and return float32 logits ``(N, 10)``.

    Args:
        model: A trained classifier, for example from :func:`load_classifier`.
        images: float32 ``(N, 32, 32, 1)``, NHWC, values in [-1, 1].

    Raises:
        ValueError: If ``images`` fails :func:`check_images`.
    """
    return _predict(model, images)[1]


def predict_proba(model: Classifier, images: ArrayLike) -> np.ndarray:
    """Return the float32 class probabilities ``(N, 10)`` of each image.

    Args:
        model: A trained classifier.
        images: float32 ``(N, 32, 32, 1)``, NHWC, values in [-1, 1].

    Raises:
        ValueError: If ``images`` fails :func:`check_images`.
    """
    return np.asarray(jax.nn.softmax(predict_logits(model, images), axis=-1))


def features(model: Classifier, images: ArrayLike) -> np.ndarray:
    """Return the penultimate activations ``(N, 128)``, float32 and >= 0.

    These are the inputs of the last dense layer, after its ReLU, the features
    of a Fréchet distance between two sets of digits.

    NOTE: 33 of the 128 features of the shipped weights are 0 for every bundled
    test digit, so covariance matrices of these features are singular. Add a small
    multiple of the identity before taking a matrix square root.

    Args:
        model: A trained classifier.
        images: float32 ``(N, 32, 32, 1)``, NHWC, values in [-1, 1].

    Raises:
        ValueError: If ``images`` fails :func:`check_images`.
    """
    return _predict(model, images)[0]


def judge_samples(
    images: ArrayLike,
    model: Classifier | None = None,
    *,
    confidence: float = 0.9,
    min_class_fraction: float = 0.01,
) -> dict[str, Any]:
    """Summarise how recognisable and how varied a batch of digits is.

    Args:
        images: float32 ``(N, 32, 32, 1)``, NHWC, values in [-1, 1], with N >= 1.
        model: The classifier. None loads the shipped weights once per process.
        confidence: Threshold on the top class probability for
            ``confident_fraction``, in (0, 1].
        min_class_fraction: A class counts as present when it is the predicted
            class of at least this share of the images, and of at least one.

    Returns:
        A dict with

        * ``num_samples``: N.
        * ``class_histogram``: int64 ``(10,)``, images per predicted class.
        * ``num_classes_present``: classes predicted for at least
          ``max(1, ceil(min_class_fraction * N))`` images, 0 to 10.
        * ``num_confident_classes``: classes predicted with probability at least
          ``confidence`` for at least that many images, 0 to 10. Noise can
          spread its top class over several classes with low probability, and
          then it raises ``num_classes_present`` but not this count.
        * ``class_entropy``: entropy in nats of the predicted-class distribution
          ``class_histogram / N``, from 0 (one class) to ln 10 = 2.303 (uniform).
        * ``confident_fraction``: share of images whose top class probability is
          at least ``confidence``.
        * ``mean_max_probability``: mean over images of the top class
          probability.
        * ``predicted_labels``: int64 ``(N,)``, the predicted class per image.

    Raises:
        ValueError: If ``images`` fails :func:`check_images` or is empty, or a
            threshold is outside its range.
    """
    if not 0.0 < confidence <= 1.0:
        raise ValueError(f"confidence must be in (0, 1], got {confidence}.")
    if not 0.0 <= min_class_fraction <= 1.0:
        raise ValueError(
            f"min_class_fraction must be in [0, 1], got {min_class_fraction}."
        )
    images = check_images(images)
    count = images.shape[0]
    if count == 0:
        raise ValueError("judge_samples needs at least one image, got 0.")
    if model is None:
        model = default_classifier()

    probabilities = predict_proba(model, images)
    predicted = probabilities.argmax(axis=-1)
    max_probability = probabilities.max(axis=-1)
    histogram = np.bincount(predicted, minlength=NUM_CLASSES).astype(np.int64)
    confident = max_probability >= confidence
    confident_histogram = np.bincount(predicted[confident], minlength=NUM_CLASSES)
    min_count = max(1, math.ceil(min_class_fraction * count))
    shares = histogram[histogram > 0] / count
    return {
        "num_samples": count,
        "class_histogram": histogram,
        "num_classes_present": int(np.count_nonzero(histogram >= min_count)),
        "num_confident_classes": int(
            np.count_nonzero(confident_histogram >= min_count)
        ),
        "class_entropy": float(np.sum(shares * np.log(1.0 / shares))),
        "confident_fraction": float(np.mean(confident)),
        "mean_max_probability": float(max_probability.mean()),
        "predicted_labels": predicted.astype(np.int64),
    }


# Saving and loading.


def default_weights_path() -> Path:
    """Return the path of the shipped weights, ``gan_lessons/assets/classifier.npz``.

    NOTE: The path is a real file for a source checkout or an installed wheel, but
    not for a package imported from a zip archive.
    """
    return Path(str(resources.files("gan_lessons") / "assets" / WEIGHTS_ASSET))


def _rebuild_hint(path: Path) -> str:
    out = "" if path == default_weights_path() else f" --out {path}"
    return f"Rebuild it with `{TRAIN_COMMAND}{out}` (about 3 minutes on 2 CPU cores)."


def _flat_params(model: Classifier) -> dict[str, np.ndarray]:
    """Map each parameter path such as ``convs/0/kernel`` to its array."""
    flat = nnx.to_flat_state(nnx.state(model, nnx.Param))
    return {
        "/".join(str(part) for part in path): np.asarray(variable.get_value())
        for path, variable in flat
    }


def save_classifier(
    model: Classifier, path: str | os.PathLike, *, metadata: dict[str, Any]
) -> Path:
    """Write the weights and metadata of ``model`` to a compressed npz file.

    Parameters are stored under ``params/<path>`` (for example
    ``params/convs/0/kernel``) and metadata under ``meta/<name>``, all as plain
    numpy arrays, so the file loads with ``allow_pickle=False``.

    Args:
        model: The classifier to save.
        path: Output file. Its folder is created if needed.
        metadata: Values such as ``{"test_accuracy": 0.98, "command": "..."}``,
            each a number, a string or a numeric array. ``architecture_version``
            is added.

    Returns:
        The path written.
    """
    path = Path(path)
    arrays = {PARAM_PREFIX + name: value for name, value in _flat_params(model).items()}
    meta = {**metadata, "architecture_version": ARCHITECTURE_VERSION}
    for name, value in meta.items():
        array = np.asarray(value)
        if array.dtype.kind not in "biufU":
            raise ValueError(
                f"metadata[{name!r}] has dtype {array.dtype}, which would need "
                "pickle. Use numbers, strings or numeric arrays."
            )
        arrays[META_PREFIX + name] = array
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez_compressed(file, **arrays)
    logger.info("Wrote classifier weights to %s", path)
    return path


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(
            f"Classifier weights {path} not found. {_rebuild_hint(path)}"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Reading classifier weights {path} failed ({error}). {_rebuild_hint(path)}"
        ) from error


def load_metadata(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read the metadata stored with classifier weights.

    Args:
        path: The npz file; None reads the shipped weights.

    Returns:
        Python scalars and strings by name, for example ``architecture_version``,
        ``test_accuracy``, ``command``, ``steps``, ``seed``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a readable npz archive.
    """
    path = default_weights_path() if path is None else Path(path)
    arrays = _read_npz(path)
    return {
        name.removeprefix(META_PREFIX): array.item() if array.ndim == 0 else array
        for name, array in arrays.items()
        if name.startswith(META_PREFIX)
    }


def load_classifier(path: str | os.PathLike | None = None) -> Classifier:
    """Load a trained classifier.

    Args:
        path: An npz file written by :func:`save_classifier`; None loads the
            shipped weights, ``gan_lessons/assets/classifier.npz``.

    Returns:
        The classifier, ready for :func:`predict_logits` and the other helpers.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is unreadable, was written for another
            architecture version, or its parameters do not match the model.
    """
    path = default_weights_path() if path is None else Path(path)
    arrays = _read_npz(path)
    version_key = META_PREFIX + "architecture_version"
    version = arrays[version_key].item() if version_key in arrays else None
    if version != ARCHITECTURE_VERSION:
        raise ValueError(
            f"Classifier weights {path} have architecture version {version}, but "
            f"this gan_lessons expects {ARCHITECTURE_VERSION}. {_rebuild_hint(path)}"
        )

    model = Classifier(rngs=nnx.Rngs(0))
    expected = _flat_params(model)
    stored = {
        name.removeprefix(PARAM_PREFIX): array
        for name, array in arrays.items()
        if name.startswith(PARAM_PREFIX)
    }
    missing = sorted(expected.keys() - stored.keys())
    unexpected = sorted(stored.keys() - expected.keys())
    if missing or unexpected:
        raise ValueError(
            f"Classifier weights {path} do not match the model: missing "
            f"parameters {missing}, unexpected parameters {unexpected}. "
            f"{_rebuild_hint(path)}"
        )
    for name, array in expected.items():
        if stored[name].shape != array.shape or stored[name].dtype != array.dtype:
            raise ValueError(
                f"Classifier weights {path} store {name} as "
                f"{stored[name].dtype}{stored[name].shape}, but the model needs "
                f"{array.dtype}{array.shape}. {_rebuild_hint(path)}"
            )

    params = nnx.state(model, nnx.Param)
    for path_parts, variable in nnx.to_flat_state(params):
        name = "/".join(str(part) for part in path_parts)
        variable.set_value(jnp.asarray(stored[name]))
    nnx.update(model, params)
    return model


@functools.cache
def default_classifier() -> Classifier:
    """Returns the classifier with the shipped weights, loaded once per process."""
    return load_classifier()


# Training.


def _shift_images(key: jax.Array, images: jax.Array) -> jax.Array:
    """Shift each image by up to ``MAX_SHIFT`` pixels, filling with background."""
    count, height, width, _ = images.shape
    padding = ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT), (0, 0))
    padded = jnp.pad(images, padding, constant_values=-1.0)
    offsets = jax.random.randint(key, (count, 2), 0, 2 * MAX_SHIFT + 1)

    def crop(image: jax.Array, offset: jax.Array) -> jax.Array:
        return jax.lax.dynamic_slice(
            image, (offset[0], offset[1], 0), (height, width, image.shape[-1])
        )

    return jax.vmap(crop)(padded, offsets)


def _draw_outliers(key: jax.Array, count: int) -> jax.Array:
    """Draw ``count`` images ``(count, 32, 32, 1)`` in [-1, 1] that show no digit.

    Half are pixel noise and half are smooth blobs (noise on a 4x4 or 8x8 grid,
    resized to 32x32). Each image gets a random contrast in [0, 1] and a random
    offset, so the draws range from full-contrast noise to almost blank images.
    """
    pixel_key, coarse_key, fine_key, scale_key, offset_key = jax.random.split(key, 5)
    height, width, channels = IMAGE_SHAPE
    pixels = jax.random.uniform(pixel_key, (count, *IMAGE_SHAPE), minval=-1.0)
    blobs = []
    for grid_key, grid in ((coarse_key, 4), (fine_key, 8)):
        grid_noise = jax.random.uniform(
            grid_key, (count, grid, grid, channels), minval=-1.0
        )
        blobs.append(
            jax.image.resize(grid_noise, (count, *IMAGE_SHAPE), method="linear")
        )
    # Alternate the three kinds: pixel noise, coarse blobs, pixel noise, fine blobs.
    kind = jnp.arange(count) % 4
    noise = jnp.where(
        (kind % 2 == 0)[:, None, None, None],
        pixels,
        jnp.where((kind == 1)[:, None, None, None], blobs[0], blobs[1]),
    )
    scale = jax.random.uniform(scale_key, (count, 1, 1, 1))
    offset = jax.random.uniform(offset_key, (count, 1, 1, 1), minval=-1.0)
    return jnp.clip(offset + scale * noise, -1.0, 1.0)


def _loss(
    params: nnx.State,
    graphdef: nnx.GraphDef,
    images: jax.Array,
    labels: jax.Array,
    outliers: jax.Array,
    dropout_key: jax.Array | None,
) -> tuple[jax.Array, jax.Array]:
    """Return the training loss and the logits of the digits.

    The loss is the cross-entropy of the digits plus ``OUTLIER_WEIGHT`` times the
    mean KL divergence from the uniform distribution to the predictions for the
    outliers, which is 0 when every outlier gets probability 0.1 for each class.
    """
    model = nnx.merge(graphdef, params)
    logits = model(jnp.concatenate([images, outliers]), dropout_key=dropout_key)
    digit_logits, outlier_logits = logits[: len(images)], logits[len(images) :]
    digit_loss = optax.softmax_cross_entropy_with_integer_labels(
        digit_logits, labels
    ).mean()
    outlier_loss = -jax.nn.log_softmax(outlier_logits).mean() - np.log(NUM_CLASSES)
    return digit_loss + OUTLIER_WEIGHT * outlier_loss, digit_logits


def _make_train_step(graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation):
    """Build the jit-compiled step ``(params, opt_state, batch, key)``."""

    @jax.jit
    def train_step(
        params: nnx.State,
        opt_state: optax.OptState,
        images: jax.Array,
        labels: jax.Array,
        key: jax.Array,
    ) -> tuple[nnx.State, optax.OptState, dict[str, jax.Array]]:
        shift_key, outlier_key, dropout_key = jax.random.split(key, 3)
        images = _shift_images(shift_key, images)
        outliers = _draw_outliers(outlier_key, _outlier_count(len(images)))
        grad_fn = jax.value_and_grad(_loss, has_aux=True)
        (loss, logits), grads = grad_fn(
            params, graphdef, images, labels, outliers, dropout_key
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        accuracy = jnp.mean(logits.argmax(axis=-1) == labels)
        return params, opt_state, {"loss": loss, "accuracy": accuracy}

    return train_step


def _outlier_count(batch_size: int) -> int:
    return max(1, round(OUTLIER_FRACTION * batch_size))


def evaluate(model: Classifier, dataset: data.Dataset) -> dict[str, float]:
    """Return the accuracy and mean cross-entropy loss of ``model`` on ``dataset``."""
    logits = predict_logits(model, data.to_float(dataset.images))
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, dataset.labels)
    accuracy = np.mean(logits.argmax(axis=-1) == dataset.labels)
    return {"accuracy": float(accuracy), "loss": float(np.mean(loss))}


def train_classifier(
    *,
    steps: int = DEFAULT_STEPS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = DEFAULT_SEED,
    source: str = "bundled",
    log_every: int = 200,
) -> tuple[Classifier, dict[str, Any]]:
    """Train a classifier on the train split and evaluate it on the test split.

    Adam with a cosine-decaying learning rate minimises the cross-entropy. Each
    batch of digits is shifted by up to ``MAX_SHIFT`` pixels and joined by
    ``OUTLIER_FRACTION * batch_size`` noise images whose target is the uniform
    distribution, and dropout acts on the features. The same arguments give the
    same weights on the same machine and library versions, because the batches
    come from :class:`gan_lessons.data.BatchStream` and every random draw from
    ``seed``.

    Args:
        steps: Number of parameter updates, at least 1.
        batch_size: Images per update.
        seed: Non-negative seed of the initial weights, batch order, shifts,
            noise images and dropout.
        source: MNIST source passed to :func:`gan_lessons.data.load_mnist`.
        log_every: Log the mean loss and accuracy every this many steps, at
            least 1.

    Returns:
        ``(model, metrics)``. ``metrics`` has ``train_loss`` (float32
        ``(steps,)``, the loss of each batch including the noise term),
        ``train_accuracy`` (float32 ``(steps,)``, on the digits), ``test_accuracy``
        and ``test_loss`` on the whole test split, ``train_seconds``,
        ``num_params``, ``source`` (the MNIST source that was read) and
        ``num_test_images``.

    Raises:
        ValueError: If ``steps`` or ``log_every`` is not a positive integer, or
            ``batch_size`` or ``seed`` is invalid for the train split.
    """
    for name, value in (("steps", steps), ("log_every", log_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    train_set = data.load_mnist(source=source, split="train")
    test_set = data.load_mnist(source=source, split="test")
    stream = data.BatchStream(train_set, batch_size, seed=seed)

    key = jax.random.key(seed)
    key, init_key = jax.random.split(key)
    model = Classifier(rngs=nnx.Rngs(params=init_key))
    graphdef, params = nnx.split(model, nnx.Param)
    optimizer = optax.adam(optax.cosine_decay_schedule(LEARNING_RATE, steps))
    opt_state = optimizer.init(params)
    train_step = _make_train_step(graphdef, optimizer)

    logger.info(
        "Training the classifier (%d parameters) for %d steps. Compiling the "
        "train step takes a moment.",
        count_params(model),
        steps,
    )
    start = time.perf_counter()
    history = []
    for step in range(steps):
        images, labels = stream.labeled_batch_at(step)
        step_key = jax.random.fold_in(key, step)
        params, opt_state, step_metrics = train_step(
            params, opt_state, images, labels, step_key
        )
        history.append(step_metrics)

        # Log the mean of the last log_every steps.
        if (step + 1) % log_every == 0 or step + 1 == steps:
            recent = history[-log_every:]
            logger.info(
                "step %d/%d: loss %.4f, batch accuracy %.4f",
                step + 1,
                steps,
                np.mean([float(m["loss"]) for m in recent]),
                np.mean([float(m["accuracy"]) for m in recent]),
            )
    train_seconds = time.perf_counter() - start

    nnx.update(model, params)
    test_metrics = evaluate(model, test_set)
    logger.info(
        "Test accuracy %.4f on %d digits after %.0f s of training",
        test_metrics["accuracy"],
        len(test_set),
        train_seconds,
    )
    metrics = {
        "train_loss": np.array([m["loss"] for m in history], np.float32),
        "train_accuracy": np.array([m["accuracy"] for m in history], np.float32),
        "test_accuracy": test_metrics["accuracy"],
        "test_loss": test_metrics["loss"],
        "train_seconds": train_seconds,
        "num_params": count_params(model),
        "source": train_set.source,
        "num_test_images": len(test_set),
    }
    return model, metrics


# Command line.


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _positive_int(text: str) -> int:
    value = _parse_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be a positive integer")
    return value


def _non_negative_int(text: str) -> int:
    value = _parse_int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``python -m gan_lessons.classifier``."""
    parser = argparse.ArgumentParser(
        prog="python -m gan_lessons.classifier",
        description="Train the MNIST classifier that judges generated digits.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train the classifier, print its test accuracy and save its weights",
        description="Train on the train split, evaluate on the test split and "
        "write the weights with their metadata to an npz file.",
    )
    train.add_argument(
        "--steps",
        type=_positive_int,
        default=DEFAULT_STEPS,
        help=f"number of parameter updates (default {DEFAULT_STEPS})",
    )
    train.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"images per update (default {DEFAULT_BATCH_SIZE})",
    )
    train.add_argument(
        "--seed",
        type=_non_negative_int,
        default=DEFAULT_SEED,
        help=f"random seed (default {DEFAULT_SEED})",
    )
    train.add_argument(
        "--source",
        choices=("bundled", "tfds", "auto"),
        default="bundled",
        help="MNIST source, see gan_lessons.data.load_mnist (default bundled)",
    )
    train.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output npz file (default: the shipped gan_lessons/assets/"
        f"{WEIGHTS_ASSET})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = default_weights_path() if args.out is None else args.out
    command = (
        f"{TRAIN_COMMAND} --steps {args.steps} --batch-size {args.batch_size} "
        f"--seed {args.seed} --source {args.source}"
    )

    model, metrics = train_classifier(
        steps=args.steps,
        batch_size=args.batch_size,
        seed=args.seed,
        source=args.source,
    )
    save_classifier(
        model,
        out,
        metadata={
            "test_accuracy": metrics["test_accuracy"],
            "test_loss": metrics["test_loss"],
            "train_seconds": metrics["train_seconds"],
            "command": command,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "seed": args.seed,
            "source": metrics["source"],
            "num_test_images": metrics["num_test_images"],
            "jax_version": jax.__version__,
        },
    )
    print(
        f"test accuracy {metrics['test_accuracy']:.4f}, "
        f"{metrics['train_seconds']:.0f} s of training, wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
