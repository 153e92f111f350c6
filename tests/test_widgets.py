"""Playground widgets driven from code, the training record and its phases.

The tests press buttons, move sliders and tick the play widget the way a
front end would, through the widgets' own ``click`` and ``value``, and check
that the one figure of each playground changes in place.
"""

from __future__ import annotations

import base64
import io

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.display import Image
from matplotlib.figure import Figure
from PIL import Image as PILImage

from gan_lessons import toy, widgets

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def gan() -> toy.ToyGAN:
    """The lesson's toy GAN: Adam with learning rate 3e-3 on both sides."""
    config = toy.ToyConfig(
        generator_learning_rate=3e-3, discriminator_learning_rate=3e-3
    )
    return toy.ToyGAN(toy.tough_guys(), config)


@pytest.fixture
def crowd_playground():
    playground = widgets.OptimalDiscriminatorPlayground(name="test_crowd")
    yield playground
    playground.close()


@pytest.fixture
def training(gan):
    playground = widgets.TrainingPlayground(gan, name="test_training", num_points=64)
    yield playground
    playground.close()


def heatmap_values(playground) -> np.ndarray:
    return np.array(playground.heatmap.get_array())


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    return PILImage.open(io.BytesIO(data)).size


# Pure helpers.


def test_optimal_discriminator_is_density_ratio():
    data = toy.tough_guys()
    generator = toy.Gaussian(mean=(3.0, 0.5), std=(1.0, 0.5))
    points = np.array([[4.0, 1.0], [3.0, 0.5], [3.5, 0.8], [2.0, 0.0]], np.float32)
    p_data = np.asarray(data.density(points), np.float64)
    p_g = np.asarray(generator.density(points), np.float64)
    expected = p_data / (p_data + p_g)
    result = widgets.optimal_discriminator(data, generator, points)
    np.testing.assert_allclose(result, expected, rtol=1e-5)


def test_optimal_discriminator_half_for_same_crowd():
    data = toy.tough_guys()
    points = widgets.feature_grid(8)
    np.testing.assert_allclose(widgets.optimal_discriminator(data, data, points), 0.5)


def test_optimal_discriminator_finite_far_away():
    # Both densities round to 0 here, so p / (p + q) would be 0 / 0.
    generator = toy.Gaussian(mean=(0.0, 0.0), std=(0.5, 0.5))
    points = np.array([[100.0, 100.0], [-80.0, 40.0]], np.float32)
    result = widgets.optimal_discriminator(toy.tough_guys(), generator, points)
    assert np.all(np.isfinite(result))
    assert np.all((result >= 0) & (result <= 1))


def test_feature_grid_matches_imshow_layout():
    grid = widgets.feature_grid(5)
    assert grid.shape == (25, 2)
    image = grid.reshape(5, 5, 2)
    # Strength grows along a row, fighting from one row to the next.
    assert np.all(np.diff(image[0, :, 0]) > 0)
    assert np.all(image[:, 0, 0] == image[0, 0, 0])
    assert np.all(np.diff(image[:, 0, 1]) > 0)
    assert widgets.STRENGTH_LIMITS[0] < grid[:, 0].min()
    assert grid[:, 0].max() < widgets.STRENGTH_LIMITS[1]


def test_reliance_shares_sum_to_one():
    np.testing.assert_allclose(widgets.reliance_shares([0.3, 0.1]), [0.75, 0.25])


def test_reliance_shares_nan_without_reliance():
    assert np.all(np.isnan(widgets.reliance_shares([0.0, 0.0])))


def test_figure_png_renders_figure():
    figure = Figure(figsize=(2, 1), dpi=50)
    figure.add_subplot().plot([0, 1])
    assert png_size(widgets.figure_png(figure)) == (100, 50)


# The training record and the phases of the story.


def synthetic_record(fighting_shares, strength_means) -> widgets.TrainingRecord:
    record = widgets.TrainingRecord()
    for round_, (share, mean) in enumerate(
        zip(fighting_shares, strength_means, strict=True)
    ):
        record.updates.append(4 * (round_ + 1))
        shares = np.array([np.nan, np.nan]) if share is None else [1 - share, share]
        record.reliance_share.append(np.asarray(shares, np.float64))
        record.reliance.append(np.zeros(2))
        record.fake_mean.append(np.array([mean, 1.0]))
        record.fake_std.append(np.array([0.5, 0.25]))
    return record


