"""The minimax game of Goodfellow et al. (2014) on one-dimensional toys.

Goodfellow et al. (2014), "Generative Adversarial Nets", define the value
function

    V(D, G) = E_x~p_data[log D(x)] + E_z~p_z[log(1 - D(G(z)))],

which the discriminator D ascends and the generator G descends. For a fixed
generator the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)),
and at D* the generator's objective is C(G) = -log 4 + 2 JSD(p_data || p_g).
This module computes these quantities on a grid of points, runs the
experiments of lesson 2 on ``toy.ToyGAN`` and builds its slider figure.

Densities are 1-D arrays ``(points,)`` over a sorted grid ``(points,)``, and
integrals use the trapezoidal rule. All logarithms are natural, so the
Jensen-Shannon divergence lies in [0, log 2].
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence

import ipywidgets
import jax
import jax.numpy as jnp
import numpy as np
import optax
from IPython import display as ipython_display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from gan_lessons import losses, plotting, toy

GENERATOR_LOSSES = ("minimax", "non_saturating")
_LOSS_LABELS = {
    "minimax": "saturating: log(1 - D(G(z)))",
    "non_saturating": "non-saturating: -log D(G(z))",
}

# Densities on a grid.


def density_on_grid(
    distribution: toy.Gaussian | toy.GaussianMixture, grid: np.ndarray
) -> np.ndarray:
    """Evaluates a 1-D toy distribution's density at each grid point.

    The float32 log density is exponentiated in float64, so densities in the
    far tails stay positive where a float32 density would round to 0.

    Args:
        distribution: A ``toy.Gaussian`` or ``toy.GaussianMixture`` of
            dimension 1.
        grid: Points ``(points,)``.

    Returns:
        float64 densities ``(points,)``.
    """
    if distribution.dim != 1:
        raise ValueError(
            f"The distribution has dimension {distribution.dim}; the grid "
            "functions need dimension 1."
        )
    points = np.asarray(grid, np.float32)[:, None]
    return np.exp(np.asarray(distribution.log_density(points), np.float64))


def integrate(values: np.ndarray, grid: np.ndarray) -> float:
    """Integrates sampled values over the grid with the trapezoidal rule."""
    return float(np.trapezoid(np.asarray(values, np.float64), np.asarray(grid)))


def _checked_densities(*densities: np.ndarray) -> list[np.ndarray]:
    arrays = [np.asarray(d, np.float64) for d in densities]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"Densities have shapes {sorted(shapes)}; expected one.")
    for array in arrays:
        if np.any(array < 0) or not np.all(np.isfinite(array)):
            raise ValueError(
                "Densities must be finite and non-negative; got values from "
                f"{np.min(array)} to {np.max(array)}."
            )
    return arrays


def _x_log_y(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Returns x * log(y) with 0 where x is 0, as in 0 * log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        product = x * np.log(y)
    return np.where(x == 0, 0.0, product)


def optimal_discriminator(
    data_density: np.ndarray, generator_density: np.ndarray
) -> np.ndarray:
    """Computes D*(x) = p_data(x) / (p_data(x) + p_g(x)) pointwise.

    Where both densities are 0, the point adds nothing to V(D, G) and every
    value of D is optimal. This function returns 0.5 there.

    Args:
        data_density: p_data at each point, any shape.
        generator_density: p_g at the same points, same shape.

    Returns:
        D* at each point, values in [0, 1], same shape.
    """
    data, generated = _checked_densities(data_density, generator_density)
    total = data + generated
    return np.divide(data, total, out=np.full_like(total, 0.5), where=total > 0)


def value_function(
    discriminator: np.ndarray,
    data_density: np.ndarray,
    generator_density: np.ndarray,
    grid: np.ndarray,
) -> float:
    """Integrates V(D, G) = ∫ p_data log D + p_g log(1 - D) dx over the grid.

    Args:
        discriminator: D at each grid point, values in [0, 1].
        data_density: p_data at each grid point.
        generator_density: p_g at each grid point.
        grid: Sorted points ``(points,)``.

    Returns:
        V(D, G), which is -inf when D is 0 where p_data > 0 or 1 where p_g > 0.
    """
    data, generated = _checked_densities(data_density, generator_density)
    d = np.asarray(discriminator, np.float64)
    if d.shape != data.shape:
        raise ValueError(
            f"discriminator has shape {d.shape}; expected {data.shape}, the "
            "shape of the densities."
        )
    if np.any((d < 0) | (d > 1)):
        raise ValueError("discriminator must have values in [0, 1].")
    integrand = _x_log_y(data, d) + _x_log_y(generated, 1.0 - d)
    return integrate(integrand, grid)


def generator_criterion(
    data_density: np.ndarray, generator_density: np.ndarray, grid: np.ndarray
) -> float:
    """Integrates C(G) = V(D*, G), the value the generator faces against D*.

    The integrand p_data log D* + p_g log(1 - D*) is computed as
    p_data log(p_data / (p_data + p_g)) + p_g log(p_g / (p_data + p_g)). This
    form stays finite where p_g is so small next to p_data that 1 - D* rounds
    to 0.

    NOTE: mass outside the grid is lost, so C(G) = -log 4 + 2 JSD holds only
    as far as both densities integrate to 1 over the grid.
    """
    data, generated = _checked_densities(data_density, generator_density)
    total = data + generated
    with np.errstate(divide="ignore", invalid="ignore"):
        data_share = np.where(total > 0, data / total, 1.0)
        generator_share = np.where(total > 0, generated / total, 1.0)
    integrand = _x_log_y(data, data_share) + _x_log_y(generated, generator_share)
    return integrate(integrand, grid)


def jensen_shannon_divergence(p: np.ndarray, q: np.ndarray, grid: np.ndarray) -> float:
    """Integrates JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2.

    Args:
        p: First density at each grid point.
        q: Second density at each grid point.
        grid: Sorted points ``(points,)``.

    Returns:
        The divergence in nats: 0 for equal densities, log 2 for densities
        with disjoint supports.
    """
    p, q = _checked_densities(p, q)
    mixture = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        p_ratio = np.where(p > 0, p / mixture, 1.0)
        q_ratio = np.where(q > 0, q / mixture, 1.0)
    kl_p = integrate(_x_log_y(p, p_ratio), grid)
    kl_q = integrate(_x_log_y(q, q_ratio), grid)
    return 0.5 * kl_p + 0.5 * kl_q


def central_interval(
    density: np.ndarray, grid: np.ndarray, mass: float = 0.98
) -> tuple[float, float]:
    """Returns the grid interval that contains the central ``mass`` of a density.

    The ends are the grid points where the cumulative integral first reaches
    ``(1 - mass) / 2`` and ``(1 + mass) / 2`` of the total.
    """
    if not 0 < mass < 1:
        raise ValueError(f"mass={mass} must lie strictly between 0 and 1.")
    (density,) = _checked_densities(density)
    steps = np.diff(grid) * (density[1:] + density[:-1]) / 2
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    cumulative /= cumulative[-1]
    low = grid[np.searchsorted(cumulative, (1 - mass) / 2)]
    high = grid[np.searchsorted(cumulative, (1 + mass) / 2)]
    return float(low), float(high)


@dataclasses.dataclass(frozen=True)
class CriterionRow:
    """Both sides of C(G) = -log 4 + 2 JSD(p_data || p_g) for one generator.

    Attributes:
        name: Description of the generator's distribution.
        divergence: JSD(p_data || p_g) by grid integration, in nats.
        criterion: C(G) = V(D*, G) by grid integration.
        identity: -log 4 + 2 * ``divergence``.
        monte_carlo: C(G) estimated from samples of both distributions, as a
            check that does not use the grid.
    """

    name: str
    divergence: float
    criterion: float
    identity: float
    monte_carlo: float


def criterion_table(
    data: toy.Gaussian | toy.GaussianMixture,
    generators: Mapping[str, toy.Gaussian | toy.GaussianMixture],
    grid: np.ndarray,
    *,
    key: jax.Array,
    num_samples: int = 100_000,
) -> list[CriterionRow]:
    """Computes both sides of the C(G) identity for several generators.

    The Monte Carlo column averages log D*(x) over samples of p_data and
    log(1 - D*(x)) over samples of p_g, with log D* computed from the log
    densities, so it depends on neither the grid nor the trapezoidal rule.

    Args:
        data: The 1-D data distribution.
        generators: Name to 1-D distribution of the generator's samples.
        grid: Sorted points covering both distributions' mass.
        key: PRNG key of the Monte Carlo samples.
        num_samples: Samples per distribution for the Monte Carlo column.
    """
    data_density = density_on_grid(data, grid)
    rows = []
    for index, (name, generator) in enumerate(generators.items()):
        generator_density = density_on_grid(generator, grid)
        divergence = jensen_shannon_divergence(data_density, generator_density, grid)
        data_key, generator_key = jax.random.split(jax.random.fold_in(key, index))
        real = data.sample(data_key, num_samples)
        fake = generator.sample(generator_key, num_samples)
        rows.append(
            CriterionRow(
                name=name,
                divergence=divergence,
                criterion=generator_criterion(data_density, generator_density, grid),
                identity=-math.log(4.0) + 2.0 * divergence,
                monte_carlo=_monte_carlo_criterion(data, generator, real, fake),
            )
        )
    return rows


def _monte_carlo_criterion(data, generator, real, fake) -> float:
    def log_optimal(x):
        log_data = np.asarray(data.log_density(x), np.float64)
        log_generator = np.asarray(generator.log_density(x), np.float64)
        return log_data - np.logaddexp(log_data, log_generator)

    def log_one_minus_optimal(x):
        log_data = np.asarray(data.log_density(x), np.float64)
        log_generator = np.asarray(generator.log_density(x), np.float64)
        return log_generator - np.logaddexp(log_data, log_generator)

    return float(np.mean(log_optimal(real)) + np.mean(log_one_minus_optimal(fake)))


def format_criterion_table(rows: Sequence[CriterionRow]) -> str:
    """Formats ``criterion_table`` rows as a fixed-width text table."""
    width = max(len("generator"), *(len(row.name) for row in rows))
    header = (
        f"{'generator':<{width}}  {'JSD':>7}  {'C(G) grid':>10}  "
        f"{'-log 4 + 2 JSD':>14}  {'C(G) samples':>12}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.name:<{width}}  {row.divergence:7.4f}  {row.criterion:10.6f}  "
            f"{row.identity:14.6f}  {row.monte_carlo:12.4f}"
        )
    return "\n".join(lines)


# Generator loss gradients.


def probability_to_logit(probability: np.ndarray) -> np.ndarray:
    """Returns log(p / (1 - p)), the logit whose sigmoid is ``probability``."""
    p = np.asarray(probability, np.float64)
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("Probabilities must lie strictly between 0 and 1.")
    return np.log(p) - np.log1p(-p)


def generator_loss_slope(d_fake: np.ndarray, kind: str) -> np.ndarray:
    """Differentiates one sample's generator loss with respect to its logit.

    The generator's gradient reaches its parameters through the logit a of
    D(G(z)) = sigmoid(a), so d loss / d a sets the size of every generator
    update. ``losses.generator_loss`` is differentiated with ``jax.grad``; the
    results equal -D(G(z)) for ``"minimax"`` and -(1 - D(G(z))) for
    ``"non_saturating"``.

    Args:
        d_fake: Values of D(G(z)) strictly between 0 and 1, shape ``(n,)``.
        kind: ``"minimax"`` (saturating) or ``"non_saturating"``.

    Returns:
        float64 slopes ``(n,)``.
    """
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"kind={kind!r}; expected one of {GENERATOR_LOSSES}.")
    logits = jnp.asarray(probability_to_logit(np.atleast_1d(d_fake)), jnp.float32)

    def one_sample_loss(logit):
        return losses.generator_loss(logit[None], kind)

    slopes = jax.vmap(jax.grad(one_sample_loss))(logits)
    return np.asarray(slopes, np.float64)


def plot_generator_loss_slopes(d_fake: np.ndarray | None = None) -> Figure:
    """Plots both generator losses and their slopes against D(G(z)).

    Args:
        d_fake: Values of D(G(z)) in (0, 1); ``None`` uses 200 values from
            1e-4 to 1 - 1e-4, evenly spaced on a logit scale.

    Returns:
        A figure with the losses on the left and |d loss / d logit| on the
        right, on a logarithmic axis.
    """
    if d_fake is None:
        d_fake = 1.0 / (1.0 + np.exp(-np.linspace(-9.2, 9.2, 200)))
    d_fake = np.asarray(d_fake, np.float64)
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    loss_axes, slope_axes = fig.subplots(1, 2)
    logits = jnp.asarray(probability_to_logit(d_fake), jnp.float32)
    for kind in GENERATOR_LOSSES:
        per_sample = jax.vmap(lambda a, kind=kind: losses.generator_loss(a[None], kind))
        loss_axes.plot(d_fake, np.asarray(per_sample(logits)), label=_LOSS_LABELS[kind])
        slope = np.abs(generator_loss_slope(d_fake, kind))
        slope_axes.plot(d_fake, slope, label=_LOSS_LABELS[kind])
    loss_axes.set_xlabel("D(G(z))")
    loss_axes.set_ylabel("generator loss")
    loss_axes.set_ylim(-6, 6)
    loss_axes.legend()
    slope_axes.set_xlabel("D(G(z))")
    slope_axes.set_ylabel("|d loss / d logit|")
    slope_axes.set_yscale("log")
    slope_axes.legend()
    return fig


# Which parameters each loss's gradient reaches.


def loss_gradient_norms(
    gan: toy.ToyGAN, state: toy.ToyState, key: jax.Array
) -> dict[str, tuple[float, float]]:
    """Differentiates both losses with respect to both networks' parameters.

    Both losses depend on both networks, so all four gradients are nonzero in
    general. ``ToyGAN`` applies only the discriminator-loss gradient with
    respect to the discriminator's parameters in a discriminator update, and
    only the generator-loss gradient with respect to the generator's
    parameters in a generator update.

    Args:
        gan: The toy GAN.
        state: Its current state.
        key: PRNG key of one batch of real points and latent vectors.

    Returns:
        ``{"discriminator loss": (norm wrt generator params, norm wrt
        discriminator params), "generator loss": (...)}``, global L2 norms.
    """
    data_key, latent_key = jax.random.split(key)
    real = gan.data.sample(data_key, gan.config.batch_size)
    z = gan.sample_latent(latent_key, gan.config.batch_size)

    def real_and_fake_logits(generator_params, discriminator_params):
        current = state._replace(
            generator_params=generator_params,
            discriminator_params=discriminator_params,
        )
        real_logits = gan.discriminator_logits(current, real)
        fake_logits = gan.discriminator_logits(current, gan.generate(current, z))
        return real_logits, fake_logits

    def discriminator_loss(generator_params, discriminator_params):
        real_logits, fake_logits = real_and_fake_logits(
            generator_params, discriminator_params
        )
        return losses.discriminator_loss(real_logits, fake_logits)

    def generator_loss(generator_params, discriminator_params):
        _, fake_logits = real_and_fake_logits(generator_params, discriminator_params)
        return losses.generator_loss(fake_logits, gan.config.generator_loss)

    params = (state.generator_params, state.discriminator_params)
    norms = {}
    for name, loss_fn in (
        ("discriminator loss", discriminator_loss),
        ("generator loss", generator_loss),
    ):
        gradients = jax.grad(loss_fn, argnums=(0, 1))(*params)
        norms[name] = tuple(float(optax.tree.norm(g)) for g in gradients)
    return norms


def max_parameter_change(before, after) -> float:
    """Returns the largest absolute change between two parameter pytrees."""
    changes = [
        float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))
        for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True)
    ]
    return max(changes, default=0.0)


# The optimal discriminator against a fixed Gaussian generator.


def with_affine_generator(
    gan: toy.ToyGAN, state: toy.ToyState, *, mean: float, std: float
) -> toy.ToyState:
    """Sets a 1-D affine generator to G(z) = mean + std * z.

    With a standard normal z, the generator's distribution is then exactly
    N(mean, std^2), so p_g is known in closed form.

    Args:
        gan: A ``ToyGAN`` with ``generator_hidden=()``, ``latent_dim=1``,
            ``data_dim=1`` and ``latent="normal"``.
        state: Its state.
        mean: Mean of the generated points.
        std: Standard deviation of the generated points, positive.
    """
    c = gan.config
    if (c.generator_hidden, c.latent_dim, c.data_dim, c.latent) != ((), 1, 1, "normal"):
        raise ValueError(
            "with_affine_generator needs ToyConfig(generator_hidden=(), "
            "latent_dim=1, data_dim=1, latent='normal'); got generator_hidden="
            f"{c.generator_hidden}, latent_dim={c.latent_dim}, data_dim="
            f"{c.data_dim}, latent={c.latent!r}."
        )
    if not std > 0:
        raise ValueError(f"std={std!r} must be positive.")

    def replace(path, leaf):
        names = {getattr(entry, "key", None) for entry in path}
        if "kernel" in names:
            return jnp.full_like(leaf, std)
        if "bias" in names:
            return jnp.full_like(leaf, mean)
        raise ValueError(
            f"Unexpected generator parameter {jax.tree_util.keystr(path)}."
        )

    params = jax.tree_util.tree_map_with_path(replace, state.generator_params)
    return state._replace(generator_params=params)


@dataclasses.dataclass(frozen=True)
class DiscriminatorFit:
    """A discriminator trained against a fixed generator, next to D*.

    Attributes:
        grid: Points ``(points,)``.
        data_density: p_data on the grid.
        generator_density: p_g on the grid.
        optimal: D* on the grid.
        trained: The trained discriminator's D(x) on the grid.
        bulk: Interval that contains the central 98% of the mixture
            (p_data + p_g) / 2, where most of the discriminator's training
            points lie.
        max_difference: Largest |D - D*| on the grid points inside ``bulk``.
        value_trained: V(D, G) of the trained discriminator, by integration.
        value_optimal: V(D*, G) = C(G), by integration.
        steps: Discriminator updates made.
    """

    grid: np.ndarray
    data_density: np.ndarray
    generator_density: np.ndarray
    optimal: np.ndarray
    trained: np.ndarray
    bulk: tuple[float, float]
    max_difference: float
    value_trained: float
    value_optimal: float
    steps: int


def fit_discriminator(
    gan: toy.ToyGAN,
    state: toy.ToyState,
    generator: toy.Gaussian,
    grid: np.ndarray,
    *,
    schedule: Sequence[tuple[float, int]] = ((1e-2, 2000), (1e-3, 2000), (3e-4, 1000)),
    chunk: int = 500,
) -> tuple[toy.ToyState, DiscriminatorFit]:
    """Trains only the discriminator against a fixed generator.

    Args:
        gan: A ``ToyGAN`` on 1-D data.
        state: Its state, whose generator produces ``generator``'s
            distribution (see ``with_affine_generator``).
        generator: The distribution of the generator's points, for p_g.
        grid: Sorted points ``(points,)`` covering both distributions.
        schedule: ``(learning rate, updates)`` phases of the discriminator;
            the smaller rates at the end reduce the noise of the minibatches.
        chunk: Updates per compiled call; every phase's count must be a
            multiple of it, so that one program serves all phases.

    Returns:
        The trained state and the comparison with D*.
    """
    for _, count in schedule:
        if count % chunk:
            raise ValueError(
                f"A phase of {count} updates is not a multiple of chunk={chunk}."
            )
    steps = 0
    for rate, count in schedule:
        state = gan.set_learning_rates(state, discriminator=rate)
        for _ in range(count // chunk):
            state, _ = gan.discriminator_steps(state, chunk)
        steps += count
    data_density = density_on_grid(gan.data, grid)
    generator_density = density_on_grid(generator, grid)
    optimal = optimal_discriminator(data_density, generator_density)
    points = np.asarray(grid, np.float32)[:, None]
    trained = np.asarray(gan.discriminator_probability(state, points), np.float64)
    bulk = central_interval((data_density + generator_density) / 2, grid)
    inside = (grid >= bulk[0]) & (grid <= bulk[1])
    fit = DiscriminatorFit(
        grid=np.asarray(grid),
        data_density=data_density,
        generator_density=generator_density,
        optimal=optimal,
        trained=trained,
        bulk=bulk,
        max_difference=float(np.max(np.abs(trained - optimal)[inside])),
        value_trained=value_function(trained, data_density, generator_density, grid),
        value_optimal=generator_criterion(data_density, generator_density, grid),
        steps=steps,
    )
    return state, fit


def plot_discriminator_fit(fit: DiscriminatorFit) -> Figure:
    """Plots both densities, D* and the trained discriminator."""
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    axes = fig.add_subplot()
    axes.plot(fit.grid, fit.data_density, color="black", linestyle=":", label="p_data")
    axes.plot(fit.grid, fit.generator_density, color="green", label="p_g")
    axes.plot(fit.grid, fit.optimal, color="orange", linewidth=3, label="D* formula")
    axes.plot(fit.grid, fit.trained, color="blue", linestyle="--", label="trained D(x)")
    axes.axvspan(*fit.bulk, color="grey", alpha=0.1, label="central 98%")
    axes.set_xlabel("x")
    axes.set_ylabel("density or probability")
    axes.set_title(
        f"After {fit.steps} discriminator updates: max |D - D*| = "
        f"{fit.max_difference:.3f} in the shaded interval"
    )
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


# Saturating against non-saturating generator loss.

# Adam's step is learning_rate * m / (sqrt(v) + epsilon), with m and v running
# means of the gradient and of its square. For gradient components far below
# epsilon the step is learning_rate * m / epsilon: gradient descent with
# momentum, whose step shrinks with the gradient. Larger components are damped.
MOMENTUM_EPSILON = 1.0


def set_generator_adam_epsilon(state: toy.ToyState, epsilon: float) -> toy.ToyState:
    """Returns ``state`` with the generator's Adam epsilon set to ``epsilon``.

    ``toy.ToyGAN`` builds its optimisers with ``optax.inject_hyperparams``, so
    epsilon lives in the optimiser state and changing it recompiles nothing.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon={epsilon!r} must be positive.")
    opt_state = state.generator_opt_state
    hyperparams = dict(opt_state.hyperparams)
    hyperparams["eps"] = jnp.asarray(epsilon, hyperparams["eps"].dtype)
    return state._replace(
        generator_opt_state=opt_state._replace(hyperparams=hyperparams)
    )


