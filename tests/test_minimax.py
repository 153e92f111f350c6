"""The minimax game on 1-D toys: D*, JSD, C(G), loss slopes, widget and checks."""

from __future__ import annotations

import fractions
import math

import jax
import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import spatial, stats

from gan_lessons import losses, minimax, toy

GRID = np.linspace(-12.0, 12.0, 24_001)


def _normal(grid: np.ndarray, mean: float, std: float) -> np.ndarray:
    return stats.norm.pdf(grid, mean, std)


# Densities on a grid.


def test_optimal_discriminator_golden_values():
    data = np.array([0.3, 0.0, 1.0, 0.0, 0.2])
    generated = np.array([0.1, 1.0, 0.0, 0.0, 0.2])
    expected = [0.75, 0.0, 1.0, 0.5, 0.5]
    np.testing.assert_allclose(minimax.optimal_discriminator(data, generated), expected)


def test_optimal_discriminator_rejects_negative_density():
    with pytest.raises(ValueError, match="non-negative"):
        minimax.optimal_discriminator(np.array([0.1, -0.1]), np.array([0.1, 0.1]))


def test_optimal_discriminator_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shapes"):
        minimax.optimal_discriminator(np.ones(3), np.ones(4))


def test_optimal_discriminator_maximises_value():
    data = _normal(GRID, -1.0, 0.7)
    generated = _normal(GRID, 1.0, 1.3)
    best = minimax.optimal_discriminator(data, generated)
    best_value = minimax.value_function(best, data, generated, GRID)
    rng = np.random.default_rng(0)
    for _ in range(5):
        perturbed = np.clip(best + rng.normal(0, 0.05, best.shape), 1e-6, 1 - 1e-6)
        value = minimax.value_function(perturbed, data, generated, GRID)
        assert value < best_value


def test_value_at_half_is_minus_log_four():
    data = _normal(GRID, 0.0, 1.0)
    generated = _normal(GRID, 3.0, 0.5)
    half = np.full_like(GRID, 0.5)
    value = minimax.value_function(half, data, generated, GRID)
    assert value == pytest.approx(-math.log(4.0), abs=1e-9)


