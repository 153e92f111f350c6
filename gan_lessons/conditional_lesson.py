"""Measures, figures, widget and exercise checks of the conditional GAN lesson.

The models, training and generator files are in :mod:`gan_lessons.conditional`.
This module measures whether each label produces its digit (classifier
accuracy by requested label, the confusion matrix, pixel diversity and
Fréchet distances per class), draws the figures and the digit explorer
widget, and checks the lesson's exercises. Images are float32 NHWC
``(batch, 32, 32, 1)`` in [-1, 1] and labels are int32 ``(batch,)`` in
``0..num_classes - 1``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import jax
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from numpy.typing import ArrayLike

from gan_lessons import checking, classifier, data, metrics
from gan_lessons import widgets as playgrounds
from gan_lessons.conditional import (
    NUM_CLASSES,
    PretrainedConditionalGenerator,
    check_positive_int,
)

# Does each label produce its digit?


def class_latents(
    key: jax.Array, num_per_class: int, latent_dim: int, num_classes: int = NUM_CLASSES
) -> tuple[np.ndarray, np.ndarray]:
    """Draws ``num_per_class`` N(0, 1) latent vectors for every label.

    Returns:
        ``(z, labels)``: float32 ``(num_classes * num_per_class, latent_dim)``
        and int32 labels sorted by class, ``num_per_class`` of each.
    """
    check_positive_int("num_per_class", num_per_class)
    z = jax.random.normal(key, (num_classes * num_per_class, latent_dim))
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), num_per_class)
    return np.asarray(z, np.float32), labels


def confusion_matrix(
    requested: ArrayLike, predicted: ArrayLike, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Counts images by requested label (rows) and predicted class (columns).

    Returns:
        int64 ``(num_classes, num_classes)``; entry ``[i, j]`` counts images
        asked to be ``i`` that the classifier reads as ``j``.
    """
    requested = np.asarray(requested)
    predicted = np.asarray(predicted)
    if requested.shape != predicted.shape or requested.ndim != 1:
        raise ValueError(
            f"requested has shape {requested.shape} and predicted "
            f"{predicted.shape}; expected two equal 1-D shapes."
        )
    for name, values in (("requested", requested), ("predicted", predicted)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"{name} labels span {values.min()}..{values.max()}; expected "
                f"0..{num_classes - 1}."
            )
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (requested, predicted), 1)
    return matrix


@dataclasses.dataclass(frozen=True)
class ClassAccuracy:
    """How often the classifier reads each requested label.

    Attributes:
        confusion: int64 ``(10, 10)``, rows the requested label and columns
            the predicted class.
        per_class: float ``(10,)``, the diagonal divided by each row's count.
        accuracy: Share of all images read as their requested label.
    """

    confusion: np.ndarray
    per_class: np.ndarray
    accuracy: float

    def report(self) -> str:
        """Returns one line with the overall and per-class accuracies."""
        classes = ", ".join(
            f"{digit}: {share:.0%}" for digit, share in enumerate(self.per_class)
        )
        return f"accuracy {self.accuracy:.1%} ({classes})"


def accuracy_from_confusion(confusion: np.ndarray) -> ClassAccuracy:
    """Builds a ``ClassAccuracy`` from a confusion matrix with non-empty rows."""
    rows = confusion.sum(axis=1)
    if np.any(rows == 0):
        raise ValueError(
            f"confusion matrix rows {np.flatnonzero(rows == 0)} are empty."
        )
    return ClassAccuracy(
        confusion=confusion,
        per_class=np.diag(confusion) / rows,
        accuracy=float(np.trace(confusion) / rows.sum()),
    )