def wasserstein_distance_1d(a: jax.Array, b: jax.Array) -> jax.Array:
    """Returns the 1-Wasserstein distance of two equal-size 1-D samples.

    For samples of equal size n it is mean(|sort(a) - sort(b)|), the area
    between the two empirical distribution functions.
    """
    a, b = jnp.ravel(a), jnp.ravel(b)
    if a.shape != b.shape:
        raise ValueError(f"Samples have sizes {a.size} and {b.size}; expected equal.")
    return jnp.mean(jnp.abs(jnp.sort(a) - jnp.sort(b)))


@functools.lru_cache(maxsize=16)
def _rounds_function(gan: toy.ToyGAN, num_rounds: int) -> Callable:
    """Compiles ``num_rounds`` calls of ``gan.train_round`` into one program."""

    def one_round(state, reference):
        state, metrics = gan.train_round(state)
        # A key apart from the state's own, so the distance draws no number
        # that a later update uses.
        key = jax.random.fold_in(jax.random.key(2014), state.updates)
        fake = gan.sample(state, key, reference.shape[0])[:, 0]
        metrics["distance"] = wasserstein_distance_1d(fake, reference)
        return state, metrics

    def run(state, reference):
        return jax.lax.scan(
            lambda s, _: one_round(s, reference), state, length=num_rounds
        )

    return jax.jit(run)