def test_value_function_rejects_probability_above_one():
    density = _normal(GRID, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        minimax.value_function(np.full_like(GRID, 1.5), density, density, GRID)


def test_jsd_of_identical_densities_is_zero():
    density = _normal(GRID, 0.5, 1.2)
    assert minimax.jensen_shannon_divergence(density, density, GRID) == pytest.approx(
        0.0, abs=1e-12
    )


def test_jsd_of_disjoint_densities_is_log_two():
    grid = np.linspace(-40.0, 40.0, 80_001)
    left = _normal(grid, -20.0, 1.0)
    right = _normal(grid, 20.0, 1.0)
    divergence = minimax.jensen_shannon_divergence(left, right, grid)
    assert divergence == pytest.approx(math.log(2.0), abs=1e-9)


def test_jsd_matches_scipy():
    p = _normal(GRID, -1.0, 0.6)
    q = _normal(GRID, 0.5, 1.5)
    step = GRID[1] - GRID[0]
    # scipy returns the Jensen-Shannon distance, the square root of the divergence.
    expected = spatial.distance.jensenshannon(p * step, q * step) ** 2
    assert minimax.jensen_shannon_divergence(p, q, GRID) == pytest.approx(
        expected, rel=1e-6
    )


def test_jsd_is_symmetric():
    p = _normal(GRID, -1.0, 0.6)
    q = _normal(GRID, 0.5, 1.5)
    assert minimax.jensen_shannon_divergence(p, q, GRID) == pytest.approx(
        minimax.jensen_shannon_divergence(q, p, GRID), abs=1e-12
    )


@pytest.mark.parametrize(
    ("mean", "std"), [(0.0, 1.0), (1.0, 1.0), (0.0, 2.0), (2.5, 0.3), (9.0, 0.5)]
)
def test_criterion_equals_jsd_identity(mean, std):
    # Each density keeps all but 2e-9 of its mass inside GRID, and lost mass
    # shifts C(G) by up to log 2 times it.
    data = _normal(GRID, 0.0, 1.0)
    generated = _normal(GRID, mean, std)
    criterion = minimax.generator_criterion(data, generated, GRID)
    divergence = minimax.jensen_shannon_divergence(data, generated, GRID)
    assert criterion == pytest.approx(-math.log(4.0) + 2 * divergence, abs=1e-8)


def test_generator_criterion_minimum_at_data():
    data = 0.5 * _normal(GRID, -2.0, 0.5) + 0.5 * _normal(GRID, 2.0, 0.5)
    assert minimax.generator_criterion(data, data, GRID) == pytest.approx(
        -math.log(4.0), abs=1e-9
    )


def test_criterion_finite_for_tiny_generator():
    # Where p_g is 1e-300 next to p_data, 1 - D* rounds to 0 in float64.
    data = _normal(GRID, 0.0, 1.0)
    generated = np.maximum(_normal(GRID, 0.0, 1.0) * 1e-300, 1e-320)
    assert np.isfinite(minimax.generator_criterion(data, generated, GRID))


def test_central_interval_of_standard_normal():
    low, high = minimax.central_interval(_normal(GRID, 0.0, 1.0), GRID, mass=0.98)
    assert low == pytest.approx(stats.norm.ppf(0.01), abs=2e-3)
    assert high == pytest.approx(stats.norm.ppf(0.99), abs=2e-3)


def test_density_on_grid_matches_scipy():
    mixture = toy.GaussianMixture(
        means=((-1.0,), (2.0,)), stds=((0.5,), (1.0,)), weights=(1.0, 3.0)
    )
    grid = np.linspace(-4.0, 6.0, 101)
    expected = 0.25 * _normal(grid, -1.0, 0.5) + 0.75 * _normal(grid, 2.0, 1.0)
    np.testing.assert_allclose(minimax.density_on_grid(mixture, grid), expected, 1e-5)


def test_density_on_grid_keeps_far_tail_positive():
    gaussian = toy.Gaussian(mean=(0.0,), std=(1.0,))
    density = minimax.density_on_grid(gaussian, np.array([0.0, 15.0]))
    assert density[1] > 0.0


def test_density_on_grid_rejects_two_dimensions():
    with pytest.raises(ValueError, match="dimension 2"):
        minimax.density_on_grid(toy.tough_guys(), GRID)


def test_criterion_table_sides_agree():
    data = toy.Gaussian(mean=(0.0,), std=(1.0,))
    generators = {
        "near": toy.Gaussian(mean=(0.5,), std=(1.0,)),
        "far": toy.Gaussian(mean=(8.0,), std=(0.5,)),
    }
    rows = minimax.criterion_table(
        data, generators, GRID, key=jax.random.key(0), num_samples=20_000
    )
    assert [row.name for row in rows] == ["near", "far"]
    for row in rows:
        assert row.criterion == pytest.approx(row.identity, abs=1e-6)
        assert row.monte_carlo == pytest.approx(row.criterion, abs=0.02)
    assert rows[1].divergence == pytest.approx(math.log(2.0), abs=1e-3)
    table = minimax.format_criterion_table(rows)
    assert "-log 4 + 2 JSD" in table
    assert len(table.splitlines()) == 4


# Generator loss slopes.


def test_generator_loss_slopes_golden_values():
    d_fake = np.array([1e-6, 0.01, 0.5, 0.99])
    np.testing.assert_allclose(
        minimax.generator_loss_slope(d_fake, "minimax"), -d_fake, rtol=1e-4
    )
    np.testing.assert_allclose(
        minimax.generator_loss_slope(d_fake, "non_saturating"),
        -(1 - d_fake),
        rtol=1e-4,
    )


def test_saturating_slope_vanishes():
    d_fake = np.array([1e-2, 1e-4, 1e-6])
    saturating = np.abs(minimax.generator_loss_slope(d_fake, "minimax"))
    non_saturating = np.abs(minimax.generator_loss_slope(d_fake, "non_saturating"))
    assert np.all(np.diff(saturating) < 0)
    assert saturating[-1] < 1e-5
    assert np.all(non_saturating > 0.99)


def test_generator_loss_slope_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind='wasserstein'"):
        minimax.generator_loss_slope(np.array([0.5]), "wasserstein")


@pytest.mark.parametrize("probability", [0.0, 1.0, -0.1])
def test_probability_to_logit_rejects_bounds(probability):
    with pytest.raises(ValueError, match="strictly between"):
        minimax.probability_to_logit(np.array([probability]))


def test_plot_generator_loss_slopes_draws_both_losses():
    fig = minimax.plot_generator_loss_slopes()
    loss_axes, slope_axes = fig.axes
    assert len(loss_axes.lines) == 2
    assert len(slope_axes.lines) == 2
    assert slope_axes.get_yscale() == "log"


# Experiments on toy GANs.


@pytest.fixture(scope="module")
def affine_gan() -> toy.ToyGAN:
    data = toy.Gaussian(mean=(1.0,), std=(0.5,))
    config = toy.ToyConfig(
        data_dim=1,
        latent_dim=1,
        generator_hidden=(),
        discriminator_hidden=(8,),
        batch_size=64,
    )
    return toy.ToyGAN(data, config)


def test_with_affine_generator_sets_mean_and_std(affine_gan):
    state = minimax.with_affine_generator(
        affine_gan, affine_gan.init(0), mean=1.5, std=0.7
    )
    points = np.asarray(affine_gan.generate(state, np.array([[0.0], [1.0], [-2.0]])))
    np.testing.assert_allclose(points[:, 0], [1.5, 2.2, 0.1], rtol=1e-6)


def test_with_affine_generator_rejects_hidden_layers(affine_gan):
    config = toy.ToyConfig(data_dim=1, latent_dim=1, generator_hidden=(4,))
    gan = toy.ToyGAN(toy.Gaussian(mean=(0.0,), std=(1.0,)), config)
    # The configuration is checked before the state is read, so any state does.
    state = affine_gan.init(0)
    with pytest.raises(ValueError, match="generator_hidden=\\(\\)"):
        minimax.with_affine_generator(gan, state, mean=0.0, std=1.0)


def test_loss_gradients_reach_both_networks(affine_gan):
    norms = minimax.loss_gradient_norms(
        affine_gan, affine_gan.init(0), jax.random.key(0)
    )
    assert set(norms) == {"discriminator loss", "generator loss"}
    for generator_norm, discriminator_norm in norms.values():
        assert generator_norm > 0.0
        assert discriminator_norm > 0.0


def test_discriminator_update_leaves_generator(affine_gan):
    state = affine_gan.init(0)
    # 300 updates, as in the fit test below, reuse one compiled program.
    after, _ = affine_gan.discriminator_steps(state, 300)
    generator_change = minimax.max_parameter_change(
        state.generator_params, after.generator_params
    )
    discriminator_change = minimax.max_parameter_change(
        state.discriminator_params, after.discriminator_params
    )
    assert generator_change == 0.0
    assert discriminator_change > 0.0


def test_fit_discriminator_compares_with_optimum(affine_gan):
    generator = toy.Gaussian(mean=(-0.5,), std=(1.0,))
    state = minimax.with_affine_generator(
        affine_gan, affine_gan.init(0), mean=-0.5, std=1.0
    )
    grid = np.linspace(-4.0, 4.0, 81)
    _, fit = minimax.fit_discriminator(
        affine_gan, state, generator, grid, schedule=((1e-2, 600),), chunk=300
    )
    assert fit.steps == 600
    assert fit.trained.shape == grid.shape
    assert fit.bulk[0] < -0.5 < fit.bulk[1]
    assert fit.max_difference < 0.2
    assert fit.value_trained <= fit.value_optimal + 1e-9


def test_fit_discriminator_rejects_uneven_phase(affine_gan):
    with pytest.raises(ValueError, match="multiple of chunk=500"):
        minimax.fit_discriminator(
            affine_gan,
            affine_gan.init(0),
            toy.Gaussian(mean=(0.0,), std=(1.0,)),
            GRID,
            schedule=((1e-2, 700),),
        )


def test_set_epsilon_changes_only_epsilon(affine_gan):
    state = affine_gan.init(0)
    changed = minimax.set_generator_adam_epsilon(state, 1.0)
    before = state.generator_opt_state.hyperparams
    after = changed.generator_opt_state.hyperparams
    assert float(after["eps"]) == 1.0
    assert float(before["eps"]) == pytest.approx(1e-8)
    assert float(after["learning_rate"]) == float(before["learning_rate"])
    assert changed.discriminator_opt_state is state.discriminator_opt_state


def test_wasserstein_distance_of_shifted_sample():
    sample = np.random.default_rng(0).normal(size=500)
    distance = minimax.wasserstein_distance_1d(sample + 1.5, sample[::-1])
    assert float(distance) == pytest.approx(1.5, abs=1e-5)


def test_wasserstein_distance_rejects_unequal_sizes():
    with pytest.raises(ValueError, match="sizes 3 and 4"):
        minimax.wasserstein_distance_1d(np.zeros(3), np.zeros(4))


@pytest.fixture(scope="module")
def experiment() -> minimax.SaturationExperiment:
    return minimax.SaturationExperiment(
        toy.Gaussian(mean=(4.0,), std=(0.5,)),
        warmup_steps=200,
        hidden=(8,),
        reference_size=64,
        chunk=5,
    )


def test_saturation_runs_share_start(experiment):
    runs = experiment.run(10)
    assert [(run.generator_loss, run.optimizer) for run in runs] == [
        ("minimax", "momentum"),
        ("non_saturating", "momentum"),
        ("minimax", "adam"),
        ("non_saturating", "adam"),
    ]
    assert len({run.start_d_fake for run in runs}) == 1
    for run in runs:
        assert run.distance.shape == (10,)
        assert run.generator_grad_norm.shape == (10,)
        assert np.all(np.isfinite(run.distance))


def test_saturating_gradient_smaller_at_start(experiment):
    saturating, non_saturating = experiment.run(5, optimizers=("momentum",))
    assert saturating.start_d_fake < 0.5
    assert saturating.start_grad_norm < non_saturating.start_grad_norm


def test_saturation_run_rejects_partial_chunk(experiment):
    with pytest.raises(ValueError, match="multiple of chunk=5"):
        experiment.run(7)


def test_start_state_uses_momentum_epsilon(experiment):
    state = experiment.start_state("minimax", "momentum")
    epsilon = float(state.generator_opt_state.hyperparams["eps"])
    assert epsilon == minimax.MOMENTUM_EPSILON
    with pytest.raises(ValueError, match="optimizer='sgd'"):
        experiment.start_state("minimax", "sgd")


def test_format_saturation_table_lists_runs(experiment):
    runs = experiment.run(10, optimizers=("adam",))
    table = minimax.format_saturation_table(runs, at=(5, 10, 20))
    lines = table.splitlines()
    assert len(lines) == 2 + len(runs)
    assert "W1 @ 5" in lines[0]
    assert "W1 @ 10" not in lines[0]
    assert "saturating, adam" in table


def test_record_training_shapes(experiment):
    grid = np.linspace(-2.0, 6.0, 50)
    _, snapshots = minimax.record_training(
        experiment.gans["non_saturating"],
        experiment.start_state("non_saturating", "adam"),
        grid,
        rounds=10,
        every=5,
        reference=experiment.reference,
        key=jax.random.key(0),
        num_arrows=7,
    )
    assert len(snapshots) == 3
    np.testing.assert_array_equal(snapshots.rounds, [0, 5, 10])
    assert snapshots.generator_density.shape == (3, 50)
    assert snapshots.discriminator.shape == (3, 50)
    assert snapshots.generated.shape == (3, 7)
    np.testing.assert_allclose(snapshots.latent[[0, -1]], [-1.0, 1.0])
    assert np.all((snapshots.discriminator >= 0) & (snapshots.discriminator <= 1))


def test_record_training_rejects_uneven_rounds(experiment):
    with pytest.raises(ValueError, match="multiple of every=5"):
        minimax.record_training(
            experiment.gans["minimax"],
            experiment.start_state("minimax", "adam"),
            GRID,
            rounds=12,
            every=5,
            reference=experiment.reference,
            key=jax.random.key(0),
        )


def test_kernel_density_matches_scipy():
    samples = np.random.default_rng(0).normal(1.0, 2.0, 300)
    grid = np.linspace(-6.0, 8.0, 57)
    expected = stats.gaussian_kde(samples)(grid)
    np.testing.assert_allclose(minimax.kernel_density(samples, grid), expected, 1e-10)


def test_kernel_density_rejects_constant_sample():
    with pytest.raises(ValueError, match="two distinct points"):
        minimax.kernel_density(np.ones(10), GRID)


# The snapshot viewer.


def _snapshots(count: int = 6, points: int = 120) -> minimax.TrainingSnapshots:
    grid = np.linspace(-2.0, 6.0, points)
    means = np.linspace(0.0, 4.0, count)
    latent = np.linspace(-1.0, 1.0, 9)
    return minimax.TrainingSnapshots(
        rounds=np.arange(count) * 10,
        grid=grid,
        data_density=_normal(grid, 4.0, 0.5),
        generator_density=np.stack([_normal(grid, m, 0.4) for m in means]),
        discriminator=np.stack(
            [1 / (1 + np.exp(-(grid - (m + 4) / 2) * (4 - m))) for m in means]
        ),
        latent=latent,
        generated=np.stack([m + 0.4 * latent for m in means]),
        distance=np.abs(4.0 - means),
    )


def test_viewer_update_sets_artist_data():
    snapshots = _snapshots()
    viewer = minimax.SnapshotViewer(snapshots, name="test-update")
    first_png = viewer.png
    viewer.update(3)
    artists = viewer._artists
    np.testing.assert_allclose(
        artists.generator.get_ydata(), snapshots.generator_density[3]
    )
    np.testing.assert_allclose(
        artists.discriminator.get_ydata(), snapshots.discriminator[3]
    )
    ends = np.array([segment[1, 0] for segment in artists.arrows.get_segments()])
    np.testing.assert_allclose(ends, snapshots.generated[3])
    assert artists.title.get_text().startswith("round 30,")
    assert viewer.index == 3
    assert viewer.slider.value == 3
    assert viewer.png.startswith(b"\x89PNG")
    assert viewer.png != first_png
    viewer.close()


def test_viewer_slider_change_redraws():
    viewer = minimax.SnapshotViewer(_snapshots(), name="test-slider")
    viewer.slider.value = 5
    assert viewer.index == 5
    assert viewer._artists.title.get_text().startswith("round 50,")
    viewer.close()


def test_viewer_update_rejects_out_of_range():
    viewer = minimax.SnapshotViewer(_snapshots(count=4), name="test-range")
    with pytest.raises(IndexError, match="out of range 0..3"):
        viewer.update(4)
    viewer.close()


def test_viewer_rebuilds_keep_figure_count():
    snapshots = _snapshots()
    figures_before = len(plt.get_fignums())
    viewers = [
        minimax.SnapshotViewer(snapshots, name="test-rebuild") for _ in range(30)
    ]
    assert len(plt.get_fignums()) == figures_before
    assert all(viewer.slider.comm is None for viewer in viewers[:-1])
    assert viewers[-1].slider.comm is not None
    assert len(viewers[0].figure.axes) == 0
    viewers[-1].close()


def test_viewer_update_sets_image_widget():
    viewer = minimax.SnapshotViewer(_snapshots(), name="test-image")
    viewer.update(2)
    assert viewer.image.value == viewer.png
    assert viewer.image.format == "png"
    viewer.close()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("both", ["Image", "VBox"]),
        ("static", ["Image"]),
        ("interactive", ["VBox"]),
    ],
)
def test_viewer_show_modes(monkeypatch, mode, expected):
    shown = []
    monkeypatch.setattr(
        minimax.ipython_display, "display", lambda obj: shown.append(obj)
    )
    viewer = minimax.SnapshotViewer(_snapshots(), name="test-show")
    viewer.show(mode)
    assert [type(obj).__name__ for obj in shown] == expected
    viewer.close()