def class_accuracy(
    generator: PretrainedConditionalGenerator,
    *,
    num_per_class: int = 100,
    seed: int = 0,
    model: classifier.Classifier | None = None,
) -> ClassAccuracy:
    """Generates ``num_per_class`` digits per label and classifies them.

    Args:
        generator: The conditional generator.
        num_per_class: Images per label.
        seed: Seed of the latent vectors.
        model: The classifier; ``None`` loads the shipped one.
    """
    model = classifier.default_classifier() if model is None else model
    z, labels = class_latents(
        jax.random.key(seed), num_per_class, generator.latent_dim, generator.num_classes
    )
    images = np.asarray(generator.generate(z, labels))
    predicted = classifier.predict_proba(model, images).argmax(axis=1)
    return accuracy_from_confusion(
        confusion_matrix(labels, predicted, generator.num_classes)
    )


def real_class_accuracy(
    *, source: str = "bundled", model: classifier.Classifier | None = None
) -> ClassAccuracy:
    """The same figures for the real test digits, the baseline of a generator."""
    model = classifier.default_classifier() if model is None else model
    test = data.load_mnist(source=source, split="test")
    predicted = classifier.predict_proba(model, data.to_float(test.images))
    return accuracy_from_confusion(
        confusion_matrix(test.labels, predicted.argmax(axis=1))
    )


def mean_pairwise_distance(images: ArrayLike) -> float:
    """Returns the mean pixel (L2) distance over all pairs of ``images``.

    Args:
        images: ``(n, ...)`` with ``n >= 2``; each image is flattened.
    """
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    if len(flat) < 2:
        raise ValueError(f"{len(flat)} images; expected at least 2 to form a pair.")
    squared = np.sum(flat**2, axis=1)
    gram = flat @ flat.T
    distances = np.sqrt(np.clip(squared[:, None] + squared[None] - 2 * gram, 0, None))
    count = len(flat)
    return float(distances.sum() / (count * (count - 1)))


@dataclasses.dataclass(frozen=True)
class ClassDiversity:
    """Mean pixel distance between two digits of the same class.

    Attributes:
        generated: float ``(10,)``, between generated digits of each label.
        real: float ``(10,)``, between held-out real digits of each class.
        num_per_class: Digits per class in both sets.
    """

    generated: np.ndarray
    real: np.ndarray
    num_per_class: int


def class_diversity(
    generator: PretrainedConditionalGenerator,
    *,
    num_per_class: int = 50,
    seed: int = 0,
    source: str = "bundled",
) -> ClassDiversity:
    """Measures how different the digits of one label are from each other.

    A generator that ignores ``z`` draws the same digit for every latent
    vector of a label, which classifier accuracy does not notice: its
    distances here are near 0, while real digits of a class differ.
    """
    z, labels = class_latents(
        jax.random.key(seed), num_per_class, generator.latent_dim, generator.num_classes
    )
    images = np.asarray(generator.generate(z, labels))
    test_split = data.load_mnist(source=source, split="test")
    generated, real = [], []
    for digit in range(generator.num_classes):
        generated.append(mean_pairwise_distance(images[labels == digit]))
        index = np.flatnonzero(test_split.labels == digit)[:num_per_class]
        if len(index) < 2:
            raise ValueError(f"class {digit} has {len(index)} held-out digits.")
        real.append(mean_pairwise_distance(data.to_float(test_split.images[index])))
    return ClassDiversity(np.array(generated), np.array(real), num_per_class)


@dataclasses.dataclass(frozen=True)
class ClassFrechet:
    """Fréchet distances per class, each beside its real-against-real value.

    Attributes:
        generated: float ``(10,)``: generated digits of label ``c`` against
            held-out real digits of class ``c``.
        real: float ``(10,)``: training digits of class ``c`` against the
            same held-out digits, with as many digits as ``generated`` used.
        num_per_class: Digits in every set.
    """

    generated: np.ndarray
    real: np.ndarray
    num_per_class: int


