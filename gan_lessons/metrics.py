"""Quality, variety and originality figures of a batch of generated digits.

Every figure compares generated digits with real ones in the same way, and
comes with the value that real digits get against real digits, so that a
number can be read without knowing the metric's scale:

* Fréchet distance between Gaussians fitted to the bundled classifier's
  penultimate features (the MNIST analogue of FID, Heusel et al., 2017),
  next to the distance between two sets of real digits of the same size.
* Class coverage: predicted-class histogram, classes present, entropy and
  the share of confidently classified digits (``classifier.judge_samples``).
* Memorisation: each digit's pixel distance to its nearest training digit,
  against the same distance for held-out real digits.
* Precision and recall of Kynkäänniemi et al. (2019): the share of
  generated digits inside the real digits' k-nearest-neighbour balls in
  feature space, and the share of real digits inside the generated ones'.

Images are float32 ``(N, 32, 32, 1)``, NHWC, values in [-1, 1].
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gan_lessons import classifier, data

# Neighbour rank of the k-nearest-neighbour balls of precision and recall;
# Kynkäänniemi et al. (2019) use k = 3.
DEFAULT_K = 3
# Held-out real digits closer to the training set than this quantile of their
# own nearest-neighbour distances are rare by construction (1%), so a
# generated digit below it is counted as a near copy.
NEAR_COPY_QUANTILE = 0.01
# Rows per block of a pairwise distance matrix, to bound memory.
_BLOCK = 1024


# Fréchet distance.


def gaussian_fit(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Returns the mean ``(d,)`` and covariance ``(d, d)`` of ``(n, d)`` rows."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(
            f"features have shape {features.shape}; expected (n, d) with n >= 2."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(
            f"features contain {np.count_nonzero(~np.isfinite(features))} NaN or "
            "infinite values; check the images they were computed from."
        )
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(features_a: ArrayLike, features_b: ArrayLike) -> float:
    """Returns the Fréchet distance between Gaussians fitted to two sets.

    d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    The trace of (S_a S_b)^(1/2) equals the sum of the square roots of the
    eigenvalues of S_a^(1/2) S_b S_a^(1/2). That matrix is symmetric positive
    semi-definite, so symmetric eigendecompositions suffice, and they work
    for singular covariances (features that are always 0). Rounding can make
    tiny eigenvalues negative, so they are set to 0.

    Args:
        features_a: ``(n, d)``.
        features_b: ``(m, d)``, the same ``d``.

    Returns:
        The squared distance d^2, as FID reports it, >= 0.
    """
    mean_a, cov_a = gaussian_fit(features_a)
    mean_b, cov_b = gaussian_fit(features_b)
    if mean_a.shape != mean_b.shape:
        raise ValueError(
            f"The two feature sets have {mean_a.size} and {mean_b.size} "
            "columns; both need the same feature dimension."
        )
    sqrt_a = _psd_sqrt(cov_a)
    middle = sqrt_a @ cov_b @ sqrt_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
    value = (
        float(np.sum((mean_a - mean_b) ** 2))
        + float(np.trace(cov_a) + np.trace(cov_b))
        - 2.0 * trace_sqrt
    )
    return max(value, 0.0)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


# Nearest neighbours.


def pairwise_distances(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Returns Euclidean distances ``(n, m)`` between rows of ``a`` and ``b``."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    squared = (
        np.sum(a**2, axis=1)[:, None] + np.sum(b**2, axis=1)[None, :] - 2.0 * a @ b.T
    )
    return np.sqrt(np.clip(squared, 0.0, None))


def nearest_distances(
    queries: ArrayLike, references: ArrayLike, *, exclude_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Returns each query's distance to its nearest reference, and its index.

    Rows are flattened, so images ``(n, 32, 32, 1)`` compare pixel by pixel.
    With ``exclude_self``, ``queries`` and ``references`` are the same set
    and a row is not its own neighbour.

    Returns:
        Distances ``(n,)`` float64 and indices ``(n,)`` into ``references``.
    """
    queries = np.asarray(queries)
    references = np.asarray(references)
    if len(references) == 0:
        raise ValueError("references is empty; expected at least one row.")
    distances = np.empty(len(queries))
    indices = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), _BLOCK):
        block = pairwise_distances(queries[start : start + _BLOCK], references)
        if exclude_self:
            rows = np.arange(block.shape[0])
            block[rows, start + rows] = np.inf
        indices[start : start + _BLOCK] = np.argmin(block, axis=1)
        distances[start : start + _BLOCK] = block[
            np.arange(block.shape[0]), indices[start : start + _BLOCK]
        ]
    return distances, indices


def kth_neighbour_radii(features: ArrayLike, k: int = DEFAULT_K) -> np.ndarray:
    """Returns each row's distance to its k-th nearest other row, ``(n,)``."""
    features = np.asarray(features)
    if not 1 <= k < len(features):
        raise ValueError(
            f"k={k} needs 1 <= k < number of rows ({len(features)}); lower k or "
            "pass more samples."
        )
    radii = np.empty(len(features))
    for start in range(0, len(features), _BLOCK):
        block = pairwise_distances(features[start : start + _BLOCK], features)
        # Column 0 of the sorted row is the row itself, at distance 0.
        radii[start : start + _BLOCK] = np.partition(block, k, axis=1)[:, k]
    return radii