def test_viewer_show_rejects_unknown_mode():
    viewer = minimax.SnapshotViewer(_snapshots(), name="test-mode")
    with pytest.raises(ValueError, match="mode='slider'"):
        viewer.show("slider")
    viewer.close()


def test_snapshot_grid_spaces_panels_evenly():
    fig = minimax.plot_snapshot_grid(_snapshots(count=7), count=4)
    titles = [axes.get_title() for axes in fig.axes]
    assert [title.split(",")[0] for title in titles] == [
        "round 0",
        "round 20",
        "round 40",
        "round 60",
    ]


# Exercise checks.


@pytest.mark.parametrize("answer", [0.75, np.float64(0.75), fractions.Fraction(3, 4)])
def test_check_optimal_discriminator_accepts(capsys, answer):
    assert minimax.check_optimal_discriminator(answer)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "Not answered yet"),
        ("three quarters", "is not a number"),
        (0.25, "generator's share"),
        (3.0, "is not a probability"),
        (0.3, "a density alone"),
        (0.5, "only where the two densities are equal"),
        (0.6, "does not maximise"),
    ],
)
def test_check_optimal_discriminator_hints(capsys, answer, hint):
    assert minimax.check_optimal_discriminator(answer) is False
    output = capsys.readouterr().out
    assert hint in output
    assert "0.75" not in output