def class_frechet(
    generator: PretrainedConditionalGenerator,
    *,
    num_per_class: int = 100,
    seed: int = 0,
    source: str = "bundled",
    model: classifier.Classifier | None = None,
) -> ClassFrechet:
    """Computes the Fréchet distance of each class in classifier features.

    Every class compares three sets of ``num_per_class`` digits: generated
    with that label, held-out real digits of the class and training digits of
    the class. Fréchet distances shrink as sets grow, so only pairs of sets of
    equal size compare. With 100 digits in 128 feature dimensions the
    covariances are singular, so the values are not comparable with the
    1,000-digit figures of ``metrics.evaluate``.

    Raises:
        ValueError: If a class has fewer than ``num_per_class`` held-out
            digits (the bundled test split has 100 per class).
    """
    model = classifier.default_classifier() if model is None else model
    train_split = data.load_mnist(source=source, split="train")
    test_split = data.load_mnist(source=source, split="test")
    rng = np.random.default_rng(seed)
    z, labels = class_latents(
        jax.random.key(seed), num_per_class, generator.latent_dim, generator.num_classes
    )
    generated_features = classifier.features(
        model, np.asarray(generator.generate(z, labels))
    )
    generated, real = [], []
    for digit in range(generator.num_classes):
        heldout_index = np.flatnonzero(test_split.labels == digit)
        train_index = np.flatnonzero(train_split.labels == digit)
        if min(len(heldout_index), len(train_index)) < num_per_class:
            raise ValueError(
                f"class {digit} has {len(heldout_index)} held-out and "
                f"{len(train_index)} training digits; num_per_class="
                f"{num_per_class} needs that many of each."
            )
        heldout = data.to_float(
            test_split.images[rng.choice(heldout_index, num_per_class, False)]
        )
        train_sample = data.to_float(
            train_split.images[rng.choice(train_index, num_per_class, False)]
        )
        heldout_features = classifier.features(model, heldout)
        train_features = classifier.features(model, train_sample)
        rows = labels == digit
        generated.append(
            metrics.frechet_distance(generated_features[rows], heldout_features)
        )
        real.append(metrics.frechet_distance(train_features, heldout_features))
    return ClassFrechet(np.array(generated), np.array(real), num_per_class)


# Figures.


def digit_rows(
    generator: PretrainedConditionalGenerator, num_styles: int, *, seed: int = 0
) -> np.ndarray:
    """Renders every label for each of ``num_styles`` latent vectors.

    Returns:
        Images ``(num_styles * num_classes, 32, 32, 1)``: row ``r`` of a
        ``num_classes``-column grid is one latent vector across all labels.
    """
    check_positive_int("num_styles", num_styles)
    z = np.asarray(generator.sample_latent(jax.random.key(seed), num_styles))
    classes = generator.num_classes
    return np.asarray(
        generator.generate(
            np.repeat(z, classes, axis=0),
            np.tile(np.arange(classes, dtype=np.int32), num_styles),
        )
    )


def plot_confusion_matrix(result: ClassAccuracy, *, title: str = "") -> Figure:
    """Draws the confusion matrix as row shares, with the count in each cell."""
    confusion = result.confusion
    shares = confusion / confusion.sum(axis=1, keepdims=True)
    figure = Figure(figsize=(5.0, 4.3), layout="constrained")
    axes = figure.add_subplot()
    heatmap = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, column), count in np.ndenumerate(confusion):
        if count:
            colour = "white" if shares[row, column] > 0.5 else "black"
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color=colour,
            )
    ticks = np.arange(len(confusion))
    axes.set_xticks(ticks)
    axes.set_yticks(ticks)
    axes.set_xlabel("class read by the classifier")
    axes.set_ylabel("requested label")
    axes.set_title(title or f"accuracy {result.accuracy:.1%}")
    figure.colorbar(heatmap, ax=axes, label="share of the row")
    return figure


