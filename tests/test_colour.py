"""Tests of the colour data: coloured digits, tfds colour datasets, a 3-channel GAN.

No test reaches the network: the tfds tests run with an empty data folder and
sockets to hosts other than loopback blocked, or with tfds.testing.mock_data.
"""

from __future__ import annotations

import math
import time

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from gan_lessons import data, plotting, session
from gan_lessons.config import model_preset, train_preset
from gan_lessons.train import GAN


@pytest.fixture(scope="module")
def grey_test() -> data.Dataset:
    return data.load_mnist(source="bundled", split="test")


@pytest.fixture(scope="module")
def coloured_test() -> data.Dataset:
    return data.load_coloured_digits("test", seed=0)


# Coloured digits.


def test_coloured_digits_shapes(coloured_test, grey_test):
    assert coloured_test.images.shape == (1000, 32, 32, 3)
    assert coloured_test.images.dtype == np.uint8
    assert coloured_test.source == "bundled_coloured"
    np.testing.assert_array_equal(coloured_test.labels, grey_test.labels)


def test_coloured_train_split_size():
    train = data.load_coloured_digits("train")
    assert train.images.shape == (9000, 32, 32, 3)


def test_coloured_digits_scale_to_unit_range(coloured_test):
    images = data.to_float(coloured_test.images[:64])
    assert images.shape == (64, 32, 32, 3)
    assert images.dtype == np.float32
    assert images.min() >= -1.0
    assert images.max() <= 1.0
    # Bright strokes and dark backgrounds span most of the range.
    assert images.max() > 0.9
    assert images.min() < -0.5


def test_coloured_digits_are_deterministic(coloured_test):
    again = data.load_coloured_digits("test", seed=0)
    np.testing.assert_array_equal(again.images, coloured_test.images)


def test_coloured_digits_depend_on_seed(coloured_test):
    other = data.load_coloured_digits("test", seed=1)
    assert not np.array_equal(other.images, coloured_test.images)


def test_coloured_splits_draw_different_colours(grey_test):
    # Colour the test digits with the stream of each split and compare.
    test_stream = data.colourise(grey_test, seed=0 * 2 + 1)
    train_stream = data.colourise(grey_test, seed=0 * 2 + 0)
    np.testing.assert_array_equal(
        test_stream.images, data.load_coloured_digits("test", seed=0).images
    )
    assert not np.array_equal(train_stream.images, test_stream.images)


def test_background_is_one_colour_per_image(coloured_test, grey_test):
    for index in range(20):
        background = coloured_test.images[index][grey_test.images[index, ..., 0] == 0]
        assert np.all(background == background[0])


def test_strokes_brighter_than_background(coloured_test, grey_test):
    weights = np.array([0.299, 0.587, 0.114])
    for index in range(len(coloured_test)):
        image = coloured_test.images[index].astype(np.float64) @ weights
        ink = grey_test.images[index, ..., 0]
        # Luma of at least 0.6 against at most 0.25, in grey levels, where the
        # ink is at least 250 of 255.
        assert image[ink >= 250].mean() > image[ink == 0].mean() + 0.33 * 255


def test_colours_vary_between_images(coloured_test):
    corners = coloured_test.images[:, 0, 0, :].astype(np.int64)
    assert len({tuple(corner) for corner in corners}) > 900
    channel_spread = corners.std(axis=0)
    assert np.all(channel_spread > 10)


def test_colourise_keeps_ink_level_order(grey_test):
    coloured = data.colourise(grey_test, seed=3)
    # Along a pixel's blend from background to stroke, more ink moves each
    # channel monotonically towards the stroke colour.
    image = coloured.images[0].astype(np.int64)
    ink = grey_test.images[0, ..., 0].astype(np.int64)
    background = image[ink == 0][0]
    stroke = image[ink == 255][0]
    for channel in range(3):
        if stroke[channel] == background[channel]:
            continue
        position = (image[..., channel] - background[channel]) / (
            stroke[channel] - background[channel]
        )
        expected = ink / 255.0
        assert np.max(np.abs(position - expected)) < 0.05


def test_colourise_rejects_colour_images(coloured_test):
    with pytest.raises(ValueError, match="1 channel"):
        data.colourise(coloured_test)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "validation"}, "split='validation' is invalid"),
        ({"seed": -1}, "seed must be at least 0"),
        ({"source": "kaggle"}, "source='kaggle' is invalid"),
    ],
)
def test_coloured_digits_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_coloured_digits(**kwargs)


# tfds colour datasets.


def test_tfds_colour_offline_fails_fast(
    tmp_path, blocked_network, empty_default_data_dir
):
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as error:
        data.load_tfds_colour("cifar10", "train", data_dir=tmp_path)
    elapsed = time.monotonic() - start
    message = str(error.value)
    assert elapsed < 30.0
    assert "cifar10 is not prepared" in message
    assert str(tmp_path) in message
    assert "tfds build cifar10 --file_format=array_record" in message
    assert "load_coloured_digits()" in message
    assert blocked_network == []