def _logit(probability):
    return np.log(probability) - np.log1p(-probability)


@pytest.mark.parametrize(
    "loss_fn",
    [
        lambda r, f: -np.mean(np.log(r)) - np.mean(np.log(1 - f)),
        lambda r, f: -(np.log(r).mean() + np.log1p(-f).mean()),
        lambda r, f: losses.discriminator_loss(_logit(r), _logit(f)),
    ],
    ids=["numpy", "log1p", "package-logits"],
)
def test_check_discriminator_loss_accepts(capsys, loss_fn):
    assert minimax.check_discriminator_loss(loss_fn)
    assert "Correct" in capsys.readouterr().out


def _raise_type_error(d_real, d_fake):
    raise TypeError("unsupported operand")


@pytest.mark.parametrize(
    ("loss_fn", "hint"),
    [
        (lambda r, f: None, "Not answered yet"),
        (lambda r, f: np.mean(np.log(r)) + np.mean(np.log(1 - f)), "V itself"),
        (
            lambda r, f: -np.mean(np.log(f)) - np.mean(np.log(1 - r)),
            "swapped roles",
        ),
        (lambda r, f: -np.sum(np.log(r)) - np.sum(np.log(1 - f)), "sums over"),
        (
            lambda r, f: -np.mean(np.concatenate([np.log(r), np.log(1 - f)])),
            "pooled together",
        ),
        (lambda r, f: -np.mean(np.log(r)) - np.mean(np.log(f)), "uses log D(G(z))"),
        (lambda r, f: -np.log(r).mean() - np.log(1 - f), "expected a scalar"),
        (_raise_type_error, "raised TypeError"),
        (lambda r, f: -np.mean(np.log(r)), "differs from -V"),
    ],
    ids=[
        "none",
        "sign",
        "swapped",
        "sum",
        "pooled",
        "log-d-fake",
        "array",
        "raises",
        "one-term",
    ],
)
def test_check_discriminator_loss_hints(capsys, loss_fn, hint):
    assert minimax.check_discriminator_loss(loss_fn) is False
    output = capsys.readouterr().out
    assert hint in output
    assert "np.log" not in output


