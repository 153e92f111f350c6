"""The exercise checks: generic checks, lesson 1's checks and its solutions."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_lessons import checking

ROOT = Path(__file__).resolve().parent.parent
LESSON_1 = ROOT / "notebooks" / "01_bouncer.ipynb"


def square(x):
    return x**2


def make_vector(rng):
    return (rng.normal(size=4),)


# check_function.


def test_check_function_accepts_equal_function(capsys):
    assert checking.check_function(lambda x: x * x, square, make_vector, name="f")
    assert capsys.readouterr().out.startswith("Correct: f matches")


def test_check_function_accepts_within_tolerance(capsys):
    assert checking.check_function(
        lambda x: x**2 + 1e-6, square, make_vector, tolerance=1e-4
    )
    assert not checking.check_function(
        lambda x: x**2 + 1e-2, square, make_vector, tolerance=1e-4
    )


def test_check_function_not_answered(capsys):
    assert not checking.check_function(lambda x: None, square, make_vector, name="f")
    assert capsys.readouterr().out == "Not answered yet: f returns None.\n"


def test_check_function_reports_exception(capsys):
    def broken(x):
        raise KeyError("missing")

    assert not checking.check_function(broken, square, make_vector, name="f")
    output = capsys.readouterr().out
    assert output.startswith("Not quite: f raised KeyError")
    assert "missing" in output


def test_check_function_reports_shape(capsys):
    assert not checking.check_function(
        lambda x: np.sum(x**2), square, make_vector, name="f"
    )
    assert "returned shape (); expected shape (4,)" in capsys.readouterr().out


def test_check_function_reports_scalar_expected(capsys):
    assert not checking.check_function(
        lambda x: x**2, lambda x: np.sum(x**2), make_vector
    )
    assert "expected a single number, shape ()" in capsys.readouterr().out


def test_check_function_reports_non_numbers(capsys):
    assert not checking.check_function(lambda x: "four", square, make_vector)
    assert "returned a str" in capsys.readouterr().out


def test_check_function_gives_mistake_hint(capsys):
    mistakes = (
        checking.Mistake("cube", lambda x: x**3, "HINT-CUBE"),
        checking.Mistake("double", lambda x: 2 * x, "HINT-DOUBLE"),
    )
    assert not checking.check_function(
        lambda x: 2 * x, square, make_vector, mistakes=mistakes
    )
    assert capsys.readouterr().out == "Not quite: HINT-DOUBLE\n"


def test_check_function_matches_nan_mistake(capsys):
    mistakes = (checking.Mistake("log", lambda x: np.log(x), "HINT-LOG"),)
    with np.errstate(invalid="ignore"):
        assert not checking.check_function(
            lambda x: np.log(x), square, make_vector, mistakes=mistakes
        )
    assert capsys.readouterr().out == "Not quite: HINT-LOG\n"


def test_check_function_reports_nan(capsys):
    assert not checking.check_function(
        lambda x: x * np.nan, square, make_vector, hint="HINT"
    )
    assert capsys.readouterr().out == (
        "Not quite: your function returns nan or inf for some inputs. HINT\n"
    )


def test_check_function_reports_difference(capsys):
    assert not checking.check_function(
        lambda x: x**2 + 0.5, square, make_vector, hint="HINT"
    )
    output = capsys.readouterr().out
    assert "differs from the reference by up to 0.5" in output
    assert output.rstrip().endswith("HINT")


def test_check_function_isolates_inputs():
    def square_in_place(x):
        x **= 2
        return x

    # The candidate squares its input in place; the reference must still see
    # the original values.
    assert checking.check_function(square_in_place, square, make_vector)


def test_check_function_same_inputs_for_each_seed():
    seen = []

    def record(x):
        seen.append(np.array(x))
        return x**2

    checking.check_function(record, square, make_vector, trials=2, seed=7)
    checking.check_function(record, square, make_vector, trials=2, seed=7)
    np.testing.assert_array_equal(seen[0], seen[2])
    assert not np.array_equal(seen[0], seen[1])


# check_number and check_choice.


@pytest.mark.parametrize(
    ("answer", "passed", "start"),
    [
        (None, False, "Not answered yet"),
        (0.25, True, "Correct"),
        (np.float32(0.26), True, "Correct"),
        (1, False, "Not quite: 1 is not right"),
        (0.75, False, "Not quite: HINT-ONE-MINUS"),
        ("0.25", False, "Not quite: your answer is a str"),
        (True, False, "Not quite: your answer is a bool"),
        (math.nan, False, "Not quite: your answer is nan"),
    ],
)
def test_check_number(capsys, answer, passed, start):
    mistakes = (checking.Mistake("one minus", 0.75, "HINT-ONE-MINUS"),)
    result = checking.check_number(answer, 0.25, tolerance=0.02, mistakes=mistakes)
    assert result is passed
    assert capsys.readouterr().out.startswith(start)


@pytest.mark.parametrize(
    ("answer", "passed", "start"),
    [
        (None, False, 'Not answered yet: set your answer to one of "a", "b", "c"'),
        ("", False, "Not answered yet"),
        ("b", True, "Correct: WHY"),
        (" (B). ", True, "Correct: WHY"),
        ("a", False, "Not quite: HINT-A"),
        ("z", False, "Not quite: 'z' is not an option"),
    ],
)
def test_check_choice(capsys, answer, passed, start):
    result = checking.check_choice(
        answer, correct="b", hints={"a": "HINT-A", "c": "HINT-C"}, confirmation="WHY"
    )
    assert result is passed
    assert capsys.readouterr().out.startswith(start)


# Lesson 1: the losses.

SIGMOID = jax.nn.sigmoid
SOFTPLUS = jax.nn.softplus

CORRECT_DISCRIMINATOR_LOSSES = {
    "softplus": lambda r, f: jnp.mean(SOFTPLUS(-r)) + jnp.mean(SOFTPLUS(f)),
    "log sigmoid": lambda r, f: (
        -jnp.mean(jnp.log(SIGMOID(r))) - jnp.mean(jnp.log(1 - SIGMOID(f)))
    ),
    "numpy": lambda r, f: (
        -np.mean(np.log(1 / (1 + np.exp(-np.asarray(r)))))
        - np.mean(np.log(1 - 1 / (1 + np.exp(-np.asarray(f)))))
    ),
    "binary cross-entropy": lambda r, f: (
        jnp.mean(jnp.concatenate([SOFTPLUS(-r), SOFTPLUS(f)])) * 2
    ),
}


@pytest.mark.parametrize("name", CORRECT_DISCRIMINATOR_LOSSES)
def test_discriminator_loss_accepts_correct_forms(capsys, name):
    assert checking.check_discriminator_loss(CORRECT_DISCRIMINATOR_LOSSES[name])
    assert capsys.readouterr().out.startswith("Correct")


WRONG_DISCRIMINATOR_LOSSES = {
    "swapped labels": (
        lambda r, f: jnp.mean(SOFTPLUS(r)) + jnp.mean(SOFTPLUS(-f)),
        "labels are swapped",
    ),
    "missing minus": (
        lambda r, f: jnp.mean(jnp.log(SIGMOID(r))) + jnp.mean(jnp.log(1 - SIGMOID(f))),
        "sign is wrong",
    ),
    "sum": (
        lambda r, f: jnp.sum(SOFTPLUS(-r)) + jnp.sum(SOFTPLUS(f)),
        "grows with the batch size",
    ),
    "mean of both": (
        lambda r, f: jnp.mean(jnp.concatenate([SOFTPLUS(-r), SOFTPLUS(f)])),
        "half the expected loss",
    ),
    "real only": (lambda r, f: jnp.mean(SOFTPLUS(-r)), "only the real points"),
    "generated only": (lambda r, f: jnp.mean(SOFTPLUS(f)), "only the generated"),
    "probabilities": (
        lambda r, f: -jnp.mean(jnp.log(r)) - jnp.mean(jnp.log(1 - f)),
        "inputs are logits",
    ),
    "not answered": (lambda r, f: None, "Not answered yet"),
    "per point": (
        lambda r, f: SOFTPLUS(-r) + SOFTPLUS(f),
        "expected a single number",
    ),
    "unrelated": (lambda r, f: jnp.mean(SIGMOID(r)), "differs from the reference"),
}


@pytest.mark.parametrize("name", WRONG_DISCRIMINATOR_LOSSES)
def test_discriminator_loss_hints(capsys, name):
    candidate, hint = WRONG_DISCRIMINATOR_LOSSES[name]
    assert not checking.check_discriminator_loss(candidate)
    output = capsys.readouterr().out
    assert hint in output
    assert "softplus(-" not in output.lower()


CORRECT_GENERATOR_LOSSES = {
    "softplus": lambda f: jnp.mean(SOFTPLUS(-f)),
    "log sigmoid": lambda f: -jnp.mean(jnp.log(SIGMOID(f))),
    "log_sigmoid": lambda f: -jnp.mean(jax.nn.log_sigmoid(f)),
}


@pytest.mark.parametrize("name", CORRECT_GENERATOR_LOSSES)
def test_generator_loss_accepts_correct_forms(capsys, name):
    assert checking.check_generator_loss(CORRECT_GENERATOR_LOSSES[name])
    assert capsys.readouterr().out.startswith("Correct")


WRONG_GENERATOR_LOSSES = {
    "minimax": (lambda f: jnp.mean(jnp.log(1 - SIGMOID(f))), "minimax form"),
    "missing minus": (lambda f: jnp.mean(jnp.log(SIGMOID(f))), "sign is wrong"),
    "target 0": (lambda f: jnp.mean(SOFTPLUS(f)), "target 0"),
    "sum": (lambda f: jnp.sum(SOFTPLUS(-f)), "grows with the batch size"),
    "probabilities": (lambda f: -jnp.mean(jnp.log(f)), "inputs are logits"),
    "not answered": (lambda f: None, "Not answered yet"),
}


@pytest.mark.parametrize("name", WRONG_GENERATOR_LOSSES)
def test_generator_loss_hints(capsys, name):
    candidate, hint = WRONG_GENERATOR_LOSSES[name]
    assert not checking.check_generator_loss(candidate)
    output = capsys.readouterr().out
    assert hint in output
    assert "softplus(-" not in output.lower()


# Lesson 1: the verdict and the choice.


def test_optimal_verdict_expected_value_matches_densities():
    from gan_lessons import toy, widgets

    crowd = toy.Gaussian(mean=(4.5, 1.0), std=(0.5, 0.25))
    point = np.array([[4.0, 1.0]], np.float32)
    verdict = float(widgets.optimal_discriminator(toy.tough_guys(), crowd, point)[0])
    assert checking.check_optimal_verdict(verdict)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "Not answered yet"),
        (0.3775, "chance that the point is an imitator"),
        (0.6065, "p_g(x) / p_data(x)"),
        (1.6487, "cannot exceed 1"),
        (0.7311, "with a factor 2"),
        (0.5, "halfway"),
        (1.0, "never go"),
        (1.2732, "a density, not a probability"),
        (0.9, "not right"),
    ],
)
def test_optimal_verdict_hints(capsys, answer, hint):
    assert not checking.check_optimal_verdict(answer)
    output = capsys.readouterr().out
    assert hint in output
    assert "0.62" not in output


@pytest.mark.parametrize(
    ("answer", "passed", "text"),
    [
        ("a", True, "Correct"),
        ("b", False, "narrow spread"),
        ("c", False, "weighs its inputs"),
        ("d", False, "starts random"),
        (None, False, "Not answered yet"),
    ],
)
def test_first_feature(capsys, answer, passed, text):
    assert checking.check_first_feature(answer) is passed
    assert text in capsys.readouterr().out


# Lesson 1's notebook: its solutions pass and its stubs are not answered yet.


def lesson_cells() -> dict[str, str]:
    notebook = json.loads(LESSON_1.read_text())
    return {cell["id"]: "".join(cell["source"]) for cell in notebook["cells"]}


def solution_code(markdown: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)
    assert blocks, "the solution has no python block"
    return "\n".join(blocks)


EXERCISES = {
    "1": ("first_feature", checking.check_first_feature),
    "2": ("verdict", checking.check_optimal_verdict),
    "3": ("discriminator_loss", checking.check_discriminator_loss),
    "4": ("generator_loss", checking.check_generator_loss),
}


@pytest.mark.parametrize("number", EXERCISES)
def test_lesson_solution_passes(capsys, number):
    name, check = EXERCISES[number]
    cells = lesson_cells()
    namespace = {"np": np, "jax": jax, "jnp": jnp}
    exec(solution_code(cells[f"solution_{number}"]), namespace)
    assert check(namespace[name])
    assert capsys.readouterr().out.startswith("Correct")


@pytest.mark.parametrize("number", EXERCISES)
def test_lesson_stub_not_answered(capsys, number):
    cells = lesson_cells()
    namespace = {"checking": checking}
    exec(cells[f"exercise_{number}_code"], namespace)
    assert namespace[f"exercise_{number}_passed"] is False
    assert capsys.readouterr().out.startswith("Not answered yet")


def test_lesson_solutions_are_folded():
    cells = lesson_cells()
    for number in EXERCISES:
        text = cells[f"solution_{number}"]
        assert text.startswith("<details>"), number
        assert "<summary>Solution" in text, number
        assert text.rstrip().endswith("</details>"), number


@pytest.mark.parametrize(
    "answer",
    [0.25, 1, np.float32(0.25), np.array(0.25), jnp.asarray(0.25), jnp.float32(1)],
)
def test_scalar_value_accepts_numbers(answer):
    assert checking.scalar_value(answer) == pytest.approx(float(answer))


@pytest.mark.parametrize("answer", [True, "0.25", [0.25], np.zeros(2), None, 1j])
def test_scalar_value_rejects_non_numbers(answer):
    assert checking.scalar_value(answer) is None
