"""Automatic checks of the lessons' exercises.

Every check prints one line of feedback and returns whether the answer is
right. The line starts with ``Correct:``, ``Not quite:`` or ``Not answered
yet:``. A wrong answer earns a hint, and a typical mistake earns a hint aimed at
it, but no message contains the solution. A check never raises on a wrong
answer, so an exercise cell with an unfinished answer (a function that returns
``None``, or ``None`` itself) lets the notebook run on.

The generic checks compare behaviour, not source text: ``check_function`` calls
the learner's function and a reference on the same random inputs, so any
correct formula passes. The second half of the module holds the checks of the
lessons, built on the generic ones.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gan_lessons import losses


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A typical wrong answer and the hint that it earns.

    Attributes:
        name: Short name of the mistake, for tests; never printed.
        answer: For ``check_function``, a function that computes the wrong
            result from the same inputs as the reference. For
            ``check_number``, the wrong value.
        hint: The feedback printed when the learner's answer matches.
    """

    name: str
    answer: Callable[..., Any] | float
    hint: str


def check_function(
    candidate: Callable[..., Any],
    reference: Callable[..., Any],
    make_inputs: Callable[[np.random.Generator], tuple],
    *,
    name: str = "your function",
    mistakes: Sequence[Mistake] = (),
    hint: str = "",
    tolerance: float = 1e-4,
    trials: int = 5,
    seed: int = 0,
) -> bool:
    """Checks a function against a reference on random inputs.

    The candidate passes when its result has the reference's shape and matches
    it within ``tolerance`` (absolute and relative, as in ``np.allclose``) on
    every one of ``trials`` inputs. Otherwise the first matching entry of
    ``mistakes`` gives the hint; a mistake matches when it agrees with the
    candidate on every input.

    Args:
        candidate: The learner's function.
        reference: A correct function with the same arguments.
        make_inputs: Draws one tuple of positional arguments from a NumPy
            random generator. Each function gets its own deep copy, so a
            function that changes its inputs in place cannot affect the others.
        name: How the messages call the candidate, such as ``"my_loss"``.
        mistakes: Typical wrong answers; each ``answer`` is a function with
            the reference's arguments.
        hint: Printed after a wrong result that matches no mistake.
        tolerance: Largest accepted difference, absolute and relative.
        trials: Number of random inputs.
        seed: Seed of the generator passed to ``make_inputs``.

    Returns:
        Whether the candidate is correct. The feedback is printed.
    """
    rng = np.random.default_rng(seed)
    cases = [make_inputs(rng) for _ in range(trials)]
    results = []
    for arguments in cases:
        try:
            result = candidate(*copy.deepcopy(arguments))
        except Exception as error:  # noqa: BLE001 - any error is feedback
            message = str(error).strip().rstrip(".")
            print(
                f"Not quite: {name} raised {type(error).__name__}: {message}. "
                "Call it on a small input yourself to find the line that fails."
            )
            return False
        if result is None:
            print(f"Not answered yet: {name} returns None.")
            return False
        array = _as_float_array(result)
        if array is None:
            print(
                f"Not quite: {name} returned a {type(result).__name__}; "
                "expected numbers (a float or an array)."
            )
            return False
        results.append(array)

    expected = [_as_float_array(reference(*copy.deepcopy(a))) for a in cases]
    for result, target in zip(results, expected, strict=True):
        if result.shape != target.shape:
            print(
                f"Not quite: {name} returned shape {result.shape}; expected "
                f"{_describe_shape(target.shape)}."
            )
            return False
    if _all_close(results, expected, tolerance):
        print(f"Correct: {name} matches the reference on {trials} random inputs.")
        return True
    for mistake in mistakes:
        wrong = [_as_float_array(mistake.answer(*copy.deepcopy(a))) for a in cases]
        if _all_close(results, wrong, tolerance):
            print(f"Not quite: {mistake.hint}")
            return False
    if not all(np.all(np.isfinite(result)) for result in results):
        print(f"Not quite: {name} returns nan or inf for some inputs. {hint}".strip())
        return False
    error = max(
        float(np.max(np.abs(r - e), initial=0.0))
        for r, e in zip(results, expected, strict=True)
    )
    print(
        f"Not quite: {name} differs from the reference by up to {error:.3g} on "
        f"random inputs. {hint}".strip()
    )
    return False


