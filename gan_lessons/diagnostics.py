"""Detecting failing GAN training: mode coverage, alerts and pictures of a run.

``FailureDetector`` reads the metrics dict of each training step (the one that
``train.GAN.train_step`` and ``toy.ToyGAN.train_round`` return) and, when given,
a coverage figure in [0, 1]. It raises an ``Alert`` when one of these rules
is true. The thresholds are the named constants below.

* ``non_finite``: a metric is NaN or infinite.
* ``discriminator_saturation``: D(x) >= ``SATURATED_D_REAL`` and D(G(z)) <=
  ``SATURATED_D_FAKE`` at ``SATURATION_PATIENCE`` steps in a row.
* ``vanishing_gradient``: the running median of the generator's gradient
  norm falls below ``VANISHED_GRADIENT_FRACTION`` of its largest value so far
  while D(G(z)) stays at most ``SATURATED_D_FAKE``. Without D(x) and D(G(z))
  in the metrics, the gradient alone decides.
* ``weak_discriminator``: over ``WEAK_DISCRIMINATOR_WINDOW`` steps, D rates
  generated samples more real than real ones by ``WEAK_DISCRIMINATOR_MARGIN``.
* ``mode_collapse``: the coverage stays below ``COLLAPSED_COVERAGE`` for
  ``COVERAGE_PATIENCE`` checks, or falls below ``COVERAGE_DROP_FRACTION`` of
  its best value after that value reached ``COLLAPSED_COVERAGE``.
* ``oscillation``: the smoothed D(G(z)) swings back and forth by more than
  ``OSCILLATION_AMPLITUDE`` within ``OSCILLATION_WINDOW`` steps.

``modes_covered`` measures the coverage of a toy mixture such as the ring of
eight Gaussians (Metz et al., 2017, "Unrolled Generative Adversarial
Networks"), and ``sample_diversity`` the spread of a batch of images.
``record_toy_run`` and ``record_image_run`` train while they record metrics,
coverage and snapshots of the discriminator, and feed a detector as they go.
The last section contains the checks of the exercises of lesson 5.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets
import jax
import numpy as np
from IPython import display as ipython_display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from gan_lessons import checking, metrics, plotting, toy, train
from gan_lessons.data import BatchStream

logger = logging.getLogger(__name__)

# Failure kinds, the ``failure`` field of an ``Alert``.
NON_FINITE = "non_finite"
SATURATION = "discriminator_saturation"
VANISHING_GRADIENT = "vanishing_gradient"
WEAK_DISCRIMINATOR = "weak_discriminator"
MODE_COLLAPSE = "mode_collapse"
OSCILLATION = "oscillation"
FAILURES = (
    NON_FINITE,
    SATURATION,
    VANISHING_GRADIENT,
    WEAK_DISCRIMINATOR,
    MODE_COLLAPSE,
    OSCILLATION,
)

# Thresholds of the detector. Steps are calls of ``FailureDetector.update``:
# training steps of the image GAN, rounds of the toy GAN.
# NOTE: on the healthy default MNIST run (dcgan preset, width 32, 3,000
# steps), the saturation rule fired at steps 48, 256 and 458 and the
# oscillation rule five times. On image GANs, read these two as hints, not
# verdicts. Coverage stayed at 10 classes and raised nothing.

# The discriminator is saturated at a step where its mean output is at least
# SATURATED_D_REAL on real samples and at most SATURATED_D_FAKE on generated
# ones, that is where it separates them with at least 90% confidence.
SATURATED_D_REAL = 0.9
SATURATED_D_FAKE = 0.1
# Saturated steps in a row before the saturation alert.
SATURATION_PATIENCE = 20
# Steps in the running median of the generator's gradient norm. A median
# ignores the single large gradients of an unlucky batch.
GRADIENT_WINDOW = 10
# The generator's gradient has vanished when its running median is below
# this fraction of the largest running median so far: a tenfold drop. With
# the minimax loss, dL/dlogit = -D(G(z)), so the drop follows D(G(z)).
VANISHED_GRADIENT_FRACTION = 0.1
# Steps over which the mean D(x) and D(G(z)) are compared, and the margin by
# which D(G(z)) must exceed D(x) for the weak-discriminator alert. A
# discriminator that trains as fast as the generator usually keeps D(G(z)) below D(x),
# both meeting at 1/2 at the equilibrium.
WEAK_DISCRIMINATOR_WINDOW = 20
WEAK_DISCRIMINATOR_MARGIN = 0.1
# Coverage is a fraction in [0, 1]: modes covered over modes, digit classes
# present over 10, or recall. Below COLLAPSED_COVERAGE at COVERAGE_PATIENCE
# checks in a row, or below COVERAGE_DROP_FRACTION of a best coverage of at
# least COLLAPSED_COVERAGE, the generator has collapsed.
COLLAPSED_COVERAGE = 0.5
COVERAGE_PATIENCE = 3
COVERAGE_DROP_FRACTION = 0.5
# The oscillation rule looks at the last OSCILLATION_WINDOW values of D(G(z)),
# smoothed by a moving average over OSCILLATION_SMOOTHING steps, which removes
# the noise of single batches. It fires when the smoothed values span more
# than OSCILLATION_AMPLITUDE and cross from a quarter of that amplitude below
# their mean to a quarter above it, or back, at least OSCILLATION_SWINGS times.
# A trend, such as D(G(z)) falling while the discriminator learns, makes one
# crossing and does not count.
OSCILLATION_WINDOW = 200
OSCILLATION_SMOOTHING = 10
OSCILLATION_AMPLITUDE = 0.1
OSCILLATION_SWINGS = 3
# After an alert, the same failure is reported again only once its condition
# has cleared and at least this many steps have passed.
ALERT_INTERVAL = 200

# Coverage of a toy mixture. A sample is near a mode when it lies within
# COVERAGE_NUM_STDS standard deviations of the mode's mean: 98.9% of the
# samples of an isotropic 2D Gaussian do, since P(r <= 3 std) = 1 - exp(-4.5).
COVERAGE_NUM_STDS = 3.0
# A mode is covered when at least this fraction of its fair share of the
# samples (its mixture weight times the number of samples) lies near it.
MIN_MODE_FRACTION = 0.2

# Standard deviation of each mode of the lesson's ring. Eight modes of
# standard deviation 0.1 on a circle of radius 2 sit 15 standard deviations
# apart, so the 3-standard-deviation discs never overlap.
LESSON_RING_STD = 0.1
# Half the width of the square on which snapshots evaluate D(x) around the ring.
GRID_LIMIT = 3.0
GRID_SIZE = 60
# Colour range of the D(x) heatmaps. A discriminator chasing a generator
# mostly stays between 0.2 and 0.8, which a range of [0, 1] would draw nearly
# white. Values outside the range take the end colours.
HEATMAP_RANGE = (0.2, 0.8)
# Seed offset of the fixed latent vectors on which a run's coverage is measured.
_EVALUATION_SEED_OFFSET = 30_000


def lesson_ring() -> toy.GaussianMixture:
    """Returns the ring of lesson 5: eight Gaussians, radius 2, std 0.1."""
    return toy.ring(num_modes=8, radius=2.0, std=LESSON_RING_STD)


# Coverage.


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    """How many modes of a mixture a set of samples covers.

    Attributes:
        covered: Number of covered modes.
        num_modes: Number of modes of the mixture.
        counts: Samples near each mode, ``(num_modes,)``. A sample near two
            modes counts for the one it is nearer, in standard deviations.
        high_quality_fraction: Share of the samples that lie near some mode.
        num_samples: Number of samples.
    """

    covered: int
    num_modes: int
    counts: tuple[int, ...]
    high_quality_fraction: float
    num_samples: int

    @property
    def fraction(self) -> float:
        """Covered modes over all modes, in [0, 1]."""
        return self.covered / self.num_modes


def modes_covered(
    points: ArrayLike,
    data: toy.GaussianMixture,
    *,
    num_stds: float = COVERAGE_NUM_STDS,
    min_fraction: float = MIN_MODE_FRACTION,
) -> ModeCoverage:
    """Counts the modes of ``data`` that ``points`` cover.

    A point is near a mode when its distance to the mode's mean, measured in
    the mode's standard deviations, is at most ``num_stds``. A mode with
    weight ``w`` is covered when at least
    ``max(1, ceil(min_fraction * w * num_points))`` points are near it.

    Args:
        points: Samples ``(n, dim)``, ``n >= 1``.
        data: The mixture whose modes are counted.
        num_stds: Radius of the neighbourhood of a mode, in standard deviations.
        min_fraction: Fraction of a mode's fair share of the points that
            covers it, in (0, 1].

    Returns:
        The coverage.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] != data.dim:
        raise ValueError(
            f"points have shape {points.shape}; expected (n, {data.dim}) with n >= 1."
        )
    if not num_stds > 0:
        raise ValueError(f"num_stds={num_stds!r} must be positive.")
    if not 0 < min_fraction <= 1:
        raise ValueError(f"min_fraction={min_fraction!r} must be in (0, 1].")
    means = np.asarray(data.means, np.float64)
    stds = np.asarray(data.stds, np.float64)
    # (n, modes): each point's distance to each mode, in standard deviations.
    scaled = (points[:, None, :] - means[None, :, :]) / stds[None, :, :]
    distances = np.sqrt(np.sum(scaled**2, axis=-1))
    nearest = np.argmin(distances, axis=1)
    near = distances[np.arange(len(points)), nearest] <= num_stds
    counts = np.bincount(nearest[near], minlength=len(means))
    weights = np.asarray(data.weights, np.float64)
    required = np.maximum(
        1, np.ceil(min_fraction * weights / weights.sum() * len(points))
    )
    return ModeCoverage(
        covered=int(np.sum(counts >= required)),
        num_modes=len(means),
        counts=tuple(int(c) for c in counts),
        high_quality_fraction=float(np.mean(near)),
        num_samples=len(points),
    )