def plot_class_frechet(result: ClassFrechet) -> Figure:
    """Draws the generated and real-against-real Fréchet distance per class."""
    figure = Figure(figsize=(7.0, 3.0), layout="constrained")
    axes = figure.add_subplot()
    classes = np.arange(len(result.generated))
    axes.bar(classes - 0.2, result.generated, width=0.4, label="generated vs real")
    axes.bar(classes + 0.2, result.real, width=0.4, label="real vs real")
    axes.set_xticks(classes)
    axes.set_xlabel("class")
    axes.set_ylabel("Fréchet distance")
    axes.set_title(f"{result.num_per_class} digits per set and class")
    # Headroom above the tallest bar keeps the legend clear of the bars.
    axes.set_ylim(0, 1.35 * max(result.generated.max(), result.real.max()))
    axes.legend(loc="upper left", ncols=2)
    return figure


# Widget.


class DigitExplorer(playgrounds.Playground):
    """Buttons choose the digit and sliders move the first latent coordinates.

    The large image is ``G(z, y)`` for the chosen label ``y``. The row below
    keeps the same ``z``, the style, and shows it with every label, with a
    frame around the chosen one. ``z`` starts as a draw from the prior with
    the seed in the box, and slider ``i`` replaces its coordinate ``i``.

    Args:
        generator: A conditional generator, such as ``load_generator()``.
        num_sliders: Number of latent coordinates on sliders, 1 to 8.
        seed: Seed of the starting latent vector.
        digit: The label chosen at the start.
        name: Key of the explorer; building one of the same name closes the
            previous one.
    """

    _figure_size = (6.0, 3.6)

    def __init__(
        self,
        generator: PretrainedConditionalGenerator,
        *,
        num_sliders: int = 4,
        seed: int = 0,
        digit: int = 0,
        name: str = "digit_explorer",
    ):
        if isinstance(num_sliders, bool) or num_sliders not in range(1, 9):
            raise ValueError(f"num_sliders={num_sliders!r}; expected 1 to 8.")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer.")
        if digit not in range(generator.num_classes):
            raise ValueError(
                f"digit={digit!r}; expected 0 to {generator.num_classes - 1}."
            )
        self.generator = generator
        self._seed = seed
        self._base = self._latent_of_seed(seed)
        super().__init__(name)

        self.digit_buttons = widgets.ToggleButtons(
            options=[str(i) for i in range(generator.num_classes)],
            value=str(digit),
            description="digit",
            style={"button_width": "28px"},
        )
        self.sliders = [
            widgets.FloatSlider(
                value=float(self._base[i]),
                min=-3.0,
                max=3.0,
                step=0.1,
                description=f"z[{i}]",
                style={"description_width": "initial"},
            )
            for i in range(num_sliders)
        ]
        self.seed_box = widgets.IntText(value=seed, description="seed")
        self.digit_buttons.observe(self._guarded(self._on_change), names="value")
        for slider in self.sliders:
            slider.observe(self._guarded(self._on_change), names="value")
        self.seed_box.observe(self._guarded(self._on_seed), names="value")
        self.box = widgets.VBox(
            [
                self.digit_buttons,
                widgets.HBox(self.sliders[:4]),
                widgets.HBox(self.sliders[4:]),
                self.seed_box,
                self.status,
                self.image,
            ]
        )
        self._register()
        self.redraw(full=True)

    @property
    def digit(self) -> int:
        """The chosen label."""
        return int(self.digit_buttons.value)

    @property
    def latent(self) -> np.ndarray:
        """The latent vector on display, float32 ``(latent_dim,)``."""
        z = self._base.copy()
        for i, slider in enumerate(self.sliders):
            z[i] = slider.value
        return z

    def set_digit(self, digit: int) -> None:
        """Chooses ``digit`` and redraws."""
        self.digit_buttons.value = str(digit)

    def rendered_row(self) -> np.ndarray:
        """Renders the current latent with every label, ``(10, 32, 32, 1)``."""
        classes = self.generator.num_classes
        z = np.repeat(self.latent[None], classes, axis=0)
        return np.asarray(
            self.generator.generate(z, np.arange(classes, dtype=np.int32))
        )

    def _latent_of_seed(self, seed: int) -> np.ndarray:
        z = self.generator.sample_latent(jax.random.key(seed), 1)[0]
        return np.asarray(z, np.float32).copy()

    def _build_figure(self) -> None:
        classes = self.generator.num_classes
        grid = self.figure.add_gridspec(2, classes, height_ratios=(3, 1))
        main = self.figure.add_subplot(grid[0, :])
        main.set_axis_off()
        blank = np.zeros(self.generator.image_shape[:2])
        self._main_image = main.imshow(blank, cmap="gray", vmin=-1.0, vmax=1.0)
        self._row_images, self._frames = [], []
        for digit in range(classes):
            axes = self.figure.add_subplot(grid[1, digit])
            axes.set_axis_off()
            axes.set_title(str(digit), fontsize=9)
            self._row_images.append(
                axes.imshow(blank, cmap="gray", vmin=-1.0, vmax=1.0)
            )
            frame = Rectangle(
                (0.0, 0.0),
                1.0,
                1.0,
                transform=axes.transAxes,
                fill=False,
                edgecolor="tab:orange",
                linewidth=3,
                clip_on=False,
            )
            axes.add_patch(frame)
            self._frames.append(frame)
        self._animated = [self._main_image, *self._row_images, *self._frames]

    def _update_artists(self) -> None:
        row = self.rendered_row()[..., 0]
        self._main_image.set_data(row[self.digit])
        for digit, (image, frame) in enumerate(
            zip(self._row_images, self._frames, strict=True)
        ):
            image.set_data(row[digit])
            frame.set_visible(digit == self.digit)
        self.status.value = f"digit {self.digit}, seed {self._seed}"

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()

    def _on_seed(self, change: dict[str, Any]) -> None:
        seed = change["new"]
        if seed is None or seed < 0:
            self.seed_box.value = self._seed
            return
        self._seed = int(seed)
        self._base = self._latent_of_seed(self._seed)
        for i, slider in enumerate(self.sliders):
            slider.value = float(np.clip(self._base[i], slider.min, slider.max))
        self.redraw()