def scalar_value(answer: Any) -> float | None:
    """Returns ``answer`` as a float when it is one real number, else ``None``.

    Python and NumPy numbers and arrays of shape ``()`` (NumPy or JAX, such
    as ``jnp.sqrt(2.0)``) count as numbers; booleans and strings do not.
    """
    if isinstance(answer, bool | np.bool_ | str | bytes):
        return None
    try:
        array = np.asarray(answer)
    except (TypeError, ValueError):
        return None
    if array.shape != () or array.dtype.kind not in "iuf":
        return None
    return float(array)


def check_number(
    answer: float | None,
    expected: float,
    *,
    tolerance: float,
    mistakes: Sequence[Mistake] = (),
    hint: str = "",
    name: str = "your answer",
) -> bool:
    """Checks a number against the expected value.

    Args:
        answer: The learner's number, or ``None`` when not answered yet.
        expected: The right value.
        tolerance: Largest accepted absolute difference.
        mistakes: Typical wrong values; each ``answer`` is a number. A wrong
            answer within ``tolerance`` of one of them gets its hint.
        hint: Printed after a wrong answer that matches no mistake.
        name: How the messages call the answer.

    Returns:
        Whether the answer is right. The feedback is printed.
    """
    if answer is None:
        print(f"Not answered yet: {name} is None.")
        return False
    value = scalar_value(answer)
    if value is None:
        print(
            f"Not quite: {name} is a {type(answer).__name__}; expected a number "
            "such as 0.25."
        )
        return False
    if not math.isfinite(value):
        print(f"Not quite: {name} is {value}; expected a finite number.")
        return False
    if abs(value - expected) <= tolerance:
        print(f"Correct: {value:.4g} is right to within {tolerance:g}.")
        return True
    for mistake in mistakes:
        if abs(value - float(mistake.answer)) <= tolerance:
            print(f"Not quite: {mistake.hint}")
            return False
    print(f"Not quite: {value:.4g} is not right. {hint}".strip())
    return False


def check_choice(
    answer: str | None,
    *,
    correct: str,
    hints: Mapping[str, str],
    confirmation: str,
    name: str = "your answer",
) -> bool:
    """Checks a multiple-choice answer given as the option's letter.

    Case, spaces, brackets and a trailing full stop are ignored, so ``"a"``,
    ``"A"`` and ``"(a)"`` are the same answer.

    Args:
        answer: The letter the learner chose, or ``None`` or ``""`` when not
            answered yet.
        correct: The letter of the right option.
        hints: The letter of each wrong option and its hint. The options are
            these letters and ``correct``.
        confirmation: Printed after ``Correct:``; it may explain why.
        name: How the messages call the answer.

    Returns:
        Whether the answer is right. The feedback is printed.
    """
    options = sorted({correct, *hints})
    listed = ", ".join(f'"{option}"' for option in options)
    if answer is None or not str(answer).strip():
        print(f"Not answered yet: set {name} to one of {listed}.")
        return False
    choice = str(answer).strip().strip("().").strip().lower()
    if choice == correct.lower():
        print(f"Correct: {confirmation}")
        return True
    for option, option_hint in hints.items():
        if choice == option.lower():
            print(f"Not quite: {option_hint}")
            return False
    print(f"Not quite: {answer!r} is not an option; choose one of {listed}.")
    return False


def _as_float_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _all_close(
    results: Sequence[np.ndarray], targets: Sequence[np.ndarray], tolerance: float
) -> bool:
    return all(
        r.shape == t.shape
        and np.allclose(r, t, rtol=tolerance, atol=tolerance, equal_nan=True)
        for r, t in zip(results, targets, strict=True)
    )


def _describe_shape(shape: tuple[int, ...]) -> str:
    if shape == ():
        return "a single number, shape ()"
    return f"shape {shape}"


# Checks of lesson 1, "The bouncer and the imitator".

# Logits in [-5, 5] keep log(1 - sigmoid(a)) accurate in float32, so a correct
# formula written with probabilities passes as well as one with softplus.
_LOGIT_LIMIT = 5.0
_LOSS_TOLERANCE = 1e-3