def sample_diversity(images: ArrayLike, max_samples: int = 256) -> float:
    """Returns the median pixel distance between two different images.

    A collapsed generator draws nearly the same image for every latent vector,
    so its diversity is far below that of real images, even before its images
    look like anything.

    Args:
        images: ``(n, height, width, channels)`` with ``n >= 2``, NHWC, in
            [-1, 1]. Only the first ``max_samples`` are used.
        max_samples: Largest number of images compared, pair by pair.

    Returns:
        The median Euclidean distance over all pairs, in pixel units.
    """
    images = np.asarray(images)[:max_samples]
    if len(images) < 2:
        raise ValueError(
            f"Got {len(images)} image(s); sample_diversity needs at least 2."
        )
    distances = metrics.pairwise_distances(images, images)
    upper = np.triu_indices(len(images), k=1)
    return float(np.median(distances[upper]))


# The detector.


@dataclasses.dataclass(frozen=True)
class Alert:
    """One detected failure.

    Attributes:
        step: The step at which the failure was detected.
        failure: One of ``FAILURES``.
        metric: The metric that shows it, such as ``"d_fake"``.
        value: That metric's value at ``step``, or the statistic the rule
            compared (a median, a mean difference, an amplitude).
        message: What was observed, with the numbers.
        remedy: What usually helps.
    """

    step: int
    failure: str
    metric: str
    value: float
    message: str
    remedy: str

    def __str__(self) -> str:
        return (
            f"[step {self.step}] {self.failure}: {self.message} Remedy: {self.remedy}"
        )


_REMEDIES = {
    NON_FINITE: "Lower the learning rates, check that the inputs are in [-1, 1] "
    "and that the losses are computed from logits, and restart from the last "
    "finite checkpoint.",
    SATURATION: "Use the non-saturating generator loss, so the generator still "
    "gets gradients, smooth the real labels (label_smoothing=0.1), or slow the "
    "discriminator down with a lower learning rate or fewer steps.",
    VANISHING_GRADIENT: "Switch to the non-saturating generator loss, whose "
    "gradient stays large when D(G(z)) is near 0, or weaken the discriminator.",
    WEAK_DISCRIMINATOR: "Let the discriminator keep up: raise its learning rate "
    "or give it more steps per generator step.",
    MODE_COLLAPSE: "Strengthen the discriminator (a higher learning rate or more "
    "steps per generator step), or lower the generator's learning rate.",
    OSCILLATION: "Lower both learning rates or Adam's beta1, and give the "
    "discriminator at least as many steps as the generator.",
}