# Exercise checks.


def _one_hot_inputs(rng: np.random.Generator) -> tuple:
    batch = int(rng.integers(2, 7))
    z = rng.normal(size=(batch, int(rng.integers(3, 9)))).astype(np.float32)
    labels = rng.integers(0, 10, size=batch)
    return z, labels.astype(np.int32), 10


def _reference_condition_latent(z, labels, num_classes):
    return np.concatenate([z, np.eye(num_classes)[labels]], axis=1)


_CONDITION_MISTAKES = (
    checking.Mistake(
        "one-hot first",
        lambda z, y, k: np.concatenate([np.eye(k)[y], z], axis=1),
        "the one-hot code comes first. Put z first and the code after it, so "
        "the latent part keeps its columns.",
    ),
    checking.Mistake(
        "label as a number",
        lambda z, y, k: np.concatenate([z, y[:, None].astype(np.float32)], axis=1),
        "the label went in as one number. The generator would read 9 as 'more' "
        "than 1; give each class its own column with a one-hot code.",
    ),
    checking.Mistake(
        "one-hot only",
        lambda z, y, k: np.eye(k)[y],
        "the latent vector is missing. The generator needs both z and the code.",
    ),
    checking.Mistake(
        "one-hot too wide",
        lambda z, y, k: np.concatenate([z, np.eye(k + 1)[y]], axis=1),
        "the code has one column too many. Labels 0 to 9 need 10 columns.",
    ),
)


def _shape_mistake(
    candidate: Callable[..., Any],
    make_inputs: Callable[[np.random.Generator], tuple],
    mistakes: Sequence[checking.Mistake],
) -> checking.Mistake | None:
    """Returns the mistake that matches a result of another shape, if any.

    ``checking.check_function`` reports any wrong shape with one generic
    message, but some typical mistakes here change the shape.
    """
    inputs = make_inputs(np.random.default_rng(1))
    try:
        result = np.asarray(candidate(*inputs), dtype=np.float64)
    except Exception:  # noqa: BLE001 - check_function reports the error
        return None
    for mistake in mistakes:
        wrong = np.asarray(mistake.answer(*inputs), dtype=np.float64)
        if wrong.shape == result.shape and np.allclose(wrong, result, atol=1e-4):
            return mistake
    return None


