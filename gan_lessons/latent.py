"""Exploring a generator's latent space: paths, directions, arithmetic, neighbours.

Latent vectors are arrays ``(latent_dim,)``, or ``(n, latent_dim)`` for several.
Functions that render images take ``generate``, a function from latent vectors
``(n, latent_dim)`` to images ``(n, size, size, channels)``, NHWC, in [-1, 1],
in which each image depends only on its own vector. Batch norm with running
averages, as in :meth:`gan_lessons.pretrained.PretrainedGenerator.generate`,
has that property.

Sections of the module:

* Interpolation: :func:`lerp`, :func:`slerp` and :func:`interpolate`.
* Directions: :func:`principal_directions` finds the latent directions along
  which the image changes most.
* Attributes and arithmetic: :func:`ink_fraction`, :func:`attribute_vector`,
  :func:`attribute_sweep` and :func:`class_means`.
* Nearest neighbours: :func:`nearest_neighbours` in pixel or feature space.
* Figures: :func:`plot_eigenvalues` and :func:`plot_distance_histograms`.
* Widgets: :class:`LatentExplorer` (sliders along directions, a seed box) and
  :class:`PathExplorer` (a slider along an interpolation path).
* Exercise checks of the latent-space lesson.

How the explorers display. An explorer's ``show()`` displays its figure as an
ordinary PNG output first and the widget box below it. Front ends without a
widget manager (nbclient in the tests, notebooks rendered on GitHub or
nbviewer, a notebook reopened without its kernel) keep the PNG, so the cell
always shows a figure. Live front ends show both: the PNG is a snapshot of the
start, while the image in the widget box follows the controls. Building an
explorer under a name that is already open closes the old one, its widgets
and its figure, so re-running a cell keeps one explorer per name.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import IPython.display
import ipywidgets as widgets
import jax
import jax.numpy as jnp
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from gan_lessons import checking, plotting
from gan_lessons.widgets import display_widget_with_png

INTERPOLATION_METHODS = ("slerp", "lerp")
# Angles between two latent vectors below this many radians count as parallel,
# and angles within it of pi as antiparallel. arccos of a rounded cosine is
# only accurate to about 1e-8 near 0 and pi.
ANGLE_TOLERANCE = 1e-6
# Largest number of images one Jacobian chunk of principal_directions renders.
JACOBIAN_IMAGES_PER_CHUNK = 1024
# Background pixels between the images of PathExplorer's strip.
_STRIP_PADDING = 2
# zlib level of the PNG sent at each redraw: level 1 encodes several times
# faster than the default 6 for a slightly larger file.
PNG_COMPRESSION = 1


# Interpolation.


def _check_endpoints(start: ArrayLike, end: ArrayLike) -> tuple[np.ndarray, ...]:
    """Returns both vectors as float64 ``(d,)`` after checking them."""
    a = np.asarray(start, dtype=np.float64)
    b = np.asarray(end, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"start has shape {a.shape}; expected one latent vector (latent_dim,)."
        )
    if b.shape != a.shape:
        raise ValueError(f"end has shape {b.shape}; expected {a.shape} like start.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("start and end must contain only finite values.")
    return a, b


def _check_fractions(t: ArrayLike) -> np.ndarray:
    """Returns ``t`` as float64, a scalar or ``(num,)``, with values in [0, 1]."""
    fractions = np.asarray(t, dtype=np.float64)
    if fractions.ndim > 1:
        raise ValueError(
            f"t has shape {fractions.shape}; expected a number or a 1-D sequence."
        )
    if not np.all(np.isfinite(fractions)):
        raise ValueError("t must contain only finite values.")
    if np.any(fractions < 0.0) or np.any(fractions > 1.0):
        raise ValueError(
            f"t has values in [{fractions.min():g}, {fractions.max():g}]; expected "
            "fractions of the path in [0, 1]."
        )
    return fractions


def lerp(start: ArrayLike, end: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Interpolates linearly: ``(1 - t) * start + t * end``.

    Args:
        start: Latent vector ``(d,)``.
        end: Latent vector ``(d,)``.
        t: Fraction of the path in [0, 1], a number or a sequence ``(num,)``.

    Returns:
        float32 ``(d,)`` for a number ``t``, or ``(num, d)``.
    """
    a, b = _check_endpoints(start, end)
    fractions = _check_fractions(t)[..., None]
    return ((1.0 - fractions) * a + fractions * b).astype(np.float32)