def train_rounds(
    gan: toy.ToyGAN, state: toy.ToyState, num_rounds: int, reference: jax.Array
) -> tuple[toy.ToyState, dict[str, np.ndarray]]:
    """Runs ``num_rounds`` rounds of one discriminator and one generator update.

    The rounds run in one compiled ``lax.scan`` over ``gan.train_round``, which
    avoids a Python call per round. The program is cached per GAN and round
    count.

    Args:
        gan: A ``ToyGAN`` on 1-D data.
        state: Its state.
        num_rounds: Rounds to run.
        reference: Data points ``(n,)``; after each round the generator draws
            n points and their 1-Wasserstein distance to ``reference`` is
            recorded as ``"distance"``.

    Returns:
        The new state and each round's metrics (those of ``train_round`` and
        ``"distance"``), arrays ``(num_rounds,)``.
    """
    if not isinstance(num_rounds, int) or num_rounds < 1:
        raise ValueError(f"num_rounds={num_rounds!r} must be a positive integer.")
    if gan.config.data_dim != 1:
        raise ValueError(f"train_rounds needs 1-D data; got {gan.config.data_dim}.")
    reference = jnp.ravel(jnp.asarray(reference, jnp.float32))
    state, history = _rounds_function(gan, num_rounds)(state, reference)
    return state, {name: np.asarray(values) for name, values in history.items()}