def check_condition_latent(condition_latent: Callable[..., Any]) -> bool:
    """Checks ``condition_latent(z, labels, num_classes)``: z, then one-hot."""
    mistake = _shape_mistake(condition_latent, _one_hot_inputs, _CONDITION_MISTAKES)
    if mistake is not None:
        print(f"Not quite: {mistake.hint}")
        return False
    return checking.check_function(
        condition_latent,
        _reference_condition_latent,
        _one_hot_inputs,
        name="condition_latent",
        mistakes=_CONDITION_MISTAKES,
        hint="Expected an array (batch, latent_dim + num_classes): the rows of "
        "z followed by a one-hot code of each label.",
    )


def _projection_inputs(rng: np.random.Generator) -> tuple:
    batch = int(rng.integers(2, 6))
    feature_dim = int(rng.integers(3, 8))
    features = rng.normal(size=(batch, feature_dim)).astype(np.float32)
    unconditional = rng.normal(size=batch).astype(np.float32)
    embedding = rng.normal(size=(10, feature_dim)).astype(np.float32)
    labels = rng.integers(0, 10, size=batch).astype(np.int32)
    return unconditional, features, embedding, labels


def _reference_projection_logit(unconditional, features, embedding, labels):
    return unconditional + np.sum(embedding[labels] * features, axis=1)


_PROJECTION_MISTAKES = (
    checking.Mistake(
        "projection only",
        lambda u, f, e, y: np.sum(e[y] * f, axis=1),
        "the unconditional term is missing. The projection is added to the "
        "ordinary logit, which still judges whether the image looks real at all.",
    ),
    checking.Mistake(
        "unconditional only",
        lambda u, f, e, y: u,
        "the label does not change the result. Add the inner product of the "
        "label's embedding row with the features.",
    ),
    checking.Mistake(
        "every class",
        lambda u, f, e, y: u + np.sum(f @ e.T, axis=1),
        "the result sums the projection over all classes. Use only the row of "
        "each image's own label, embedding[labels].",
    ),
    checking.Mistake(
        "embedding without features",
        lambda u, f, e, y: u + np.sum(e[y], axis=1),
        "the embedding row is summed on its own. Multiply it with the image's "
        "features first, an inner product.",
    ),
)


def check_projection_logit(projection_logit: Callable[..., Any]) -> bool:
    """Checks ``projection_logit(unconditional, features, embedding, labels)``."""
    return checking.check_function(
        projection_logit,
        _reference_projection_logit,
        _projection_inputs,
        name="projection_logit",
        mistakes=_PROJECTION_MISTAKES,
        hint="Expected one logit per image, (batch,): the unconditional logit "
        "plus the inner product of embedding[label] with the features.",
    )


def check_label_blind_accuracy(answer: Any) -> bool:
    """Checks the accuracy by requested label of a generator that ignores labels.

    The generator draws perfect digits of the ten classes in equal shares,
    whatever label it is given, and the classifier is always right.
    """
    return checking.check_number(
        answer,
        0.1,
        tolerance=0.005,
        mistakes=(
            checking.Mistake(
                "perfect digits",
                1.0,
                "the classifier reads every digit right, but it compares with "
                "the requested label, and the generator ignored it.",
            ),
            checking.Mistake(
                "zero",
                0.0,
                "the generator ignores the label, but some digits still match "
                "it by chance. How often?",
            ),
            checking.Mistake(
                "percent",
                10.0,
                "give the accuracy as a share between 0 and 1, not in percent.",
            ),
        ),
        hint="Each digit has the requested class with some probability; "
        "what is it when all ten classes are equally likely?",
        name="label_blind_accuracy",
    )
