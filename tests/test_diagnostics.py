"""Tests of the failure detector, mode coverage and the lesson 5 helpers."""

from __future__ import annotations

import math

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gan_lessons import data, diagnostics, metrics, toy

RING = diagnostics.lesson_ring()


# Mode coverage.


def test_real_samples_cover_all_modes():
    points = RING.sample(jax.random.key(0), 1000)
    coverage = diagnostics.modes_covered(points, RING)
    assert coverage.covered == 8
    assert coverage.fraction == 1.0
    assert coverage.high_quality_fraction > 0.97
    assert sum(coverage.counts) <= 1000


def test_one_mode_covered():
    mean = np.asarray(RING.means[2])
    points = mean + 0.05 * np.random.default_rng(0).standard_normal((500, 2))
    coverage = diagnostics.modes_covered(points, RING)
    assert coverage.covered == 1
    assert coverage.counts[2] == 500
    assert coverage.high_quality_fraction == 1.0


def test_far_noise_covers_nothing():
    angles = np.random.default_rng(1).uniform(0, 2 * np.pi, 400)
    points = 10.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    coverage = diagnostics.modes_covered(points, RING)
    assert coverage.covered == 0
    assert coverage.high_quality_fraction == 0.0
    assert coverage.counts == (0,) * 8


def test_mode_needs_enough_points():
    # 800 points: a fair share is 100, so a mode needs 20 points.
    rng = np.random.default_rng(2)
    for count, expected in ((19, 1), (20, 2)):
        near_0 = np.asarray(RING.means[0]) + 0.05 * rng.standard_normal(
            (800 - count, 2)
        )
        near_1 = np.asarray(RING.means[1]) + 0.05 * rng.standard_normal((count, 2))
        coverage = diagnostics.modes_covered(np.concatenate([near_0, near_1]), RING)
        assert coverage.counts[1] == count
        assert coverage.covered == expected


def test_coverage_rejects_wrong_shape():
    with pytest.raises(ValueError, match="expected \\(n, 2\\)"):
        diagnostics.modes_covered(np.zeros((5, 3)), RING)
    with pytest.raises(ValueError, match="min_fraction"):
        diagnostics.modes_covered(np.zeros((5, 2)), RING, min_fraction=0.0)


def test_sample_diversity_of_copies_is_zero():
    image = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1))
    assert diagnostics.sample_diversity(np.repeat(image, 10, axis=0)) == 0.0
    different = np.random.default_rng(1).uniform(-1, 1, (10, 32, 32, 1))
    assert diagnostics.sample_diversity(different) > 10.0
    with pytest.raises(ValueError, match="at least 2"):
        diagnostics.sample_diversity(image)


# The detector on synthetic metric streams.


def _healthy_stream(steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "discriminator_loss": 1.3 + 0.05 * rng.standard_normal(steps),
        "generator_loss": 0.8 + 0.05 * rng.standard_normal(steps),
        "d_real": 0.55 + 0.02 * rng.standard_normal(steps),
        "d_fake": 0.45 + 0.02 * rng.standard_normal(steps),
        "generator_grad_norm": np.exp(rng.normal(0.5, 0.5, steps)),
    }


def _failures(alerts) -> list[str]:
    return [alert.failure for alert in alerts]


def test_detector_quiet_on_healthy_stream():
    detector = diagnostics.FailureDetector(warmup_steps=100)
    coverage = {step: 1.0 - 0.125 * (step % 3 == 0) for step in range(50, 1501, 50)}
    alerts = detector.feed_history(_healthy_stream(1500), coverage=coverage)
    assert alerts == []
    assert detector.report() == "No alerts."


def test_detector_flags_non_finite_loss():
    stream = _healthy_stream(100)
    stream["discriminator_loss"][49] = math.nan
    detector = diagnostics.FailureDetector()
    alerts = detector.feed_history(stream)
    assert _failures(alerts) == [diagnostics.NON_FINITE]
    assert alerts[0].step == 50
    assert alerts[0].metric == "discriminator_loss"
    assert math.isnan(alerts[0].value)


def test_detector_flags_saturation_after_patience():
    stream = _healthy_stream(300)
    stream["d_real"][100:] = 0.99
    stream["d_fake"][100:] = 0.01
    detector = diagnostics.FailureDetector()
    alerts = detector.feed_history(stream)
    saturation = [a for a in alerts if a.failure == diagnostics.SATURATION]
    assert len(saturation) == 1
    assert saturation[0].step == 100 + diagnostics.SATURATION_PATIENCE
    assert "non-saturating" in saturation[0].remedy