@dataclasses.dataclass(frozen=True)
class SaturationRun:
    """One generator loss trained from a discriminator that is winning.

    Attributes:
        generator_loss: ``"minimax"`` (saturating) or ``"non_saturating"``.
        optimizer: ``"momentum"`` or ``"adam"``, the generator's optimiser.
        start_d_fake: Mean D(G(z)) before the first round.
        start_grad_norm: Norm of the generator loss's gradient with respect to
            the generator's parameters before the first round.
        d_fake: Mean D(G(z)) after each round, ``(rounds,)``.
        generator_grad_norm: Gradient norm after each round, ``(rounds,)``.
        distance: 1-Wasserstein distance from generated points to data points
            after each round, ``(rounds,)``.
    """

    generator_loss: str
    optimizer: str
    start_d_fake: float
    start_grad_norm: float
    d_fake: np.ndarray
    generator_grad_norm: np.ndarray
    distance: np.ndarray

    @property
    def label(self) -> str:
        """Legend label such as ``"saturating, momentum"``."""
        kind = "saturating" if self.generator_loss == "minimax" else "non-saturating"
        return f"{kind}, {self.optimizer}"


OPTIMIZERS = ("momentum", "adam")


class SaturationExperiment:
    """Both generator losses, trained from the same winning discriminator.

    Each loss gets its own ``ToyGAN`` with the same configuration otherwise
    and the same seed, so both start from the same weights and see the same
    batches. The discriminator first trains alone for ``warmup_steps``
    updates, which makes it reject the generator's points with high
    confidence. ``run`` then alternates one discriminator and one generator
    update. The generator uses either Adam, as ``ToyGAN`` builds it, or
    gradient descent with momentum (Adam with ``MOMENTUM_EPSILON``).

    Attributes:
        gans: ``ToyGAN`` per generator loss.
        reference: Data points ``(reference_size,)`` for the distance.
        chunk: Rounds per compiled call; ``record_training`` with
            ``every=chunk`` on one of ``gans`` reuses the same program.
    """

    def __init__(
        self,
        data: toy.Gaussian,
        *,
        seed: int = 0,
        warmup_steps: int = 1000,
        learning_rate: float = 1e-2,
        hidden: tuple[int, ...] = (16, 16),
        latent: str = "uniform",
        reference_size: int = 2048,
        chunk: int = 10,
    ):
        """Builds both GANs and trains their common discriminator alone.

        Args:
            data: 1-D data distribution, far from where a new generator puts
                its points (near 0).
            seed: Seed of the weights and batches.
            warmup_steps: Discriminator updates before the first round.
            learning_rate: Step size of both networks.
            hidden: Hidden widths of both networks.
            latent: Prior of z, ``"normal"`` or ``"uniform"``.
            reference_size: Data points for the distance.
            chunk: Rounds per compiled call.
        """
        self.chunk = chunk
        self.reference = data.sample(jax.random.key(seed + 1), reference_size)[:, 0]
        self.gans: dict[str, toy.ToyGAN] = {}
        for kind in GENERATOR_LOSSES:
            config = toy.ToyConfig(
                data_dim=1,
                latent_dim=1,
                generator_hidden=hidden,
                discriminator_hidden=hidden,
                generator_learning_rate=learning_rate,
                discriminator_learning_rate=learning_rate,
                generator_loss=kind,
                latent=latent,
            )
            self.gans[kind] = toy.ToyGAN(data, config)

        # The GANs differ only in the generator's loss, which neither the
        # initial weights nor a discriminator update depends on, so one
        # warm-up serves both. The warm-up's metrics describe the state it
        # returns, and a round of no updates measures the other loss there.
        first, second = (self.gans[kind] for kind in GENERATOR_LOSSES)
        self._start, first_metrics = first.discriminator_steps(
            first.init(seed), warmup_steps
        )
        _, second_metrics = second.train_round(
            self._start, discriminator_steps=0, generator_steps=0
        )
        self._start_metrics = dict(
            zip(GENERATOR_LOSSES, (first_metrics, second_metrics), strict=True)
        )

    def start_state(self, generator_loss: str, optimizer: str) -> toy.ToyState:
        """Returns the state after the warm-up, with the generator's optimiser."""
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r}; expected one of {OPTIMIZERS}.")
        if generator_loss not in self.gans:
            raise ValueError(
                f"generator_loss={generator_loss!r}; expected one of "
                f"{GENERATOR_LOSSES}."
            )
        state = self._start
        if optimizer == "momentum":
            state = set_generator_adam_epsilon(state, MOMENTUM_EPSILON)
        return state

    def run(
        self, rounds: int, optimizers: Sequence[str] = OPTIMIZERS
    ) -> list[SaturationRun]:
        """Trains each loss with each optimiser for ``rounds`` rounds.

        Args:
            rounds: Rounds per run, a multiple of ``chunk``.
            optimizers: Generator optimisers to try, from ``OPTIMIZERS``.

        Returns:
            One run per optimiser and loss, the losses in the order of
            ``GENERATOR_LOSSES``.
        """
        if rounds < self.chunk or rounds % self.chunk:
            raise ValueError(
                f"rounds={rounds} must be a positive multiple of chunk={self.chunk}."
            )
        return [
            self._run_one(kind, optimizer, rounds)
            for optimizer in optimizers
            for kind in GENERATOR_LOSSES
        ]

    def _run_one(self, kind: str, optimizer: str, rounds: int) -> SaturationRun:
        state = self.start_state(kind, optimizer)
        histories = []
        for _ in range(rounds // self.chunk):
            state, history = train_rounds(
                self.gans[kind], state, self.chunk, self.reference
            )
            histories.append(history)
        joined = {
            name: np.concatenate([history[name] for history in histories])
            for name in histories[0]
        }
        start = self._start_metrics[kind]
        return SaturationRun(
            generator_loss=kind,
            optimizer=optimizer,
            start_d_fake=float(start["d_fake"]),
            start_grad_norm=float(start["generator_grad_norm"]),
            d_fake=joined["d_fake"],
            generator_grad_norm=joined["generator_grad_norm"],
            distance=joined["distance"],
        )


def format_saturation_table(
    runs: Sequence[SaturationRun], at: Sequence[int] = (50, 100, 200)
) -> str:
    """Formats each run's start and its distance to the data after some rounds.

    Args:
        runs: Runs of ``SaturationExperiment.run``.
        at: Rounds whose distance gets its own column. Rounds at or after a
            run's last round are left out, because the last column shows it.
    """
    columns = [r for r in at if all(r < len(run.distance) for run in runs)]
    width = max(len(run.label) for run in runs)
    header = f"{'run':<{width}}  {'D(G(z)) at start':>16}  {'|grad| at start':>15}"
    header += "".join(f"  {f'W1 @ {r}':>8}" for r in columns)
    header += f"  {'W1 at end':>9}"
    lines = [header, "-" * len(header)]
    for run in runs:
        line = (
            f"{run.label:<{width}}  {run.start_d_fake:16.2e}  "
            f"{run.start_grad_norm:15.3g}"
        )
        line += "".join(f"  {run.distance[r - 1]:8.2f}" for r in columns)
        lines.append(line + f"  {run.distance[-1]:9.2f}")
    return "\n".join(lines)


def plot_saturation(runs: Sequence[SaturationRun]) -> Figure:
    """Plots each run's generator gradient norm and distance to the data."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    norm_axes, distance_axes = fig.subplots(1, 2)
    colors = {"minimax": "tab:red", "non_saturating": "tab:blue"}
    styles = {"momentum": "-", "adam": "--"}
    for run in runs:
        rounds = np.arange(1, len(run.distance) + 1)
        style = {
            "color": colors[run.generator_loss],
            "linestyle": styles[run.optimizer],
            "label": run.label,
        }
        norm_axes.plot(rounds, run.generator_grad_norm, **style)
        distance_axes.plot(rounds, run.distance, **style)
    norm_axes.set_yscale("log")
    norm_axes.set_xlabel("round (one D and one G update)")
    norm_axes.set_ylabel("generator gradient norm")
    distance_axes.set_xlabel("round (one D and one G update)")
    distance_axes.set_ylabel("distance to the data (W1)")
    distance_axes.set_ylim(bottom=0)
    distance_axes.legend(fontsize="small")
    return fig


# Training snapshots in the style of Goodfellow et al. (2014), Figure 1.


def kernel_density(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Estimates a 1-D density with a Gaussian kernel.

    The bandwidth is std(samples) * n^(-1/5), Scott's rule, the default of
    ``scipy.stats.gaussian_kde``.

    Args:
        samples: Points ``(n,)``, n >= 2, not all equal.
        grid: Points ``(points,)`` where the estimate is evaluated.

    Returns:
        float64 densities ``(points,)``.
    """
    samples = np.ravel(np.asarray(samples, np.float64))
    spread = np.std(samples, ddof=1) if samples.size > 1 else 0.0
    if not spread > 0:
        raise ValueError(
            f"Got {samples.size} samples with standard deviation {spread}; a "
            "kernel density needs at least two distinct points."
        )
    bandwidth = spread * samples.size ** (-1 / 5)
    offsets = (np.asarray(grid, np.float64)[:, None] - samples[None, :]) / bandwidth
    kernel = np.exp(-0.5 * offsets**2) / math.sqrt(2 * math.pi)
    return kernel.mean(axis=1) / bandwidth


@dataclasses.dataclass(frozen=True)
class TrainingSnapshots:
    """Densities and discriminator outputs recorded while a 1-D GAN trains.

    Attributes:
        rounds: Round of each snapshot ``(snapshots,)``; 0 is the start.
        grid: Points ``(points,)``.
        data_density: p_data on the grid.
        generator_density: Kernel density estimate of p_g from generated
            points, ``(snapshots, points)``.
        discriminator: D(x) on the grid, ``(snapshots, points)``.
        latent: Fixed latent values ``(arrows,)`` drawn as arrows.
        generated: G(z) of each latent value, ``(snapshots, arrows)``.
        distance: 1-Wasserstein distance from generated points to data points,
            ``(snapshots,)``.
    """

    rounds: np.ndarray
    grid: np.ndarray
    data_density: np.ndarray
    generator_density: np.ndarray
    discriminator: np.ndarray
    latent: np.ndarray
    generated: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.rounds)