def test_tfds_colour_default_dir_fails_fast(blocked_network, empty_default_data_dir):
    with pytest.raises(FileNotFoundError, match="not prepared"):
        data.load_tfds_colour("cifar10", "test")
    assert blocked_network == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "mnist"}, "name='mnist' is invalid"),
        ({"split": "extra"}, "split='extra' is invalid"),
        ({"max_examples": 0}, "max_examples must be at least 1"),
    ],
)
def test_tfds_colour_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_tfds_colour(**kwargs)


@pytest.fixture
def mocked_tfds(monkeypatch):
    """Serve 24 random records of each dataset's features through tfds."""
    # mock_data replaces as_data_source but not is_prepared, which stays False.
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(
        num_examples=24, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        yield


def test_tfds_cifar10_mock_shapes(tmp_path, mocked_tfds):
    dataset = data.load_tfds_colour("cifar10", "train", data_dir=tmp_path)
    assert dataset.source == "tfds:cifar10"
    assert dataset.images.shape == (24, 32, 32, 3)
    assert dataset.images.dtype == np.uint8
    assert dataset.labels.dtype == np.int32
    assert np.all((dataset.labels >= 0) & (dataset.labels < 10))


def test_tfds_colour_keeps_records(tmp_path, mocked_tfds):
    dataset = data.load_tfds_colour("cifar10", "test", data_dir=tmp_path)
    records = tfds.data_source(
        "cifar10",
        split="test",
        data_dir=str(tmp_path),
        download=False,
        builder_kwargs={"file_format": data.TFDS_FILE_FORMAT},
    )
    np.testing.assert_array_equal(dataset.images[5], np.asarray(records[5]["image"]))
    assert dataset.labels[5] == records[5]["label"]


def test_tfds_colour_max_examples(tmp_path, mocked_tfds):
    dataset = data.load_tfds_colour("cifar10", data_dir=tmp_path, max_examples=10)
    assert len(dataset) == 10


def test_tfds_svhn_mock_shapes(tmp_path, mocked_tfds):
    dataset = data.load_tfds_colour("svhn_cropped", "test", data_dir=tmp_path)
    assert dataset.images.shape == (24, 32, 32, 3)


# A 3-channel DCGAN on the coloured digits.


@pytest.fixture(scope="module")
def colour_gan() -> GAN:
    config = model_preset("dcgan", channels=3, width=8)
    return GAN(config, train_preset("dcgan", batch_size=8))


def test_colour_config_changes_only_channels():
    grey = model_preset("dcgan").to_dict()
    colour = model_preset("dcgan", channels=3).to_dict()
    changed = {name for name in grey if grey[name] != colour[name]}
    assert changed == {"channels"}
    assert model_preset("dcgan", channels=3).image_shape == (32, 32, 3)


def test_colour_gan_trains_a_step(colour_gan, coloured_test):
    stream = data.BatchStream(coloured_test, 8, seed=0)
    batch = stream.batch_at(0)
    assert batch.shape == (8, 32, 32, 3)
    state = colour_gan.init()
    state, metrics = colour_gan.train_step(state, batch)
    assert int(state.step) == 1
    for name, value in metrics.items():
        assert math.isfinite(float(value)), name
    z = colour_gan.sample_latent(jax.random.key(0), 4)
    images = np.asarray(colour_gan.generate(state, z))
    assert images.shape == (4, 32, 32, 3)
    assert np.all(np.abs(images) <= 1.0)


def test_colour_session_gif(coloured_test, tmp_path):
    config = model_preset("dcgan", channels=3, width=8)
    trained = session.TrainingSession(
        config,
        train_preset("dcgan", batch_size=8),
        coloured_test,
        sample_every=2,
        num_samples=16,
        show=False,
        verbose=False,
    )
    trained.train(4, progress=False)
    assert trained.samples().shape == (16, 32, 32, 3)
    assert trained.frames[0].shape == (4 * 34 + 2, 4 * 34 + 2, 3)
    path = trained.save_gif(tmp_path / "colour.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == len(trained.frames) == 3
        assert gif.convert("RGB").size == (138, 138)


def test_save_gif_rgb_frames(tmp_path):
    frames = [np.zeros((4, 6, 3), np.uint8) for _ in range(3)]
    for index, frame in enumerate(frames):
        frame[..., index] = 255
    path = plotting.save_gif(frames, tmp_path / "rgb.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 3
        for index in range(3):
            gif.seek(index)
            pixel = np.asarray(gif.convert("RGB"))[0, 0]
            assert pixel[index] == 255
            assert pixel.sum() == 255