def _random_logits(rng: np.random.Generator, size: int) -> jax.Array:
    logits = np.clip(rng.normal(0.5, 2.0, size), -_LOGIT_LIMIT, _LOGIT_LIMIT)
    return jnp.asarray(logits, jnp.float32)


def _logit_pair(rng: np.random.Generator) -> tuple[jax.Array, jax.Array]:
    size = int(rng.integers(8, 33))
    return _random_logits(rng, size), _random_logits(rng, size)


def _logit_batch(rng: np.random.Generator) -> tuple[jax.Array]:
    return (_random_logits(rng, int(rng.integers(8, 33))),)


def _softplus(x) -> np.ndarray:
    return np.logaddexp(0.0, np.asarray(x, np.float64))


def _log(x) -> np.ndarray:
    # Logits read as probabilities: nan for a negative logit, no warning.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.asarray(x, np.float64))


_DISCRIMINATOR_LOSS_MISTAKES = (
    Mistake(
        "swapped labels",
        lambda r, f: np.mean(_softplus(r)) + np.mean(_softplus(-f)),
        "the labels are swapped. The bouncer wants D(x) near 1 on real points "
        "and near 0 on generated ones; check which batch gets log D and which "
        "log(1 - D).",
    ),
    Mistake(
        "missing minus sign",
        lambda r, f: -np.mean(_softplus(-r)) - np.mean(_softplus(f)),
        "the sign is wrong. The bouncer maximises V(D, G), and a loss is "
        "something to minimise.",
    ),
    Mistake(
        "sum instead of mean",
        lambda r, f: np.sum(_softplus(-r)) + np.sum(_softplus(f)),
        "the result grows with the batch size. The expectations are averages "
        "over each batch, not sums.",
    ),
    Mistake(
        "mean over both batches",
        lambda r, f: 0.5 * (np.mean(_softplus(-r)) + np.mean(_softplus(f))),
        "the result is half the expected loss. Average each batch on its own "
        "and add the two averages, one per expectation in V.",
    ),
    Mistake(
        "real term only",
        lambda r, f: np.mean(_softplus(-r)),
        "only the real points count. V has a second term for the generated points.",
    ),
    Mistake(
        "generated term only",
        lambda r, f: np.mean(_softplus(f)),
        "only the generated points count. V has a first term for the real points.",
    ),
    Mistake(
        "logits read as probabilities",
        lambda r, f: -np.mean(_log(r)) - np.mean(_log(1.0 - np.asarray(f))),
        "the inputs are logits, any real numbers, not probabilities, so their "
        "logarithm is nan for negative logits. Turn them into probabilities "
        "first.",
    ),
)


def check_discriminator_loss(discriminator_loss: Callable[..., Any]) -> bool:
    """Checks ``discriminator_loss(real_logits, fake_logits)`` against ``-V``.

    The reference is ``losses.discriminator_loss``, on float32 logits ``(n,)``
    in [-5, 5] with equal batch sizes from 8 to 32.
    """
    return check_function(
        discriminator_loss,
        lambda r, f: losses.discriminator_loss(r, f),
        _logit_pair,
        name="discriminator_loss",
        mistakes=_DISCRIMINATOR_LOSS_MISTAKES,
        hint="Write -V(D, G) with D = sigmoid(logit), averaging each batch.",
        tolerance=_LOSS_TOLERANCE,
    )


_GENERATOR_LOSS_MISTAKES = (
    Mistake(
        "minimax form",
        lambda f: -np.mean(_softplus(f)),
        "this is the minimax form, E[log(1 - D(G(z)))], whose gradient "
        "vanishes while the bouncer rejects the imitators. The non-saturating "
        "loss is built from log D(G(z)) instead.",
    ),
    Mistake(
        "missing minus sign",
        lambda f: -np.mean(_softplus(-f)),
        "the sign is wrong. The imitator wants to maximise E[log D(G(z))], "
        "and a loss is minimised.",
    ),
    Mistake(
        "target 0",
        lambda f: np.mean(_softplus(f)),
        "this is the bouncer's loss on generated points, with target 0. The "
        "imitator wants its points judged real, target 1.",
    ),
    Mistake(
        "sum instead of mean",
        lambda f: np.sum(_softplus(-f)),
        "the result grows with the batch size. Average over the batch.",
    ),
    Mistake(
        "logits read as probabilities",
        lambda f: -np.mean(_log(f)),
        "the inputs are logits, not probabilities, so their logarithm is nan "
        "for negative logits. Turn them into probabilities first.",
    ),
)