def record_training(
    gan: toy.ToyGAN,
    state: toy.ToyState,
    grid: np.ndarray,
    *,
    rounds: int,
    every: int,
    reference: jax.Array,
    key: jax.Array,
    num_arrows: int = 25,
) -> tuple[toy.ToyState, TrainingSnapshots]:
    """Trains a 1-D GAN and records a snapshot every ``every`` rounds.

    At each snapshot the generator draws as many points as ``reference``
    holds. They give the kernel density estimate of p_g and the distance to
    the data.

    Args:
        gan: A ``ToyGAN`` with ``data_dim=1`` and ``latent_dim=1``.
        state: Its state at the first snapshot.
        grid: Sorted points ``(points,)`` where densities and D are recorded.
        rounds: Rounds to train, a multiple of ``every``.
        every: Rounds between snapshots, run as one compiled call of
            ``train_rounds``.
        reference: Data points ``(n,)``, n >= 2.
        key: PRNG key of the generated points of each snapshot.
        num_arrows: Latent values drawn as arrows, evenly spaced over the
            prior's central 96% for a normal prior or over [-1, 1] for a
            uniform one.

    Returns:
        The final state and ``rounds // every + 1`` snapshots.
    """
    c = gan.config
    if c.data_dim != 1 or c.latent_dim != 1:
        raise ValueError(
            f"record_training needs data_dim=1 and latent_dim=1; got "
            f"{c.data_dim} and {c.latent_dim}."
        )
    if every < 1 or rounds < every or rounds % every:
        raise ValueError(
            f"rounds={rounds} must be a positive multiple of every={every}."
        )
    grid = np.asarray(grid, np.float64)
    points = grid.astype(np.float32)[:, None]
    limit = 1.0 if c.latent == "uniform" else 2.05
    latent = np.linspace(-limit, limit, num_arrows)
    reference = jnp.ravel(jnp.asarray(reference, jnp.float32))
    num_samples = reference.shape[0]
    records = {"density": [], "discriminator": [], "generated": [], "distance": []}
    for index in range(rounds // every + 1):
        if index > 0:
            state, _ = train_rounds(gan, state, every, reference)
        # One generator call maps the random latent vectors and the arrows'.
        z = gan.sample_latent(jax.random.fold_in(key, index), num_samples)
        z = jnp.concatenate([z, jnp.asarray(latent, jnp.float32)[:, None]])
        generated = np.asarray(gan.generate(state, z))[:, 0]
        fake, arrows = generated[:num_samples], generated[num_samples:]
        records["density"].append(kernel_density(fake, grid))
        records["discriminator"].append(
            np.asarray(gan.discriminator_probability(state, points), np.float64)
        )
        records["generated"].append(arrows)
        records["distance"].append(float(wasserstein_distance_1d(fake, reference)))
    snapshots = TrainingSnapshots(
        rounds=np.arange(0, rounds + 1, every),
        grid=grid,
        data_density=density_on_grid(gan.data, grid),
        generator_density=np.stack(records["density"]),
        discriminator=np.stack(records["discriminator"]),
        latent=latent,
        generated=np.stack(records["generated"]),
        distance=np.asarray(records["distance"]),
    )
    return state, snapshots


@dataclasses.dataclass
class _SnapshotArtists:
    """The artists of one snapshot panel that change between snapshots."""

    generator: Line2D
    discriminator: Line2D
    arrows: LineCollection
    arrow_heads: Line2D
    title: Text
    latent_x: np.ndarray
    latent_y: float

    def changing(self) -> tuple:
        return (
            self.arrows,
            self.arrow_heads,
            self.generator,
            self.discriminator,
            self.title,
        )


def _draw_snapshot(
    axes, snapshots: TrainingSnapshots, index: int, *, animated: bool = False
) -> _SnapshotArtists:
    """Draws one snapshot on ``axes`` and returns the artists that change.

    With ``animated=True`` the changing artists are left out of a full draw of
    the figure, so that they can be drawn on top of a saved background.
    """
    grid = snapshots.grid
    top = min(2.5, max(1.05, float(snapshots.generator_density.max())))
    latent_y = -0.3 * top
    axes.set_xlim(grid[0], grid[-1])
    axes.set_ylim(latent_y - 0.08 * top, top * 1.05)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.axhline(latent_y, color="grey", linewidth=0.8)
    axes.plot(grid, snapshots.data_density, color="black", linestyle=":", linewidth=2)
    (generator,) = axes.plot(grid, snapshots.generator_density[index], color="green")
    (discriminator,) = axes.plot(
        grid, snapshots.discriminator[index], color="blue", linestyle="--"
    )
    # The latent line shows [-max|z|, max|z|] under the middle half of the grid.
    middle, half_width = (grid[0] + grid[-1]) / 2, (grid[-1] - grid[0]) / 4
    latent_x = middle + half_width * snapshots.latent / np.max(np.abs(snapshots.latent))
    arrows = LineCollection([], colors="grey", linewidths=0.6)
    axes.add_collection(arrows)
    (arrow_heads,) = axes.plot([], [], linestyle="none", marker="^", color="grey", ms=3)
    axes.plot(latent_x, np.full_like(latent_x, latent_y), "|", color="grey")
    axes.text(grid[0], latent_y, " z", va="bottom", fontsize="small")
    axes.text(grid[0], 0.0, " x", va="bottom", fontsize="small")
    axes.set_yticks([0, 0.5, 1.0])
    title = axes.set_title("", fontsize="medium")
    artists = _SnapshotArtists(
        generator, discriminator, arrows, arrow_heads, title, latent_x, latent_y
    )
    for artist in artists.changing():
        artist.set_animated(animated)
    _set_snapshot(artists, snapshots, index)
    return artists


def _set_snapshot(
    artists: _SnapshotArtists, snapshots: TrainingSnapshots, index: int
) -> None:
    generated = snapshots.generated[index]
    artists.generator.set_ydata(snapshots.generator_density[index])
    artists.discriminator.set_ydata(snapshots.discriminator[index])
    starts = np.column_stack(
        [artists.latent_x, np.full_like(generated, artists.latent_y)]
    )
    ends = np.column_stack([generated, np.zeros_like(generated)])
    artists.arrows.set_segments(np.stack([starts, ends], axis=1))
    artists.arrow_heads.set_data(generated, np.zeros_like(generated))
    artists.title.set_text(
        f"round {snapshots.rounds[index]}, W1 to data {snapshots.distance[index]:.2f}"
    )


_LEGEND_STYLES = (
    ("p_data", {"color": "black", "linestyle": ":", "linewidth": 2}),
    ("p_g (kernel density)", {"color": "green"}),
    ("D(x)", {"color": "blue", "linestyle": "--"}),
    ("z -> G(z)", {"color": "grey", "linewidth": 0.6}),
)


def _legend_handles() -> tuple[list[Line2D], list[str]]:
    handles = [Line2D([], [], **style) for _, style in _LEGEND_STYLES]
    return handles, [label for label, _ in _LEGEND_STYLES]


def plot_snapshot_grid(snapshots: TrainingSnapshots, count: int = 4) -> Figure:
    """Draws ``count`` snapshots, evenly spaced in time, side by side."""
    indices = np.unique(np.linspace(0, len(snapshots) - 1, count).round().astype(int))
    fig = Figure(figsize=(3.2 * len(indices), 3.2), layout="constrained")
    panels = fig.subplots(1, len(indices), sharey=True, squeeze=False)[0]
    for axes, index in zip(panels, indices, strict=True):
        _draw_snapshot(axes, snapshots, int(index))
    fig.legend(*_legend_handles(), loc="outside upper center", ncols=4)
    return fig


SHOW_MODES = ("both", "interactive", "static")

# Viewers by name, so that building a viewer again closes the previous one's
# widgets instead of leaving them open in the kernel.
_VIEWERS: dict[str, SnapshotViewer] = {}


class SnapshotViewer:
    """One figure of a training snapshot, redrawn in place by a slider.

    The figure is a ``matplotlib.figure.Figure`` on an Agg canvas, built
    without pyplot, so it never enters ``plt.get_fignums()`` and no backend
    displays it on its own. A change of the slider sets the data of the same
    artists, draws only them over a saved background of the static parts
    (blitting) and puts the new PNG into an ``ipywidgets.Image``. Only APIs
    that ipywidgets 7.7 and 8 share are used.

    Widgets need a front end that runs the widget manager, such as JupyterLab,
    Notebook 7, VS Code or Colab. Without one (nbclient, a notebook rendered
    on GitHub) a widget shows as a line of text, so ``show`` also displays a
    static grid of snapshots as an ordinary PNG output by default.

    Attributes:
        snapshots: The recorded snapshots.
        figure: The figure that every update redraws.
        slider: ``IntSlider`` over snapshot indices.
        play: ``Play`` button that steps the slider.
        image: ``Image`` widget that shows the rendered figure.
        widget: ``VBox`` of the controls and the image.
        index: Index of the snapshot shown.
        png: The latest rendering, PNG bytes.
    """

    def __init__(
        self, snapshots: TrainingSnapshots, *, name: str = "training", dpi: int = 80
    ):
        if len(snapshots) == 0:
            raise ValueError("SnapshotViewer needs at least one snapshot.")
        previous = _VIEWERS.pop(name, None)
        if previous is not None:
            previous.close()
        self.snapshots = snapshots
        self.name = name
        self.index = 0
        self.png = b""

        # Fixed margins instead of a layout engine, so that the background
        # saved below stays valid. The legend sits right of the axes.
        self.figure = Figure(figsize=(8.5, 3.4), dpi=dpi)
        self._canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.add_axes((0.05, 0.1, 0.72, 0.8))
        self._artists = _draw_snapshot(axes, snapshots, 0, animated=True)
        axes.legend(
            *_legend_handles(),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize="small",
            frameon=False,
        )
        self._canvas.draw()
        self._background = self._canvas.copy_from_bbox(self.figure.bbox)

        last = len(snapshots) - 1
        self.slider = ipywidgets.IntSlider(
            value=0, min=0, max=last, step=1, description="snapshot"
        )
        self.play = ipywidgets.Play(value=0, min=0, max=last, step=1, interval=300)
        self._link = ipywidgets.jslink((self.play, "value"), (self.slider, "value"))
        self.image = ipywidgets.Image(format="png")
        self._controls = ipywidgets.HBox([self.play, self.slider])
        self.widget = ipywidgets.VBox([self._controls, self.image])
        self.slider.observe(self._on_slider, names="value")
        self._render()
        _VIEWERS[name] = self

    def _on_slider(self, change) -> None:
        self._draw(change["new"])

    def update(self, index: int) -> None:
        """Shows snapshot ``index``: moves the slider, whose observer redraws."""
        if not 0 <= index < len(self.snapshots):
            raise IndexError(
                f"Snapshot index {index} is out of range 0..{len(self.snapshots) - 1}."
            )
        if self.slider.value != index:
            self.slider.value = index
        else:
            self._draw(index)

    def _draw(self, index: int) -> None:
        self.index = int(index)
        _set_snapshot(self._artists, self.snapshots, self.index)
        self._render()

    def _render(self) -> None:
        self._canvas.restore_region(self._background)
        for artist in self._artists.changing():
            self.figure.draw_artist(artist)
        self.png = plotting.canvas_png(self._canvas)
        self.image.value = self.png

    def show(self, mode: str = "both", static_count: int = 4) -> None:
        """Displays a static grid of snapshots, the slider and figure, or both.

        Args:
            mode: ``"both"`` shows the static grid as a PNG output and the
                widget below it, ``"interactive"`` only the widget and
                ``"static"`` only the grid.
            static_count: Snapshots in the static grid, evenly spaced in time.
        """
        if mode not in SHOW_MODES:
            raise ValueError(f"mode={mode!r}; expected one of {SHOW_MODES}.")
        if mode in ("both", "static"):
            buffer = io.BytesIO()
            grid_figure = plot_snapshot_grid(self.snapshots, static_count)
            grid_figure.savefig(buffer, format="png", dpi=self.figure.dpi)
            picture = ipython_display.Image(data=buffer.getvalue(), format="png")
            ipython_display.display(picture)
        if mode in ("both", "interactive"):
            ipython_display.display(self.widget)

    def close(self) -> None:
        """Closes the widgets and clears the figure."""
        widgets = (self._link, self.play, self.slider, self._controls, self.image)
        for widget in (*widgets, self.widget):
            widget.close()
        self.figure.clear()
        if _VIEWERS.get(self.name) is self:
            del _VIEWERS[self.name]


# Exercise checks. Each prints feedback and returns whether the answer is right.
# A wrong answer gets a hint, never the solution.


def _is_close(value: float, target: float, tolerance: float = 1e-3) -> bool:
    return abs(value - target) <= tolerance * max(1.0, abs(target))


def check_optimal_discriminator(
    answer, *, data_density: float = 0.3, generator_density: float = 0.1
) -> bool:
    """Checks a number given as D*(x0) for the two densities at x0."""
    if answer is None:
        print("Not answered yet: set optimal_d to a number.")
        return False
    try:
        value = float(answer)
    except (TypeError, ValueError):
        print(f"{answer!r} is not a number; D*(x0) is a probability.")
        return False
    total = data_density + generator_density
    if _is_close(value, data_density / total):
        print("Correct: D* is the data's share of the total density at x0.")
        return True
    if _is_close(value, generator_density / total):
        print(
            "Not quite: that is the generator's share. Hint: D(x) is the "
            "probability that x is real."
        )
    elif not 0 <= value <= 1:
        print(
            f"{value:g} is not a probability. Hint: maximise "
            "a log y + b log(1 - y) over y in [0, 1]."
        )
    elif _is_close(value, data_density) or _is_close(value, generator_density):
        print(
            "Not quite: a density alone is not a probability of being real. "
            "Hint: compare the two densities at x0."
        )
    elif _is_close(value, 0.5):
        print(
            "Not quite: D* is 1/2 only where the two densities are equal. "
            "Hint: maximise a log y + b log(1 - y) over y."
        )
    else:
        print(
            f"Not quite: {value:g} does not maximise the value at x0. Hint: set "
            "the derivative of a log y + b log(1 - y) with respect to y to 0."
        )
    return False


def _discriminator_loss_reference(d_real: np.ndarray, d_fake: np.ndarray) -> float:
    return float(-np.mean(np.log(d_real)) - np.mean(np.log1p(-d_fake)))


def check_discriminator_loss(
    loss_fn: Callable[[np.ndarray, np.ndarray], object],
) -> bool:
    """Checks a function of D(x) and D(G(z)) that should return -V(D, G).

    ``loss_fn(d_real, d_fake)`` receives float64 arrays of probabilities,
    ``(n_real,)`` and ``(n_fake,)``, of different sizes, and should return the
    scalar -V estimated with the mean over each batch.
    """
    rng = np.random.default_rng(0)
    cases = [(5, 7), (8, 8), (3, 10)]
    for n_real, n_fake in cases:
        d_real = rng.uniform(0.02, 0.98, n_real)
        d_fake = rng.uniform(0.02, 0.98, n_fake)
        try:
            result = loss_fn(d_real.copy(), d_fake.copy())
        except Exception as error:  # Any error is feedback for the learner.
            print(
                f"discriminator_loss raised {type(error).__name__}: {error}. It "
                f"receives NumPy arrays of shapes ({n_real},) and ({n_fake},)."
            )
            return False
        if result is None:
            print("Not answered yet: discriminator_loss returns None.")
            return False
        value = np.asarray(result, np.float64)
        if value.shape != ():
            print(
                f"The result has shape {value.shape}; expected a scalar. Hint: "
                "average over each batch."
            )
            return False
        value = float(value)
        expected = _discriminator_loss_reference(d_real, d_fake)
        if _is_close(value, expected, 1e-5):
            continue
        _print_discriminator_loss_hint(value, expected, d_real, d_fake)
        return False
    print("Correct: the function returns -V(D, G) on every batch tried.")
    return True


def _print_discriminator_loss_hint(
    value: float, expected: float, d_real: np.ndarray, d_fake: np.ndarray
) -> None:
    real_term = -np.log(d_real)
    fake_term = -np.log1p(-d_fake)
    pooled = np.mean(np.concatenate([real_term, fake_term]))
    if _is_close(value, -expected, 1e-5):
        print(
            "Not quite: this is V itself. Hint: the discriminator ascends V, "
            "and an optimiser descends a loss."
        )
    elif _is_close(value, float(-np.mean(np.log(d_fake)) - np.mean(np.log1p(-d_real)))):
        print(
            "Not quite: real and generated points have swapped roles. Hint: "
            "D should be pushed towards 1 on real points."
        )
    elif _is_close(value, float(real_term.sum() + fake_term.sum()), 1e-5):
        print(
            "Not quite: this sums over the points. Hint: V contains "
            "expectations, which a batch estimates with its mean."
        )
    elif _is_close(value, float(pooled), 1e-5):
        print(
            "Not quite: this averages over the two batches pooled together, "
            "which weights them by their sizes. Hint: estimate each expectation "
            "on its own batch."
        )
    elif _is_close(value, float(real_term.mean() - np.mean(np.log(d_fake))), 1e-5):
        print(
            "Not quite: the generated-point term uses log D(G(z)). Hint: that "
            "term rewards D for calling a generated point fake."
        )
    else:
        print(
            f"Not quite: the result {value:.4f} differs from -V ({expected:.4f} "
            "on this batch). Hint: write V with one mean per batch, then "
            "turn it into a loss."
        )


_LOSS_NAMES = {
    "minimax": "minimax",
    "saturating": "minimax",
    "non_saturating": "non_saturating",
    "non-saturating": "non_saturating",
    "nonsaturating": "non_saturating",
}


def check_larger_gradient(loss_name, ratio, *, d_fake: float = 0.01) -> bool:
    """Checks which generator loss has the larger slope at D(G(z)) = d_fake.

    Args:
        loss_name: ``"minimax"`` (or ``"saturating"``) or ``"non_saturating"``
            (or ``"non-saturating"``), any case.
        ratio: How many times larger its |d loss / d logit| is than the other's.
        d_fake: The value of D(G(z)).
    """
    if loss_name is None or ratio is None:
        print("Not answered yet: set larger_loss and ratio.")
        return False
    name = _LOSS_NAMES.get(str(loss_name).strip().lower())
    if name is None:
        print(f"{loss_name!r} is not a loss name; use 'minimax' or 'non_saturating'.")
        return False
    slopes = {
        kind: abs(float(generator_loss_slope(np.array([d_fake]), kind)[0]))
        for kind in GENERATOR_LOSSES
    }
    larger = max(slopes, key=slopes.get)
    expected = slopes[larger] / min(slopes.values())
    if name != larger:
        print(
            f"Not quite: at D(G(z)) = {d_fake:g} the other loss has the larger "
            "slope. Hint: differentiate both losses through D = sigmoid(a)."
        )
        return False
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        print(f"ratio={ratio!r} is not a number.")
        return False
    if _is_close(value, expected, 1e-2):
        print(f"Correct: the {name} loss's slope is {expected:.4g} times larger.")
        return True
    if value > 0 and _is_close(1 / value, expected, 1e-2):
        print("The loss is right, but the ratio is upside down.")
    elif _is_close(value, 1 / d_fake, 1e-2):
        print(
            "The loss is right and the ratio is close. Hint: compute both slopes "
            f"exactly at D(G(z)) = {d_fake:g}, not their limits as D(G(z)) -> 0."
        )
    else:
        print(
            f"The loss is right, but the ratio {value:g} is off. Hint: with "
            "D = sigmoid(a), dD/da = D(1 - D)."
        )
    return False