@pytest.mark.parametrize(
    ("loss_name", "ratio"),
    [
        ("non_saturating", 99),
        ("non-saturating", 99.0),
        ("Non_Saturating ", 0.99 / 0.01),
        ("nonsaturating", np.float32(99.0)),
    ],
)
def test_check_larger_gradient_accepts(capsys, loss_name, ratio):
    assert minimax.check_larger_gradient(loss_name, ratio)
    assert "Correct" in capsys.readouterr().out


def test_check_larger_gradient_uses_given_probability(capsys):
    assert minimax.check_larger_gradient("minimax", 4.0, d_fake=0.8)
    assert minimax.check_larger_gradient("non_saturating", 4.0, d_fake=0.8) is False
    capsys.readouterr()


@pytest.mark.parametrize(
    ("loss_name", "ratio", "hint"),
    [
        (None, None, "Not answered yet"),
        ("non_saturating", None, "Not answered yet"),
        ("adam", 99, "is not a loss name"),
        ("minimax", 99, "the other loss"),
        ("saturating", 99, "the other loss"),
        ("non_saturating", 100, "not their limits"),
        ("non_saturating", 1 / 99, "upside down"),
        ("non_saturating", 50, "is off"),
        ("non_saturating", "many", "is not a number"),
    ],
)
def test_check_larger_gradient_hints(capsys, loss_name, ratio, hint):
    assert minimax.check_larger_gradient(loss_name, ratio) is False
    output = capsys.readouterr().out
    assert hint in output
    assert "99" not in output
