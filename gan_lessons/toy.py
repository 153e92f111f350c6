"""Toy data and small GANs in one or two dimensions, for the first lessons.

The toy GAN has the structure of the image GAN in ``train.py``: an MLP
generator, an MLP discriminator, the losses of ``losses.py`` and two Adam
optimisers whose learning rates live in their states. Points are
``(batch, dim)`` arrays. Every function that draws random numbers takes a
``key``. ``ToyGAN`` derives the key of update ``s`` from ``fold_in(key, s)``,
so the same seed and the same sequence of calls give the same numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from gan_lessons import losses
from gan_lessons.config import OBJECTIVES
from gan_lessons.train import make_optimizer, set_learning_rate

# Toy data.


@dataclasses.dataclass(frozen=True)
class Gaussian:
    """A normal distribution with a diagonal covariance.

    Attributes:
        mean: Mean of each coordinate, ``(dim,)``.
        std: Standard deviation of each coordinate, ``(dim,)``, all positive.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self):
        _check_components((self.mean,), (self.std,), (1.0,))

    @property
    def dim(self) -> int:
        return len(self.mean)

    def sample(self, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` points, ``(num, dim)`` float32."""
        noise = jax.random.normal(key, (num, self.dim))
        return jnp.asarray(self.mean) + jnp.asarray(self.std) * noise

    def log_density(self, x: jax.Array) -> jax.Array:
        """Returns log p(x) for points ``(n, dim)``, shape ``(n,)``."""
        return _diagonal_log_density(x, jnp.asarray(self.mean), jnp.asarray(self.std))

    def density(self, x: jax.Array) -> jax.Array:
        """Returns p(x) for points ``(n, dim)``, shape ``(n,)``."""
        return jnp.exp(self.log_density(x))


@dataclasses.dataclass(frozen=True)
class GaussianMixture:
    """A weighted mixture of normal distributions with diagonal covariances.

    Attributes:
        means: One mean per component, ``(components, dim)``.
        stds: One standard deviation per component, ``(components, dim)``.
        weights: Mixture weights, ``(components,)``, positive; they are
            normalised to sum to 1.
    """

    means: tuple[tuple[float, ...], ...]
    stds: tuple[tuple[float, ...], ...]
    weights: tuple[float, ...]

    def __post_init__(self):
        _check_components(self.means, self.stds, self.weights)

    @property
    def dim(self) -> int:
        return len(self.means[0])

    def _probabilities(self) -> jax.Array:
        weights = jnp.asarray(self.weights, dtype=jnp.float32)
        return weights / jnp.sum(weights)

    def sample(self, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` points, ``(num, dim)`` float32."""
        component_key, noise_key = jax.random.split(key)
        component = jax.random.choice(
            component_key, len(self.weights), (num,), p=self._probabilities()
        )
        noise = jax.random.normal(noise_key, (num, self.dim))
        means = jnp.asarray(self.means)[component]
        stds = jnp.asarray(self.stds)[component]
        return means + stds * noise

    def log_density(self, x: jax.Array) -> jax.Array:
        """Returns log p(x) for points ``(n, dim)``, shape ``(n,)``."""
        # (n, 1, dim) against (components, dim): one log density per component.
        per_component = _diagonal_log_density(
            jnp.asarray(x)[:, None, :], jnp.asarray(self.means), jnp.asarray(self.stds)
        )
        return jax.nn.logsumexp(per_component + jnp.log(self._probabilities()), axis=1)

    def density(self, x: jax.Array) -> jax.Array:
        """Returns p(x) for points ``(n, dim)``, shape ``(n,)``."""
        return jnp.exp(self.log_density(x))


def _check_components(means, stds, weights) -> None:
    if len(means) == 0 or len(means) != len(stds) or len(means) != len(weights):
        raise ValueError(
            f"Got {len(means)} means, {len(stds)} standard deviations and "
            f"{len(weights)} weights; expected one of each per component, at "
            "least one component."
        )
    dims = {len(m) for m in means} | {len(s) for s in stds}
    if len(dims) != 1 or 0 in dims:
        raise ValueError(
            f"Means {means} and standard deviations {stds} must all have the "
            "same positive length, the dimension of the data."
        )
    if not all(s > 0 for row in stds for s in row):
        raise ValueError(f"Standard deviations {stds} must all be positive.")
    if not all(w > 0 for w in weights):
        raise ValueError(f"Mixture weights {weights} must all be positive.")


def _diagonal_log_density(x, mean, std):
    z = (x - mean) / std
    return jnp.sum(-0.5 * z**2 - jnp.log(std) - 0.5 * math.log(2 * math.pi), axis=-1)


# The names of the two features of the club's toy data, in column order.
FEATURES = ("strength", "fighting")


def tough_guys() -> Gaussian:
    """Returns the real data of the club story: strength and fighting skill.

    The features are in arbitrary units. Strength sits far from where a fresh
    generator puts its points (near 0), so it is the obvious feature. Fighting
    skill sits at 1 with a narrow spread, so it differs from a fresh
    generator's points less in the mean than in the spread: the subtler
    feature, which a discriminator only needs once strength is imitated.
    """
    return Gaussian(mean=(4.0, 1.0), std=(0.5, 0.25))


def ring(num_modes: int = 8, radius: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """Returns ``num_modes`` equal Gaussians evenly spaced on a circle.

    The usual test of mode collapse: a generator that covers a few of the
    modes can still fool a discriminator that looks at one mode at a time.
    """
    if num_modes < 1:
        raise ValueError(f"num_modes={num_modes} must be at least 1.")
    angles = [2 * math.pi * i / num_modes for i in range(num_modes)]
    means = tuple((radius * math.cos(a), radius * math.sin(a)) for a in angles)
    return GaussianMixture(
        means=means, stds=((std, std),) * num_modes, weights=(1.0,) * num_modes
    )


# Models.


class MLP(nnx.Module):
    """A fully connected network with leaky-ReLU hidden layers.

    Maps ``(batch, in_features)`` to ``(batch, out_features)``; the last layer
    is linear.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        rngs: nnx.Rngs,
    ):
        sizes = [in_features, *hidden, out_features]
        self.layers = nnx.List(
            [nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(sizes)]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = jax.nn.leaky_relu(layer(x), 0.2)
        return self.layers[-1](x)


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    """Sizes and optimisation settings of a toy GAN.

    Attributes:
        data_dim: Dimension of the data points.
        latent_dim: Dimension of the generator's input z.
        generator_hidden: Widths of the generator's hidden layers.
        discriminator_hidden: Widths of the discriminator's hidden layers.
        batch_size: Real and generated points per update.
        generator_learning_rate: Adam step size of the generator.
        discriminator_learning_rate: Adam step size of the discriminator.
        beta1: Adam's first-moment decay, 0.5 as in DCGAN training.
        generator_loss: ``"non_saturating"`` or ``"minimax"``, see
            ``losses.generator_loss``; for the cross-entropy objective only.
        latent: Prior of z, ``"normal"`` (standard normal) or ``"uniform"``
            (on [-1, 1]).
        objective: ``"cross_entropy"``, ``"hinge"`` or ``"wasserstein_gp"``,
            as ``TrainConfig.objective`` of the image GAN.
        gradient_penalty_weight: Weight lambda of the gradient penalty of
            ``"wasserstein_gp"``.
        beta2: Adam's second-moment decay; Gulrajani et al. (2017) use 0.9
            with the gradient penalty.
    """

    data_dim: int = 2
    latent_dim: int = 2
    generator_hidden: tuple[int, ...] = (32, 32)
    discriminator_hidden: tuple[int, ...] = (32, 32)
    batch_size: int = 256
    generator_learning_rate: float = 1e-2
    discriminator_learning_rate: float = 1e-2
    beta1: float = 0.5
    generator_loss: str = "non_saturating"
    latent: str = "normal"
    objective: str = "cross_entropy"
    gradient_penalty_weight: float = 10.0
    beta2: float = 0.999

    def __post_init__(self):
        for name in ("data_dim", "latent_dim", "batch_size"):
            value = getattr(self, name)
            if not _is_count(value) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer.")
        for name in ("generator_hidden", "discriminator_hidden"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(
                _is_count(width) and width >= 1 for width in value
            ):
                raise ValueError(
                    f"{name}={value!r} must be a tuple of positive layer widths, "
                    "such as (32, 32), or () for no hidden layer."
                )
        for name in ("generator_learning_rate", "discriminator_learning_rate"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 < value < math.inf:
                raise ValueError(f"{name}={value!r} must be a finite positive number.")
        if not _is_real(self.beta1) or not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1={self.beta1!r} must be a number in [0, 1).")
        if self.generator_loss not in ("non_saturating", "minimax"):
            raise ValueError(
                f"generator_loss={self.generator_loss!r}; expected "
                "'non_saturating' or 'minimax'."
            )
        if self.latent not in ("normal", "uniform"):
            raise ValueError(f"latent={self.latent!r}; expected 'normal' or 'uniform'.")
        self._check_objective()

    def _check_objective(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective={self.objective!r}; expected one of {OBJECTIVES}."
            )
        if self.objective != "cross_entropy" and self.generator_loss != (
            "non_saturating"
        ):
            raise ValueError(
                f"generator_loss={self.generator_loss!r} applies to the "
                f"cross_entropy objective only; objective={self.objective!r} "
                "uses -E[D(G(z))]. Keep generator_loss='non_saturating'."
            )
        weight = self.gradient_penalty_weight
        if not _is_real(weight) or not 0 < weight < math.inf:
            raise ValueError(
                f"gradient_penalty_weight={weight!r} must be a finite positive "
                "number; Gulrajani et al. (2017) use 10."
            )
        if not _is_real(self.beta2) or not 0 <= self.beta2 < 1:
            raise ValueError(f"beta2={self.beta2!r} must be a number in [0, 1).")


def _is_count(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not (
        isinstance(value, bool)
    )


class ToyState(NamedTuple):
    """Everything that changes while a toy GAN trains; a pytree of arrays.

    Attributes:
        key: Base PRNG key data, uint32 ``(2,)``.
        updates: Number of updates so far, of either network, int32 scalar.
            Update ``s`` draws its random numbers from ``fold_in(key, s)``.
        generator_updates: Updates of the generator so far.
        discriminator_updates: Updates of the discriminator so far.
        generator_params: The generator's ``nnx.Param`` values.
        discriminator_params: The discriminator's ``nnx.Param`` values.
        generator_opt_state: Optax state of the generator's Adam.
        discriminator_opt_state: Optax state of the discriminator's Adam.
    """

    key: jax.Array
    updates: jax.Array
    generator_updates: jax.Array
    discriminator_updates: jax.Array
    generator_params: nnx.State
    discriminator_params: nnx.State
    generator_opt_state: optax.OptState
    discriminator_opt_state: optax.OptState


class ToyGAN:
    """An MLP generator and discriminator on toy data, with jitted updates.

    The object contains static structure only. All arrays are in a ``ToyState``,
    so the methods are pure: they return a new state and leave the old one
    valid. Each method compiles once per distinct number of steps.

    Example:
        >>> gan = ToyGAN(tough_guys(), ToyConfig())
        >>> state = gan.init(seed=0)
        >>> state, metrics = gan.train_round(state, discriminator_steps=1)
    """

    def __init__(self, data: Gaussian | GaussianMixture, config: ToyConfig):
        if data.dim != config.data_dim:
            raise ValueError(
                f"The data has dimension {data.dim} but config.data_dim is "
                f"{config.data_dim}; set ToyConfig(data_dim={data.dim})."
            )
        self.data = data
        self.config = config
        generator = nnx.eval_shape(lambda: self._new_generator(nnx.Rngs(0)))
        discriminator = nnx.eval_shape(lambda: self._new_discriminator(nnx.Rngs(0)))
        self._generator_def = nnx.graphdef(generator)
        self._discriminator_def = nnx.graphdef(discriminator)
        self.generator_optimizer = make_optimizer(
            config.generator_learning_rate, config.beta1, config.beta2
        )
        self.discriminator_optimizer = make_optimizer(
            config.discriminator_learning_rate, config.beta1, config.beta2
        )
        self._init = jax.jit(self._init_impl)
        self._round = jax.jit(
            self._round_impl,
            static_argnames=("discriminator_steps", "generator_steps"),
        )
        self._generate = jax.jit(self._generate_impl)
        self._logits = jax.jit(self._logits_impl)
        self._input_gradients = jax.jit(self._input_gradients_impl)

    def _new_generator(self, rngs: nnx.Rngs) -> MLP:
        c = self.config
        return MLP(c.latent_dim, c.generator_hidden, c.data_dim, rngs=rngs)

    def _new_discriminator(self, rngs: nnx.Rngs) -> MLP:
        c = self.config
        return MLP(c.data_dim, c.discriminator_hidden, 1, rngs=rngs)

    # Construction and settings.

    def init(self, seed: int = 0) -> ToyState:
        """Initialises both networks and optimisers from ``seed``."""
        return self._init(jax.random.key_data(jax.random.key(seed)))

    def _init_impl(self, key_data: jax.Array) -> ToyState:
        key = jax.random.wrap_key_data(key_data)
        generator_key, discriminator_key = jax.random.split(key)
        generator = self._new_generator(nnx.Rngs(generator_key))
        discriminator = self._new_discriminator(nnx.Rngs(discriminator_key))
        generator_params = nnx.state(generator, nnx.Param)
        discriminator_params = nnx.state(discriminator, nnx.Param)
        zero = jnp.zeros((), jnp.int32)
        return ToyState(
            key=key_data,
            updates=zero,
            generator_updates=zero,
            discriminator_updates=zero,
            generator_params=generator_params,
            discriminator_params=discriminator_params,
            generator_opt_state=self.generator_optimizer.init(generator_params),
            discriminator_opt_state=self.discriminator_optimizer.init(
                discriminator_params
            ),
        )

    def set_learning_rates(
        self,
        state: ToyState,
        *,
        generator: float | None = None,
        discriminator: float | None = None,
    ) -> ToyState:
        """Returns ``state`` with new Adam step sizes; nothing recompiles."""
        return state._replace(
            generator_opt_state=set_learning_rate(
                state.generator_opt_state, generator, "generator"
            ),
            discriminator_opt_state=set_learning_rate(
                state.discriminator_opt_state, discriminator, "discriminator"
            ),
        )

    # Training.

    def train_round(
        self, state: ToyState, *, discriminator_steps: int = 1, generator_steps: int = 1
    ) -> tuple[ToyState, dict[str, jax.Array]]:
        """Runs ``discriminator_steps`` updates of the discriminator, then
        ``generator_steps`` updates of the generator.

        Either count may be 0. Each update draws a fresh batch of real points
        and latent vectors.

        Returns:
            The new state and metrics of the round, computed after it on a
            fresh batch: ``discriminator_loss``, ``generator_loss``,
            ``d_real`` and ``d_fake`` (mean D(x) on real and generated
            points). ``generator_grad_norm`` is the norm of the gradient of
            the generator's loss with respect to the generator's parameters.
            The ``wasserstein_gp`` objective adds ``gradient_penalty`` and
            ``critic_gap``, E[D(x)] - E[D(G(z))] on the raw critic outputs.
            For ``hinge`` and ``wasserstein_gp``, D is the sigmoid of an
            unbounded score and is not a probability.
        """
        for name, value in (
            ("discriminator_steps", discriminator_steps),
            ("generator_steps", generator_steps),
        ):
            if not _is_count(value) or value < 0:
                raise ValueError(f"{name}={value!r} must be an integer >= 0.")
        return self._round(
            state,
            discriminator_steps=int(discriminator_steps),
            generator_steps=int(generator_steps),
        )

    def discriminator_steps(
        self, state: ToyState, num: int = 1
    ) -> tuple[ToyState, dict[str, jax.Array]]:
        """Runs ``num`` discriminator updates; see ``train_round``."""
        return self.train_round(state, discriminator_steps=num, generator_steps=0)

    def generator_steps(
        self, state: ToyState, num: int = 1
    ) -> tuple[ToyState, dict[str, jax.Array]]:
        """Runs ``num`` generator updates; see ``train_round``."""
        return self.train_round(state, discriminator_steps=0, generator_steps=num)

    def _batch(self, state: ToyState, salt: int):
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.updates)
        data_key, latent_key = jax.random.split(jax.random.fold_in(key, salt))
        n = self.config.batch_size
        return self.data.sample(data_key, n), self.sample_latent(latent_key, n)

    def _losses(self, generator_params, discriminator_params, real, z):
        fake = self._generate_impl(generator_params, z)
        real_logits = self._logits_impl(discriminator_params, real)
        fake_logits = self._logits_impl(discriminator_params, fake)
        return real_logits, fake_logits

    def _discriminator_objective(self, params, real, fake, penalty_key):
        """Returns the discriminator's loss, with the penalty if the objective
        has one, and the gradient penalty itself (0 without one)."""
        objective = self.config.objective
        loss = losses.objective_discriminator_loss(
            objective, self._logits_impl(params, real), self._logits_impl(params, fake)
        )
        if objective != losses.WASSERSTEIN_GP:
            return loss, jnp.zeros(())
        points = losses.interpolate(penalty_key, real, fake)
        penalty = losses.gradient_penalty(self._input_gradients_impl(params, points))
        return loss + self.config.gradient_penalty_weight * penalty, penalty

    def _discriminator_update(self, state: ToyState) -> ToyState:
        real, z = self._batch(state, 0)
        fake = jax.lax.stop_gradient(self._generate_impl(state.generator_params, z))
        penalty_key = self._penalty_key(state)

        def loss_fn(params):
            return self._discriminator_objective(params, real, fake, penalty_key)[0]

        grads = jax.grad(loss_fn)(state.discriminator_params)
        updates, opt_state = self.discriminator_optimizer.update(
            grads, state.discriminator_opt_state, state.discriminator_params
        )
        return state._replace(
            updates=state.updates + 1,
            discriminator_updates=state.discriminator_updates + 1,
            discriminator_params=optax.apply_updates(
                state.discriminator_params, updates
            ),
            discriminator_opt_state=opt_state,
        )

    def _penalty_key(self, state: ToyState) -> jax.Array:
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.updates)
        return jax.random.fold_in(key, 3)

    def _generator_loss(self, generator_params, discriminator_params, z):
        fake = self._generate_impl(generator_params, z)
        fake_logits = self._logits_impl(discriminator_params, fake)
        return losses.objective_generator_loss(
            self.config.objective, fake_logits, self.config.generator_loss
        )

    def _generator_update(self, state: ToyState) -> ToyState:
        _, z = self._batch(state, 1)
        grads = jax.grad(self._generator_loss)(
            state.generator_params, state.discriminator_params, z
        )
        updates, opt_state = self.generator_optimizer.update(
            grads, state.generator_opt_state, state.generator_params
        )
        return state._replace(
            updates=state.updates + 1,
            generator_updates=state.generator_updates + 1,
            generator_params=optax.apply_updates(state.generator_params, updates),
            generator_opt_state=opt_state,
        )

    def _round_impl(self, state: ToyState, *, discriminator_steps, generator_steps):
        state = jax.lax.fori_loop(
            0, discriminator_steps, lambda _, s: self._discriminator_update(s), state
        )
        state = jax.lax.fori_loop(
            0, generator_steps, lambda _, s: self._generator_update(s), state
        )

        # Metrics of the state after the round, on a batch no update used.
        real, z = self._batch(state, 2)
        real_logits, fake_logits = self._losses(
            state.generator_params, state.discriminator_params, real, z
        )
        generator_loss, generator_grads = jax.value_and_grad(self._generator_loss)(
            state.generator_params, state.discriminator_params, z
        )
        metrics = {
            "discriminator_loss": losses.objective_discriminator_loss(
                self.config.objective, real_logits, fake_logits
            ),
            "generator_loss": generator_loss,
            "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
            "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)),
            "generator_grad_norm": optax.tree.norm(generator_grads),
        }
        if self.config.objective == losses.WASSERSTEIN_GP:
            fake = self._generate_impl(state.generator_params, z)
            _, metrics["gradient_penalty"] = self._discriminator_objective(
                state.discriminator_params, real, fake, self._penalty_key(state)
            )
            metrics["critic_gap"] = jnp.mean(real_logits) - jnp.mean(fake_logits)
        return state, metrics

    # Looking at the networks.

    def sample_latent(self, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` latent vectors ``(num, latent_dim)`` from the prior."""
        shape = (num, self.config.latent_dim)
        if self.config.latent == "uniform":
            return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
        return jax.random.normal(key, shape)

    def generate(self, state: ToyState, z: jax.Array) -> jax.Array:
        """Maps latent vectors ``(n, latent_dim)`` to points ``(n, data_dim)``."""
        return self._generate(state.generator_params, jnp.asarray(z, jnp.float32))

    def sample(self, state: ToyState, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` generated points ``(num, data_dim)``."""
        return self.generate(state, self.sample_latent(key, num))

    def discriminator_logits(self, state: ToyState, x: jax.Array) -> jax.Array:
        """Returns the discriminator's logits ``(n,)`` for points ``(n, data_dim)``."""
        return self._logits(state.discriminator_params, self._points(x))

    def discriminator_probability(self, state: ToyState, x: jax.Array) -> jax.Array:
        """Returns D(x), the probability ``(n,)`` that each point is real."""
        return jax.nn.sigmoid(self.discriminator_logits(state, x))

    def discriminator_input_gradients(self, state: ToyState, x: jax.Array):
        """Returns the gradient of the logit with respect to each point.

        Shape ``(n, data_dim)``. Its size per coordinate measures how much the
        discriminator's verdict at that point depends on each feature.
        """
        return self._input_gradients(state.discriminator_params, self._points(x))

    def generator_direction(self, state: ToyState, points: jax.Array) -> jax.Array:
        """Returns -d(generator loss)/d(point) for generated ``points``.

        Shape ``(n, data_dim)``: the direction in which the generator's update
        pushes each of its points, scaled by the batch size so the arrows do
        not shrink as the batch grows.
        """
        points = self._points(points)
        objective = self.config.objective
        loss_kind = self.config.generator_loss

        def loss_fn(x):
            logits = self._logits_impl(state.discriminator_params, x)
            loss = losses.objective_generator_loss(objective, logits, loss_kind)
            return loss * x.shape[0]

        return -jax.grad(loss_fn)(points)

    def _points(self, x) -> jax.Array:
        x = jnp.asarray(x, jnp.float32)
        if x.ndim != 2 or x.shape[1] != self.config.data_dim:
            raise ValueError(
                f"Points have shape {x.shape}; expected (n, {self.config.data_dim})."
            )
        return x

    def _generate_impl(self, params, z):
        return nnx.merge(self._generator_def, params, copy=True)(z)

    def _logits_impl(self, params, x):
        return nnx.merge(self._discriminator_def, params, copy=True)(x)[:, 0]

    def _input_gradients_impl(self, params, x):
        return jax.grad(lambda x: jnp.sum(self._logits_impl(params, x)))(x)


def feature_reliance(
    gan: ToyGAN,
    state: ToyState,
    real: jax.Array,
    fake: jax.Array,
    key: jax.Array | None = None,
) -> np.ndarray:
    """Returns how much the discriminator relies on each feature.

    Feature ``i`` is hidden from the discriminator by shuffling column ``i``
    over all the real and generated points together, which keeps the
    feature's values but breaks their link to the label. The reliance on the
    feature is how much that raises the discriminator's loss (binary
    cross-entropy, real = 1, fake = 0). A feature the discriminator ignores
    costs nothing to hide.

    Args:
        gan: The toy GAN whose discriminator is measured.
        state: Its state.
        real: Real points ``(n, data_dim)``.
        fake: Generated points ``(m, data_dim)``.
        key: PRNG key of the shuffles; ``None`` uses ``jax.random.key(0)``.

    Returns:
        The increase of the loss in nats per feature, ``(data_dim,)``, with
        increases below 0 (chance, when a feature is ignored) set to 0. All
        are near 0 once the discriminator cannot tell real from fake.
    """
    key = jax.random.key(0) if key is None else key
    points = np.concatenate([np.asarray(real), np.asarray(fake)]).astype(np.float32)
    labels = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])

    def loss(x: np.ndarray) -> float:
        logits = np.asarray(gan.discriminator_logits(state, x), np.float64)
        # Binary cross-entropy from logits: softplus(-a) for 1, softplus(a) for 0.
        return float(np.mean(np.logaddexp(0.0, np.where(labels == 1, -logits, logits))))

    base = loss(points)
    increases = np.zeros(points.shape[1])
    for feature, subkey in enumerate(jax.random.split(key, points.shape[1])):
        shuffled = points.copy()
        order = np.asarray(jax.random.permutation(subkey, len(points)))
        shuffled[:, feature] = points[order, feature]
        increases[feature] = max(loss(shuffled) - base, 0.0)
    return increases
