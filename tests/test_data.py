"""Tests for gan_lessons.data and scripts/build_mnist_subset.py.

No test reaches the network: the tfds tests run offline with an empty data folder,
with sockets to hosts other than loopback blocked, or with tfds.testing.mock_data.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from gan_lessons import data

SCRIPT_PATH = (
    Path(__file__).resolve().parent.parent / "scripts" / "build_mnist_subset.py"
)


@pytest.fixture(scope="module")
def bundled_train() -> data.Dataset:
    return data.load_mnist(source="bundled", split="train")


@pytest.fixture(scope="module")
def bundled_test() -> data.Dataset:
    return data.load_mnist(source="bundled", split="test")


@pytest.fixture
def build_script():
    spec = importlib.util.spec_from_file_location("build_mnist_subset", SCRIPT_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_dataset(num_examples: int, channels: int = 1) -> data.Dataset:
    """Build a dataset whose image n is filled with n % 256 and whose label is n."""
    values = (np.arange(num_examples) % 256).astype(np.uint8)
    images = np.broadcast_to(
        values[:, None, None, None], (num_examples, 4, 4, channels)
    ).copy()
    labels = np.arange(num_examples, dtype=np.int32)
    return data.Dataset(images=images, labels=labels, source="bundled")


# Bundled subset.


def test_bundled_train_shapes_and_dtypes(bundled_train):
    assert bundled_train.source == "bundled"
    assert bundled_train.images.shape == (9000, 32, 32, 1)
    assert bundled_train.images.dtype == np.uint8
    assert bundled_train.labels.shape == (9000,)
    assert bundled_train.labels.dtype == np.int32
    assert len(bundled_train) == 9000


def test_bundled_test_is_class_balanced(bundled_test):
    assert bundled_test.images.shape == (1000, 32, 32, 1)
    counts = np.bincount(bundled_test.labels, minlength=10)
    np.testing.assert_array_equal(counts, np.full(10, 100))


def test_bundled_labels_cover_all_classes(bundled_train):
    np.testing.assert_array_equal(np.unique(bundled_train.labels), np.arange(10))
    np.testing.assert_array_equal(bundled_train.labels[:10], np.arange(10))


def test_bundled_value_range_uses_all_levels(bundled_train):
    assert bundled_train.images.min() == 0
    assert bundled_train.images.max() == 255
    # Anti-aliased MNIST strokes use every grey level.
    assert len(np.unique(bundled_train.images)) == 256


def test_bundled_padding_is_background(bundled_train):
    images = bundled_train.images
    assert np.all(images[:, :2] == 0)
    assert np.all(images[:, -2:] == 0)
    assert np.all(images[:, :, :2] == 0)
    assert np.all(images[:, :, -2:] == 0)


def test_bundled_background_is_zero(bundled_train):
    # Ink covers well under half of an MNIST digit, so background dominates.
    background_share = np.mean(bundled_train.images == 0)
    assert 0.75 < background_share < 0.95


def test_bundled_digits_are_upright(bundled_train):
    # A "1" is a tall stroke: its ink spreads more along rows than along columns.
    ones = bundled_train.images[bundled_train.labels == 1, :, :, 0].astype(np.float64)
    rows, cols = np.mgrid[: data.IMAGE_SIZE, : data.IMAGE_SIZE]
    weights = ones.sum(axis=0)
    row_mean = np.average(rows, weights=weights)
    col_mean = np.average(cols, weights=weights)
    row_spread = np.average((rows - row_mean) ** 2, weights=weights)
    col_spread = np.average((cols - col_mean) ** 2, weights=weights)
    assert row_spread > 2 * col_spread
    # MNIST centres each digit's centre of mass in the 28x28 frame, at (14, 14),
    # which the 2-pixel padding moves to (16, 16).
    assert abs(row_mean - 16.0) < 0.5
    assert abs(col_mean - 16.0) < 0.5


def test_bundled_splits_are_disjoint(bundled_train, bundled_test):
    train_bytes = {image.tobytes() for image in bundled_train.images}
    test_bytes = {image.tobytes() for image in bundled_test.images}
    assert len(train_bytes) == len(bundled_train)
    assert len(test_bytes) == len(bundled_test)
    assert not train_bytes & test_bytes


def test_bundled_ignores_data_dir(tmp_path):
    dataset = data.load_mnist(source="bundled", split="test", data_dir=tmp_path)
    assert dataset.source == "bundled"


def test_load_mnist_logs_source_and_count(caplog):
    with caplog.at_level(logging.INFO, logger="gan_lessons.data"):
        data.load_mnist(source="bundled", split="test")
    assert "Loaded 1000 MNIST test images from source 'bundled'" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "kaggle"}, "source='kaggle' is invalid"),
        ({"split": "validation"}, "split='validation' is invalid"),
    ],
)
def test_load_mnist_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_mnist(**kwargs)


# tensorflow-datasets source.


def test_tfds_offline_fails_fast(tmp_path, blocked_network, empty_default_data_dir):
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as error:
        data.load_mnist(source="tfds", split="train", data_dir=tmp_path)
    elapsed = time.monotonic() - start
    message = str(error.value)
    assert elapsed < 30.0
    assert "not prepared" in message
    assert str(tmp_path) in message
    assert "tfds build mnist --file_format=array_record" in message
    assert "data_dir=DIR" in message
    assert "source='bundled'" in message
    assert blocked_network == []


def test_tfds_default_dir_offline_fails_fast(blocked_network, empty_default_data_dir):
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match="not prepared"):
        data.load_mnist(source="tfds", split="test")
    assert time.monotonic() - start < 30.0
    assert blocked_network == []


def test_tfds_leaves_data_dir_empty(tmp_path, blocked_network):
    with pytest.raises(FileNotFoundError):
        data.load_mnist(source="tfds", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_auto_falls_back_to_bundled(
    tmp_path, blocked_network, empty_default_data_dir, caplog
):
    with caplog.at_level(logging.INFO, logger="gan_lessons.data"):
        dataset = data.load_mnist(source="auto", split="test", data_dir=tmp_path)
    assert dataset.source == "bundled"
    assert len(dataset) == 1000
    assert "Using the bundled MNIST subset" in caplog.text
    assert blocked_network == []


def test_auto_default_dir_falls_back(blocked_network, empty_default_data_dir):
    dataset = data.load_mnist()
    assert dataset.source == "bundled"
    assert len(dataset) == 9000


def test_tfds_wrong_file_format_explains_fix(tmp_path, monkeypatch):
    def reject_format(self, *args, **kwargs):
        raise NotImplementedError("file format FileFormat.TFRECORD is not supported")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "as_data_source", reject_format)
    with pytest.raises(FileNotFoundError) as error:
        data.load_mnist(source="tfds", data_dir=tmp_path)
    message = str(error.value)
    assert "not in a random-access format" in message
    assert "--file_format=array_record" in message
    assert "TFRECORD" in message


@pytest.fixture
def mocked_tfds_mnist(monkeypatch):
    """Serve 24 random MNIST-shaped records through tfds.data_source."""
    # mock_data replaces as_data_source but not is_prepared, which it leaves False.
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(
        num_examples=24, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        yield


def test_tfds_mock_shapes_and_padding(tmp_path, mocked_tfds_mnist):
    dataset = data.load_mnist(source="tfds", split="test", data_dir=tmp_path)
    assert dataset.source == "tfds"
    assert dataset.images.shape == (24, 32, 32, 1)
    assert dataset.images.dtype == np.uint8
    assert dataset.labels.shape == (24,)
    assert dataset.labels.dtype == np.int32
    assert np.all(dataset.images[:, :2] == 0)
    assert np.all(dataset.images[:, :, -2:] == 0)


def test_tfds_mock_keeps_records(tmp_path, mocked_tfds_mnist):
    dataset = data.load_mnist(source="tfds", split="train", data_dir=tmp_path)
    records = tfds.data_source(
        "mnist",
        split="train",
        data_dir=tmp_path,
        download=False,
        builder_kwargs={"file_format": "array_record"},
    )
    for index in (0, 7, 23):
        np.testing.assert_array_equal(
            dataset.images[index, 2:-2, 2:-2], records[index]["image"]
        )
        assert dataset.labels[index] == records[index]["label"]


def test_auto_uses_prepared_tfds(tmp_path, mocked_tfds_mnist):
    dataset = data.load_mnist(source="auto", split="train", data_dir=tmp_path)
    assert dataset.source == "tfds"
    assert len(dataset) == 24


# Dataset.


def test_dataset_rejects_float_images():
    with pytest.raises(ValueError, match="dtype uint8, got float32"):
        data.Dataset(
            images=np.zeros((2, 4, 4, 1), np.float32),
            labels=np.zeros(2, np.int32),
            source="bundled",
        )


def test_dataset_rejects_rank_three_images():
    with pytest.raises(ValueError, match=r"4-D NHWC numpy array, got uint8\(2, 4, 4\)"):
        data.Dataset(
            images=np.zeros((2, 4, 4), np.uint8),
            labels=np.zeros(2, np.int32),
            source="bundled",
        )


def test_dataset_rejects_label_count_mismatch():
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        data.Dataset(
            images=np.zeros((2, 4, 4, 1), np.uint8),
            labels=np.zeros(3, np.int32),
            source="bundled",
        )


def test_dataset_rejects_int64_labels():
    with pytest.raises(ValueError, match="int32, got int64"):
        data.Dataset(
            images=np.zeros((2, 4, 4, 1), np.uint8),
            labels=np.zeros(2, np.int64),
            source="bundled",
        )


def test_dataset_repr_is_short(bundled_test):
    text = repr(bundled_test)
    assert text == (
        "Dataset(source='bundled', images=uint8(1000, 32, 32, 1), labels=int32(1000,))"
    )


# Pixel scaling.


def test_to_float_maps_ends_to_unit_range():
    images = np.array([0, 255, 128], np.uint8).reshape(1, 1, 3, 1)
    scaled = data.to_float(images)
    assert scaled.dtype == np.float32
    assert scaled.shape == images.shape
    assert scaled[0, 0, 0, 0] == -1.0
    assert scaled[0, 0, 1, 0] == 1.0
    assert abs(scaled[0, 0, 2, 0] - (128 / 127.5 - 1)) < 1e-6


def test_to_uint8_inverts_every_level():
    levels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(data.to_uint8(data.to_float(levels)), levels)


def test_to_uint8_clips_small_overshoot():
    images = np.array([-1.3, -1.0, 0.0, 1.0, 1.2], np.float32).reshape(1, 1, 5, 1)
    converted = data.to_uint8(images)
    assert converted.dtype == np.uint8
    np.testing.assert_array_equal(converted.ravel(), [0, 0, 128, 255, 255])


def test_to_uint8_accepts_float64_and_jax():
    import jax.numpy as jnp

    images = np.linspace(-1, 1, 8).reshape(1, 2, 4, 1)
    expected = data.to_uint8(images.astype(np.float32))
    np.testing.assert_array_equal(data.to_uint8(images), expected)
    np.testing.assert_array_equal(data.to_uint8(jnp.asarray(images)), expected)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((1, 2, 2, 1), np.float32), "expects uint8 images in \\[0, 255\\]"),
        (np.zeros((1, 2, 2, 1), np.int64), "got dtype int64"),
        (np.zeros((2, 2, 1), np.uint8), r"got shape \(2, 2, 1\).*images\[None\]"),
        (np.zeros((4, 4), np.uint8), r"got shape \(4, 4\)"),
    ],
)
def test_to_float_rejects_invalid_input(images, message):
    with pytest.raises(ValueError, match=message):
        data.to_float(images)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((1, 2, 2, 1), np.uint8), "got dtype uint8"),
        (np.zeros((1, 2, 2, 1), np.int32), "got dtype int32"),
        (np.zeros((2, 2), np.float32), r"got shape \(2, 2\)"),
        (np.full((1, 1, 1, 1), np.nan, np.float32), "1 NaN or infinite"),
        (np.full((1, 1, 1, 1), np.inf, np.float32), "1 NaN or infinite"),
        (np.full((1, 1, 1, 1), 255.0, np.float32), r"values in \[255, 255\]"),
        (np.full((1, 1, 1, 1), -1.6, np.float32), r"values in \[-1.6, -1.6\]"),
    ],
)
def test_to_uint8_rejects_invalid_input(images, message):
    with pytest.raises(ValueError, match=message):
        data.to_uint8(images)


# Batching.


def test_batch_indices_repeat_for_same_seed():
    first = list(data.batch_indices(100, 10, seed=3, epoch=2))
    second = list(data.batch_indices(100, 10, seed=3, epoch=2))
    assert len(first) == 10
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batch_indices_differ_between_epochs():
    epoch_0 = np.concatenate(list(data.batch_indices(100, 10, seed=3, epoch=0)))
    epoch_1 = np.concatenate(list(data.batch_indices(100, 10, seed=3, epoch=1)))
    assert not np.array_equal(epoch_0, epoch_1)


def test_batch_indices_differ_between_seeds():
    seed_0 = np.concatenate(list(data.batch_indices(100, 10, seed=0)))
    seed_1 = np.concatenate(list(data.batch_indices(100, 10, seed=1)))
    assert not np.array_equal(seed_0, seed_1)


def test_batch_indices_cover_epoch_once():
    batches = list(data.batch_indices(103, 10, seed=0, drop_remainder=False))
    assert [len(batch) for batch in batches] == [10] * 10 + [3]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(103))


def test_batch_indices_drop_remainder():
    batches = list(data.batch_indices(103, 10, seed=0))
    assert [len(batch) for batch in batches] == [10] * 10
    assert len(np.unique(np.concatenate(batches))) == 100


def test_batch_indices_full_batch():
    (batch,) = data.batch_indices(5, 5, seed=0)
    np.testing.assert_array_equal(np.sort(batch), np.arange(5))


def test_batches_follow_batch_indices():
    dataset = make_dataset(50)
    indices = list(data.batch_indices(50, 8, seed=4, epoch=1))
    image_batches = list(data.batches(dataset.images, 8, seed=4, epoch=1))
    assert len(image_batches) == 6
    for index, batch in zip(indices, image_batches, strict=True):
        assert batch.dtype == np.uint8
        assert batch.shape == (8, 4, 4, 1)
        np.testing.assert_array_equal(batch, dataset.images[index])


@pytest.mark.parametrize(
    ("num_examples", "batch_size", "seed", "message"),
    [
        (10, 0, 0, "batch_size must be at least 1, got 0"),
        (10, -4, 0, "batch_size must be at least 1, got -4"),
        (10, 11, 0, "batch_size=11 is larger than the dataset of 10 examples"),
        (0, 1, 0, "The dataset is empty"),
        (10, 2, -1, "seed must be at least 0, got -1"),
        (10, 2.0, 0, "batch_size must be an integer, got 2.0"),
    ],
)
def test_batch_indices_reject_invalid(num_examples, batch_size, seed, message):
    # The check runs at the call, before any batch is requested.
    with pytest.raises(ValueError, match=message):
        data.batch_indices(num_examples, batch_size, seed=seed)


def test_batches_reject_empty_images():
    with pytest.raises(ValueError, match="The dataset is empty"):
        data.batches(np.zeros((0, 4, 4, 1), np.uint8), 1, seed=0)


# BatchStream.


def test_batch_stream_batch_format():
    stream = data.BatchStream(make_dataset(40, channels=3), batch_size=8, seed=0)
    batch = stream.batch_at(0)
    assert batch.dtype == np.float32
    assert batch.shape == (8, 4, 4, 3)
    assert batch.min() >= -1.0
    assert batch.max() <= 1.0


def test_batch_stream_on_bundled(bundled_test):
    stream = data.BatchStream(bundled_test, batch_size=64, seed=0)
    images, labels = stream.labeled_batch_at(0)
    assert images.shape == (64, 32, 32, 1)
    assert images.dtype == np.float32
    assert labels.shape == (64,)
    assert labels.dtype == np.int32
    assert stream.steps_per_epoch == 15


def test_batch_stream_is_deterministic():
    dataset = make_dataset(40)
    first = data.BatchStream(dataset, batch_size=8, seed=5)
    second = data.BatchStream(dataset, batch_size=8, seed=5)
    for step in (0, 3, 4, 5, 17):
        np.testing.assert_array_equal(first.batch_at(step), second.batch_at(step))


def test_batch_stream_resume_matches_uninterrupted():
    dataset = make_dataset(30)
    uninterrupted = data.BatchStream(dataset, batch_size=7, seed=2).iterate()
    reference = [next(uninterrupted) for _ in range(20)]
    # A fresh stream, as after a restart, picks up at step 9 mid-epoch.
    resumed = data.BatchStream(dataset, batch_size=7, seed=2).iterate(start_step=9)
    for step in range(9, 20):
        np.testing.assert_array_equal(next(resumed), reference[step])


def test_batch_stream_epochs_cover_dataset():
    dataset = make_dataset(30)
    stream = data.BatchStream(dataset, batch_size=7, seed=2)
    assert stream.steps_per_epoch == 4
    epochs = [
        np.concatenate([stream.indices_at(epoch * 4 + k) for k in range(4)])
        for epoch in range(3)
    ]
    for indices in epochs:
        assert len(np.unique(indices)) == 28
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])


def test_batch_stream_labels_match_images():
    dataset = make_dataset(30)
    stream = data.BatchStream(dataset, batch_size=7, seed=2)
    labeled = stream.iterate_labeled(start_step=5)
    for step in range(5, 10):
        images, labels = next(labeled)
        np.testing.assert_array_equal(images, stream.batch_at(step))
        # make_dataset fills image n with n, so each label predicts its image.
        np.testing.assert_array_equal(data.to_uint8(images)[:, 0, 0, 0], labels)


def test_batch_stream_iter_starts_at_zero():
    stream = data.BatchStream(make_dataset(20), batch_size=5, seed=1)
    np.testing.assert_array_equal(next(iter(stream)), stream.batch_at(0))


@pytest.mark.parametrize(
    ("num_examples", "batch_size", "seed", "message"),
    [
        (0, 1, 0, "The dataset is empty"),
        (10, 0, 0, "batch_size must be at least 1"),
        (10, 11, 0, "batch_size=11 is larger than the dataset of 10 examples"),
        (10, 5, -2, "seed must be at least 0, got -2"),
    ],
)
def test_batch_stream_rejects_invalid(num_examples, batch_size, seed, message):
    with pytest.raises(ValueError, match=message):
        data.BatchStream(make_dataset(num_examples), batch_size=batch_size, seed=seed)


def test_batch_stream_rejects_negative_step():
    stream = data.BatchStream(make_dataset(10), batch_size=5, seed=0)
    with pytest.raises(ValueError, match="step must be at least 0, got -1"):
        stream.batch_at(-1)
    with pytest.raises(ValueError, match="start_step must be at least 0, got -3"):
        stream.iterate(start_step=-3)


def test_batch_stream_rejects_plain_arrays():
    with pytest.raises(ValueError, match="expects a Dataset, got ndarray"):
        data.BatchStream(np.zeros((4, 2, 2, 1), np.uint8), batch_size=2, seed=0)


# Build script of the bundled subset.


def test_build_grey_levels_exact(build_script):
    levels = np.arange(256)
    npm_values = np.round(levels / 255, 3)
    np.testing.assert_array_equal(build_script.grey_levels(npm_values), levels)


def test_build_grey_levels_reject_lossy(build_script):
    with pytest.raises(ValueError, match="not a grey level"):
        build_script.grey_levels(np.array([0.5]))
    with pytest.raises(ValueError, match=r"expected \[0, 1\]"):
        build_script.grey_levels(np.array([0.0, 255.0]))


def test_build_test_indices_balanced(build_script):
    labels = np.repeat(np.arange(3), [10, 20, 7])
    selected = build_script.select_test_indices(labels, per_class=5)
    np.testing.assert_array_equal(np.bincount(labels[selected]), [5, 5, 5])
    np.testing.assert_array_equal(selected[:5], [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(selected[5:10], 10 + np.array([0, 4, 8, 12, 16]))
    with pytest.raises(ValueError, match="Class 2 has 7 digits"):
        build_script.select_test_indices(labels, per_class=8)


def test_build_interleave_by_class(build_script):
    labels = np.array([0, 0, 0, 1, 2, 2])
    order = build_script.interleave_by_class(labels)
    np.testing.assert_array_equal(labels[order], [0, 1, 2, 0, 2, 0])
    np.testing.assert_array_equal(order, [0, 3, 4, 1, 5, 2])


def test_build_write_npz_reproducible(build_script, tmp_path):
    arrays = {
        "images": np.arange(60, dtype=np.uint8).reshape(3, 4, 5),
        "labels": np.array([2, 0, 1], np.int32),
    }
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    build_script.write_npz(first, arrays)
    build_script.write_npz(second, arrays)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {
            (1980, 1, 1, 0, 0, 0)
        }
    with np.load(first) as loaded:
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded[name], array)
            assert loaded[name].dtype == array.dtype