class FailureDetector:
    """Watches a run's metrics step by step and raises alerts on failures.

    Feed it every step with ``update``. The module docstring lists the
    rules and thresholds. A rule whose metric is missing is skipped, so a run
    without a gradient norm is still checked for the other failures.

    Example:
        >>> detector = FailureDetector(verbose=True)
        >>> for step in range(1, steps + 1):
        ...     state, metrics = gan.train_step(state, stream.batch_at(step))
        ...     detector.update(step, metrics)

    Attributes:
        alerts: Every alert so far, in order.
        warmup_steps: Steps before which the coverage and oscillation rules
            stay silent. Early training moves fast and covers few modes by
            nature; the other rules apply from the first step.
        verbose: Print each alert when it is raised. Alerts are also logged
            at INFO level.
    """

    def __init__(self, *, warmup_steps: int = 0, verbose: bool = False):
        if not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"warmup_steps={warmup_steps!r} must be an integer >= 0.")
        self.warmup_steps = warmup_steps
        self.verbose = verbose
        self.alerts: list[Alert] = []
        self._saturated_streak = 0
        self._gradient_norms: collections.deque[float] = collections.deque(
            maxlen=GRADIENT_WINDOW
        )
        self._peak_gradient_median = 0.0
        window = max(OSCILLATION_WINDOW, WEAK_DISCRIMINATOR_WINDOW, GRADIENT_WINDOW)
        self._d_real: collections.deque[float] = collections.deque(maxlen=window)
        self._d_fake: collections.deque[float] = collections.deque(maxlen=window)
        self._best_coverage = 0.0
        self._low_coverage_streak = 0
        self._armed = dict.fromkeys(FAILURES, True)
        self._last_alert_step: dict[str, int] = {}

    @property
    def failures(self) -> set[str]:
        """The failure kinds raised so far."""
        return {alert.failure for alert in self.alerts}

    def first_alert(self, failure: str) -> Alert | None:
        """Returns the first alert of kind ``failure``, or ``None``."""
        for alert in self.alerts:
            if alert.failure == failure:
                return alert
        return None

    def update(
        self,
        step: int,
        metrics: Mapping[str, ArrayLike] | None = None,
        *,
        coverage: float | None = None,
    ) -> list[Alert]:
        """Checks one step's metrics and, when given, its coverage.

        Args:
            step: The step number; alerts carry it.
            metrics: Scalar metrics by name, such as ``d_real``, ``d_fake``,
                ``generator_grad_norm`` and the losses. Arrays of shape ``()``
                are read with ``float``.
            coverage: A coverage figure in [0, 1] measured at this step, or
                ``None`` when none was measured.

        Returns:
            The alerts raised at this step, also appended to ``alerts``.
        """
        values = {name: _scalar(name, value) for name, value in (metrics or {}).items()}
        if coverage is not None:
            values["coverage"] = _scalar("coverage", coverage)
        new: list[Alert] = []
        bad = {
            name: value for name, value in values.items() if not math.isfinite(value)
        }
        self._check(
            new,
            step,
            NON_FINITE,
            bool(bad),
            lambda: (
                next(iter(bad)),
                next(iter(bad.values())),
                f"{_format_values(bad)} at this step: training has diverged.",
            ),
        )
        finite = {name: value for name, value in values.items() if name not in bad}
        has_outputs = "d_real" in finite and "d_fake" in finite
        if has_outputs:
            self._d_real.append(finite["d_real"])
            self._d_fake.append(finite["d_fake"])
            self._check_saturation(new, step, finite["d_real"], finite["d_fake"])
            self._check_weak_discriminator(new, step)
            self._check_oscillation(new, step)
        if "generator_grad_norm" in finite:
            self._gradient_norms.append(finite["generator_grad_norm"])
            self._check_gradient(new, step, has_outputs)
        if "coverage" in finite:
            self._check_coverage(new, step, finite["coverage"])
        return new

    def feed_history(
        self,
        history: Mapping[str, Sequence[float]],
        *,
        steps: Sequence[int] | None = None,
        coverage: Mapping[int, float] | None = None,
    ) -> list[Alert]:
        """Feeds a recorded history to ``update``, one step at a time.

        Args:
            history: Metric name to values, all of the same length.
            steps: The step of each value; ``None`` numbers them from 1.
            coverage: Coverage by step, fed with the metrics of that step.

        Returns:
            The alerts raised.
        """
        lengths = {name: len(values) for name, values in history.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"History lengths differ: {lengths}; expected one value per step."
            )
        count = next(iter(lengths.values()), 0)
        steps = list(range(1, count + 1)) if steps is None else list(steps)
        if len(steps) != count:
            raise ValueError(f"Got {len(steps)} steps for {count} values per metric.")
        coverage = dict(coverage or {})
        new = []
        for index, step in enumerate(steps):
            values = {name: history[name][index] for name in history}
            new += self.update(step, values, coverage=coverage.get(step))
        return new

    def report(self) -> str:
        """Returns one line per failure kind raised: its count and first step."""
        if not self.alerts:
            return "No alerts."
        lines = []
        for failure in FAILURES:
            raised = [alert for alert in self.alerts if alert.failure == failure]
            if raised:
                lines.append(
                    f"{failure}: {len(raised)} alert(s), first at step {raised[0].step}"
                )
        return "\n".join(lines)

    # Rules.

    def _check_saturation(self, new, step, d_real, d_fake) -> None:
        saturated = d_real >= SATURATED_D_REAL and d_fake <= SATURATED_D_FAKE
        self._saturated_streak = self._saturated_streak + 1 if saturated else 0
        streak = self._saturated_streak
        self._check(
            new,
            step,
            SATURATION,
            streak >= SATURATION_PATIENCE,
            lambda: (
                "d_fake",
                d_fake,
                f"D(x) >= {SATURATED_D_REAL} and D(G(z)) <= {SATURATED_D_FAKE} for "
                f"{streak} steps in a row (now D(x) = {d_real:.3f}, D(G(z)) = "
                f"{d_fake:.3g}): the discriminator rejects the generated samples "
                "with confidence.",
            ),
        )

    def _check_gradient(self, new, step, has_outputs: bool) -> None:
        if len(self._gradient_norms) < GRADIENT_WINDOW:
            return
        median = float(np.median(self._gradient_norms))
        peak = self._peak_gradient_median = max(self._peak_gradient_median, median)
        if has_outputs:
            mean_d_fake = float(np.mean(list(self._d_fake)[-GRADIENT_WINDOW:]))
            winning = mean_d_fake <= SATURATED_D_FAKE
            context = f", while the mean D(G(z)) is {mean_d_fake:.3g}"
        else:
            winning, context = True, ""
        self._check(
            new,
            step,
            VANISHING_GRADIENT,
            median < VANISHED_GRADIENT_FRACTION * peak and winning,
            lambda: (
                "generator_grad_norm",
                median,
                f"the generator's gradient norm (median of {GRADIENT_WINDOW} "
                f"steps) fell to {median:.3g}, {median / peak:.1%} of its peak "
                f"{peak:.3g}{context}.",
            ),
        )

    def _check_weak_discriminator(self, new, step) -> None:
        if len(self._d_fake) < WEAK_DISCRIMINATOR_WINDOW:
            return
        window = WEAK_DISCRIMINATOR_WINDOW
        real = float(np.mean(list(self._d_real)[-window:]))
        fake = float(np.mean(list(self._d_fake)[-window:]))
        self._check(
            new,
            step,
            WEAK_DISCRIMINATOR,
            fake - real > WEAK_DISCRIMINATOR_MARGIN,
            lambda: (
                "d_fake",
                fake - real,
                f"over {window} steps the mean D(G(z)) = {fake:.3f} exceeds the "
                f"mean D(x) = {real:.3f}: the discriminator rates generated "
                "samples more real than real ones, so it cannot guide the "
                "generator.",
            ),
        )

    def _check_oscillation(self, new, step) -> None:
        if step < self.warmup_steps or len(self._d_fake) < OSCILLATION_WINDOW:
            return
        amplitude, swings = oscillation_statistics(self._d_fake)
        self._check(
            new,
            step,
            OSCILLATION,
            amplitude > OSCILLATION_AMPLITUDE and swings >= OSCILLATION_SWINGS,
            lambda: (
                "d_fake",
                amplitude,
                f"over {OSCILLATION_WINDOW} steps the smoothed D(G(z)) spans "
                f"{amplitude:.2f} and swung {swings} times: the two networks "
                "chase each other instead of converging.",
            ),
        )

    def _check_coverage(self, new, step, coverage: float) -> None:
        best = self._best_coverage = max(self._best_coverage, coverage)
        if step < self.warmup_steps:
            return
        low = coverage < COLLAPSED_COVERAGE
        self._low_coverage_streak = self._low_coverage_streak + 1 if low else 0
        streak = self._low_coverage_streak
        # A drop counts only from a coverage that was once good, so a
        # generator that never spread out is left to the streak.
        dropped = (
            best >= COLLAPSED_COVERAGE and coverage < COVERAGE_DROP_FRACTION * best
        )
        if dropped:
            description = f"coverage fell to {coverage:.2f} from its best {best:.2f}."
        else:
            description = (
                f"coverage stayed below {COLLAPSED_COVERAGE} for {streak} checks "
                f"in a row (now {coverage:.2f}): the generator draws from few "
                "modes."
            )
        self._check(
            new,
            step,
            MODE_COLLAPSE,
            dropped or streak >= COVERAGE_PATIENCE,
            lambda: ("coverage", coverage, description),
            cleared=not low and not dropped,
        )

    def _check(
        self,
        new: list[Alert],
        step: int,
        failure: str,
        condition: bool,
        describe,
        *,
        cleared: bool | None = None,
    ):
        """Raises an alert of ``failure`` when ``condition`` is true and it is due.

        ``describe`` returns ``(metric, value, message)``; it is called only
        when an alert is raised. ``cleared`` re-arms the alert; ``None``
        means ``not condition``.
        """
        if cleared is None:
            cleared = not condition
        if cleared:
            self._armed[failure] = True
        if not condition:
            return
        last = self._last_alert_step.get(failure)
        if not self._armed[failure] or (
            last is not None and step - last < ALERT_INTERVAL
        ):
            return
        metric, value, message = describe()
        alert = Alert(step, failure, metric, float(value), message, _REMEDIES[failure])
        self._armed[failure] = False
        self._last_alert_step[failure] = step
        self.alerts.append(alert)
        new.append(alert)
        logger.info("%s", alert)
        if self.verbose:
            print(alert)


