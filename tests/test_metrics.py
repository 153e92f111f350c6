"""Sample-quality figures on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from gan_lessons import classifier, data, metrics

NUM = 300


def test_frechet_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20_000, 3))
    b = rng.normal(size=(20_000, 3)) * 2.0 + np.array([1.0, 0.0, 0.0])
    # Identity against 4 I, mean shift 1: 1 + 3 * (1 + 4 - 2 * 2) = 4.
    assert metrics.frechet_distance(a, b) == pytest.approx(4.0, rel=0.03)


def test_frechet_agrees_with_scipy_sqrtm():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5)) + 0.5
    mean_a, cov_a = metrics.gaussian_fit(a)
    mean_b, cov_b = metrics.gaussian_fit(b)
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_frechet_of_set_with_itself_is_zero():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(100, 8))
    a[:, 3] = 0.0  # a feature that is always 0 makes the covariance singular
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same feature dimension"):
        metrics.frechet_distance(np.zeros((4, 2)), np.zeros((4, 3)))


def test_nearest_distances_find_exact_copy():
    rng = np.random.default_rng(3)
    references = rng.normal(size=(50, 4, 4, 1))
    queries = references[[7, 21]] + 0.0
    distances, indices = metrics.nearest_distances(queries, references)
    np.testing.assert_array_equal(indices, [7, 21])
    np.testing.assert_allclose(distances, 0.0, atol=1e-6)


def test_nearest_distances_can_exclude_self():
    points = np.array([[0.0], [1.0], [3.0]])
    distances, indices = metrics.nearest_distances(points, points, exclude_self=True)
    np.testing.assert_allclose(distances, [1.0, 1.0, 2.0])
    np.testing.assert_array_equal(indices, [1, 0, 1])


def test_kth_radii_reject_too_few_rows():
    with pytest.raises(ValueError, match="k=3"):
        metrics.kth_neighbour_radii(np.zeros((3, 2)), k=3)


def test_precision_recall_of_same_distribution_high():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(500, 2))
    fake = rng.normal(size=(500, 2))
    precision, recall = metrics.precision_recall(real, fake)
    assert precision > 0.8
    assert recall > 0.8


def test_precision_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(600, 2))
    # A generator that covers one small patch of the real data well.
    fake = rng.normal(size=(600, 2)) * 0.1
    precision, recall = metrics.precision_recall(real, fake)
    assert precision > 0.9
    assert recall < 0.2


@pytest.fixture(scope="module")
def reference():
    return metrics.real_reference(NUM, seed=0)


@pytest.fixture(scope="module")
def train_images():
    return data.to_float(data.load_mnist(source="bundled", split="train").images)


def test_real_digits_score_near_baseline(reference, train_images):
    rng = np.random.default_rng(10)
    other_real = train_images[rng.choice(len(train_images), NUM, replace=False)]
    result = metrics.evaluate(other_real, reference)
    # Training digits are not copies of themselves only when they were not
    # drawn: the few drawn twice are near copies, so allow a few percent.
    assert result.frechet < 2.0 * reference.frechet_real
    assert result.num_classes_present == 10
    assert result.precision > 0.6
    assert result.recall > 0.6


def test_noise_is_far_from_real(reference):
    rng = np.random.default_rng(11)
    noise = rng.uniform(-1, 1, (NUM, 32, 32, 1)).astype(np.float32)
    result = metrics.evaluate(noise, reference)
    assert result.frechet > 10.0 * reference.frechet_real
    assert result.recall < 0.05
    assert result.confident_fraction < 0.05
    assert result.near_copy_fraction == 0.0
    assert result.nearest_train_distance > 2.0 * reference.nearest_train_real.max()


def test_one_digit_generator_covers_one_class(reference):
    test = data.load_mnist(source="bundled", split="test")
    model = classifier.default_classifier()
    images = data.to_float(test.images)
    probabilities = classifier.predict_proba(model, images)
    # The most confidently classified 7, repeated: a collapsed generator.
    sevens = np.flatnonzero(test.labels == 7)
    best = sevens[np.argmax(probabilities[sevens, 7])]
    collapsed = np.repeat(images[best : best + 1], NUM, axis=0)
    result = metrics.evaluate(collapsed, reference)
    assert result.num_classes_present == 1
    assert result.class_histogram[7] == NUM
    assert result.class_entropy == pytest.approx(0.0, abs=1e-9)
    assert result.recall < 0.05


def test_copies_of_training_digits_flagged(reference, train_images):
    rng = np.random.default_rng(12)
    copies = train_images[rng.choice(len(train_images), NUM, replace=False)]
    result = metrics.evaluate(copies, reference)
    assert result.near_copy_fraction == 1.0
    assert result.nearest_train_distance == pytest.approx(0.0, abs=1e-4)

    # Held-out digits are new, so few of them are flagged.
    heldout = metrics.evaluate(reference.heldout_images, reference)
    assert heldout.near_copy_fraction <= 0.02


def test_evaluate_rejects_size_mismatch(reference):
    images = np.zeros((NUM + 1, 32, 32, 1), np.float32)
    with pytest.raises(ValueError, match=f"real_reference\\({NUM + 1}\\)"):
        metrics.evaluate(images, reference)


def test_real_reference_rejects_too_many_samples():
    with pytest.raises(ValueError, match="num_samples=5000"):
        metrics.real_reference(5000)


def test_report_lists_every_figure(reference):
    result = metrics.evaluate(reference.heldout_images, reference)
    text = result.report()
    for name in ("Fréchet", "precision", "recall", "near copies", "classes present"):
        assert name in text
    assert set(result.as_dict()) >= {"frechet", "frechet_real", "near_copy_fraction"}


def test_frechet_rejects_nan_features():
    features = np.ones((5, 3))
    features[2, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        metrics.frechet_distance(features, np.ones((5, 3)))


def test_evaluate_rejects_too_few_digits(reference):
    with pytest.raises(ValueError, match="at least 4"):
        metrics.evaluate(np.zeros((3, 32, 32, 1), np.float32), reference)