def check_generator_loss(generator_loss: Callable[..., Any]) -> bool:
    """Checks ``generator_loss(fake_logits)``, the non-saturating loss.

    The reference is ``losses.generator_loss(fake_logits, "non_saturating")``,
    which is -E[log D(G(z))], on float32 logits ``(n,)`` in [-5, 5].
    """
    return check_function(
        generator_loss,
        lambda f: losses.generator_loss(f, "non_saturating"),
        _logit_batch,
        name="generator_loss",
        mistakes=_GENERATOR_LOSS_MISTAKES,
        hint="Write -E[log D(G(z))] with D = sigmoid(logit).",
        tolerance=_LOSS_TOLERANCE,
    )


# The crowd of the verdict exercise: the real spreads, strength mean 4.5.
# At the real mean (4, 1) the two densities differ by one factor
# exp(-(0.5 / 0.5)**2 / 2), so D* = 1 / (1 + exp(-1/2)).
_VERDICT_EXPECTED = 1.0 / (1.0 + math.exp(-0.5))
_VERDICT_MISTAKES = (
    Mistake(
        "probability of fake",
        1.0 - _VERDICT_EXPECTED,
        "that is the chance that the point is an imitator. D*(x) is the "
        "chance that it is real.",
    ),
    Mistake(
        "density ratio fake over real",
        math.exp(-0.5),
        "that is the ratio p_g(x) / p_data(x). D* divides p_data(x) by the sum "
        "of both densities.",
    ),
    Mistake(
        "density ratio real over fake",
        math.exp(0.5),
        "that is the ratio p_data(x) / p_g(x), and a probability cannot "
        "exceed 1. D* divides p_data(x) by the sum of both densities.",
    ),
    Mistake(
        "exponent without one half",
        1.0 / (1.0 + math.exp(-1.0)),
        "check the exponent: a normal density has exp(-(x - mean)**2 / "
        "(2 * std**2)), with a factor 2.",
    ),
    Mistake(
        "halfway",
        0.5,
        "D* is 1/2 where both densities are equal, halfway between the two "
        "means. The point (4, 1) is nearer the real mean.",
    ),
    Mistake(
        "certainly real",
        1.0,
        "D* is 1 only where the imitators never go. At (4, 1) their density "
        "is smaller than the real one, but not 0.",
    ),
    Mistake(
        "real density",
        1.0 / (2.0 * math.pi * 0.5 * 0.25),
        "that is p_data(x), a density, not a probability. D* compares it with p_g(x).",
    ),
)


def check_optimal_verdict(answer: float | None) -> bool:
    """Checks the learner's D*(x) at x = (4, 1) for the crowd of the exercise.

    The imitators' crowd is a normal distribution with mean (4.5, 1) and the
    real spreads (0.5, 0.25); the real tough guys have mean (4, 1).
    """
    return check_number(
        answer,
        _VERDICT_EXPECTED,
        tolerance=0.01,
        mistakes=_VERDICT_MISTAKES,
        hint="Write both densities at x and compute p_data / (p_data + p_g); "
        "the fighting terms are equal and cancel.",
        name="verdict",
    )


def check_first_feature(answer: str | None) -> bool:
    """Checks the choice of the feature that a bouncer uses first."""
    return check_choice(
        answer,
        correct="a",
        hints={
            "b": "a narrow spread helps only once the means agree. Compare how "
            "far each feature's real mean is from where fresh imitators start, "
            "measured in real spreads.",
            "c": "a network weighs its inputs by what lowers its loss, and "
            "gradient descent finds the largest difference first.",
            "d": "a fresh bouncer starts random, but a few nights of training "
            "are enough to see the largest difference.",
        },
        confirmation="fresh imitators sit near strength 0, eight real spreads "
        "below the real mean of 4. Fighting separates them less clearly, so "
        "the bouncer needs it only once the strength matches.",
        name="first_feature",
    )