def slerp(start: ArrayLike, end: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Interpolates along the great circle between the two directions.

    The direction turns at constant speed through the angle ``omega`` between
    ``start`` and ``end``, and the norm changes linearly from ``|start|`` to
    ``|end|``::

        u(t) = (sin((1 - t) omega) * start/|start| + sin(t omega) * end/|end|)
               / sin(omega)
        z(t) = ((1 - t) |start| + t |end|) * u(t)

    For vectors of equal norm this is Shoemake's spherical linear
    interpolation, so the norm stays constant along the path. Special cases:

    * A zero vector has no direction, and in one dimension the sphere is two
      points, so then the path is the straight line of :func:`lerp`.
    * For (nearly) parallel vectors the direction is the normalised linear
      interpolation of the two directions, the limit of the formula.
    * For (nearly) antiparallel vectors every half great circle is as short as
      any other. The path turns through the unit vector perpendicular to
      ``start`` that is closest to the coordinate axis along which ``start``
      is smallest, so the same inputs always give the same path.

    Args:
        start: Latent vector ``(d,)``.
        end: Latent vector ``(d,)``.
        t: Fraction of the path in [0, 1], a number or a sequence ``(num,)``.

    Returns:
        float32 ``(d,)`` for a number ``t``, or ``(num, d)``.
    """
    a, b = _check_endpoints(start, end)
    fractions = _check_fractions(t)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0.0 or norm_b == 0.0 or a.size == 1:
        return lerp(a, b, fractions)
    unit_a, unit_b = a / norm_a, b / norm_b
    angle = float(np.arccos(np.clip(unit_a @ unit_b, -1.0, 1.0)))
    s = fractions[..., None]
    if angle < ANGLE_TOLERANCE:
        direction = (1.0 - s) * unit_a + s * unit_b
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    elif angle > math.pi - ANGLE_TOLERANCE:
        turn = s * math.pi
        direction = np.cos(turn) * unit_a + np.sin(turn) * _perpendicular(unit_a)
    else:
        direction = (
            np.sin((1.0 - s) * angle) * unit_a + np.sin(s * angle) * unit_b
        ) / math.sin(angle)
    norm = (1.0 - s) * norm_a + s * norm_b
    return (norm * direction).astype(np.float32)


def _perpendicular(unit: np.ndarray) -> np.ndarray:
    """Returns a unit vector perpendicular to ``unit``, which must have d >= 2."""
    axis = np.zeros_like(unit)
    axis[np.argmin(np.abs(unit))] = 1.0
    # The axis where unit is smallest is far from parallel to it when d >= 2.
    perpendicular = axis - (axis @ unit) * unit
    return perpendicular / np.linalg.norm(perpendicular)


def interpolate(
    start: ArrayLike, end: ArrayLike, num: int, *, method: str = "slerp"
) -> np.ndarray:
    """Returns ``num`` evenly spaced points of a path, endpoints included.

    Args:
        start: Latent vector ``(d,)``.
        end: Latent vector ``(d,)``.
        num: Number of points, at least 2.
        method: ``"slerp"`` (:func:`slerp`) or ``"lerp"`` (:func:`lerp`).

    Returns:
        float32 ``(num, d)``; row 0 is ``start`` and row ``num - 1`` is ``end``.
    """
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise ValueError(f"num={num!r} must be an integer of at least 2.")
    if method not in INTERPOLATION_METHODS:
        raise ValueError(
            f"Unknown method={method!r}; expected one of {INTERPOLATION_METHODS}."
        )
    function = slerp if method == "slerp" else lerp
    return function(start, end, np.linspace(0.0, 1.0, num))


# Directions.


@dataclasses.dataclass(frozen=True)
class LatentDirections:
    """Orthonormal latent directions, sorted by how much they change the image.

    Attributes:
        vectors: float32 ``(latent_dim, latent_dim)``; row ``i`` is the unit
            direction with the ``i``-th largest eigenvalue.
        eigenvalues: float64 ``(latent_dim,)``, descending. Eigenvalue ``i`` is
            the mean over the sampled latents of the squared pixel change,
            summed over pixels, per unit step along direction ``i``, to first
            order.
        num_latents: Number of latent vectors the average was taken over.
    """

    vectors: np.ndarray
    eigenvalues: np.ndarray
    num_latents: int

    def top(self, count: int) -> np.ndarray:
        """Returns the ``count`` strongest directions, float32 ``(count, d)``."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count={count!r} must be a positive integer.")
        return self.vectors[:count]

    def explained_fraction(self, count: int) -> float:
        """Returns the share of the total squared change in the top ``count``."""
        total = float(np.sum(self.eigenvalues))
        return float(np.sum(self.eigenvalues[:count])) / total if total > 0 else 0.0