def test_vanishing_gradient_while_discriminator_wins():
    stream = _healthy_stream(300)
    stream["d_real"][:] = 0.99
    stream["d_fake"][:] = 0.01
    stream["generator_grad_norm"] = 5.0 * np.exp(-np.arange(300) / 40)
    detector = diagnostics.FailureDetector()
    detector.feed_history(stream)
    alert = detector.first_alert(diagnostics.VANISHING_GRADIENT)
    assert alert is not None
    # The running median falls below a tenth of its first value near step 102.
    assert 90 < alert.step < 115
    assert alert.value < 0.1 * 5.0


def test_vanishing_gradient_without_outputs():
    norms = 5.0 * np.exp(-np.arange(300) / 40)
    detector = diagnostics.FailureDetector()
    detector.feed_history({"generator_grad_norm": norms})
    assert detector.failures == {diagnostics.VANISHING_GRADIENT}


def test_small_gradient_at_equilibrium_passes():
    stream = _healthy_stream(300)
    stream["generator_grad_norm"] = 5.0 * np.exp(-np.arange(300) / 40)
    detector = diagnostics.FailureDetector()
    detector.feed_history(stream)
    assert diagnostics.VANISHING_GRADIENT not in detector.failures


def test_detector_flags_weak_discriminator():
    stream = _healthy_stream(200)
    stream["d_real"][:] = 0.6
    stream["d_fake"][:] = 0.8
    detector = diagnostics.FailureDetector()
    alerts = detector.feed_history(stream)
    assert _failures(alerts) == [diagnostics.WEAK_DISCRIMINATOR]
    assert alerts[0].step == diagnostics.WEAK_DISCRIMINATOR_WINDOW
    assert alerts[0].value == pytest.approx(0.2)


def test_detector_flags_coverage_drop():
    coverage = {step: 1.0 if step < 600 else 0.25 for step in range(50, 1001, 50)}
    detector = diagnostics.FailureDetector(warmup_steps=300)
    alerts = detector.feed_history(_healthy_stream(1000), coverage=coverage)
    assert _failures(alerts) == [diagnostics.MODE_COLLAPSE]
    assert alerts[0].step == 600
    assert alerts[0].value == 0.25
    assert "fell" in alerts[0].message


def test_detector_flags_lasting_low_coverage():
    coverage = {step: 0.375 for step in range(50, 1001, 50)}
    detector = diagnostics.FailureDetector(warmup_steps=300)
    alerts = detector.feed_history(_healthy_stream(1000), coverage=coverage)
    assert _failures(alerts) == [diagnostics.MODE_COLLAPSE]
    # Checks at 300, 350 and 400 are the first three after the warm-up.
    assert alerts[0].step == 400


def test_low_coverage_during_warmup_is_ignored():
    coverage = {step: 0.0 if step < 500 else 1.0 for step in range(50, 1001, 50)}
    detector = diagnostics.FailureDetector(warmup_steps=500)
    alerts = detector.feed_history(_healthy_stream(1000), coverage=coverage)
    assert alerts == []


def test_detector_flags_oscillation_not_trend():
    steps = np.arange(600)
    swinging = _healthy_stream(600)
    swinging["d_fake"] = 0.45 + 0.2 * np.sin(2 * np.pi * steps / 50)
    swinging["d_real"] = 0.55 + 0.2 * np.sin(2 * np.pi * steps / 50)
    detector = diagnostics.FailureDetector(warmup_steps=0)
    detector.feed_history(swinging)
    assert detector.failures == {diagnostics.OSCILLATION}
    assert detector.first_alert(diagnostics.OSCILLATION).step == (
        diagnostics.OSCILLATION_WINDOW
    )

    falling = _healthy_stream(600)
    falling["d_fake"] = np.clip(0.5 - steps / 400, 0.11, None)
    detector = diagnostics.FailureDetector(warmup_steps=0)
    detector.feed_history(falling)
    assert diagnostics.OSCILLATION not in detector.failures


def test_oscillation_statistics_count_swings():
    steps = np.arange(200)
    amplitude, swings = diagnostics.oscillation_statistics(
        0.5 + 0.2 * np.sin(2 * np.pi * steps / 50)
    )
    assert amplitude > 0.3
    # Four periods: two crossings each, less the first, about 7.
    assert 6 <= swings <= 8
    amplitude, swings = diagnostics.oscillation_statistics(0.5 - steps / 400)
    assert amplitude > 0.4
    assert swings == 1


def test_persistent_failure_alerts_once_per_interval():
    stream = _healthy_stream(1000)
    stream["d_real"][:] = 0.6
    stream["d_fake"][:] = 0.8
    detector = diagnostics.FailureDetector()
    alerts = detector.feed_history(stream)
    assert len(alerts) == 1