def oscillation_statistics(values: Sequence[float]) -> tuple[float, int]:
    """Returns the amplitude and swing count of the oscillation rule.

    Args:
        values: D(G(z)) per step; the last ``OSCILLATION_WINDOW`` are used.

    Returns:
        The span (max - min) of the moving average over
        ``OSCILLATION_SMOOTHING`` steps, and how many times that average
        crossed from below ``mean - OSCILLATION_AMPLITUDE / 4`` to above
        ``mean + OSCILLATION_AMPLITUDE / 4`` or back.
    """
    window = np.asarray(values, np.float64)[-OSCILLATION_WINDOW:]
    if len(window) < OSCILLATION_SMOOTHING:
        return 0.0, 0
    kernel = np.full(OSCILLATION_SMOOTHING, 1.0 / OSCILLATION_SMOOTHING)
    smoothed = np.convolve(window, kernel, mode="valid")
    amplitude = float(np.ptp(smoothed))
    band = OSCILLATION_AMPLITUDE / 4
    centre = float(np.mean(smoothed))
    # +1 above the band, -1 below it, 0 inside; a swing is a change of sign.
    sides = np.sign(smoothed - centre) * (np.abs(smoothed - centre) > band)
    sides = sides[sides != 0]
    swings = int(np.count_nonzero(np.diff(sides)))
    return amplitude, swings


def _scalar(name: str, value: Any) -> float:
    array = np.asarray(value)
    if array.shape != ():
        raise ValueError(
            f"Metric {name!r} has shape {array.shape}; expected a scalar per step."
        )
    return float(array)


def _format_values(values: Mapping[str, float]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in values.items())


# Recording toy runs.