def test_averaged_shares_counts_nan_as_even():
    record = synthetic_record([0.0, None, 1.0, 1.0], [0.0] * 4)
    averaged = record.averaged_shares(2)
    np.testing.assert_allclose(averaged[:, 1], [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0)


def test_averaged_shares_rejects_zero_window():
    record = synthetic_record([0.0], [0.0])
    with pytest.raises(ValueError, match="window=0"):
        record.averaged_shares(0)


def test_story_phases_of_synthetic_record():
    fighting = [0.1] * 6 + [0.9] * 6
    strength = [0.0, 1.0, 2.0, 3.0, 3.6, 4.0] + [4.0] * 6
    record = synthetic_record(fighting, strength)
    phases = widgets.find_story_phases(
        record, toy.tough_guys(), early_rounds=4, window=3
    )
    assert phases.early_strength_share == pytest.approx(0.9)
    assert phases.strength_matched_round == 5
    # Rounds 6 to 8 average (0.1 + 0.9 + 0.9) / 3 > 1/2, so round 8.
    assert phases.fighting_round == 8
    assert phases.in_story_order


def test_story_phases_out_of_order():
    record = synthetic_record([0.9] * 8, [0.0] * 7 + [4.0])
    phases = widgets.find_story_phases(
        record, toy.tough_guys(), early_rounds=2, window=2
    )
    assert phases.fighting_round == 2
    assert phases.strength_matched_round == 8
    assert not phases.in_story_order


def test_story_phases_missing_phase():
    record = synthetic_record([0.1] * 6, [0.0] * 6)
    phases = widgets.find_story_phases(
        record, toy.tough_guys(), early_rounds=2, window=2
    )
    assert phases.strength_matched_round is None
    assert phases.fighting_round is None
    assert not phases.in_story_order


def test_story_phases_reject_short_record():
    record = synthetic_record([0.1] * 3, [0.0] * 3)
    with pytest.raises(ValueError, match="3 rounds"):
        widgets.find_story_phases(record, toy.tough_guys(), early_rounds=15)


def test_record_training_records_every_round(gan):
    state, record = widgets.record_training(gan, seed=0, rounds=3, num_points=64)
    assert len(record) == 3
    assert record.updates == [4, 8, 12]
    assert int(state.updates) == 12
    for name in ("discriminator_loss", "d_real", "d_fake", "generator_grad_norm"):
        assert np.all(np.isfinite(getattr(record, name))), name
    assert np.asarray(record.reliance).shape == (3, 2)
    assert np.asarray(record.fake_mean).shape == (3, 2)


def test_record_training_is_reproducible(gan):
    _, first = widgets.record_training(gan, seed=3, rounds=2, num_points=64)
    _, second = widgets.record_training(gan, seed=3, rounds=2, num_points=64)
    np.testing.assert_array_equal(first.fake_mean, second.fake_mean)
    np.testing.assert_array_equal(first.reliance, second.reliance)


def test_record_training_rejects_zero_rounds(gan):
    with pytest.raises(ValueError, match="rounds=0"):
        widgets.record_training(gan, rounds=0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_story_holds_across_seeds(gan, seed):
    # The schedule of the lesson: 3 discriminator updates and 1 generator
    # update a round, learning rate 3e-3. Strength must come first and be
    # matched no later than fighting takes over.
    _, record = widgets.record_training(gan, seed=seed, rounds=60)
    phases = widgets.find_story_phases(record, gan.data)
    assert phases.early_strength_share > 0.6, phases
    assert phases.strength_matched_round is not None, phases
    assert phases.fighting_round is not None, phases
    assert phases.in_story_order, phases


def test_plot_training_record_uses_no_pyplot():
    record = synthetic_record([0.1] * 6 + [0.9] * 6, [0.0] * 5 + [4.0] * 7)
    phases = widgets.find_story_phases(record, toy.tough_guys(), early_rounds=4)
    figures = len(plt.get_fignums())
    figure = widgets.plot_training_record(record, toy.tough_guys(), phases)
    assert len(figure.axes) == 4
    assert len(plt.get_fignums()) == figures
    assert png_size(widgets.figure_png(figure))[0] > 0


# The playground of the best discriminator.


def test_crowd_slider_redraws_heatmap(crowd_playground):
    figures = len(plt.get_fignums())
    heatmap = heatmap_values(crowd_playground)
    png = crowd_playground.png
    figure = crowd_playground.figure
    crowd_playground.sliders["strength_mean"].value = 3.0
    assert not np.allclose(heatmap_values(crowd_playground), heatmap)
    assert crowd_playground.png != png
    assert bytes(crowd_playground.image.value) == crowd_playground.png
    assert crowd_playground.figure is figure
    assert len(plt.get_fignums()) == figures


def test_playground_images_keep_own_size(crowd_playground, training):
    for playground in (crowd_playground, training):
        # The box's default "stretch" would scale the image to the box's width.
        assert playground.image.layout.align_self == "flex-start"
        assert playground.DOM_CLASS in playground.box._dom_classes
    assert crowd_playground.DOM_CLASS != training.DOM_CLASS


def test_crowd_score_half_only_for_real_crowd(crowd_playground):
    sliders = crowd_playground.sliders
    start = crowd_playground.score()
    assert start < 0.01
    for name, value in {
        "strength_mean": 4.0,
        "fighting_mean": 1.0,
        "strength_std": 0.5,
        "fighting_std": 0.25,
    }.items():
        sliders[name].value = value
    assert crowd_playground.score() == pytest.approx(0.5, abs=1e-6)
    sliders["fighting_std"].value = 0.1
    assert crowd_playground.score() < 0.5
    assert "let in" in crowd_playground.status.value


def test_crowd_partial_redraw_equals_full_redraw(crowd_playground):
    crowd_playground.sliders["fighting_mean"].value = 0.8
    partial = np.asarray(PILImage.open(io.BytesIO(crowd_playground.render())))
    full = np.asarray(PILImage.open(io.BytesIO(crowd_playground.render(full=True))))
    np.testing.assert_array_equal(partial, full)


def test_rebuilding_keeps_one_figure():
    figures = len(plt.get_fignums())
    playgrounds = [
        widgets.OptimalDiscriminatorPlayground(name="test_rebuild", num_points=20)
        for _ in range(30)
    ]
    assert len(plt.get_fignums()) == figures
    assert widgets.playground_names().count("test_rebuild") == 1
    for old in playgrounds[:-1]:
        assert old.figure.axes == []
        assert old.sliders["strength_mean"].comm is None
        assert old.box.comm is None
    newest = playgrounds[-1]
    assert newest.sliders["strength_mean"].comm is not None
    newest.close()
    assert "test_rebuild" not in widgets.playground_names()


@pytest.mark.parametrize(
    ("mode", "kinds"),
    [
        ("static", [Image]),
        ("interactive", ["VBox"]),
    ],
)
def test_show_displays_png_or_box(crowd_playground, monkeypatch, mode, kinds):
    shown = []
    monkeypatch.setattr(widgets, "display", shown.append)
    crowd_playground.show(mode)
    names = [kind if isinstance(kind, str) else kind.__name__ for kind in kinds]
    assert [type(item).__name__ for item in shown] == names
    if mode == "static":
        assert shown[0].data == crowd_playground.png
        assert png_size(shown[0].data)[0] > 0
    else:
        assert shown[0] is crowd_playground.box


def test_show_both_is_one_output(crowd_playground, monkeypatch):
    shown = []
    monkeypatch.setattr(
        widgets, "display", lambda item, **kwargs: shown.append((item, kwargs))
    )
    crowd_playground.show()
    assert len(shown) == 1
    bundle, kwargs = shown[0]
    assert kwargs == {"raw": True}
    view = bundle[widgets.WIDGET_VIEW_MIMETYPE]
    assert view["model_id"] == crowd_playground.box.model_id
    assert (view["version_major"], view["version_minor"]) == (2, 0)
    assert base64.b64decode(bundle["image/png"]) == crowd_playground.png
    assert "text/plain" in bundle


def test_show_rejects_unknown_mode(crowd_playground):
    with pytest.raises(ValueError, match="mode='live'"):
        crowd_playground.show("live")


def test_crowd_rejects_one_feature():
    with pytest.raises(ValueError, match="dimension 1"):
        widgets.OptimalDiscriminatorPlayground(toy.Gaussian(mean=(0.0,), std=(1.0,)))


# The training playground.


def test_discriminator_button_steps_discriminator(training):
    figures = len(plt.get_fignums())
    heatmap = heatmap_values(training)
    png = training.png
    training.buttons["discriminator"].click()
    assert int(training.state.discriminator_updates) == 1
    assert int(training.state.generator_updates) == 0
    assert not np.allclose(heatmap_values(training), heatmap)
    assert training.png != png
    assert bytes(training.image.value) == training.png
    assert len(training.record) == 2
    assert len(plt.get_fignums()) == figures


def test_generator_button_moves_generated_points(training):
    points = np.array(training._fake_scatter.get_offsets())
    heatmap = heatmap_values(training)
    training.buttons["generator"].click()
    assert int(training.state.generator_updates) == 1
    assert int(training.state.discriminator_updates) == 0
    assert not np.allclose(training._fake_scatter.get_offsets(), points)
    # The discriminator did not change, so neither did its verdict.
    np.testing.assert_array_equal(heatmap_values(training), heatmap)


def test_round_button_uses_step_sliders(training):
    training.sliders["discriminator_steps"].value = 2
    training.sliders["generator_steps"].value = 1
    training.buttons["round"].click()
    assert int(training.state.discriminator_updates) == 2
    assert int(training.state.generator_updates) == 1
    assert training.record.updates[-1] == 3


def test_arrows_follow_generator_direction(training):
    training.buttons["round"].click()
    offsets = np.asarray(training._arrows.get_offsets())
    direction = np.asarray(training.gan.generator_direction(training.state, offsets))
    expected = direction / np.max(np.linalg.norm(direction, axis=1))
    np.testing.assert_allclose(training._arrows.U, expected[:, 0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(training._arrows.V, expected[:, 1], rtol=1e-4, atol=1e-6)


def test_learning_rate_slider_sets_state_without_recompiling(training):
    training.buttons["round"].click()
    compiled = training.gan._round._cache_size()
    training.sliders["discriminator_learning_rate"].value = 1e-2
    training.sliders["generator_learning_rate"].value = 1e-3
    hyperparams = training.state.discriminator_opt_state.hyperparams
    assert float(hyperparams["learning_rate"]) == pytest.approx(1e-2)
    hyperparams = training.state.generator_opt_state.hyperparams
    assert float(hyperparams["learning_rate"]) == pytest.approx(1e-3)
    training.buttons["round"].click()
    assert training.gan._round._cache_size() == compiled


def test_play_tick_runs_round_and_stop_does_not(training):
    training.play.value = 1
    assert training.record.updates[-1] == 4
    training.play.value = 2
    assert training.record.updates[-1] == 8
    # The stop button sets the value back to the minimum.
    training.play.value = 0
    assert training.record.updates[-1] == 8
    assert len(training.record) == 3


def test_reset_returns_to_start(training):
    start = heatmap_values(training)
    for _ in range(3):
        training.buttons["round"].click()
    training.sliders["discriminator_learning_rate"].value = 1e-2
    training.buttons["reset"].click()
    assert int(training.state.updates) == 0
    assert len(training.record) == 1
    np.testing.assert_allclose(heatmap_values(training), start, atol=1e-6)
    hyperparams = training.state.discriminator_opt_state.hyperparams
    assert float(hyperparams["learning_rate"]) == pytest.approx(1e-2)


def test_curve_axis_grows_past_limit(training):
    axis = training._curve_axes[0]
    assert axis.get_xlim()[1] == 64
    for _ in range(16):
        training.buttons["round"].click()
    assert training.record.updates[-1] == 64
    assert axis.get_xlim()[1] == 64
    training.buttons["round"].click()
    assert axis.get_xlim()[1] == 128


def test_training_error_shows_in_status(training, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("no round tonight")

    monkeypatch.setattr(training.gan, "train_round", fail)
    with pytest.raises(RuntimeError, match="no round tonight"):
        training.play.value = 1
    assert "no round tonight" in training.status.value


def test_training_starts_from_given_state(gan):
    state, _ = widgets.record_training(gan, seed=0, rounds=2, num_points=64)
    playground = widgets.TrainingPlayground(
        gan, state=state, name="test_given_state", num_points=64
    )
    try:
        assert playground.record.updates == [8]
        playground.reset()
        assert playground.record.updates == [0]
    finally:
        playground.close()


def test_training_rejects_one_feature():
    config = toy.ToyConfig(data_dim=1)
    gan = toy.ToyGAN(toy.Gaussian(mean=(0.0,), std=(1.0,)), config)
    with pytest.raises(ValueError, match="data_dim=1"):
        widgets.TrainingPlayground(gan)


def test_rebuilding_training_keeps_one_figure(gan):
    figures = len(plt.get_fignums())
    first = widgets.TrainingPlayground(gan, name="test_rebuild_training", num_points=64)
    second = widgets.TrainingPlayground(
        gan, name="test_rebuild_training", num_points=64
    )
    try:
        assert first.buttons["round"].comm is None
        assert first.play.comm is None
        assert len(plt.get_fignums()) == figures
        assert second.buttons["round"].comm is not None
    finally:
        second.close()


def test_evaluation_points_are_fixed(gan):
    real_a, latent_a = widgets.evaluation_points(gan, seed=5, num=8)
    real_b, latent_b = widgets.evaluation_points(gan, seed=5, num=8)
    np.testing.assert_array_equal(real_a, real_b)
    np.testing.assert_array_equal(latent_a, latent_b)
    assert real_a.shape == (8, 2)
    assert latent_a.shape == (8, gan.config.latent_dim)
    assert not np.allclose(real_a, widgets.evaluation_points(gan, seed=6, num=8)[0])
    assert jax.numpy.all(jax.numpy.isfinite(latent_a))