def test_cleared_failure_alerts_again_after_interval():
    stream = _healthy_stream(1000)
    for start in (100, 600):
        stream["d_real"][start : start + 50] = 0.6
        stream["d_fake"][start : start + 50] = 0.8
    detector = diagnostics.FailureDetector()
    alerts = detector.feed_history(stream)
    steps = [alert.step for alert in alerts]
    assert len(steps) == 2
    assert 100 < steps[0] < 150
    assert 600 < steps[1] < 650


def test_verbose_detector_prints_alert(capsys):
    detector = diagnostics.FailureDetector(verbose=True)
    detector.update(7, {"generator_loss": math.inf})
    output = capsys.readouterr().out
    assert "[step 7] non_finite" in output
    assert "Remedy:" in output


def test_detector_skips_rules_without_their_metrics():
    detector = diagnostics.FailureDetector()
    for step in range(1, 300):
        assert detector.update(step, {"discriminator_loss": 0.0}) == []


def test_detector_rejects_array_metric():
    detector = diagnostics.FailureDetector()
    with pytest.raises(ValueError, match="'d_real' has shape \\(3,\\)"):
        detector.update(1, {"d_real": np.zeros(3)})


def test_feed_history_rejects_ragged_history():
    detector = diagnostics.FailureDetector()
    with pytest.raises(ValueError, match="lengths differ"):
        detector.feed_history({"d_real": [0.5, 0.5], "d_fake": [0.5]})


# Toy runs: the lesson's collapse, its settings, across seeds.


@pytest.fixture(scope="module")
def lesson_gan() -> toy.ToyGAN:
    """The toy GAN of lesson 5: Adam at 2e-3 for both networks."""
    config = toy.ToyConfig(
        generator_learning_rate=2e-3, discriminator_learning_rate=2e-3
    )
    return toy.ToyGAN(RING, config)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slow_discriminator_collapses_ring(lesson_gan, seed):
    healthy_detector = diagnostics.FailureDetector(warmup_steps=1000)
    healthy = diagnostics.record_toy_run(
        lesson_gan, lesson_gan.init(seed), rounds=1500, detector=healthy_detector
    )
    slow_state = lesson_gan.set_learning_rates(
        lesson_gan.init(seed), discriminator=2e-4
    )
    collapse_detector = diagnostics.FailureDetector(warmup_steps=1000)
    collapsed = diagnostics.record_toy_run(
        lesson_gan, slow_state, rounds=1500, detector=collapse_detector
    )
    assert healthy.modes_after(1000).min() >= 6
    assert healthy.modes[-1] >= 7
    assert collapsed.modes_after(1000).max() <= 3
    assert healthy_detector.alerts == []
    assert diagnostics.MODE_COLLAPSE in collapse_detector.failures


def test_record_toy_run_shapes(lesson_gan):
    run = diagnostics.record_toy_run(
        lesson_gan,
        lesson_gan.init(0),
        rounds=30,
        check_every=20,
        snapshot_every=10,
        num_samples=200,
        snapshot_samples=50,
    )
    assert run.rounds == 30
    assert set(run.history) >= {"d_real", "d_fake", "generator_grad_norm"}
    assert run.check_rounds.tolist() == [20, 30]
    assert run.final_points.shape == (200, 2)
    assert run.snapshot_rounds.tolist() == [0, 10, 20, 30]
    assert run.points.shape == (4, 50, 2)
    size = diagnostics.GRID_SIZE
    assert run.heatmaps.shape == (4, size, size)
    assert np.all((run.heatmaps >= 0) & (run.heatmaps <= 1))
    assert int(run.state.updates) == 60


def test_record_toy_run_rejects_gaussian():
    gan = toy.ToyGAN(toy.tough_guys(), toy.ToyConfig())
    with pytest.raises(ValueError, match="GaussianMixture"):
        diagnostics.record_toy_run(gan, gan.init(0), rounds=1)


def test_ring_grid_orders_x_fastest():
    grid = diagnostics.ring_grid(limit=1.0, size=4)
    assert grid.shape == (16, 2)
    assert np.allclose(grid[:4, 0], [-0.75, -0.25, 0.25, 0.75])
    assert np.allclose(grid[:4, 1], -0.75)


def _fake_run(snapshots: int = 3) -> diagnostics.ToyRun:
    rng = np.random.default_rng(0)
    size = diagnostics.GRID_SIZE
    return diagnostics.ToyRun(
        history={"d_real": np.full(10, 0.5), "d_fake": np.full(10, 0.5)},
        check_rounds=np.array([10]),
        coverage=[diagnostics.modes_covered(np.zeros((4, 2)), RING)],
        final_points=rng.normal(size=(20, 2)),
        snapshot_rounds=np.arange(snapshots) * 5,
        points=rng.normal(size=(snapshots, 20, 2)),
        heatmaps=rng.uniform(size=(snapshots, size, size)),
        state=None,
        alerts=[],
    )