def manifold_coverage(
    queries: ArrayLike, references: ArrayLike, k: int = DEFAULT_K
) -> float:
    """Returns the share of ``queries`` inside some reference's k-NN ball.

    The references' manifold is the union of balls around each reference
    row with radius its distance to its k-th nearest other reference.
    """
    references = np.asarray(references)
    radii = kth_neighbour_radii(references, k)
    queries = np.asarray(queries)
    inside = np.zeros(len(queries), bool)
    for start in range(0, len(queries), _BLOCK):
        block = pairwise_distances(queries[start : start + _BLOCK], references)
        inside[start : start + _BLOCK] = np.any(block <= radii[None, :], axis=1)
    return float(np.mean(inside))


def precision_recall(
    real_features: ArrayLike, fake_features: ArrayLike, k: int = DEFAULT_K
) -> tuple[float, float]:
    """Returns improved precision and recall (Kynkäänniemi et al., 2019).

    Precision is the share of generated rows inside the real rows' manifold:
    how many samples look real. Recall is the share of real rows inside the
    generated rows' manifold: how much of the real data the generator
    covers. Both in [0, 1]; use equal numbers of real and generated rows.

    NOTE: one real outlier with a wide ball can hold many generated rows. The
    classifier maps uniform noise to the all-zero feature vector. At 300
    samples of the bundled data that vector lies inside one real digit's
    ball, so noise scores a precision of 1 (and a recall of 0). At 1,000
    samples it scores 0. Read precision together with
    recall and the Fréchet distance.
    """
    precision = manifold_coverage(fake_features, real_features, k)
    recall = manifold_coverage(real_features, fake_features, k)
    return precision, recall