def principal_directions(
    generate: Callable[[jax.Array], jax.Array], latents: ArrayLike
) -> LatentDirections:
    """Finds the latent directions along which the generated image changes most.

    Near a latent vector ``z`` the generator is approximately linear,
    ``G(z + eps v) ~ G(z) + eps J(z) v``, with ``J(z)`` the Jacobian
    ``(pixels, latent_dim)``. The squared change of the image per unit step
    along a unit vector ``v``, averaged over the latents ``z_1 .. z_n``, is
    ``v^T M v`` with ``M = mean_i J(z_i)^T J(z_i)``. The eigenvectors of ``M``
    are orthonormal directions sorted by that average change.

    Principal component analysis of latent vectors drawn from the prior would
    give no such order: their covariance is close to the identity, so every
    direction explains about the same variance. The directions here depend on
    the generator instead.

    The Jacobian is computed with one forward-mode product per latent
    coordinate, ``latent_dim`` renders of every latent vector.

    Args:
        generate: Latent vectors ``(n, d)`` to images, traceable by JAX, such
            as ``PretrainedGenerator.generate``.
        latents: The latent vectors ``(n, d)`` to average over, n >= 1.

    Returns:
        All ``d`` directions with their eigenvalues.
    """
    z = np.asarray(latents, dtype=np.float32)
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(
            f"latents have shape {z.shape}; expected a non-empty (n, latent_dim)."
        )
    count, dim = z.shape
    chunk = max(1, min(count, JACOBIAN_IMAGES_PER_CHUNK // dim))
    basis = jnp.eye(dim, dtype=jnp.float32)

    @jax.jit
    def chunk_gram(z_chunk: jax.Array, weights: jax.Array) -> jax.Array:
        def column(direction: jax.Array) -> jax.Array:
            tangent = jnp.broadcast_to(direction, z_chunk.shape)
            return jax.jvp(generate, (z_chunk,), (tangent,))[1]

        # (d, chunk, pixels): entry j contains J(z_i) e_j for every row i.
        jacobians = jax.vmap(column)(basis).reshape(dim, z_chunk.shape[0], -1)
        jacobians = jacobians * weights[None, :, None]
        return jnp.einsum("jip,kip->jk", jacobians, jacobians)

    gram = np.zeros((dim, dim), dtype=np.float64)
    for begin in range(0, count, chunk):
        rows = z[begin : begin + chunk]
        # The last chunk is padded with zero-weight rows, so it compiles once.
        weights = np.zeros(chunk, dtype=np.float32)
        weights[: len(rows)] = 1.0
        padded = np.zeros((chunk, dim), dtype=np.float32)
        padded[: len(rows)] = rows
        gram += np.asarray(chunk_gram(padded, weights), dtype=np.float64)
    gram /= count
    eigenvalues, eigenvectors = np.linalg.eigh((gram + gram.T) / 2.0)
    order = np.argsort(eigenvalues)[::-1]
    vectors = eigenvectors[:, order].T
    # An eigenvector's sign is arbitrary. Making its largest entry positive
    # gives the same directions on every run.
    largest = vectors[np.arange(dim), np.argmax(np.abs(vectors), axis=1)]
    vectors = vectors * np.sign(largest)[:, None]
    return LatentDirections(
        vectors=vectors.astype(np.float32),
        eigenvalues=np.clip(eigenvalues[order], 0.0, None),
        num_latents=count,
    )


def along_direction(z: ArrayLike, direction: ArrayLike, steps: ArrayLike) -> np.ndarray:
    """Returns ``z + s * direction`` for each step ``s``, float32 ``(num, d)``."""
    z = np.asarray(z, dtype=np.float32)
    direction = np.asarray(direction, dtype=np.float32)
    if z.ndim != 1 or direction.shape != z.shape:
        raise ValueError(
            f"z has shape {z.shape} and direction {direction.shape}; expected two "
            "vectors (latent_dim,) of the same length."
        )
    steps = np.asarray(steps, dtype=np.float32).reshape(-1, 1)
    return z[None, :] + steps * direction[None, :]


# Attributes and arithmetic.


def ink_fraction(images: ArrayLike) -> np.ndarray:
    """Returns each image's ink: the mean of ``(x + 1) / 2`` over its pixels.

    Args:
        images: ``(n, height, width, channels)``, NHWC, in [-1, 1], with white
            ink on black as in MNIST.

    Returns:
        float64 ``(n,)``: 0 for a black image, 1 for a white one. Bundled MNIST
        training digits average about 0.1.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(
            f"images have shape {images.shape}; expected (n, height, width, "
            "channels) NHWC."
        )
    return np.mean((np.clip(images, -1.0, 1.0) + 1.0) / 2.0, axis=(1, 2, 3))


def attribute_vector(
    latents: ArrayLike,
    scores: ArrayLike,
    *,
    fraction: float = 0.25,
    groups: ArrayLike | None = None,
) -> np.ndarray:
    """Returns the mean latent of the highest scores minus that of the lowest.

    With ``scores`` measured on the generated images, such as their ink, the
    difference points from latents of low-scoring images towards latents of
    high-scoring ones. Averaging over many vectors cancels what the vectors at
    each end do not share. It keeps what they share besides the score, so
    when one digit class has more ink than another, the plain difference
    also points from the thin class towards the thick one.

    With ``groups`` (for example the class of each image), the difference is
    taken within each group and the group differences are averaged, weighted
    by group size. A property that differs between the groups then does not
    enter the vector. Groups too small to give both ends a vector are left
    out.

    Args:
        latents: ``(n, d)`` latent vectors.
        scores: ``(n,)`` one number per latent vector.
        fraction: Share of the vectors at each end, in (0, 0.5].
        groups: ``(n,)`` integer group of each vector, or ``None`` for one
            group.

    Returns:
        float32 ``(d,)``.
    """
    z = np.asarray(latents, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if z.ndim != 2 or scores.shape != (z.shape[0],):
        raise ValueError(
            f"latents have shape {z.shape} and scores {scores.shape}; expected "
            "(n, latent_dim) and (n,)."
        )
    if not 0.0 < fraction <= 0.5:
        raise ValueError(f"fraction={fraction!r} must be in (0, 0.5].")
    if groups is None:
        groups = np.zeros(len(z), dtype=np.int64)
    groups = np.asarray(groups)
    if groups.shape != scores.shape:
        raise ValueError(f"groups have shape {groups.shape}; expected {scores.shape}.")
    differences, weights = [], []
    for group in np.unique(groups):
        members = groups == group
        size = int(fraction * np.count_nonzero(members))
        if size < 1:
            continue
        order = np.argsort(scores[members], kind="stable")
        group_latents = z[members]
        low, high = group_latents[order[:size]], group_latents[order[-size:]]
        differences.append(high.mean(axis=0) - low.mean(axis=0))
        weights.append(np.count_nonzero(members))
    if not differences:
        raise ValueError(
            f"fraction={fraction} of {len(z)} latents leaves an empty end in every "
            "group; pass more latents or a larger fraction."
        )
    return np.average(differences, axis=0, weights=weights).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class AttributeSweep:
    """Mean ink and unchanged labels after adding multiples of a latent vector.

    Attributes:
        steps: float64 ``(k,)``, the multiples ``alpha`` of the vector.
        mean_ink: float64 ``(k,)``, the mean :func:`ink_fraction` at each step.
        same_class: float64 ``(k,)``, the share of images whose label at each
            step equals their label at ``alpha = 0``, or NaN without a
            classifier.
    """

    steps: np.ndarray
    mean_ink: np.ndarray
    same_class: np.ndarray


def attribute_sweep(
    generate: Callable[[jax.Array], jax.Array],
    latents: ArrayLike,
    vector: ArrayLike,
    steps: ArrayLike,
    *,
    classify: Callable[[np.ndarray], np.ndarray] | None = None,
) -> AttributeSweep:
    """Renders ``latents + alpha * vector`` for each step and measures the images.

    Args:
        generate: Latent vectors ``(n, d)`` to images in [-1, 1].
        latents: ``(n, d)`` starting vectors.
        vector: ``(d,)`` the vector to add, such as an :func:`attribute_vector`.
        steps: ``(k,)`` multiples of ``vector``.
        classify: Images ``(n, size, size, channels)`` to integer labels
            ``(n,)``, or ``None`` to skip the class comparison.

    Returns:
        The mean ink and the share of unchanged labels at each step.
    """
    z = np.asarray(latents, dtype=np.float32)
    vector = np.asarray(vector, dtype=np.float32)
    steps = np.asarray(steps, dtype=np.float64).reshape(-1)
    if z.ndim != 2 or vector.shape != (z.shape[1],):
        raise ValueError(
            f"latents have shape {z.shape} and vector {vector.shape}; expected "
            "(n, latent_dim) and (latent_dim,)."
        )
    start_labels = None
    if classify is not None:
        start_labels = np.asarray(classify(np.asarray(generate(z))))
    mean_ink, same_class = [], []
    for alpha in steps:
        images = np.asarray(generate(z + np.float32(alpha) * vector))
        mean_ink.append(ink_fraction(images).mean())
        if start_labels is None:
            same_class.append(np.nan)
        else:
            same_class.append(np.mean(np.asarray(classify(images)) == start_labels))
    return AttributeSweep(
        steps=steps, mean_ink=np.asarray(mean_ink), same_class=np.asarray(same_class)
    )


def class_means(
    latents: ArrayLike, labels: ArrayLike, num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Averages the latent vectors of each class.

    Args:
        latents: ``(n, d)`` latent vectors.
        labels: ``(n,)`` integer class of each vector's image, in
            ``[0, num_classes)``, for example from the bundled classifier.
        num_classes: Number of classes.

    Returns:
        ``(means, counts)``: float32 ``(num_classes, d)``, with NaN rows for
        classes that have no vector, and int64 ``(num_classes,)``.
    """
    z = np.asarray(latents, dtype=np.float64)
    labels = np.asarray(labels)
    if z.ndim != 2 or labels.shape != (z.shape[0],):
        raise ValueError(
            f"latents have shape {z.shape} and labels {labels.shape}; expected "
            "(n, latent_dim) and (n,)."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels span [{labels.min()}, {labels.max()}]; expected classes in "
            f"[0, {num_classes})."
        )
    counts = np.bincount(labels, minlength=num_classes).astype(np.int64)
    sums = np.zeros((num_classes, z.shape[1]))
    np.add.at(sums, labels, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    return means.astype(np.float32), counts


# Nearest neighbours.


def nearest_neighbours(
    queries: ArrayLike,
    references: ArrayLike,
    *,
    k: int = 1,
    chunk_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Finds the ``k`` references closest to each query in Euclidean distance.

    Pass images to compare pixels, or classifier features
    (:func:`gan_lessons.classifier.features`) to compare the classifier's
    penultimate activations. Every item is flattened to one vector.

    The search expands ``|q - r|^2 = |q|^2 + |r|^2 - 2 q.r`` in float64, which
    rounds, and then computes the distances of the chosen neighbours exactly,
    so an exact copy has distance 0.

    Args:
        queries: ``(n, ...)``.
        references: ``(m, ...)`` with the same item shape as ``queries``.
        k: Neighbours per query, from 1 to m.
        chunk_size: Queries compared at once; bounds memory to
            ``chunk_size * m`` float64 values.

    Returns:
        ``(indices, distances)``: int64 ``(n, k)`` into ``references`` and
        float64 ``(n, k)``, nearest first.
    """
    q = np.asarray(queries, dtype=np.float64)
    r = np.asarray(references, dtype=np.float64)
    if q.ndim < 2 or r.ndim < 2 or q.shape[1:] != r.shape[1:]:
        raise ValueError(
            f"queries have shape {q.shape} and references {r.shape}; expected "
            "(n, ...) and (m, ...) with the same item shape."
        )
    item_size = math.prod(q.shape[1:])
    q = q.reshape(len(q), item_size)
    r = r.reshape(len(r), item_size)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(r):
        raise ValueError(f"k={k!r} must be an integer from 1 to {len(r)}.")
    valid_chunk = isinstance(chunk_size, int) and not isinstance(chunk_size, bool)
    if not valid_chunk or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer.")
    reference_norms = np.sum(r * r, axis=1)
    indices = np.zeros((len(q), k), dtype=np.int64)
    distances = np.zeros((len(q), k), dtype=np.float64)
    for begin in range(0, len(q), chunk_size):
        block = q[begin : begin + chunk_size]
        squared = (
            np.sum(block * block, axis=1)[:, None]
            + reference_norms[None, :]
            - 2.0 * block @ r.T
        )
        candidates = np.argpartition(squared, k - 1, axis=1)[:, :k]
        exact = np.linalg.norm(block[:, None, :] - r[candidates], axis=2)
        order = np.argsort(exact, axis=1, kind="stable")
        rows = np.arange(len(block))[:, None]
        indices[begin : begin + len(block)] = candidates[rows, order]
        distances[begin : begin + len(block)] = exact[rows, order]
    return indices, distances


# Figures.


def plot_eigenvalues(directions: LatentDirections, count: int = 30) -> Figure:
    """Draws the ``count`` largest eigenvalues and their cumulative share."""
    values = directions.eigenvalues[:count]
    ranks = np.arange(1, len(values) + 1)
    figure = Figure(figsize=(9, 3), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.bar(ranks, values)
    left.axhline(
        np.mean(directions.eigenvalues),
        color="grey",
        linestyle=":",
        label="mean over all directions",
    )
    left.set_xlabel("direction (largest eigenvalue first)")
    left.set_ylabel("mean squared pixel change\nper unit step")
    left.legend()
    total = np.sum(directions.eigenvalues)
    share = np.cumsum(directions.eigenvalues) / total if total > 0 else ranks * 0.0
    right.plot(np.arange(1, len(share) + 1), share, marker=".")
    right.set_xscale("log")
    right.set_ylim(0, 1.02)
    right.set_xlabel("number of directions")
    right.set_ylabel("share of the total change")
    return figure


def plot_distance_histograms(
    distances: dict[str, ArrayLike], *, xlabel: str = "distance"
) -> Figure:
    """Draws one histogram per labelled set of distances, on shared bins."""
    if not distances:
        raise ValueError("distances is empty; pass at least one labelled array.")
    arrays = {label: np.ravel(values) for label, values in distances.items()}
    everything = np.concatenate(list(arrays.values()))
    bins = np.linspace(everything.min(), everything.max(), 31)
    figure = Figure(figsize=(6, 3), layout="constrained")
    axes = figure.add_subplot()
    for label, values in arrays.items():
        axes.hist(values, bins=bins, density=True, alpha=0.5, label=label)
        axes.axvline(np.median(values), linestyle="--", color="black", linewidth=0.8)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("density")
    axes.legend()
    return figure


# Widgets.


class LatentModel(Protocol):
    """Interface of the generators that the explorers draw from.

    ``PretrainedGenerator`` implements it.
    """

    @property
    def latent_dim(self) -> int: ...

    @property
    def image_shape(self) -> tuple[int, int, int]: ...

    def generate(self, z: ArrayLike) -> jax.Array: ...

    def sample_latent(self, key: jax.Array, num: int) -> jax.Array: ...


# The open explorer of each name. Building a new explorer under a name closes
# the previous one, so re-running a notebook cell leaves one set of widgets.
_OPEN_EXPLORERS: dict[str, _Explorer] = {}


def _display_pixels(images: np.ndarray) -> np.ndarray:
    """Maps NHWC images in [-1, 1] to what ``imshow`` draws with vmin -1, vmax 1."""
    images = np.clip(np.asarray(images, dtype=np.float32), -1.0, 1.0)
    if images.shape[-1] == 1:
        return images[..., 0]
    return (images + 1.0) / 2.0


class _Explorer:
    """A matplotlib figure and controls around an ``ipywidgets.Image`` of it.

    The figure is a ``matplotlib.figure.Figure`` drawn by the Agg canvas
    without pyplot, so explorers never add to ``pyplot.get_fignums()``. The
    layout is computed once. The artists that change are marked animated and
    drawn over a saved copy of the static rest (blitting). Each redraw sends
    the new PNG through the image widget's state, so one figure serves every
    update and the update does not depend on how a front end routes output
    from a callback. The module docstring describes :meth:`show`.
    """

    # CSS class of the widget box: a stable handle for styles and for tests
    # that drive the explorer in a browser.
    DOM_CLASS = "gan-lessons-explorer"

    def __init__(
        self,
        name: str,
        figure: Figure,
        controls: Sequence[widgets.Widget],
        animated: Sequence[Any],
    ):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name={name!r} must be a non-empty string.")
        previous = _OPEN_EXPLORERS.get(name)
        if previous is not None:
            previous.close()
        self.name = name
        self.figure = figure
        self._canvas = FigureCanvasAgg(figure)
        self._animated = list(animated)
        for artist in self._animated:
            artist.set_animated(True)
        # One full draw runs the layout engine. Switching it off afterwards
        # keeps every position, and the static background is saved for
        # blitting.
        self._canvas.draw()
        figure.set_layout_engine("none")
        self._background = self._canvas.copy_from_bbox(figure.bbox)
        # An ipywidgets box stretches its children to its own width by
        # default, which would scale the image up to the notebook's width.
        # Aligned to the start, the image keeps its size, as the PNG output.
        self.view = widgets.Image(
            format="png", layout=widgets.Layout(align_self="flex-start")
        )
        self.box = widgets.VBox([*controls, self.view])
        self.box.add_class(self.DOM_CLASS)
        self._holding = False
        _OPEN_EXPLORERS[name] = self

    def png(self) -> bytes:
        """Returns the figure as last drawn, as PNG bytes."""
        pixels = np.asarray(self._canvas.buffer_rgba())[..., :3]
        buffer = io.BytesIO()
        PIL.Image.fromarray(pixels).save(
            buffer, format="png", compress_level=PNG_COMPRESSION
        )
        return buffer.getvalue()

    def redraw(self) -> None:
        """Updates the changing artists and sends the new PNG to the widget."""
        if self._holding:
            return
        self._update_artists()
        self._canvas.restore_region(self._background)
        for artist in self._animated:
            self.figure.draw_artist(artist)
        self.view.value = self.png()

    def _update_artists(self) -> None:
        raise NotImplementedError

    def show(self, mode: str = "both") -> None:
        """Displays the explorer.

        Args:
            mode: ``"both"`` displays one output with the widget box and
                a PNG of the figure (``display_widget_with_png``),
                ``"interactive"`` the widget box only and ``"static"`` the
                PNG only.
        """
        if mode not in ("both", "interactive", "static"):
            raise ValueError(
                f"mode={mode!r}; expected 'both', 'interactive' or 'static'."
            )
        if mode == "both":
            display_widget_with_png(self.box, self.png())
        elif mode == "static":
            IPython.display.display(IPython.display.Image(data=self.png()))
        else:
            IPython.display.display(self.box)

    def close(self) -> None:
        """Closes the widgets and clears the figure, which ends the explorer."""
        for widget in _widget_tree(self.box):
            widget.close()
        self.figure.clear()
        self._animated = []
        if _OPEN_EXPLORERS.get(self.name) is self:
            del _OPEN_EXPLORERS[self.name]


def _widget_tree(widget: widgets.Widget) -> list[widgets.Widget]:
    """Returns ``widget`` and every widget inside it, children first."""
    found = []
    for child in getattr(widget, "children", ()):
        found.extend(_widget_tree(child))
    found.append(widget)
    return found


def _latent_of_seed(generator: LatentModel, seed: int) -> np.ndarray:
    key = jax.random.key(seed)
    return np.asarray(generator.sample_latent(key, 1)[0], dtype=np.float32)


class LatentExplorer(_Explorer):
    """Sliders that move a latent vector along directions, with a live image.

    The image shows ``G(z_seed + sum_i c_i v_i)``, where ``z_seed`` is drawn
    from the prior with the seed in the seed box, ``v_i`` are the given unit
    directions and ``c_i`` the slider values. "New random vector" moves to the
    next seed and "Reset sliders" sets every ``c_i`` to 0. Typing a seed into
    the box returns to its vector.

    Args:
        generator: Maps latents to images and samples the prior, such as a
            ``PretrainedGenerator``.
        directions: ``(k, latent_dim)`` directions, one slider each, such as
            ``principal_directions(...).top(3)``.
        seed: Seed of the first latent vector.
        slider_range: Each slider spans ``[-slider_range, slider_range]``.
        name: Registry key; an open explorer of the same name is closed.
    """

    DOM_CLASS = "gan-lessons-latent-explorer"

    def __init__(
        self,
        generator: LatentModel,
        directions: ArrayLike,
        *,
        seed: int = 0,
        slider_range: float = 4.0,
        name: str = "latent_explorer",
    ):
        directions = np.asarray(directions, dtype=np.float32)
        if directions.ndim != 2 or directions.shape[1] != generator.latent_dim:
            raise ValueError(
                f"directions have shape {directions.shape}; expected (k, "
                f"{generator.latent_dim})."
            )
        if not 1 <= len(directions) <= 8:
            raise ValueError(f"{len(directions)} directions; expected 1 to 8.")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer.")
        self.generator = generator
        self.directions = directions
        self.sliders = [
            widgets.FloatSlider(
                value=0.0,
                min=-slider_range,
                max=slider_range,
                step=0.1,
                description=f"direction {i + 1}",
                style={"description_width": "initial"},
            )
            for i in range(len(directions))
        ]
        self.seed_box = widgets.IntText(value=seed, description="seed")
        # The default button width is too narrow for "New random vector", so
        # the buttons take the width of their text.
        self.new_button = widgets.Button(
            description="New random vector", layout=widgets.Layout(width="auto")
        )
        self.reset_button = widgets.Button(
            description="Reset sliders", layout=widgets.Layout(width="auto")
        )
        buttons = widgets.HBox([self.seed_box, self.new_button, self.reset_button])
        # The changing numbers go to a label, because drawing a text with Agg
        # took about 10 ms on a 2-core CPU.
        self.status = widgets.Label(value="")

        figure = Figure(figsize=(2.6, 2.6), dpi=80, layout="constrained")
        axes = figure.add_subplot()
        axes.set_axis_off()
        self._base = _latent_of_seed(generator, seed)
        self._seed = seed
        self.image = axes.imshow(
            _display_pixels(np.zeros((1, *generator.image_shape)))[0],
            cmap="gray",
            vmin=-1.0,
            vmax=1.0,
        )
        self._update_artists()
        super().__init__(
            name, figure, [*self.sliders, buttons, self.status], [self.image]
        )

        for slider in self.sliders:
            slider.observe(self._on_change, names="value")
        self.seed_box.observe(self._on_seed, names="value")
        self.new_button.on_click(self._on_new)
        self.reset_button.on_click(self._on_reset)
        self.redraw()

    @property
    def coefficients(self) -> np.ndarray:
        """The slider values, float32 ``(k,)``."""
        return np.array([slider.value for slider in self.sliders], dtype=np.float32)

    @property
    def latent(self) -> np.ndarray:
        """The latent vector on display, float32 ``(latent_dim,)``."""
        return self._base + self.coefficients @ self.directions

    def set_seed(self, seed: int) -> None:
        """Shows the vector of ``seed`` with the sliders unchanged."""
        self.seed_box.value = seed

    def set_coefficients(self, values: Sequence[float]) -> None:
        """Moves all sliders at once and redraws once."""
        if len(values) != len(self.sliders):
            raise ValueError(f"{len(values)} values; expected {len(self.sliders)}.")
        self._holding = True
        try:
            for slider, value in zip(self.sliders, values, strict=True):
                slider.value = float(value)
        finally:
            self._holding = False
        self.redraw()

    def _render(self, z: np.ndarray) -> np.ndarray:
        images = np.asarray(self.generator.generate(z[None]))
        return _display_pixels(images)[0]

    def _update_artists(self) -> None:
        z = self.latent
        self.image.set_data(self._render(z))
        self.status.value = f"seed {self._seed}, |z| = {np.linalg.norm(z):.2f}"

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()

    def _on_seed(self, change: dict[str, Any]) -> None:
        seed = change["new"]
        if seed is None or seed < 0:
            # Seeds are non-negative, so the box goes back to the current seed.
            self.seed_box.value = self._seed
            return
        self._seed = int(seed)
        self._base = _latent_of_seed(self.generator, self._seed)
        self.redraw()

    def _on_new(self, button: widgets.Button) -> None:
        self.seed_box.value = self._seed + 1

    def _on_reset(self, button: widgets.Button) -> None:
        self.set_coefficients([0.0] * len(self.sliders))


class PathExplorer(_Explorer):
    """Linear and spherical paths between two latents, with a slider along both.

    The top panel shows ``num`` images along each path, linear above and
    spherical below, each labelled with its latent norm. A marker follows the
    slider's fraction ``t``, the two lower panels show the images at ``t`` and
    a label below them their norms.

    Args:
        generator: Maps latents to images, such as a ``PretrainedGenerator``.
        start: Latent vector ``(latent_dim,)`` at ``t = 0``.
        end: Latent vector ``(latent_dim,)`` at ``t = 1``.
        num: Images per path in the strip, at least 2.
        name: Registry key; an open explorer of the same name is closed.
    """

    DOM_CLASS = "gan-lessons-path-explorer"

    def __init__(
        self,
        generator: LatentModel,
        start: ArrayLike,
        end: ArrayLike,
        *,
        num: int = 9,
        name: str = "path_explorer",
    ):
        self.generator = generator
        self.start, self.end = (np.asarray(v, np.float32) for v in (start, end))
        _check_endpoints(self.start, self.end)
        self.slider = widgets.FloatSlider(
            value=0.5, min=0.0, max=1.0, step=0.01, description="t"
        )
        paths = {
            method: interpolate(self.start, self.end, num, method=method)
            for method in INTERPOLATION_METHODS
        }
        linear = np.asarray(generator.generate(paths["lerp"]))
        spherical = np.asarray(generator.generate(paths["slerp"]))
        strip = plotting.image_grid(
            np.concatenate([linear, spherical]), columns=num, padding=_STRIP_PADDING
        )
        self.status = widgets.Label(value="")

        figure = Figure(figsize=(num * 0.75, 4.4), dpi=80, layout="constrained")
        grid = figure.add_gridspec(2, 2, height_ratios=(1.1, 1.0))
        strip_axes = figure.add_subplot(grid[0, :])
        strip_axes.imshow(_display_pixels(strip[None])[0], cmap="gray", vmin=-1, vmax=1)
        strip_axes.set_xticks([])
        size = linear.shape[1]
        self._size = size
        self._num = num
        rows = [self._strip_centre(0, 0)[1], self._strip_centre(0, 1)[1]]
        strip_axes.set_yticks(rows, ["linear", "spherical"])
        for name_of_path, row in (("lerp", 0), ("slerp", 1)):
            norms = np.linalg.norm(paths[name_of_path], axis=1)
            for column, value in enumerate(norms):
                x, y = self._strip_centre(column, row)
                strip_axes.text(
                    x,
                    y + size / 2 - 1,
                    f"{value:.1f}",
                    color="yellow",
                    fontsize=7,
                    ha="center",
                    va="bottom",
                )
        strip_axes.set_title("latent norm |z| under each image", fontsize=9)
        self.marker = strip_axes.axvline(0.0, color="red", linewidth=1.5)
        self.images = {}
        for column, (method, label) in enumerate(
            (("lerp", "linear"), ("slerp", "spherical"))
        ):
            axes = figure.add_subplot(grid[1, column])
            axes.set_axis_off()
            axes.set_title(f"{label} path at t", fontsize=9)
            self.images[method] = axes.imshow(
                np.zeros((size, size)), cmap="gray", vmin=-1.0, vmax=1.0
            )
        self._update_artists()
        animated = [self.marker, *self.images.values()]
        super().__init__(name, figure, [self.slider, self.status], animated)
        self.slider.observe(self._on_change, names="value")
        self.redraw()

    def _update_artists(self) -> None:
        t = float(self.slider.value)
        latents = {
            "lerp": lerp(self.start, self.end, t),
            "slerp": slerp(self.start, self.end, t),
        }
        both = np.stack([latents["lerp"], latents["slerp"]])
        images = _display_pixels(np.asarray(self.generator.generate(both)))
        self.images["lerp"].set_data(images[0])
        self.images["slerp"].set_data(images[1])
        norms = {method: np.linalg.norm(z) for method, z in latents.items()}
        self.status.value = (
            f"t = {t:.2f}: linear |z| = {norms['lerp']:.2f}, spherical |z| = "
            f"{norms['slerp']:.2f}"
        )
        # The marker moves from the first column's centre to the last one's.
        first = self._strip_centre(0, 0)[0]
        last = self._strip_centre(self._num - 1, 0)[0]
        self.marker.set_xdata([first + t * (last - first)] * 2)

    def _strip_centre(self, column: int, row: int) -> tuple[float, float]:
        """Returns the pixel centre ``(x, y)`` of an image in the strip."""
        step = self._size + _STRIP_PADDING
        offset = _STRIP_PADDING + self._size / 2
        return offset + column * step, offset + row * step

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()


def open_explorers() -> dict[str, _Explorer]:
    """Returns the open explorers by name (a copy of the registry)."""
    return dict(_OPEN_EXPLORERS)


# Exercise checks. Each prints feedback and returns whether the answer is right.
# A wrong answer gets a hint, never the solution.

# Latent length of the lesson's generator. The prediction exercises ask about
# another length, so that copying a number printed in the lesson fails.
LESSON_LATENT_DIM = 100


def _chi_mean(dim: int) -> float:
    """Returns E|z| for z ~ N(0, I_dim): sqrt(2) Gamma((d+1)/2) / Gamma(d/2)."""
    return math.sqrt(2.0) * math.exp(math.lgamma((dim + 1) / 2) - math.lgamma(dim / 2))


def _read_number(answer: Any, name: str) -> float | None:
    if answer is None:
        print(f"Not answered yet: set {name} to a number.")
        return None
    value = checking.scalar_value(answer)
    if value is None:
        print(f"Not quite: {name} is {answer!r}; expected a number.")
        return None
    if not math.isfinite(value):
        print(f"Not quite: {name} is {value}; expected a finite number.")
        return None
    return value


def _near(value: float, target: float, relative: float) -> bool:
    return abs(value - target) <= relative * abs(target)


def _lesson_value_hint(value: float, dim: int, lesson_value: float) -> bool:
    """Prints a hint when ``value`` fits the lesson's dimension, not ``dim``."""
    if dim != LESSON_LATENT_DIM and _near(value, lesson_value, 0.05):
        print(
            f"Not quite: that is the value for the lesson's {LESSON_LATENT_DIM}-d "
            f"latents, but the exercise asks about d = {dim}. Hint: redo the "
            "reasoning with the new d."
        )
        return True
    return False


def check_norm_prediction(answer: Any, *, dim: int = 400) -> bool:
    """Checks a prediction of the typical norm of a ``dim``-d standard normal.

    Any value within 5% of the mean norm is accepted.
    """
    value = _read_number(answer, "predicted_norm")
    if value is None:
        return False
    expected = _chi_mean(dim)
    if _near(value, expected, 0.05):
        print(
            f"Correct: the norms of {dim}-d standard normal vectors cluster "
            "around your value, with a spread of about 0.7 whatever d is."
        )
        return True
    if _lesson_value_hint(value, dim, _chi_mean(LESSON_LATENT_DIM)):
        return False
    if _near(value, dim, 0.1):
        print(
            "Not quite: that is the mean of the squared norm, a sum of d squared "
            "coordinates with mean 1 each. The norm is its square root."
        )
    elif _near(value, 1.0, 0.3):
        print(
            "Not quite: each coordinate has standard deviation 1, but the norm "
            "combines all d coordinates. Hint: start from E[|z|^2]."
        )
    elif abs(value) < 0.5:
        print(
            "Not quite: the prior's mean is the zero vector, but a single draw is "
            "almost never near it. Hint: start from E[|z|^2]."
        )
    elif _near(value, math.sqrt(dim / 2.0), 0.05):
        print(
            "Not quite: that is the norm of the midpoint between two draws, which "
            "is the next exercise. Hint: start from E[|z|^2] of one draw."
        )
    else:
        print(
            "Not quite. Hint: |z|^2 is a sum of d squared coordinates; find its "
            "mean, and use that the norm varies little around its typical value."
        )
    return False


def check_midpoint_norm(answer: Any, *, dim: int = 400) -> bool:
    """Checks a prediction of ``|(a + b) / 2|`` for independent standard normals.

    Any value within 5% of the mean norm of the midpoint is accepted.
    """
    value = _read_number(answer, "predicted_midpoint_norm")
    if value is None:
        return False
    expected = _chi_mean(dim) / math.sqrt(2.0)
    if _near(value, expected, 0.05):
        print(
            "Correct: the straight line's midpoint is far shorter than any vector "
            "the prior draws, so the generator rarely saw such an input."
        )
        return True
    if _lesson_value_hint(value, dim, _chi_mean(LESSON_LATENT_DIM) / math.sqrt(2.0)):
        return False
    endpoint = _chi_mean(dim)
    if _near(value, endpoint, 0.05):
        print(
            "Not quite: that is the norm of the endpoints. Hint: (a + b) / 2 has "
            "independent coordinates too; what is the variance of each?"
        )
    elif _near(value, endpoint / 2.0, 0.05):
        print(
            "Not quite: halving would be right if a and b pointed the same way. "
            "Hint: two independent vectors in many dimensions are almost "
            "orthogonal, so add variances, not lengths."
        )
    elif _near(value, dim / 2.0, 0.1):
        print(
            "Not quite: that is a squared norm. Hint: take the square root at the end."
        )
    else:
        print(
            "Not quite. Hint: each coordinate of (a + b) / 2 is normal with mean "
            "0; find its variance, then use the previous exercise."
        )
    return False


def check_slerp(function: Callable[[np.ndarray, np.ndarray, float], Any]) -> bool:
    """Checks ``function(a, b, t)``, spherical interpolation of equal-norm vectors.

    The check draws pairs of random vectors of equal norm in 2, 3 and 100
    dimensions, not parallel and not antiparallel, and compares the result at
    several ``t`` in [0, 1] with the great-circle path.
    """
    rng = np.random.default_rng(0)
    for dim in (2, 3, 100):
        a = rng.normal(size=dim)
        b = rng.normal(size=dim)
        b *= np.linalg.norm(a) / np.linalg.norm(b)
        norm = float(np.linalg.norm(a))
        angle = float(np.arccos(np.clip(a @ b / norm**2, -1.0, 1.0)))
        for t in (0.0, 0.25, 0.5, 0.8, 1.0):
            try:
                result = function(a.copy(), b.copy(), t)
            except Exception as error:  # noqa: BLE001 - reported to the learner
                print(
                    f"Not quite: for d={dim} and t={t} your function raised "
                    f"{type(error).__name__}: {error}"
                )
                return False
            if result is None:
                print("Not answered yet: slerp returns None.")
                return False
            result = np.asarray(result, dtype=np.float64)
            if result.shape != a.shape:
                print(
                    f"Not quite: for d={dim} the result has shape {result.shape}; "
                    f"expected {a.shape}, one vector like a and b."
                )
                return False
            expected = slerp(a, b, t).astype(np.float64)
            if np.allclose(result, expected, rtol=1e-4, atol=1e-5 * norm):
                continue
            if t in (0.0, 1.0):
                endpoint = "a" if t == 0.0 else "b"
                print(
                    f"Not quite: at t={t} the path should be exactly {endpoint}. "
                    "Hint: check which weight goes with which vector."
                )
            elif np.allclose(result, (1 - t) * a + t * b, rtol=1e-4, atol=1e-6):
                print(
                    f"Not quite: for d={dim} at t={t} this is the straight line, "
                    f"with norm {np.linalg.norm(result):.3f}, shorter than "
                    f"|a| = {norm:.3f}. "
                    "Hint: interpolate the angle, not the coordinates."
                )
            elif not math.isclose(np.linalg.norm(result), norm, rel_tol=1e-4):
                print(
                    f"Not quite: for d={dim} at t={t} the norm is "
                    f"{np.linalg.norm(result):.3f}, but a and b both have norm "
                    f"{norm:.3f}, which the path should keep. Hint: the two "
                    "weights come from sines of angles, divided by one sine."
                )
            else:
                turned = float(np.arccos(np.clip(result @ a / norm**2, -1.0, 1.0)))
                print(
                    f"Not quite: for d={dim} at t={t} the norm is right, but the "
                    f"result is {turned:.3f} rad from a, while the path should "
                    "have turned "
                    f"through t times the {angle:.3f} rad between a and b."
                )
            return False
    print("Correct: your function follows the great circle at constant speed.")
    return True
