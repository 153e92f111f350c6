"""Tests for gan_lessons.latent: paths, directions, arithmetic, neighbours, widgets."""

from __future__ import annotations

import base64
import math

import IPython.display
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gan_lessons import latent, pretrained, widgets

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="module")
def pair(rng) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 100-d standard normal vectors."""
    return rng.normal(size=100), rng.normal(size=100)


@pytest.fixture(scope="module")
def generator() -> pretrained.PretrainedGenerator:
    return pretrained.load_generator()


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))


# Interpolation.


def test_lerp_endpoints(pair):
    a, b = pair
    np.testing.assert_allclose(latent.lerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(latent.lerp(a, b, 1.0), b, atol=1e-6)
    np.testing.assert_allclose(latent.lerp(a, b, 0.5), (a + b) / 2, atol=1e-6)


def test_lerp_shapes(pair):
    a, b = pair
    assert latent.lerp(a, b, 0.3).shape == (100,)
    assert latent.lerp(a, b, [0.0, 0.5, 1.0]).shape == (3, 100)
    assert latent.lerp(a, b, np.linspace(0, 1, 7)).dtype == np.float32


def test_lerp_midpoint_shrinks(pair):
    a, b = pair
    midpoint = np.linalg.norm(latent.lerp(a, b, 0.5))
    assert midpoint < 0.8 * min(np.linalg.norm(a), np.linalg.norm(b))


@pytest.mark.parametrize("function", [latent.lerp, latent.slerp])
def test_path_rejects_bad_input(function, pair):
    a, b = pair
    with pytest.raises(ValueError, match="end has shape"):
        function(a, b[:50], 0.5)
    with pytest.raises(ValueError, match="start has shape"):
        function(np.stack([a, a]), np.stack([b, b]), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        function(a, b, 1.5)
    with pytest.raises(ValueError, match="1-D"):
        function(a, b, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        function(np.full(100, np.nan), b, 0.5)


def test_slerp_endpoints(pair):
    a, b = pair
    np.testing.assert_allclose(latent.slerp(a, b, 0.0), a, atol=1e-5)
    np.testing.assert_allclose(latent.slerp(a, b, 1.0), b, atol=1e-5)


def test_slerp_shapes(pair):
    a, b = pair
    assert latent.slerp(a, b, 0.3).shape == (100,)
    assert latent.slerp(a, b, [0.0, 0.5, 1.0]).shape == (3, 100)
    assert latent.slerp(a, b, [0.5]).dtype == np.float32


def test_slerp_keeps_equal_norms(pair):
    a, b = pair
    b = b * np.linalg.norm(a) / np.linalg.norm(b)
    norms = np.linalg.norm(latent.slerp(a, b, np.linspace(0, 1, 11)), axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(a), rtol=1e-5)


def test_slerp_norm_is_linear(pair):
    a, b = pair
    fractions = np.linspace(0, 1, 11)
    norms = np.linalg.norm(latent.slerp(a, b, fractions), axis=1)
    expected = (1 - fractions) * np.linalg.norm(a) + fractions * np.linalg.norm(b)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


def test_slerp_turns_at_constant_speed(pair):
    a, b = pair
    total = _angle(a, b)
    for t in (0.2, 0.5, 0.9):
        point = latent.slerp(a, b, t).astype(np.float64)
        assert math.isclose(_angle(a, point), t * total, rel_tol=1e-4)
        assert math.isclose(_angle(point, b), (1 - t) * total, rel_tol=1e-4)


def test_slerp_matches_textbook_formula(pair):
    a, b = pair
    b = b * np.linalg.norm(a) / np.linalg.norm(b)
    omega = _angle(a, b)
    t = 0.3
    expected = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    np.testing.assert_allclose(latent.slerp(a, b, t), expected, rtol=1e-5, atol=1e-6)


def test_slerp_parallel_vectors(pair):
    a, _ = pair
    path = latent.slerp(a, 3 * a, [0.0, 0.5, 1.0]).astype(np.float64)
    np.testing.assert_allclose(path[1], 2 * a, rtol=1e-5)
    np.testing.assert_allclose(path[2], 3 * a, rtol=1e-5)
    assert np.all(np.isfinite(path))


def test_slerp_nearly_parallel_vectors(pair):
    a, b = pair
    nearly = a + 1e-9 * b
    path = latent.slerp(a, nearly, np.linspace(0, 1, 5))
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path[-1], nearly, rtol=1e-5)


def test_slerp_antiparallel_vectors(pair):
    a, _ = pair
    path = latent.slerp(a, -a, np.linspace(0, 1, 9)).astype(np.float64)
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path[0], a, atol=1e-5)
    np.testing.assert_allclose(path[-1], -a, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a))
    # Halfway the direction is perpendicular to both ends.
    assert abs(path[4] @ a) < 1e-4 * np.linalg.norm(a) ** 2


def test_slerp_antiparallel_is_deterministic(pair):
    a, _ = pair
    first = latent.slerp(a, -2 * a, 0.5)
    second = latent.slerp(a, -2 * a, 0.5)
    np.testing.assert_array_equal(first, second)


def test_slerp_zero_vector_is_lerp(pair):
    _, b = pair
    zero = np.zeros(100)
    fractions = np.linspace(0, 1, 5)
    np.testing.assert_allclose(
        latent.slerp(zero, b, fractions), latent.lerp(zero, b, fractions)
    )
    np.testing.assert_allclose(
        latent.slerp(b, zero, fractions), latent.lerp(b, zero, fractions)
    )
    assert np.all(latent.slerp(zero, zero, fractions) == 0)


def test_slerp_one_dimension():
    path = latent.slerp([2.0], [-2.0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(path[:, 0], [2.0, 0.0, -2.0])


def test_slerp_two_dimensions():
    path = latent.slerp([1.0, 0.0], [0.0, 1.0], 0.5)
    np.testing.assert_allclose(path, [math.sqrt(0.5), math.sqrt(0.5)], rtol=1e-6)


def test_interpolate_count_and_endpoints(pair):
    a, b = pair
    for method in latent.INTERPOLATION_METHODS:
        path = latent.interpolate(a, b, 6, method=method)
        assert path.shape == (6, 100)
        np.testing.assert_allclose(path[0], a, atol=1e-5)
        np.testing.assert_allclose(path[-1], b, atol=1e-5)


@pytest.mark.parametrize("num", [0, 1, 2.5, True])
def test_interpolate_rejects_count(pair, num):
    with pytest.raises(ValueError, match="num="):
        latent.interpolate(*pair, num)


def test_interpolate_rejects_method(pair):
    with pytest.raises(ValueError, match="cubic"):
        latent.interpolate(*pair, 3, method="cubic")


# Directions.


def _linear_generator(matrix: np.ndarray):
    """A generator whose images are ``z @ matrix`` laid out as 4x4x1 images."""
    weights = jnp.asarray(matrix, jnp.float32)

    def generate(z):
        return (z @ weights).reshape(z.shape[0], 4, 4, 1)

    return generate


def test_directions_of_linear_generator(rng):
    matrix = rng.normal(size=(5, 16))
    directions = latent.principal_directions(
        _linear_generator(matrix), rng.normal(size=(3, 5))
    )
    expected = np.sort(np.linalg.eigvalsh(matrix @ matrix.T))[::-1]
    np.testing.assert_allclose(directions.eigenvalues, expected, rtol=1e-4)
    vectors = directions.vectors.astype(np.float64)
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(5), atol=1e-5)
    # v^T M v is the eigenvalue for each direction.
    gains = np.sum((vectors @ matrix) ** 2, axis=1)
    np.testing.assert_allclose(gains, expected, rtol=1e-4)


def test_directions_padded_chunks(rng, monkeypatch):
    # Chunks of 2 latents over 5 latents: the last chunk is padded.
    monkeypatch.setattr(latent, "JACOBIAN_IMAGES_PER_CHUNK", 10)
    matrix = rng.normal(size=(5, 16))
    directions = latent.principal_directions(
        _linear_generator(matrix), rng.normal(size=(5, 5))
    )
    expected = np.sort(np.linalg.eigvalsh(matrix @ matrix.T))[::-1]
    np.testing.assert_allclose(directions.eigenvalues, expected, rtol=1e-4)
    assert directions.num_latents == 5


def test_directions_of_nonlinear_generator(rng):
    # images = tanh(z @ W): the Jacobian is diag(1 - tanh^2) W^T per latent.
    matrix = rng.normal(size=(4, 16))

    def generate(z):
        return jnp.tanh(z @ jnp.asarray(matrix, jnp.float32)).reshape(-1, 4, 4, 1)

    z = rng.normal(size=(6, 4))
    gram = np.zeros((4, 4))
    for row in z:
        jacobian = matrix * (1 - np.tanh(row @ matrix) ** 2)[None, :]
        gram += jacobian @ jacobian.T
    expected = np.sort(np.linalg.eigvalsh(gram / len(z)))[::-1]
    directions = latent.principal_directions(generate, z)
    np.testing.assert_allclose(directions.eigenvalues, expected, rtol=1e-3)


def test_directions_fixed_sign(rng):
    matrix = rng.normal(size=(5, 16))
    directions = latent.principal_directions(
        _linear_generator(matrix), rng.normal(size=(2, 5))
    )
    vectors = directions.vectors
    largest = vectors[np.arange(5), np.argmax(np.abs(vectors), axis=1)]
    assert np.all(largest > 0)


def test_directions_top_and_share(rng):
    matrix = rng.normal(size=(5, 16))
    directions = latent.principal_directions(
        _linear_generator(matrix), rng.normal(size=(2, 5))
    )
    assert directions.top(2).shape == (2, 5)
    assert directions.explained_fraction(5) == pytest.approx(1.0)
    assert 0 < directions.explained_fraction(1) < 1
    with pytest.raises(ValueError, match="count=0"):
        directions.top(0)


def test_directions_reject_empty():
    with pytest.raises(ValueError, match="non-empty"):
        latent.principal_directions(_linear_generator(np.eye(16)[:3]), np.zeros((0, 3)))


def test_directions_of_shipped_generator(generator):
    z = np.asarray(generator.sample_latent(jax.random.key(0), 4))
    directions = latent.principal_directions(generator.generate, z)
    assert directions.vectors.shape == (100, 100)
    assert np.all(np.diff(directions.eigenvalues) <= 1e-9)
    # Moving along the strongest direction changes the image more than along
    # the weakest, measured on the generator itself.
    step = 0.5
    base = np.asarray(generator.generate(z))
    changes = []
    for vector in (directions.vectors[0], directions.vectors[-1]):
        moved = np.asarray(generator.generate(z + step * vector))
        changes.append(np.mean(np.sum((moved - base) ** 2, axis=(1, 2, 3))))
    assert changes[0] > 10 * changes[1]


def test_along_direction():
    z = np.zeros(3, np.float32)
    direction = np.array([1.0, 0.0, 0.0], np.float32)
    points = latent.along_direction(z, direction, [-1.0, 0.0, 2.0])
    np.testing.assert_allclose(points[:, 0], [-1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="same length"):
        latent.along_direction(z, direction[:2], [1.0])


# Attributes and arithmetic.


def test_ink_fraction():
    images = np.stack([np.full((4, 4, 1), -1.0), np.full((4, 4, 1), 1.0)])
    np.testing.assert_allclose(latent.ink_fraction(images), [0.0, 1.0])
    half = np.zeros((1, 4, 4, 1))
    half[0, :2] = 1.0
    half[0, 2:] = -1.0
    np.testing.assert_allclose(latent.ink_fraction(half), [0.5])
    with pytest.raises(ValueError, match="NHWC"):
        latent.ink_fraction(np.zeros((4, 4)))


def test_attribute_vector_finds_score_axis(rng):
    z = rng.normal(size=(4000, 10))
    vector = latent.attribute_vector(z, z[:, 3])
    assert np.argmax(np.abs(vector)) == 3
    assert vector[3] > 2.0
    assert np.max(np.abs(np.delete(vector, 3))) < 0.2


def test_attribute_vector_within_groups(rng):
    # The score is coordinate 3 plus a large offset for group 1, whose
    # vectors also sit higher along coordinate 0. The plain difference mixes
    # in coordinate 0; the within-group one does not.
    z = rng.normal(size=(4000, 10))
    groups = (rng.uniform(size=4000) < 0.5).astype(int)
    z[:, 0] += 3.0 * groups
    scores = z[:, 3] + 10.0 * groups
    plain = latent.attribute_vector(z, scores)
    within = latent.attribute_vector(z, scores, groups=groups)
    assert plain[0] > 2.0
    assert abs(within[0]) < 0.2
    assert within[3] > 2.0


def test_attribute_vector_skips_small_groups(rng):
    z = rng.normal(size=(41, 4))
    groups = np.array([0] * 40 + [1])
    with_single = latent.attribute_vector(z, z[:, 0], groups=groups)
    alone = latent.attribute_vector(z[:40], z[:40, 0])
    np.testing.assert_allclose(with_single, alone, rtol=1e-2)


def test_attribute_vector_rejects_input(rng):
    z = rng.normal(size=(8, 3))
    with pytest.raises(ValueError, match="scores"):
        latent.attribute_vector(z, np.zeros(7))
    with pytest.raises(ValueError, match="fraction"):
        latent.attribute_vector(z, np.zeros(8), fraction=0.7)
    with pytest.raises(ValueError, match="empty end"):
        latent.attribute_vector(z, np.zeros(8), fraction=0.1)
    with pytest.raises(ValueError, match="groups have shape"):
        latent.attribute_vector(z, np.zeros(8), groups=np.zeros(5))


def test_attribute_sweep(rng):
    # Images whose brightness is the first latent coordinate.
    def generate(z):
        return jnp.tanh(jnp.broadcast_to(z[:, :1, None, None], (len(z), 4, 4, 1)))

    def classify(images):
        return (images[:, 0, 0, 0] > 0).astype(int)

    z = rng.normal(size=(50, 3))
    sweep = latent.attribute_sweep(
        generate, z, [1.0, 0.0, 0.0], [-5.0, 0.0, 5.0], classify=classify
    )
    assert np.all(np.diff(sweep.mean_ink) > 0)
    assert sweep.same_class[1] == 1.0
    assert sweep.same_class[0] < 1.0
    without = latent.attribute_sweep(generate, z, [1.0, 0.0, 0.0], [0.0])
    assert np.isnan(without.same_class[0])
    with pytest.raises(ValueError, match="vector"):
        latent.attribute_sweep(generate, z, [1.0, 0.0], [0.0])


def test_class_means():
    z = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    means, counts = latent.class_means(z, np.array([0, 0, 2]), num_classes=3)
    np.testing.assert_allclose(means[0], [2.0, 0.0])
    np.testing.assert_allclose(means[2], [0.0, 5.0])
    assert np.all(np.isnan(means[1]))
    np.testing.assert_array_equal(counts, [2, 0, 1])


def test_class_means_rejects_labels():
    with pytest.raises(ValueError, match="classes in"):
        latent.class_means(np.zeros((2, 3)), np.array([0, 10]))
    with pytest.raises(ValueError, match="labels"):
        latent.class_means(np.zeros((2, 3)), np.array([0]))


# Nearest neighbours.


def test_nearest_neighbour_finds_copy(rng):
    references = rng.uniform(-1, 1, size=(50, 32, 32, 1)).astype(np.float32)
    queries = references[[7, 31]].copy()
    indices, distances = latent.nearest_neighbours(queries, references)
    np.testing.assert_array_equal(indices[:, 0], [7, 31])
    np.testing.assert_array_equal(distances[:, 0], [0.0, 0.0])


def test_nearest_neighbours_match_brute_force(rng):
    references = rng.normal(size=(40, 6))
    queries = rng.normal(size=(9, 6))
    indices, distances = latent.nearest_neighbours(
        queries, references, k=3, chunk_size=4
    )
    all_distances = np.linalg.norm(queries[:, None] - references[None], axis=2)
    expected = np.argsort(all_distances, axis=1)[:, :3]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(
        distances, np.take_along_axis(all_distances, expected, axis=1)
    )
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_nearest_neighbours_no_queries(rng):
    indices, distances = latent.nearest_neighbours(
        np.zeros((0, 4)), rng.normal(size=(5, 4)), k=2
    )
    assert indices.shape == (0, 2)
    assert distances.shape == (0, 2)


def test_nearest_neighbours_reject_input(rng):
    references = rng.normal(size=(5, 4))
    with pytest.raises(ValueError, match="k=6"):
        latent.nearest_neighbours(references, references, k=6)
    with pytest.raises(ValueError, match="same item shape"):
        latent.nearest_neighbours(np.zeros((2, 3)), references)
    with pytest.raises(ValueError, match="chunk_size=0"):
        latent.nearest_neighbours(references, references, chunk_size=0)


# Figures.


def test_plot_eigenvalues(rng):
    directions = latent.principal_directions(
        _linear_generator(rng.normal(size=(5, 16))), rng.normal(size=(2, 5))
    )
    figure = latent.plot_eigenvalues(directions, count=3)
    assert len(figure.axes) == 2


def test_plot_distance_histograms(rng):
    figure = latent.plot_distance_histograms(
        {"a": rng.normal(size=20), "b": rng.normal(size=30)}
    )
    assert len(figure.axes) == 1
    with pytest.raises(ValueError, match="empty"):
        latent.plot_distance_histograms({})


# Widgets.


def _directions() -> np.ndarray:
    return np.eye(100, dtype=np.float32)[:3]


def test_explorer_slider_changes_image(generator):
    explorer = latent.LatentExplorer(generator, _directions(), name="test_slider")
    before = explorer.image.get_array().copy()
    png_before = bytes(explorer.view.value)
    explorer.sliders[0].value = 3.0
    assert np.max(np.abs(explorer.image.get_array() - before)) > 0.1
    png_after = bytes(explorer.view.value)
    assert png_after != png_before
    assert png_after.startswith(PNG_SIGNATURE)
    np.testing.assert_allclose(
        explorer.latent - latent._latent_of_seed(generator, 0), 3.0 * _directions()[0]
    )
    explorer.close()


def test_explorer_image_keeps_own_size(generator):
    explorers = [
        latent.LatentExplorer(generator, _directions(), name="test_size_latent"),
        latent.PathExplorer(
            generator, np.ones(100), -np.ones(100), num=3, name="test_size_path"
        ),
    ]
    for explorer in explorers:
        # The box's default "stretch" would scale the image to the box's width.
        assert explorer.view.layout.align_self == "flex-start"
        assert explorer.DOM_CLASS in explorer.box._dom_classes
        explorer.close()
    assert explorers[0].DOM_CLASS != explorers[1].DOM_CLASS


def test_explorer_buttons_fit_their_text(generator):
    explorer = latent.LatentExplorer(generator, _directions(), name="test_buttons")
    # The default button width is too narrow for "New random vector".
    assert explorer.new_button.layout.width == "auto"
    assert explorer.reset_button.layout.width == "auto"
    explorer.close()


def test_explorer_image_matches_generator(generator):
    explorer = latent.LatentExplorer(generator, _directions(), name="test_match")
    explorer.set_coefficients([1.0, -2.0, 0.5])
    expected = np.asarray(generator.generate(explorer.latent[None]))[0, ..., 0]
    np.testing.assert_allclose(explorer.image.get_array(), expected, atol=1e-6)
    assert f"{np.linalg.norm(explorer.latent):.2f}" in explorer.status.value
    explorer.close()


def test_explorer_seed_box_and_buttons(generator):
    explorer = latent.LatentExplorer(generator, _directions(), seed=5, name="test_seed")
    first = explorer.latent.copy()
    explorer.new_button.click()
    assert explorer.seed_box.value == 6
    assert not np.allclose(explorer.latent, first)
    explorer.set_seed(5)
    np.testing.assert_allclose(explorer.latent, first)
    explorer.set_coefficients([1.0, 1.0, 1.0])
    explorer.reset_button.click()
    np.testing.assert_array_equal(explorer.coefficients, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(explorer.latent, first)
    explorer.seed_box.value = -3
    assert explorer.seed_box.value == 5
    explorer.close()


def test_set_coefficients_redraws_once(generator, monkeypatch):
    explorer = latent.LatentExplorer(generator, _directions(), name="test_once")
    updates = []
    explorer.view.observe(lambda change: updates.append(change), names="value")
    explorer.set_coefficients([0.5, 0.5, 0.5])
    assert len(updates) == 1
    with pytest.raises(ValueError, match="expected 3"):
        explorer.set_coefficients([1.0])
    explorer.close()


def test_explorer_rejects_directions(generator):
    with pytest.raises(ValueError, match=r"expected \(k, 100\)"):
        latent.LatentExplorer(generator, np.eye(3), name="test_bad")
    with pytest.raises(ValueError, match="1 to 8"):
        latent.LatentExplorer(generator, np.eye(100)[:9], name="test_bad")


def test_rebuilding_keeps_one_figure(generator):
    figures_before = len(plt.get_fignums())
    explorers = [
        latent.LatentExplorer(generator, _directions(), name="test_rebuild")
        for _ in range(30)
    ]
    assert len(plt.get_fignums()) == figures_before
    open_now = latent.open_explorers()
    assert open_now["test_rebuild"] is explorers[-1]
    for old in explorers[:-1]:
        assert old.box.comm is None
        assert old.view.comm is None
        assert old.figure.axes == []
    assert explorers[-1].box.comm is not None
    explorers[-1].close()
    assert "test_rebuild" not in latent.open_explorers()


def test_show_displays_box_with_png(generator, monkeypatch):
    explorer = latent.LatentExplorer(generator, _directions(), name="test_show")
    bundles = []
    monkeypatch.setattr(
        widgets, "display", lambda item, raw=False: bundles.append(item)
    )
    explorer.show()
    assert len(bundles) == 1
    view = bundles[0][widgets.WIDGET_VIEW_MIMETYPE]
    assert view["model_id"] == explorer.box.model_id
    png = base64.b64decode(bundles[0]["image/png"])
    assert png.startswith(PNG_SIGNATURE)
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda item: shown.append(item))
    explorer.show("static")
    assert len(shown) == 1
    assert isinstance(shown[0], IPython.display.Image)
    shown.clear()
    explorer.show("interactive")
    assert shown == [explorer.box]
    with pytest.raises(ValueError, match="'both'"):
        explorer.show("live")
    explorer.close()


def test_path_explorer_slider(generator):
    z = np.asarray(generator.sample_latent(jax.random.key(3), 2))
    explorer = latent.PathExplorer(generator, z[0], z[1], num=5, name="test_path")
    before = explorer.images["lerp"].get_array().copy()
    explorer.slider.value = 0.0
    np.testing.assert_allclose(
        explorer.images["lerp"].get_array(),
        np.asarray(generator.generate(z[:1]))[0, ..., 0],
        atol=1e-6,
    )
    assert np.max(np.abs(explorer.images["lerp"].get_array() - before)) > 0.1
    assert explorer.marker.get_xdata()[0] == explorer._strip_centre(0, 0)[0]
    explorer.slider.value = 1.0
    assert explorer.marker.get_xdata()[0] == explorer._strip_centre(4, 0)[0]
    assert "t = 1.00" in explorer.status.value
    assert explorer.png().startswith(PNG_SIGNATURE)
    explorer.close()


def test_path_explorer_rebuild_keeps_figures(generator):
    z = np.asarray(generator.sample_latent(jax.random.key(3), 2))
    figures_before = len(plt.get_fignums())
    for _ in range(30):
        explorer = latent.PathExplorer(generator, z[0], z[1], name="test_path_again")
    assert len(plt.get_fignums()) == figures_before
    assert latent.open_explorers()["test_path_again"] is explorer
    explorer.close()


# Exercise checks.


def _textbook_slerp(a, b, t):
    omega = np.arccos(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


@pytest.mark.parametrize("function", [latent.slerp, _textbook_slerp])
def test_check_slerp_accepts(function, capsys):
    assert latent.check_slerp(function)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("function", "hint"),
    [
        (lambda a, b, t: None, "Not answered yet"),
        (lambda a, b, t: (1 - t) * a + t * b, "straight line"),
        (lambda a, b, t: _textbook_slerp(b, a, t), "should be exactly a"),
        (lambda a, b, t: a[:1], "has shape"),
        (lambda a, b, t: 1 / 0, "ZeroDivisionError"),
        (lambda a, b, t: 2 * _textbook_slerp(a, b, t) - a * (t == 0), "norm"),
        (
            lambda a, b, t: _textbook_slerp(a, b, t * t),
            "turned through t times",
        ),
    ],
)
def test_check_slerp_hints(function, hint, capsys):
    assert not latent.check_slerp(function)
    assert hint in capsys.readouterr().out


def test_check_norm_prediction_accepts(capsys):
    assert latent.check_norm_prediction(20.0)
    assert latent.check_norm_prediction(19.97)
    assert latent.check_norm_prediction(10.0, dim=100)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "Not answered yet"),
        ("twenty", "expected a number"),
        (400, "squared norm"),
        (1.0, "standard deviation 1"),
        (0.0, "zero vector"),
        (10.0, "lesson's 100-d"),
        (14.1, "midpoint"),
        (30.0, "Hint"),
    ],
)
def test_check_norm_prediction_hints(answer, hint, capsys):
    assert not latent.check_norm_prediction(answer)
    output = capsys.readouterr().out
    assert hint in output
    assert "20" not in output


def test_check_midpoint_norm_accepts(capsys):
    assert latent.check_midpoint_norm(14.1)
    assert latent.check_midpoint_norm(math.sqrt(50), dim=100)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "Not answered yet"),
        (20.0, "norm of the endpoints"),
        (10.0, "same way"),
        (7.07, "lesson's 100-d"),
        (200.0, "squared norm"),
        (3.0, "variance"),
    ],
)
def test_check_midpoint_norm_hints(answer, hint, capsys):
    assert not latent.check_midpoint_norm(answer)
    output = capsys.readouterr().out
    assert hint in output
    assert "14.1" not in output