# All figures at once.


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Figures of one set of generated digits, each beside its real baseline.

    Attributes:
        num_samples: Generated digits evaluated; the real sets have as many.
        frechet: Fréchet distance (squared, as FID) of generated against
            held-out real digits, on classifier features.
        frechet_real: The same between training and held-out real digits:
            what a perfect generator would score with this many samples.
        confident_fraction: Share of generated digits whose top class
            probability is at least 0.9.
        confident_fraction_real: The same for held-out real digits.
        num_classes_present: Digit classes among the predictions, 0 to 10.
        class_entropy: Entropy of the predicted classes in nats, at most
            ln 10 = 2.303.
        class_entropy_real: The same for held-out real digits.
        class_histogram: Generated digits per predicted class, ``(10,)``.
        nearest_train_distance: Median pixel distance of generated digits
            to their nearest training digit.
        nearest_train_distance_real: The same for held-out real digits.
        near_copy_fraction: Share of generated digits closer to a training
            digit than all but 1% of held-out real digits are.
        precision: Share of generated digits on the real digits' manifold.
        recall: Share of real digits on the generated digits' manifold.
        precision_real: Precision of training against held-out digits.
        recall_real: Recall of training against held-out digits.
    """

    num_samples: int
    frechet: float
    frechet_real: float
    confident_fraction: float
    confident_fraction_real: float
    num_classes_present: int
    class_entropy: float
    class_entropy_real: float
    class_histogram: tuple[int, ...]
    nearest_train_distance: float
    nearest_train_distance_real: float
    near_copy_fraction: float
    precision: float
    recall: float
    precision_real: float
    recall_real: float

    def as_dict(self) -> dict[str, Any]:
        """Returns the figures as a dict of plain Python numbers."""
        return dataclasses.asdict(self)

    def report(self) -> str:
        """Returns a table of the figures, each beside its real baseline."""
        rows = [
            ("Fréchet distance (lower is better)", self.frechet, self.frechet_real),
            (
                "confident share",
                self.confident_fraction,
                self.confident_fraction_real,
            ),
            ("classes present", self.num_classes_present, 10),
            ("class entropy, nats", self.class_entropy, self.class_entropy_real),
            (
                "median distance to nearest training digit",
                self.nearest_train_distance,
                self.nearest_train_distance_real,
            ),
            ("near copies of training digits", self.near_copy_fraction, 0.01),
            ("precision", self.precision, self.precision_real),
            ("recall", self.recall, self.recall_real),
        ]
        lines = [f"{'figure':<44} {'generated':>10} {'real':>10}"]
        for name, value, baseline in rows:
            lines.append(f"{name:<44} {_format(value):>10} {_format(baseline):>10}")
        lines.append(f"({self.num_samples} generated and real digits each)")
        return "\n".join(lines)


def _format(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.3f}"


@dataclasses.dataclass(frozen=True)
class RealReference:
    """Real digits and their features, computed once for many evaluations.

    Attributes:
        train_images: Training digits searched for nearest neighbours.
        heldout_images: ``num_samples`` held-out digits, the real side of
            every comparison.
        heldout_features: Classifier features of ``heldout_images``.
        train_sample_features: Features of ``num_samples`` training digits,
            the second real set of the baselines.
        frechet_real: Fréchet distance between the two real sets.
        nearest_train_real: Each held-out digit's distance to its nearest
            training digit.
        precision_real: Precision of the training sample against held-out.
        recall_real: Recall of the training sample against held-out.
        confident_fraction_real: ``confident_fraction`` of the held-out
            digits, from ``classifier.judge_samples``.
        class_entropy_real: ``class_entropy`` of the held-out digits.
    """

    train_images: np.ndarray
    heldout_images: np.ndarray
    heldout_features: np.ndarray
    train_sample_features: np.ndarray
    frechet_real: float
    nearest_train_real: np.ndarray
    precision_real: float
    recall_real: float
    confident_fraction_real: float
    class_entropy_real: float

    @property
    def num_samples(self) -> int:
        return len(self.heldout_images)


def real_reference(
    num_samples: int = 1000,
    *,
    source: str = "bundled",
    seed: int = 0,
    model: classifier.Classifier | None = None,
) -> RealReference:
    """Loads real digits and computes the real-against-real baselines.

    Args:
        num_samples: Held-out digits to compare with, at most the size of the
            test split (1,000 for the bundled data). Evaluate as many
            generated digits: Fréchet distances shrink as sets grow, so only
            figures at equal sizes compare.
        source: Where MNIST comes from, as in ``data.load_mnist``.
        seed: Chooses which digits are drawn.
        model: The classifier; ``None`` loads the shipped weights.
    """
    train = data.load_mnist(source=source, split="train")
    test = data.load_mnist(source=source, split="test")
    smallest = DEFAULT_K + 1  # precision and recall need k other digits
    if not smallest <= num_samples <= min(len(test), len(train)):
        raise ValueError(
            f"num_samples={num_samples} must be between {smallest} and "
            f"{min(len(test), len(train))}, the size of the smaller split."
        )
    model = classifier.default_classifier() if model is None else model
    rng = np.random.default_rng(seed)
    train_images = data.to_float(train.images)
    heldout = data.to_float(test.images[rng.choice(len(test), num_samples, False)])
    train_sample = train_images[rng.choice(len(train_images), num_samples, False)]
    heldout_features = classifier.features(model, heldout)
    train_sample_features = classifier.features(model, train_sample)
    precision_real, recall_real = precision_recall(
        heldout_features, train_sample_features
    )
    judged = classifier.judge_samples(heldout, model)
    return RealReference(
        train_images=train_images,
        heldout_images=heldout,
        heldout_features=heldout_features,
        train_sample_features=train_sample_features,
        frechet_real=frechet_distance(train_sample_features, heldout_features),
        nearest_train_real=nearest_distances(heldout, train_images)[0],
        precision_real=precision_real,
        recall_real=recall_real,
        confident_fraction_real=float(judged["confident_fraction"]),
        class_entropy_real=float(judged["class_entropy"]),
    )


def evaluate(
    images: ArrayLike,
    reference: RealReference | None = None,
    *,
    model: classifier.Classifier | None = None,
) -> Evaluation:
    """Computes every figure of ``images`` against real digits.

    Args:
        images: Generated digits, float32 ``(N, 32, 32, 1)`` in [-1, 1], with
            N equal to ``reference.num_samples``.
        reference: Real digits and baselines from ``real_reference``; ``None``
            computes them for N digits (a few seconds).
        model: The classifier; ``None`` loads the shipped weights.
    """
    images = classifier.check_images(images, "generated images")
    if len(images) <= DEFAULT_K:
        raise ValueError(
            f"Got {len(images)} generated digits; precision and recall need at "
            f"least {DEFAULT_K + 1}."
        )
    model = classifier.default_classifier() if model is None else model
    if reference is None:
        reference = real_reference(len(images), model=model)
    if len(images) != reference.num_samples:
        raise ValueError(
            f"Got {len(images)} generated digits but the reference has "
            f"{reference.num_samples} real ones; evaluate equal numbers, "
            f"or build the reference with real_reference({len(images)})."
        )
    fake_features = classifier.features(model, images)
    judged = classifier.judge_samples(images, model)
    nearest = nearest_distances(images, reference.train_images)[0]
    threshold = np.quantile(reference.nearest_train_real, NEAR_COPY_QUANTILE)
    precision, recall = precision_recall(reference.heldout_features, fake_features)
    return Evaluation(
        num_samples=len(images),
        frechet=frechet_distance(fake_features, reference.heldout_features),
        frechet_real=reference.frechet_real,
        confident_fraction=float(judged["confident_fraction"]),
        confident_fraction_real=reference.confident_fraction_real,
        num_classes_present=int(judged["num_classes_present"]),
        class_entropy=float(judged["class_entropy"]),
        class_entropy_real=reference.class_entropy_real,
        class_histogram=tuple(int(c) for c in judged["class_histogram"]),
        nearest_train_distance=float(np.median(nearest)),
        nearest_train_distance_real=float(np.median(reference.nearest_train_real)),
        near_copy_fraction=float(np.mean(nearest < threshold)),
        precision=precision,
        recall=recall,
        precision_real=reference.precision_real,
        recall_real=reference.recall_real,
    )