def ring_grid(limit: float = GRID_LIMIT, size: int = GRID_SIZE) -> np.ndarray:
    """Returns the centres of a ``size`` x ``size`` grid over [-limit, limit]^2.

    Shape ``(size * size, 2)`` float32, x varying fastest, so values at these
    points reshaped to ``(size, size)`` form an image for
    ``imshow(..., origin="lower")``.
    """
    edges = np.linspace(-limit, limit, size + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    x, y = np.meshgrid(centres, centres)
    return np.stack([x.ravel(), y.ravel()], axis=1).astype(np.float32)


@dataclasses.dataclass
class ToyRun:
    """Metrics, coverage and snapshots of a recorded toy GAN run.

    Attributes:
        history: Metric name to one value per round, ``(rounds,)`` float64.
        check_rounds: Rounds after which the coverage was measured.
        coverage: The coverage after each of ``check_rounds``, on the same
            latent vectors every time.
        final_points: The generated points of the last check, ``(n, 2)``.
        snapshot_rounds: Rounds after which a snapshot was taken; 0 is the
            start.
        points: Generated points of each snapshot, ``(snapshots, n, 2)``.
        heatmaps: D(x) on ``ring_grid()`` for each snapshot, ``(snapshots,
            GRID_SIZE, GRID_SIZE)``, rows along y.
        state: The state after the last round.
        alerts: The alerts the detector raised during the run.
    """

    history: dict[str, np.ndarray]
    check_rounds: np.ndarray
    coverage: list[ModeCoverage]
    final_points: np.ndarray
    snapshot_rounds: np.ndarray
    points: np.ndarray
    heatmaps: np.ndarray
    state: toy.ToyState
    alerts: list[Alert]

    @property
    def rounds(self) -> int:
        """Number of rounds recorded."""
        return len(next(iter(self.history.values())))

    @property
    def modes(self) -> np.ndarray:
        """Covered modes at each check, ``(checks,)`` int."""
        return np.array([c.covered for c in self.coverage])

    @property
    def high_quality(self) -> np.ndarray:
        """Share of samples near a mode at each check, ``(checks,)``."""
        return np.array([c.high_quality_fraction for c in self.coverage])

    def modes_after(self, round_: int) -> np.ndarray:
        """Covered modes at the checks from ``round_`` on."""
        return self.modes[self.check_rounds >= round_]


def record_toy_run(
    gan: toy.ToyGAN,
    state: toy.ToyState,
    *,
    rounds: int,
    discriminator_steps: int = 1,
    generator_steps: int = 1,
    check_every: int = 50,
    snapshot_every: int = 0,
    num_samples: int = 1000,
    snapshot_samples: int = 500,
    detector: FailureDetector | None = None,
    seed: int = 0,
) -> ToyRun:
    """Trains a toy GAN on a 2D mixture, recording every round.

    Metrics stay on the device until each check, so the rounds between checks
    are dispatched without waiting. At each check the detector, if any, is
    fed every round's metrics in order and then the coverage, so it raises
    its alerts while the run goes on.

    Args:
        gan: The toy GAN; its data must be a ``toy.GaussianMixture`` in 2D.
        state: The state to start from.
        rounds: Rounds of training.
        discriminator_steps: Discriminator updates per round.
        generator_steps: Generator updates per round.
        check_every: Rounds between coverage checks.
        snapshot_every: Rounds between snapshots of the generated points and
            of D(x) on ``ring_grid()``; 0 takes none.
        num_samples: Generated points per coverage check.
        snapshot_samples: Generated points kept per snapshot.
        detector: Fed with every round and each coverage check.
        seed: Seed of the fixed latent vectors of the checks and snapshots.

    Returns:
        The record.
    """
    if not isinstance(gan.data, toy.GaussianMixture) or gan.data.dim != 2:
        raise ValueError("record_toy_run needs a toy GAN on a 2D GaussianMixture.")
    for name, value in (("rounds", rounds), ("check_every", check_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    if not isinstance(snapshot_every, int) or snapshot_every < 0:
        raise ValueError(f"snapshot_every={snapshot_every!r} must be an integer >= 0.")
    latent = gan.sample_latent(
        jax.random.key(seed + _EVALUATION_SEED_OFFSET), max(num_samples, 1)
    )
    grid = ring_grid()
    pending: list[dict[str, jax.Array]] = []
    history: dict[str, list[float]] = {}
    check_rounds, coverage = [], []
    snapshot_rounds, points, heatmaps = [], [], []
    start_alerts = len(detector.alerts) if detector is not None else 0

    def snapshot(round_: int) -> None:
        generated = np.asarray(gan.generate(state, latent[:snapshot_samples]))
        probability = np.asarray(gan.discriminator_probability(state, grid))
        snapshot_rounds.append(round_)
        points.append(generated)
        heatmaps.append(probability.reshape(GRID_SIZE, GRID_SIZE))

    if snapshot_every:
        snapshot(0)
    for round_ in range(1, rounds + 1):
        state, round_metrics = gan.train_round(
            state,
            discriminator_steps=discriminator_steps,
            generator_steps=generator_steps,
        )
        pending.append(round_metrics)

        # Check: fetch the pending metrics, measure coverage, feed the detector.
        if round_ % check_every == 0 or round_ == rounds:
            fetched = jax.device_get(pending)
            first = round_ - len(pending) + 1
            generated = np.asarray(gan.generate(state, latent))
            result = modes_covered(generated, gan.data)
            check_rounds.append(round_)
            coverage.append(result)
            for offset, values in enumerate(fetched):
                for name, value in values.items():
                    history.setdefault(name, []).append(float(value))
                if detector is not None:
                    is_last = offset == len(fetched) - 1
                    detector.update(
                        first + offset,
                        values,
                        coverage=result.fraction if is_last else None,
                    )
            pending = []

        # Snapshot.
        if snapshot_every and round_ % snapshot_every == 0:
            snapshot(round_)
    empty_points = np.zeros((0, snapshot_samples, 2), np.float32)
    empty_heatmaps = np.zeros((0, GRID_SIZE, GRID_SIZE), np.float32)
    return ToyRun(
        history={name: np.asarray(v) for name, v in history.items()},
        check_rounds=np.asarray(check_rounds),
        coverage=coverage,
        final_points=generated,
        snapshot_rounds=np.asarray(snapshot_rounds, int),
        points=np.stack(points) if points else empty_points,
        heatmaps=np.stack(heatmaps) if heatmaps else empty_heatmaps,
        state=state,
        alerts=[] if detector is None else detector.alerts[start_alerts:],
    )


# Recording image GAN runs.


@dataclasses.dataclass
class ImageRun:
    """Metrics and sample diversity of a recorded image GAN run.

    Attributes:
        history: Metric name to one value per step, ``(steps,)`` float64.
        diversity_steps: Steps after which ``sample_diversity`` was measured.
        diversity: The diversity at each of ``diversity_steps``.
        state: The state after the last step.
        alerts: The alerts the detector raised during the run.
    """

    history: dict[str, np.ndarray]
    diversity_steps: np.ndarray
    diversity: np.ndarray
    state: train.TrainState
    alerts: list[Alert]


def record_image_run(
    gan: train.GAN,
    state: train.TrainState,
    stream: BatchStream,
    *,
    steps: int,
    check_every: int = 20,
    num_samples: int = 128,
    detector: FailureDetector | None = None,
    seed: int = 0,
) -> ImageRun:
    """Trains an image GAN from ``state``, recording every step.

    Step ``s`` (counting from 1) trains on ``stream.batch_at(s - 1)``. Every
    ``check_every`` steps and after the last one, the metrics are fetched,
    fed to the detector, and the diversity of ``num_samples`` images from
    fixed latent vectors is measured.

    Args:
        gan: The GAN.
        state: The state to start from, usually ``gan.init()``.
        stream: The real batches.
        steps: Training steps.
        check_every: Steps between checks.
        num_samples: Images per diversity measurement, at least 2.
        detector: Fed with every step's metrics.
        seed: Seed of the fixed latent vectors.

    Returns:
        The record.
    """
    for name, value in (("steps", steps), ("check_every", check_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    latent = gan.sample_latent(
        jax.random.key(seed + _EVALUATION_SEED_OFFSET), num_samples
    )
    pending: list[dict[str, jax.Array]] = []
    history: dict[str, list[float]] = {}
    diversity_steps, diversity = [], []
    start_alerts = len(detector.alerts) if detector is not None else 0
    for step in range(1, steps + 1):
        state, step_metrics = gan.train_step(state, stream.batch_at(step - 1))
        pending.append(step_metrics)

        # Check: fetch the pending metrics, feed the detector, measure diversity.
        if step % check_every == 0 or step == steps:
            first = step - len(pending) + 1
            for offset, values in enumerate(jax.device_get(pending)):
                for name, value in values.items():
                    history.setdefault(name, []).append(float(value))
                if detector is not None:
                    detector.update(first + offset, values)
            pending = []
            diversity_steps.append(step)
            diversity.append(sample_diversity(np.asarray(gan.generate(state, latent))))
    return ImageRun(
        history={name: np.asarray(v) for name, v in history.items()},
        diversity_steps=np.asarray(diversity_steps),
        diversity=np.asarray(diversity),
        state=state,
        alerts=[] if detector is None else detector.alerts[start_alerts:],
    )


# Plots. Each returns a figure built without pyplot.


def moving_average(values: ArrayLike, window: int = 25) -> np.ndarray:
    """Returns the mean of each ``window`` consecutive values, ``(n - window + 1,)``.

    A series shorter than ``window`` is averaged over its full length instead.
    """
    values = np.asarray(values, np.float64)
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.full(window, 1.0 / window), mode="valid")


def plot_toy_samples(
    runs: Mapping[str, ToyRun], mixture: toy.GaussianMixture, *, num_real: int = 500
) -> Figure:
    """Draws each run's final generated points over real samples, side by side."""
    real = np.asarray(mixture.sample(jax.random.key(0), num_real))
    fig = Figure(figsize=(3.2 * len(runs), 3.4), layout="constrained")
    panels = fig.subplots(1, len(runs), squeeze=False)[0]
    for axes, (label, run) in zip(panels, runs.items(), strict=True):
        axes.scatter(*real.T, s=4, color="tab:blue", alpha=0.4, label="real")
        axes.scatter(*run.final_points.T, s=4, color="tab:orange", label="generated")
        final = run.coverage[-1]
        axes.set_title(
            f"{label}\n{final.covered} of {final.num_modes} modes, "
            f"{final.high_quality_fraction:.0%} near a mode",
            fontsize=10,
        )
        axes.set_xlim(-GRID_LIMIT, GRID_LIMIT)
        axes.set_ylim(-GRID_LIMIT, GRID_LIMIT)
        axes.set_aspect("equal")
    panels[0].legend(loc="lower left", fontsize="small")
    return fig


def plot_toy_curves(runs: Mapping[str, ToyRun], *, window: int = 25) -> Figure:
    """Draws modes covered, D(x) and D(G(z)) of each run over the rounds.

    D(x) and D(G(z)) are moving averages over ``window`` rounds.
    """
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    modes_axes, real_axes, fake_axes = fig.subplots(1, 3)
    for label, run in runs.items():
        modes_axes.plot(run.check_rounds, run.modes, marker=".", label=label)
        for axes, name in ((real_axes, "d_real"), (fake_axes, "d_fake")):
            values = run.history[name]
            smoothed = moving_average(values, window)
            # Each average is drawn at the last round it covers.
            first = len(values) - len(smoothed) + 1
            axes.plot(first + np.arange(len(smoothed)), smoothed, label=label)
    num_modes = next(iter(runs.values())).coverage[0].num_modes
    modes_axes.set_ylim(-0.3, num_modes + 0.3)
    modes_axes.set_ylabel("modes covered")
    real_axes.set_ylabel(f"D(x), mean of {window} rounds")
    fake_axes.set_ylabel(f"D(G(z)), mean of {window} rounds")
    for axes in (modes_axes, real_axes, fake_axes):
        axes.set_xlabel("round")
    for axes in (real_axes, fake_axes):
        axes.set_ylim(0, 1)
        axes.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    modes_axes.legend(fontsize="small")
    return fig


def plot_image_runs(
    runs: Mapping[str, ImageRun], *, real_diversity: float | None = None
) -> Figure:
    """Draws D(x), D(G(z)), the generator's gradient norm and the diversity.

    Args:
        runs: Recorded runs by label.
        real_diversity: ``sample_diversity`` of real images, drawn as a
            dashed line on the diversity panel.
    """
    fig = Figure(figsize=(13, 3.3), layout="constrained")
    real_axes, fake_axes, gradient_axes, diversity_axes = fig.subplots(1, 4)
    for label, run in runs.items():
        steps = np.arange(1, len(run.history["d_real"]) + 1)
        real_axes.plot(steps, run.history["d_real"], label=label, linewidth=0.9)
        fake_axes.plot(steps, run.history["d_fake"], label=label, linewidth=0.9)
        gradient_axes.plot(
            steps, run.history["generator_grad_norm"], label=label, linewidth=0.9
        )
        diversity_axes.plot(run.diversity_steps, run.diversity, marker=".", label=label)
    if real_diversity is not None:
        diversity_axes.axhline(
            real_diversity, color="black", linestyle="--", linewidth=1, label="real"
        )
    for axes, name in (
        (real_axes, "D(x)"),
        (fake_axes, "D(G(z))"),
        (gradient_axes, "generator gradient norm"),
        (diversity_axes, "sample diversity"),
    ):
        axes.set_xlabel("step")
        axes.set_ylabel(name)
    for axes in (real_axes, fake_axes):
        axes.set_ylim(0, 1)
    gradient_axes.set_yscale("log")
    diversity_axes.set_ylim(bottom=0)
    diversity_axes.legend(fontsize="small")
    return fig


def plot_sample_grids(
    images: Mapping[str, np.ndarray], *, columns: int = 8, size: float = 3.2
) -> Figure:
    """Draws one grid of images per label, side by side.

    Args:
        images: Label to images ``(n, height, width, channels)`` in [-1, 1].
        columns: Images per row of each grid.
        size: Width in inches of each grid.
    """
    fig = Figure(figsize=(size * len(images), size + 0.4), layout="constrained")
    panels = fig.subplots(1, len(images), squeeze=False)[0]
    for axes, (label, batch) in zip(panels, images.items(), strict=True):
        plotting.show_images(batch, columns=columns, title=label, ax=axes)
    return fig


def plot_class_histograms(evaluations: Mapping[str, metrics.Evaluation]) -> Figure:
    """Draws the predicted-class histogram of each evaluation, side by side."""
    fig = Figure(figsize=(3.4 * len(evaluations), 2.8), layout="constrained")
    panels = fig.subplots(1, len(evaluations), sharey=True, squeeze=False)[0]
    for axes, (label, evaluation) in zip(panels, evaluations.items(), strict=True):
        axes.bar(range(10), evaluation.class_histogram, color="tab:gray")
        axes.set_xticks(range(10))
        axes.set_xlabel("predicted digit")
        axes.set_title(
            f"{label}\n{evaluation.num_classes_present} classes, entropy "
            f"{evaluation.class_entropy:.2f} nats",
            fontsize=10,
        )
    panels[0].set_ylabel("generated images")
    return fig


def _draw_snapshot(axes, run: ToyRun, mixture: toy.GaussianMixture, index: int):
    """Draws snapshot ``index`` on ``axes``; returns the artists that change."""
    image = axes.imshow(
        run.heatmaps[index],
        origin="lower",
        extent=(-GRID_LIMIT, GRID_LIMIT, -GRID_LIMIT, GRID_LIMIT),
        vmin=HEATMAP_RANGE[0],
        vmax=HEATMAP_RANGE[1],
        cmap="RdBu",
    )
    means = np.asarray(mixture.means)
    axes.scatter(*means.T, s=30, marker="x", color="black", label="real modes")
    points = axes.scatter(
        *run.points[index].T, s=4, color="tab:orange", label="generated"
    )
    title = axes.set_title(f"round {run.snapshot_rounds[index]}", fontsize=10)
    axes.set_xlim(-GRID_LIMIT, GRID_LIMIT)
    axes.set_ylim(-GRID_LIMIT, GRID_LIMIT)
    axes.set_aspect("equal")
    return image, points, title


def plot_snapshots(
    run: ToyRun, mixture: toy.GaussianMixture, *, count: int = 6
) -> Figure:
    """Draws ``count`` snapshots, evenly spaced in time, as small multiples.

    Each panel shows D(x) (blue: judged real, red: judged generated), with
    colours clipped to ``HEATMAP_RANGE``, and the generated points over the
    real modes. Points outside the square of ``ring_grid()`` are not drawn.
    """
    if len(run.snapshot_rounds) == 0:
        raise ValueError("The run has no snapshots; record it with snapshot_every.")
    indices = np.unique(
        np.linspace(0, len(run.snapshot_rounds) - 1, count).round().astype(int)
    )
    fig = Figure(figsize=(2.6 * len(indices) + 1.0, 2.9), layout="constrained")
    panels = fig.subplots(1, len(indices), squeeze=False)[0]
    for axes, index in zip(panels, indices, strict=True):
        image, _, _ = _draw_snapshot(axes, run, mixture, int(index))
        axes.set_xticks([])
        axes.set_yticks([])
    fig.colorbar(image, ax=list(panels), label="D(x)", shrink=0.85)
    return fig


# Viewers by name, so that building a viewer again closes the previous one's
# widgets instead of leaving them open in the kernel.
_VIEWERS: dict[str, SnapshotViewer] = {}


class SnapshotViewer:
    """A slider over the snapshots of a toy run, redrawing one figure in place.

    The figure is built without pyplot on an Agg canvas, so it never enters
    ``plt.get_fignums()``, and building the viewer again under the same
    ``name`` closes the previous one: re-running a cell keeps one figure. A
    slider change sets the data of the same artists, draws them over a saved
    background and sends the PNG to an ``ipywidgets.Image``. Only APIs shared
    by ipywidgets 7.7 and 8 are used.

    Widgets need a front end that runs the widget manager (JupyterLab,
    Notebook 7, VS Code, Colab). Elsewhere, as in nbclient or on GitHub, a
    widget shows as a line of text, so ``show`` also displays the static
    small multiples of ``plot_snapshots`` by default.

    Attributes:
        run: The recorded run.
        figure: The figure that every slider change redraws.
        slider: ``IntSlider`` over snapshot indices.
        image: ``Image`` widget with the rendered figure.
        widget: ``VBox`` of the slider and the image.
        png: The latest rendering, PNG bytes.
    """

    def __init__(
        self,
        run: ToyRun,
        mixture: toy.GaussianMixture,
        *,
        name: str = "snapshots",
        dpi: int = 80,
    ):
        if len(run.snapshot_rounds) == 0:
            raise ValueError("The run has no snapshots; record it with snapshot_every.")
        previous = _VIEWERS.pop(name, None)
        if previous is not None:
            previous.close()
        self.run = run
        self.mixture = mixture
        self.name = name
        self.png = b""

        # Fixed margins instead of a layout engine keep the saved background
        # valid from one redraw to the next.
        self.figure = Figure(figsize=(4.6, 4.0), dpi=dpi)
        self._canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.add_axes((0.08, 0.08, 0.7, 0.82))
        colorbar_axes = self.figure.add_axes((0.82, 0.08, 0.04, 0.82))
        self._image, self._points, self._title = _draw_snapshot(axes, run, mixture, 0)
        self.figure.colorbar(self._image, cax=colorbar_axes, label="D(x)")
        for artist in self._changing:
            artist.set_animated(True)
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self.figure.bbox)

        self.slider = ipywidgets.IntSlider(
            value=0,
            min=0,
            max=len(run.snapshot_rounds) - 1,
            step=1,
            description="snapshot",
            continuous_update=True,
        )
        self.image = ipywidgets.Image(format="png")
        self.widget = ipywidgets.VBox([self.slider, self.image])
        self.slider.observe(self._on_slider, names="value")
        self.draw(0)
        _VIEWERS[name] = self

    @property
    def _changing(self) -> tuple:
        return (self._image, self._points, self._title)

    def _on_slider(self, change) -> None:
        self.draw(change["new"])

    def draw(self, index: int) -> None:
        """Redraws the figure with snapshot ``index`` and updates the image."""
        if not 0 <= index < len(self.run.snapshot_rounds):
            raise IndexError(
                f"Snapshot index {index} is out of range 0.."
                f"{len(self.run.snapshot_rounds) - 1}."
            )
        self._image.set_data(self.run.heatmaps[index])
        self._points.set_offsets(self.run.points[index])
        self._title.set_text(f"round {self.run.snapshot_rounds[index]}")
        self._canvas.restore_region(self._background)
        for artist in self._changing:
            self.figure.draw_artist(artist)
        self.png = plotting.canvas_png(self._canvas)
        self.image.value = self.png

    def show(self, mode: str = "both", static_count: int = 6) -> None:
        """Displays the static small multiples, the slider, or both.

        Args:
            mode: ``"both"``, ``"interactive"`` (the slider and figure only)
                or ``"static"`` (the small multiples only).
            static_count: Snapshots in the small multiples.
        """
        if mode not in ("both", "interactive", "static"):
            raise ValueError(
                f"mode={mode!r}; expected 'both', 'interactive' or 'static'."
            )
        if mode in ("both", "static"):
            figure = plot_snapshots(self.run, self.mixture, count=static_count)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=self.figure.dpi)
            ipython_display.display(ipython_display.Image(data=buffer.getvalue()))
        if mode in ("both", "interactive"):
            ipython_display.display(self.widget)

    def close(self) -> None:
        """Closes the widgets and clears the figure."""
        for widget in (self.slider, self.image, self.widget):
            widget.close()
        self.figure.clear()
        if _VIEWERS.get(self.name) is self:
            del _VIEWERS[self.name]


# Exercise checks of lesson 5. Each prints one line of feedback and returns
# whether the answer is right; a wrong answer gets a hint, never the solution.

# The exercise's samples: (mode, number of points) drawn with the ring's spread, plus
# points in the middle of the ring, near no mode. With 600 points a mode's
# fair share is 75, and 20% of it is 15 points.
_EXERCISE_MODE_POINTS = ((0, 200), (3, 150), (5, 100), (6, 10))
_EXERCISE_CENTRE_POINTS = 140
_EXERCISE_COVERED = 3


def exercise_points() -> np.ndarray:
    """Returns the 600 generated points of the mode-counting exercise, ``(600, 2)``."""
    mixture = lesson_ring()
    rng = np.random.default_rng(5)
    parts = []
    for mode, count in _EXERCISE_MODE_POINTS:
        mean = np.asarray(mixture.means[mode])
        parts.append(mean + LESSON_RING_STD * rng.standard_normal((count, 2)))
    parts.append(0.3 * rng.standard_normal((_EXERCISE_CENTRE_POINTS, 2)))
    return np.concatenate(parts).astype(np.float32)


def check_covered_modes(answer: float | None) -> bool:
    """Checks how many modes of ``lesson_ring()`` ``exercise_points()`` covers."""
    return checking.check_number(
        answer,
        _EXERCISE_COVERED,
        tolerance=0.5,
        mistakes=(
            checking.Mistake(
                "any point counts",
                _EXERCISE_COVERED + 1,
                "one of the modes you counted has only a handful of points near "
                "it. A mode counts only with at least 20% of its fair share, "
                "here 0.2 * 600 / 8 = 15 points.",
            ),
            checking.Mistake(
                "share of the modes",
                _EXERCISE_COVERED / 8,
                "that looks like a share of the modes; the answer is a count.",
            ),
            checking.Mistake(
                "all modes",
                8,
                "that is every mode of the ring. Count the points within 3 "
                "standard deviations (0.3) of each mode's mean.",
            ),
        ),
        hint="For each of the 8 means, count the points within distance 0.3 "
        "and compare the count with 15.",
        name="covered_modes",
    )


def check_remedy(answer: str | None) -> bool:
    """Checks the remedy chosen for the run described in exercise 2."""
    return checking.check_choice(
        answer,
        correct="b",
        hints={
            "a": "more generator updates follow the same vanishing gradient: "
            "each of them gets the same tiny signal.",
            "c": "a smaller learning rate makes the generator's steps smaller "
            "still. The problem is the size of the gradient, not of the steps.",
            "d": "D(G(z)) keeps falling in this run, so the gradient keeps "
            "shrinking; time makes it worse.",
        },
        confirmation="the non-saturating loss -log D(G(z)) has the slope "
        "-(1 - D(G(z))) in the logit, close to -1 exactly when the "
        "discriminator wins, so the generator keeps a strong gradient.",
        name="remedy",
    )


def saturation_reference(d_real: ArrayLike, d_fake: ArrayLike) -> bool:
    """Returns whether every D(x) >= 0.9 and every D(G(z)) <= 0.1 (exercise 3)."""
    d_real = np.asarray(d_real)
    d_fake = np.asarray(d_fake)
    return bool(
        np.all(d_real >= SATURATED_D_REAL) and np.all(d_fake <= SATURATED_D_FAKE)
    )


def _saturation_window(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draws a window of D outputs: saturated, or saturated but for one value.

    Values keep a margin of 0.005 from the thresholds, so ``>=`` and ``>``
    give the same result. A broken value is far enough out that the window's
    mean often stays on the saturated side.
    """
    size = int(rng.integers(5, 30))
    d_real = rng.uniform(0.905, 0.999, size)
    d_fake = rng.uniform(0.001, 0.095, size)
    case = rng.integers(4)
    index = int(rng.integers(size))
    if case == 1:
        d_real[index] = rng.uniform(0.6, 0.895)
    elif case == 2:
        d_fake[index] = rng.uniform(0.105, 0.4)
    elif case == 3:
        d_real[index] = rng.uniform(0.6, 0.895)
        d_fake[index] = rng.uniform(0.105, 0.4)
    return d_real, d_fake


def check_saturation_rule(is_saturated) -> bool:
    """Checks ``is_saturated(d_real, d_fake)`` against the saturation rule.

    The inputs are windows of 5 to 29 values of D(x) and D(G(z)).
    """

    def mean_rule(d_real, d_fake):
        return bool(np.mean(d_real) >= SATURATED_D_REAL) and bool(
            np.mean(d_fake) <= SATURATED_D_FAKE
        )

    def either_rule(d_real, d_fake):
        return bool(np.all(d_real >= SATURATED_D_REAL)) or bool(
            np.all(d_fake <= SATURATED_D_FAKE)
        )

    def last_rule(d_real, d_fake):
        return bool(d_real[-1] >= SATURATED_D_REAL and d_fake[-1] <= SATURATED_D_FAKE)

    return checking.check_function(
        is_saturated,
        saturation_reference,
        _saturation_window,
        name="is_saturated",
        mistakes=(
            checking.Mistake(
                "mean of the window",
                mean_rule,
                "one confident mean can hide a step at which the discriminator "
                "hesitated. Every step of the window has to be saturated.",
            ),
            checking.Mistake(
                "or instead of and",
                either_rule,
                "saturation needs both conditions: real samples accepted and "
                "generated ones rejected.",
            ),
            checking.Mistake(
                "last step only",
                last_rule,
                "a single step says little; look at every step of the window.",
            ),
        ),
        hint="Return True only when every D(x) is at least 0.9 and every "
        "D(G(z)) is at most 0.1.",
        tolerance=0.0,
        trials=40,
    )