def test_snapshot_viewer_redraws_one_figure():
    figures_before = plt.get_fignums()
    run = _fake_run()
    viewer = diagnostics.SnapshotViewer(run, RING, name="test-viewer")
    first = viewer.png
    viewer.slider.value = 2
    assert viewer.png != first
    assert viewer.png == viewer.image.value
    again = diagnostics.SnapshotViewer(run, RING, name="test-viewer")
    assert viewer.figure.axes == []
    assert plt.get_fignums() == figures_before
    with pytest.raises(IndexError, match="out of range"):
        again.draw(3)
    again.close()


def test_plots_build():
    run = _fake_run()
    # Two snapshot panels and a colour bar.
    assert len(diagnostics.plot_snapshots(run, RING, count=2).axes) == 3
    assert len(diagnostics.plot_toy_curves({"a": run, "b": run}).axes) == 3
    assert len(diagnostics.plot_toy_samples({"a": run}, RING).axes) == 1
    images = np.zeros((4, 32, 32, 1), np.float32)
    grids = diagnostics.plot_sample_grids({"a": images, "b": images})
    assert len(grids.axes) == 2
    evaluation = metrics.Evaluation(
        num_samples=4,
        frechet=1.0,
        frechet_real=0.5,
        confident_fraction=0.5,
        confident_fraction_real=0.9,
        num_classes_present=2,
        class_entropy=0.7,
        class_entropy_real=2.3,
        class_histogram=(2, 2, 0, 0, 0, 0, 0, 0, 0, 0),
        nearest_train_distance=3.0,
        nearest_train_distance_real=3.0,
        near_copy_fraction=0.0,
        precision=0.5,
        recall=0.5,
        precision_real=0.9,
        recall_real=0.9,
    )
    assert len(diagnostics.plot_class_histograms({"a": evaluation}).axes) == 1


# Image runs.


def test_record_image_run_records_every_step(gan, init_state):
    rng = np.random.default_rng(0)
    dataset = data.Dataset(
        images=rng.integers(0, 256, (32, 32, 32, 1), dtype=np.uint8),
        labels=np.zeros(32, np.int32),
        source="random",
    )
    stream = data.BatchStream(dataset, gan.train_config.batch_size, seed=0)
    detector = diagnostics.FailureDetector()
    run = diagnostics.record_image_run(
        gan,
        init_state,
        stream,
        steps=3,
        check_every=2,
        num_samples=4,
        detector=detector,
    )
    assert run.history["d_real"].shape == (3,)
    assert run.diversity_steps.tolist() == [2, 3]
    assert np.all(run.diversity > 0)
    assert int(run.state.step) == 3
    assert run.alerts == detector.alerts


# Exercise checks.


def test_exercise_points_cover_three_modes():
    coverage = diagnostics.modes_covered(diagnostics.exercise_points(), RING)
    assert coverage.covered == 3
    assert coverage.num_samples == 600


@pytest.mark.parametrize(
    ("answer", "expected", "feedback"),
    [
        (None, False, "Not answered yet"),
        (3, True, "Correct"),
        (4, False, "handful"),
        (8, False, "every mode"),
        (5, False, "compare the count"),
    ],
)
def test_check_covered_modes(capsys, answer, expected, feedback):
    assert diagnostics.check_covered_modes(answer) is expected
    assert feedback in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "expected", "feedback"),
    [
        (None, False, "Not answered yet"),
        ("b", True, "Correct"),
        ("(B)", True, "Correct"),
        ("a", False, "same tiny signal"),
        ("e", False, "not an option"),
    ],
)
def test_check_remedy(capsys, answer, expected, feedback):
    assert diagnostics.check_remedy(answer) is expected
    assert feedback in capsys.readouterr().out


def test_saturation_check_accepts_other_forms(capsys):
    def with_min_max(d_real, d_fake):
        return min(d_real) >= 0.9 and max(d_fake) <= 0.1

    assert diagnostics.check_saturation_rule(with_min_max)
    assert diagnostics.check_saturation_rule(diagnostics.saturation_reference)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("rule", "feedback"),
    [
        (lambda d_real, d_fake: None, "Not answered yet"),
        (
            lambda d_real, d_fake: np.mean(d_real) >= 0.9 and np.mean(d_fake) <= 0.1,
            "one confident mean",
        ),
        (
            lambda d_real, d_fake: bool(np.all(d_real >= 0.9) or np.all(d_fake <= 0.1)),
            "both conditions",
        ),
        (lambda d_real, d_fake: True, "Return True only"),
    ],
)
def test_saturation_check_hints(capsys, rule, feedback):
    assert not diagnostics.check_saturation_rule(rule)
    output = capsys.readouterr().out
    assert feedback in output
    assert "np.all" not in output
