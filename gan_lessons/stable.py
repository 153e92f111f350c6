"""Comparisons of the GAN objectives of lesson 7, and its exercise checks.

Three recipes are compared, each with the settings its source recommends:

* ``cross_entropy``: the original GAN with the non-saturating generator loss,
  batch norm in the discriminator and DCGAN's Adam (lr 2e-4, beta1 0.5).
* ``hinge``: the hinge loss with spectral normalisation and no batch norm in
  the discriminator (Miyato et al., "Spectral Normalization for Generative
  Adversarial Networks", ICLR 2018), with the same Adam settings.
* ``wasserstein_gp``: the Wasserstein loss with gradient penalty lambda = 10,
  5 critic updates per generator update, Adam lr 1e-4, beta1 0, beta2 0.9 and
  layer norm in place of batch norm in the critic (Gulrajani et al.,
  "Improved Training of Wasserstein GANs", NeurIPS 2017).

``compare_ring`` trains the toy GAN on the ring of eight Gaussians over several
seeds and counts covered modes. ``compare_mnist`` trains the DCGAN on MNIST
and measures the Fréchet distance and class coverage with ``metrics.evaluate``.
Both compare the recipes at equal numbers of generator updates, so
``wasserstein_gp`` makes 5 times as many discriminator updates.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from gan_lessons import checking, config, data, diagnostics, losses, metrics, toy
from gan_lessons.checking import Mistake
from gan_lessons.train import GAN

logger = logging.getLogger(__name__)

OBJECTIVES = config.OBJECTIVES
# Discriminator updates per generator update of each recipe.
DISCRIMINATOR_STEPS = {"cross_entropy": 1, "hinge": 1, "wasserstein_gp": 5}
# Seed offset of the latent vectors that generate the evaluated digits.
_EVALUATION_SEED_OFFSET = 40_000


# Recipes.


def toy_config(objective: str, learning_rate: float = 2e-3) -> toy.ToyConfig:
    """Returns the toy GAN settings of ``objective``'s recipe.

    The toy GAN keeps one learning rate for every recipe (lesson 5's 2e-3),
    because the rates of the papers are tuned for images. Only the Adam betas follow
    the recipe: 0 and 0.9 for ``wasserstein_gp``, 0.5 and 0.999 otherwise.
    """
    _check_objective(objective)
    penalized = objective == losses.WASSERSTEIN_GP
    return toy.ToyConfig(
        generator_learning_rate=learning_rate,
        discriminator_learning_rate=learning_rate,
        objective=objective,
        beta1=0.0 if penalized else 0.5,
        beta2=0.9 if penalized else 0.999,
    )


def image_configs(
    objective: str, *, width: int = 32, generator_updates: int = 3000, seed: int = 0
) -> tuple[config.ModelConfig, config.TrainConfig]:
    """Returns the DCGAN architecture and settings of ``objective``'s recipe.

    Args:
        objective: One of ``OBJECTIVES``.
        width: Width of the ``dcgan`` preset.
        generator_updates: Generator updates; ``wasserstein_gp`` trains for 5
            times as many steps.
        seed: Seed of the weights and latent vectors.
    """
    _check_objective(objective)
    model = config.model_preset("dcgan", width=width)
    steps = generator_updates * DISCRIMINATOR_STEPS[objective]
    if objective == losses.CROSS_ENTROPY:
        return model, config.train_preset("dcgan", steps=steps, seed=seed)
    if objective == losses.HINGE:
        model = dataclasses.replace(
            model, discriminator_norm="none", spectral_norm=True
        )
        train = config.train_preset("dcgan", steps=steps, seed=seed, objective="hinge")
        return model, train
    model = dataclasses.replace(model, discriminator_norm="layer")
    train = config.train_preset(
        "dcgan",
        steps=steps,
        seed=seed,
        objective=objective,
        generator_learning_rate=1e-4,
        discriminator_learning_rate=1e-4,
        beta1=0.0,
        beta2=0.9,
        discriminator_steps=DISCRIMINATOR_STEPS[objective],
        gradient_penalty_weight=10.0,
    )
    return model, train


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(
            f"Unknown objective={objective!r}; expected one of {OBJECTIVES}."
        )


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"seeds={seeds!r} must be a non-empty list of integers >= 0.")
    return seeds


# The ring.


@dataclasses.dataclass
class RingResult:
    """One toy run on the ring.

    Attributes:
        objective: The recipe.
        seed: Seed of the run.
        modes: Covered modes (of 8) at the end.
        high_quality: Share of samples within 3 standard deviations of a mode.
        seconds: Wall-clock time of the run, compilation included.
        run: The full record of ``diagnostics.record_toy_run``.
    """

    objective: str
    seed: int
    modes: int
    high_quality: float
    seconds: float
    run: diagnostics.ToyRun


def compare_ring(
    objectives: Sequence[str] = OBJECTIVES,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    generator_updates: int = 1500,
    check_every: int = 250,
) -> list[RingResult]:
    """Trains the toy GAN of each recipe on lesson 5's ring, once per seed.

    Returns:
        One result per objective and seed, objectives in the given order.
    """
    seeds = _check_seeds(seeds)
    ring = diagnostics.lesson_ring()
    results = []
    for objective in objectives:
        gan = toy.ToyGAN(ring, toy_config(objective))
        for seed in seeds:
            start = time.perf_counter()
            run = diagnostics.record_toy_run(
                gan,
                gan.init(seed),
                rounds=generator_updates,
                discriminator_steps=DISCRIMINATOR_STEPS[objective],
                check_every=check_every,
                seed=seed,
            )
            final = run.coverage[-1]
            results.append(
                RingResult(
                    objective=objective,
                    seed=seed,
                    modes=final.covered,
                    high_quality=final.high_quality_fraction,
                    seconds=time.perf_counter() - start,
                    run=run,
                )
            )
    return results


def ring_table(results: Sequence[RingResult]) -> str:
    """Formats ring results as one row per objective: each seed, then the mean."""
    lines = [
        f"{'objective':<16} {'modes per seed':<20} {'mean':>5} {'near a mode':>12}"
    ]
    for objective in dict.fromkeys(r.objective for r in results):
        rows = [r for r in results if r.objective == objective]
        modes = " ".join(str(r.modes) for r in rows)
        mean_modes = np.mean([r.modes for r in rows])
        quality = np.mean([r.high_quality for r in rows])
        lines.append(f"{objective:<16} {modes:<20} {mean_modes:>5.1f} {quality:>11.0%}")
    return "\n".join(lines)


# MNIST.


@dataclasses.dataclass
class MnistResult:
    """One DCGAN run on MNIST and its sample-quality figures.

    Attributes:
        objective: The recipe.
        seed: Seed of the run.
        steps: Training steps (discriminator updates).
        generator_updates: Generator updates.
        width: Width of the ``dcgan`` preset.
        frechet: Fréchet distance on classifier features, as ``metrics``.
        frechet_real: The same for real digits against real digits.
        classes: Digit classes among the generated digits, 0 to 10.
        confident_fraction: Share of digits classified with confidence >= 0.9.
        seconds: Wall-clock time of training, compilation included.
    """

    objective: str
    seed: int
    steps: int
    generator_updates: int
    width: int
    frechet: float
    frechet_real: float
    classes: int
    confident_fraction: float
    seconds: float


def train_mnist(
    objective: str,
    seed: int,
    *,
    generator_updates: int,
    width: int,
    batch_size: int = 64,
    dataset: data.Dataset | None = None,
) -> tuple[GAN, Any, float]:
    """Trains one recipe on MNIST; returns the GAN, its final state and seconds.

    ``dataset`` defaults to the bundled training digits.
    """
    model_config, train_config = image_configs(
        objective, width=width, generator_updates=generator_updates, seed=seed
    )
    train_config = dataclasses.replace(train_config, batch_size=batch_size)
    dataset = data.load_mnist("bundled") if dataset is None else dataset
    stream = data.BatchStream(dataset, batch_size, seed=seed)
    gan = GAN(model_config, train_config)
    start = time.perf_counter()
    state = gan.init()
    for step in range(train_config.steps):
        state, _ = gan.train_step(state, stream.batch_at(step))
    jax.block_until_ready(state)
    return gan, state, time.perf_counter() - start


def compare_mnist(
    objectives: Sequence[str] = OBJECTIVES,
    seeds: Sequence[int] = (0, 1),
    *,
    generator_updates: int = 1000,
    width: int = 16,
    batch_size: int = 64,
    num_samples: int = 500,
    on_result: Callable[[MnistResult], None] | None = None,
) -> list[MnistResult]:
    """Trains each recipe on the bundled MNIST digits, once per seed.

    Args:
        objectives: The recipes.
        seeds: Seeds of the runs.
        generator_updates: Generator updates per run.
        width: Width of the ``dcgan`` preset.
        batch_size: Real images per step.
        num_samples: Generated and held-out real digits per evaluation, at
            least 4 and at most 1000.
        on_result: Called with each result as soon as it is measured.

    Returns:
        One result per objective and seed.
    """
    seeds = _check_seeds(seeds)
    dataset = data.load_mnist("bundled")
    reference = metrics.real_reference(num_samples, source="bundled")
    results = []
    for objective in objectives:
        for seed in seeds:
            gan, state, seconds = train_mnist(
                objective,
                seed,
                generator_updates=generator_updates,
                width=width,
                batch_size=batch_size,
                dataset=dataset,
            )
            key = jax.random.key(seed + _EVALUATION_SEED_OFFSET)
            images = np.asarray(
                gan.generate(state, gan.sample_latent(key, num_samples))
            )
            evaluation = metrics.evaluate(images, reference)
            result = MnistResult(
                objective=objective,
                seed=seed,
                steps=gan.train_config.steps,
                generator_updates=generator_updates,
                width=width,
                frechet=evaluation.frechet,
                frechet_real=evaluation.frechet_real,
                classes=evaluation.num_classes_present,
                confident_fraction=evaluation.confident_fraction,
                seconds=seconds,
            )
            logger.info("%s", result)
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


def mnist_table(results: Sequence[MnistResult]) -> str:
    """Formats MNIST results as one row per objective, seeds side by side."""
    if not results:
        return "(no results)"
    header = (
        f"{'objective':<16} {'Fréchet per seed':<22} {'classes':<10} "
        f"{'confident':>9} {'minutes':>8}"
    )
    lines = [header]
    for objective in dict.fromkeys(r.objective for r in results):
        rows = [r for r in results if r.objective == objective]
        frechet = " ".join(f"{r.frechet:.1f}" for r in rows)
        classes = " ".join(str(r.classes) for r in rows)
        confident = np.mean([r.confident_fraction for r in rows])
        minutes = np.mean([r.seconds for r in rows]) / 60
        lines.append(
            f"{objective:<16} {frechet:<22} {classes:<10} {confident:>9.0%} "
            f"{minutes:>8.1f}"
        )
    lines.append(
        f"real digits against real digits: Fréchet {results[0].frechet_real:.1f}"
    )
    return "\n".join(lines)


def save_mnist_results(results: Sequence[MnistResult], path: str | Path) -> None:
    """Writes results to a JSON file that ``load_mnist_results`` reads."""
    records = [dataclasses.asdict(r) for r in results]
    Path(path).write_text(json.dumps(records, indent=1) + "\n")


def load_mnist_results(path: str | Path) -> list[MnistResult]:
    """Reads the results that ``save_mnist_results`` wrote."""
    records = json.loads(Path(path).read_text())
    return [MnistResult(**record) for record in records]


# Exercise checks.


def _score_pair(rng: np.random.Generator) -> tuple[jax.Array, jax.Array]:
    size = int(rng.integers(8, 33))
    # Scores around the hinge's corners at -1 and 1, so both sides are hit.
    real = rng.normal(0.5, 1.5, size)
    fake = rng.normal(-0.5, 1.5, size)
    return jnp.asarray(real, jnp.float32), jnp.asarray(fake, jnp.float32)


def _relu(x) -> np.ndarray:
    return np.maximum(np.asarray(x, np.float64), 0.0)


_HINGE_MISTAKES = (
    Mistake(
        "swapped signs",
        lambda r, f: np.mean(_relu(1.0 + np.asarray(r))) + np.mean(_relu(1.0 - f)),
        "the two margins are swapped. Real scores should be pushed above +1, "
        "so the real term is max(0, 1 - D(x)).",
    ),
    Mistake(
        "no clipping at zero",
        lambda r, f: np.mean(1.0 - np.asarray(r)) + np.mean(1.0 + np.asarray(f)),
        "the loss keeps rewarding scores beyond the margin. The hinge is "
        "max(0, ...): a real score above 1 costs nothing.",
    ),
    Mistake(
        "Wasserstein loss",
        lambda r, f: np.mean(f) - np.mean(r),
        "this is the Wasserstein critic loss, E[D(G(z))] - E[D(x)], without "
        "the margins of the hinge.",
    ),
    Mistake(
        "sum instead of mean",
        lambda r, f: np.sum(_relu(1.0 - np.asarray(r))) + np.sum(_relu(1.0 + f)),
        "the result grows with the batch size. Average each batch.",
    ),
    Mistake(
        "margin zero",
        lambda r, f: np.mean(_relu(-np.asarray(r))) + np.mean(_relu(f)),
        "the margin is missing. The hinge asks for real scores of at least "
        "+1 and generated scores of at most -1, not just the right sign.",
    ),
)


def check_hinge_loss(hinge_loss: Callable[..., Any]) -> bool:
    """Checks ``hinge_loss(real_scores, fake_scores)``, the discriminator's
    hinge loss, on random float32 scores ``(n,)``."""
    return checking.check_function(
        hinge_loss,
        losses.hinge_discriminator_loss,
        _score_pair,
        name="hinge_loss",
        mistakes=_HINGE_MISTAKES,
        hint="Write E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))].",
    )


def _gradient_batch(rng: np.random.Generator) -> tuple[jax.Array]:
    batch = int(rng.integers(4, 17))
    shape = (batch, 3, 3, 2)
    scale = rng.uniform(0.05, 0.6, (batch, 1, 1, 1))
    gradients = rng.normal(0.0, 1.0, shape) * scale
    return (jnp.asarray(gradients, jnp.float32),)


def _norms(g) -> np.ndarray:
    g = np.asarray(g, np.float64)
    return np.sqrt(np.sum(g.reshape(len(g), -1) ** 2, axis=1))


_PENALTY_MISTAKES = (
    Mistake(
        "norm of the whole batch",
        lambda g: (np.sqrt(np.sum(np.asarray(g, np.float64) ** 2)) - 1.0) ** 2,
        "the norm runs over the whole batch. The penalty asks each sample's "
        "gradient to have norm 1: take one norm per sample (every axis but "
        "the first), then average.",
    ),
    Mistake(
        "squared norm",
        lambda g: np.mean((_norms(g) ** 2 - 1.0) ** 2),
        "you penalise the squared norm. Take the square root of the sum of "
        "squares before subtracting 1.",
    ),
    Mistake(
        "one-sided penalty",
        lambda g: np.mean(np.maximum(_norms(g) - 1.0, 0.0) ** 2),
        "only norms above 1 are penalised. Gulrajani et al. penalise both "
        "sides: (||g|| - 1)^2.",
    ),
    Mistake(
        "norm per pixel",
        lambda g: np.mean((np.abs(np.asarray(g, np.float64)) - 1.0) ** 2),
        "the norm is missing: each entry is compared with 1. Sum the squares "
        "over every axis but the batch axis first.",
    ),
    Mistake(
        "norm over the last axis only",
        lambda g: np.mean(
            (np.sqrt(np.sum(np.asarray(g, np.float64) ** 2, axis=-1)) - 1.0) ** 2
        ),
        "the norm runs over the last axis only. A sample's gradient has the "
        "shape of the image: sum over height, width and channels.",
    ),
)


def check_gradient_penalty(gradient_penalty: Callable[..., Any]) -> bool:
    """Checks ``gradient_penalty(input_gradients)`` on random gradients
    ``(batch, 3, 3, 2)``, then checks that its gradient is finite at a zero
    input gradient."""
    correct = checking.check_function(
        gradient_penalty,
        losses.gradient_penalty,
        _gradient_batch,
        name="gradient_penalty",
        mistakes=_PENALTY_MISTAKES,
        hint="Take one norm per sample, then average (norm - 1)^2.",
    )
    if not correct:
        return False
    zeros = jnp.zeros((4, 3, 3, 2), jnp.float32)
    try:
        grad = np.asarray(jax.grad(lambda g: jnp.asarray(gradient_penalty(g)))(zeros))
    except Exception as error:  # noqa: BLE001 - any error is feedback
        print(
            f"Not quite: jax.grad of gradient_penalty raised {type(error).__name__}. "
            "Build it from jax.numpy functions so JAX can differentiate it."
        )
        return False
    if not np.all(np.isfinite(grad)):
        print(
            "Not quite: the values are right, but the gradient of "
            "gradient_penalty is NaN where an input gradient is all zeros. "
            "The derivative of sqrt at 0 is infinite; see losses.safe_norm "
            "for a norm whose gradient stays finite."
        )
        return False
    print("Correct: its gradient also stays finite at a zero input gradient.")
    return True


# Pictures and records for the lesson.


def recorded_mnist_path(name: str = "stable_mnist.json") -> Path:
    """Returns the path of a record of ``benchmarks/stable_mnist.py``.

    The records ship in the package's ``assets/`` folder, so lesson 7 finds
    them in an installed package too. The default name is the script's
    default output.
    """
    return Path(str(resources.files("gan_lessons") / "assets" / name))


def plot_losses_per_score(limit: float = 3.0) -> Figure:
    """Draws each objective's loss on one real and one generated sample
    against the discriminator's output for it."""
    scores = np.linspace(-limit, limit, 301)
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    real_axes, fake_axes = fig.subplots(1, 2)
    curves = {
        "cross-entropy": (np.logaddexp(0, -scores), np.logaddexp(0, scores)),
        "hinge": (np.maximum(0, 1 - scores), np.maximum(0, 1 + scores)),
        "Wasserstein": (-scores, scores),
    }
    for label, (real_loss, fake_loss) in curves.items():
        real_axes.plot(scores, real_loss, label=label)
        fake_axes.plot(scores, fake_loss, label=label)
    real_axes.set_title("real sample: loss against D(x)", fontsize=10)
    fake_axes.set_title("generated sample: loss against D(G(z))", fontsize=10)
    for axes in (real_axes, fake_axes):
        axes.set_xlabel("discriminator output (logit or score)")
        axes.axhline(0, color="grey", linewidth=0.5)
    real_axes.set_ylabel("discriminator's loss")
    real_axes.legend(fontsize="small")
    return fig


def plot_ring_samples(results: Sequence[RingResult], seed: int = 0) -> Figure:
    """Draws the final generated points of each objective's run with ``seed``."""
    runs = {r.objective: r.run for r in results if r.seed == seed}
    if not runs:
        raise ValueError(f"No result has seed={seed}; pick one of the run seeds.")
    return diagnostics.plot_toy_samples(runs, diagnostics.lesson_ring())
