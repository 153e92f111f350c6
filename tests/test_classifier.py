"""Tests for gan_lessons.classifier: shipped weights, inference, judging, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flax import nnx

from gan_lessons import classifier, data

REBUILD_COMMAND = "python -m gan_lessons.classifier train"


@pytest.fixture(scope="module")
def model() -> classifier.Classifier:
    return classifier.load_classifier()


@pytest.fixture(scope="module")
def bundled_test() -> data.Dataset:
    return data.load_mnist(source="bundled", split="test")


@pytest.fixture(scope="module")
def real_images(bundled_test: data.Dataset) -> np.ndarray:
    return data.to_float(bundled_test.images)


@pytest.fixture(scope="module")
def saved_weights(model: classifier.Classifier, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "classifier.npz"
    return classifier.save_classifier(model, path, metadata={"command": "test"})


def _rewrite(source: Path, target: Path, **changes: np.ndarray | None) -> Path:
    """Copy an npz file, replacing or (with None) dropping the named arrays."""
    with np.load(source, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    for name, value in changes.items():
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
    np.savez_compressed(target, **arrays)
    return target


# Architecture.


def test_parameter_count():
    model = classifier.Classifier(rngs=nnx.Rngs(0))
    num_params = classifier.count_params(model)
    assert num_params == 81_002
    assert num_params * 4 < 1_000_000


def test_model_output_shapes():
    model = classifier.Classifier(rngs=nnx.Rngs(0))
    images = np.zeros((3, 32, 32, 1), np.float32)
    assert model(images).shape == (3, classifier.NUM_CLASSES)
    assert model.features(images).shape == (3, classifier.FEATURE_DIM)


# Shipped weights.


def test_shipped_weights_accuracy(model, bundled_test, real_images):
    logits = classifier.predict_logits(model, real_images)
    accuracy = np.mean(logits.argmax(axis=-1) == bundled_test.labels)
    assert accuracy >= 0.95
    stored = classifier.load_metadata()["test_accuracy"]
    assert accuracy == pytest.approx(stored, abs=0.005)


def test_shipped_metadata():
    metadata = classifier.load_metadata()
    assert metadata["architecture_version"] == classifier.ARCHITECTURE_VERSION
    assert metadata["command"].startswith(REBUILD_COMMAND)
    assert metadata["source"] == "bundled"


# Inference helpers.


def test_features_shape(model, real_images):
    values = classifier.features(model, real_images[:10])
    assert values.shape == (10, classifier.FEATURE_DIM)
    assert values.dtype == np.float32
    assert np.all(np.isfinite(values))


def test_predict_proba_rows_sum_to_one(model, real_images):
    probabilities = classifier.predict_proba(model, real_images[:20])
    assert probabilities.shape == (20, classifier.NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)
    assert np.all(probabilities >= 0.0)


def test_predict_independent_of_batching(model, real_images):
    # 700 images span two padded inference batches, and 5 fit in one.
    many = classifier.predict_logits(model, real_images[:700])
    few = classifier.predict_logits(model, real_images[600:605])
    np.testing.assert_allclose(few, many[600:605], rtol=1e-5, atol=1e-5)


def test_predict_compiles_once(model, real_images):
    classifier.predict_logits(model, real_images[:3])
    cache_size = classifier._forward._cache_size()
    classifier.predict_logits(model, real_images[:700])
    classifier.features(model, real_images[:17])
    assert classifier._forward._cache_size() == cache_size


def test_predict_empty_batch(model):
    logits = classifier.predict_logits(model, np.zeros((0, 32, 32, 1), np.float32))
    assert logits.shape == (0, classifier.NUM_CLASSES)


def test_predict_accepts_float64(model, real_images):
    single = classifier.predict_logits(model, real_images[:4])
    double = classifier.predict_logits(model, real_images[:4].astype(np.float64))
    np.testing.assert_array_equal(single, double)


# Judging samples.


def test_judge_real_digits(model, real_images):
    result = classifier.judge_samples(real_images, model)
    assert result["num_samples"] == 1000
    assert result["num_classes_present"] == 10
    assert result["num_confident_classes"] == 10
    assert result["class_histogram"].shape == (10,)
    assert result["class_histogram"].sum() == 1000
    assert result["confident_fraction"] >= 0.9
    assert result["mean_max_probability"] >= 0.95
    # The test split has 100 digits per class, so the entropy is near ln 10.
    assert result["class_entropy"] > 2.25
    assert result["class_entropy"] <= np.log(10) + 1e-9


def test_judge_repeated_digit(model, bundled_test, real_images):
    batch = np.repeat(real_images[:1], 200, axis=0)
    result = classifier.judge_samples(batch, model)
    assert result["num_classes_present"] == 1
    assert result["num_confident_classes"] == 1
    assert result["class_entropy"] == 0.0
    assert result["class_histogram"][bundled_test.labels[0]] == 200
    assert result["confident_fraction"] == 1.0


def test_judge_uniform_noise(model):
    # Training pulls the predictions for noise towards uniform, so every top
    # class probability stays far below the threshold.
    noise = np.random.default_rng(0).uniform(-1.0, 1.0, (1000, 32, 32, 1))
    result = classifier.judge_samples(noise.astype(np.float32), model)
    assert result["confident_fraction"] < 0.05
    assert result["mean_max_probability"] < 0.3
    assert result["num_confident_classes"] == 0


@pytest.mark.parametrize("level", [-1.0, 0.0, 1.0])
def test_judge_blank_images(model, level):
    blank = np.full((20, 32, 32, 1), level, np.float32)
    result = classifier.judge_samples(blank, model)
    assert result["confident_fraction"] == 0.0
    assert result["num_confident_classes"] == 0


def test_judge_noisy_blobs(model):
    # Dark images with bright specks, like an early generator's output.
    rng = np.random.default_rng(1)
    blobs = np.clip(rng.normal(-1.0, 0.5, (1000, 32, 32, 1)), -1.0, 1.0)
    result = classifier.judge_samples(blobs.astype(np.float32), model)
    assert result["confident_fraction"] < 0.05
    assert result["num_confident_classes"] == 0


def test_judge_min_class_fraction_rule(model, bundled_test, real_images):
    # 99 copies of one digit and 1 digit of another class, both classified
    # correctly: the odd one reaches 1% of the batch but not 2%.
    first = 0
    other = int(np.flatnonzero(bundled_test.labels != bundled_test.labels[first])[0])
    batch = np.concatenate(
        [np.repeat(real_images[first : first + 1], 99, axis=0), real_images[[other]]]
    )
    predicted = classifier.predict_logits(model, batch).argmax(axis=-1)
    assert predicted[0] == bundled_test.labels[first]
    assert predicted[-1] == bundled_test.labels[other]
    one_percent = classifier.judge_samples(batch, model, min_class_fraction=0.01)
    two_percent = classifier.judge_samples(batch, model, min_class_fraction=0.02)
    assert one_percent["num_classes_present"] == 2
    assert two_percent["num_classes_present"] == 1


def test_judge_loads_shipped_model(real_images):
    result = classifier.judge_samples(real_images[:50])
    assert result["num_samples"] == 50
    assert result["class_histogram"].sum() == 50


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"confidence": 0.0}, "confidence"),
        ({"confidence": 1.5}, "confidence"),
        ({"min_class_fraction": -0.1}, "min_class_fraction"),
    ],
)
def test_judge_rejects_bad_thresholds(model, real_images, arguments, message):
    with pytest.raises(ValueError, match=message):
        classifier.judge_samples(real_images[:10], model, **arguments)


def test_judge_rejects_empty_batch(model):
    with pytest.raises(ValueError, match="at least one image"):
        classifier.judge_samples(np.zeros((0, 32, 32, 1), np.float32), model)


# Input checks.


def test_rejects_uint8_images(model, bundled_test):
    with pytest.raises(ValueError, match="to_float"):
        classifier.predict_logits(model, bundled_test.images[:4])


@pytest.mark.parametrize(
    "shape", [(32, 32, 1), (4, 28, 28, 1), (4, 32, 32, 3), (4, 1, 32, 32)]
)
def test_rejects_wrong_shape(model, shape):
    with pytest.raises(ValueError, match=r"shape \(batch, 32, 32, 1\)"):
        classifier.features(model, np.zeros(shape, np.float32))


def test_single_image_error_suggests_batch_axis(model):
    with pytest.raises(ValueError, match=r"images\[None\]"):
        classifier.predict_logits(model, np.zeros((32, 32, 1), np.float32))


def test_rejects_values_out_of_range(model, bundled_test):
    images = bundled_test.images[:4].astype(np.float32)  # [0, 255], not [-1, 1]
    with pytest.raises(ValueError, match=r"values in \[-1, 1\]"):
        classifier.judge_samples(images, model)


def test_rejects_nan(model):
    images = np.zeros((2, 32, 32, 1), np.float32)
    images[1, 3, 4, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        classifier.predict_proba(model, images)


# Saving and loading.


def test_save_load_round_trip(model, real_images, saved_weights):
    loaded = classifier.load_classifier(saved_weights)
    np.testing.assert_array_equal(
        classifier.predict_logits(loaded, real_images[:64]),
        classifier.predict_logits(model, real_images[:64]),
    )
    metadata = classifier.load_metadata(saved_weights)
    assert metadata["command"] == "test"
    assert metadata["architecture_version"] == classifier.ARCHITECTURE_VERSION


def test_saved_file_has_plain_arrays(saved_weights):
    with np.load(saved_weights, allow_pickle=False) as archive:
        names = set(archive.files)
        assert "params/convs/0/kernel" in names
        assert "params/output_layer/bias" in names
        assert all(archive[name].dtype != object for name in names)


def test_save_rejects_object_metadata(model, tmp_path):
    with pytest.raises(ValueError, match="metadata\\['notes'\\]"):
        classifier.save_classifier(
            model, tmp_path / "c.npz", metadata={"notes": {"a": 1}}
        )


def test_load_missing_file(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(FileNotFoundError) as error:
        classifier.load_classifier(path)
    assert str(path) in str(error.value)
    assert f"{REBUILD_COMMAND} --out {path}" in str(error.value)


def test_load_not_an_npz(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_text("not an archive")
    with pytest.raises(ValueError, match="Reading classifier weights") as error:
        classifier.load_classifier(path)
    assert REBUILD_COMMAND in str(error.value)


def test_load_other_architecture_version(saved_weights, tmp_path):
    path = _rewrite(
        saved_weights,
        tmp_path / "old.npz",
        **{"meta/architecture_version": np.asarray(0)},
    )
    with pytest.raises(ValueError, match="architecture version 0") as error:
        classifier.load_classifier(path)
    assert REBUILD_COMMAND in str(error.value)


def test_load_missing_parameter(saved_weights, tmp_path):
    path = _rewrite(
        saved_weights, tmp_path / "partial.npz", **{"params/convs/1/bias": None}
    )
    with pytest.raises(ValueError, match="convs/1/bias"):
        classifier.load_classifier(path)


def test_load_wrong_parameter_shape(saved_weights, tmp_path):
    path = _rewrite(
        saved_weights,
        tmp_path / "resized.npz",
        **{"params/output_layer/bias": np.zeros(5, np.float32)},
    )
    with pytest.raises(ValueError, match=r"output_layer/bias as float32\(5,\)"):
        classifier.load_classifier(path)


# Training.


def test_train_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        classifier.train_classifier(steps=0, batch_size=8, seed=0)


def test_command_is_deterministic(tmp_path):
    # A short run through the command line and one through the function with
    # the same arguments give identical weights.
    path = tmp_path / "tiny.npz"
    arguments = "train --steps 3 --batch-size 8 --seed 1".split()
    status = classifier.main([*arguments, "--out", str(path)])
    assert status == 0
    model, metrics = classifier.train_classifier(steps=3, batch_size=8, seed=1)
    assert metrics["train_loss"].shape == (3,)
    assert np.all(np.isfinite(metrics["train_loss"]))
    assert 0.0 <= metrics["test_accuracy"] <= 1.0

    loaded = classifier.load_classifier(path)
    for name, value in classifier._flat_params(model).items():
        np.testing.assert_array_equal(classifier._flat_params(loaded)[name], value)
    metadata = classifier.load_metadata(path)
    assert metadata["command"] == (
        f"{REBUILD_COMMAND} --steps 3 --batch-size 8 --seed 1 --source bundled"
    )
    assert metadata["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
