"""Pure, jit-compiled GAN training steps.

The networks live as NNX graph definitions (static) plus arrays (a pytree), so
a step is a pure function: ``(state, batch) -> (new_state, metrics)``. One step
updates the discriminator on a real and a generated batch, then the generator
through the updated discriminator, with separate Adam optimisers.

``TrainConfig.objective`` picks the losses (``gan_lessons.losses``). The
``wasserstein_gp`` objective adds the gradient penalty, which differentiates
the critic with respect to its inputs inside the loss, so its step runs a
second backward pass. With ``TrainConfig.discriminator_steps`` above 1 the
generator's update is applied after every ``discriminator_steps``-th step only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gan_lessons import losses
from gan_lessons.config import ModelConfig, TrainConfig
from gan_lessons.models import Discriminator, Generator, sample_latent

# Name of the mesh axis that data-parallel training splits the batch over.
DATA_AXIS = "data"
# Folded into a step's key to draw the gradient penalty's mixing weights, so
# the latent vectors of every objective stay those of the default one.
_PENALTY_SALT = 1_000_003


class TrainState(NamedTuple):
    """Everything that changes during training; a pytree of arrays.

    Attributes:
        step: Number of completed steps, int32 scalar.
        key: Base PRNG key data, uint32 ``(2,)``. Step ``s`` draws its latent
            vectors from ``fold_in(key, s)``, so resuming at step ``s`` draws
            the same vectors as an uninterrupted run.
        generator_params: The generator's ``nnx.Param`` values.
        generator_stats: The generator's batch-norm running averages.
        discriminator_params: The discriminator's ``nnx.Param`` values.
        discriminator_stats: The discriminator's batch-norm running averages
            and spectral-norm vectors ``u``, if it has either.
        generator_opt_state: Optax state of the generator's optimiser.
        discriminator_opt_state: Optax state of the discriminator's optimiser.
    """

    step: jax.Array
    key: jax.Array
    generator_params: nnx.State
    generator_stats: nnx.State
    discriminator_params: nnx.State
    discriminator_stats: nnx.State
    generator_opt_state: optax.OptState
    discriminator_opt_state: optax.OptState


def make_optimizer(learning_rate: float, beta1: float, beta2: float):
    """Returns Adam whose learning rate lives in its state as an array.

    Keeping the rate in the state lets a learner change it between steps
    without recompiling the step.
    """
    return optax.inject_hyperparams(optax.adam)(
        learning_rate=learning_rate, b1=beta1, b2=beta2
    )


class GAN:
    """A generator, a discriminator and their jit-compiled steps.

    The object holds only static structure: configurations, NNX graph
    definitions and optimisers. All arrays are in a ``TrainState``.

    Example:
        >>> gan = GAN(model_preset("dcgan"), train_preset("dcgan"))
        >>> state = gan.init()
        >>> state, metrics = gan.train_step(state, batch)
    """

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        *,
        mesh: Mesh | None = None,
    ):
        self._check_configs(model_config, train_config)
        self.model_config = model_config
        self.train_config = train_config
        self.mesh = mesh
        # Abstract modules give the graph definitions without running any
        # initialiser; init() creates the arrays in one compiled program.
        generator = nnx.eval_shape(lambda: self._new_generator(nnx.Rngs(0)))
        discriminator = nnx.eval_shape(lambda: self._new_discriminator(nnx.Rngs(0)))
        self._generator_def = nnx.graphdef(generator)
        self._discriminator_def = nnx.graphdef(discriminator)
        tc = train_config
        self.generator_optimizer = make_optimizer(
            tc.generator_learning_rate, tc.beta1, tc.beta2
        )
        self.discriminator_optimizer = make_optimizer(
            tc.discriminator_learning_rate, tc.beta1, tc.beta2
        )
        if mesh is None:
            self._train_step = jax.jit(self._step)
            self._train_steps = jax.jit(self._steps, static_argnames="unroll")
        else:
            # Data parallelism: the state is replicated on every device and
            # the batch is split along its first axis. jit keeps the
            # single-device semantics, so batch norm and the losses still
            # average over the whole batch, through cross-device reductions.
            self._check_mesh_batch(mesh, train_config.batch_size)
            replicated = NamedSharding(mesh, PartitionSpec())
            self._batch_sharding = NamedSharding(mesh, PartitionSpec(DATA_AXIS))
            self._replicated = replicated
            self._train_step = jax.jit(
                self._step,
                in_shardings=(replicated, self._batch_sharding),
                out_shardings=(replicated, replicated),
            )
            self._train_steps = jax.jit(
                self._steps,
                static_argnames="unroll",
                in_shardings=(
                    replicated,
                    NamedSharding(mesh, PartitionSpec(None, DATA_AXIS)),
                ),
                out_shardings=(replicated, replicated),
            )
        self._init = jax.jit(self._init_impl)
        self._generate = jax.jit(self._generate_impl)
        self._discriminate = jax.jit(self._discriminate_impl)

    # Construction. Subclasses with other networks override these three.

    def _check_configs(
        self, model_config: ModelConfig, train_config: TrainConfig
    ) -> None:
        """Raises ``ValueError`` for configurations that ``_step`` cannot train."""
        check_objective(model_config, train_config)

    def _new_generator(self, rngs: nnx.Rngs) -> nnx.Module:
        """Builds the generator network with fresh weights from ``rngs``."""
        return Generator(self.model_config, rngs=rngs)

    def _new_discriminator(self, rngs: nnx.Rngs) -> nnx.Module:
        """Builds the discriminator network with fresh weights from ``rngs``."""
        return Discriminator(self.model_config, rngs=rngs)

    def init(self, seed: int | None = None) -> TrainState:
        """Initialises both networks and optimisers.

        Args:
            seed: Seed of the weights and of every later latent draw; ``None``
                uses the training configuration's seed.

        Returns:
            The state at step 0.
        """
        seed = self.train_config.seed if seed is None else seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            raise ValueError(f"seed={seed!r} must be an integer in [0, 2**32).")
        state = self._init(np.uint32(seed))
        if self.mesh is not None:
            state = jax.device_put(state, self._replicated)
        return state

    def _init_impl(self, seed: jax.Array) -> TrainState:
        # Compiled once per GAN object: creating each parameter eagerly would
        # compile one small program per parameter shape instead.
        generator = self._new_generator(nnx.Rngs(jax.random.key(seed)))
        discriminator = self._new_discriminator(nnx.Rngs(jax.random.key(seed + 1)))
        _, g_params, g_stats = nnx.split(generator, nnx.Param, ...)
        _, d_params, d_stats = nnx.split(discriminator, nnx.Param, ...)
        return TrainState(
            step=jnp.zeros((), jnp.int32),
            key=jax.random.key_data(jax.random.key(seed)),
            generator_params=g_params,
            generator_stats=g_stats,
            discriminator_params=d_params,
            discriminator_stats=d_stats,
            generator_opt_state=self.generator_optimizer.init(g_params),
            discriminator_opt_state=self.discriminator_optimizer.init(d_params),
        )

    def shard_batch(self, batch: np.ndarray) -> jax.Array:
        """Places this process's rows of a global batch on the mesh.

        Every process passes the same global batch, ``(batch, size, size,
        channels)``; each keeps the rows of its own devices. Without a mesh
        the batch is returned as a device array.
        """
        if self.mesh is None:
            return jnp.asarray(batch)
        count = jax.process_count()
        rows = batch.shape[0] // count
        index = jax.process_index()
        local = batch[index * rows : (index + 1) * rows]
        return jax.make_array_from_process_local_data(self._batch_sharding, local)

    def generator(self, state: TrainState) -> Generator:
        """Returns the generator module holding copies of the state's arrays.

        It is a ``Generator``, or the network of ``_new_generator`` in a subclass.
        """
        return nnx.merge(
            self._generator_def,
            state.generator_params,
            state.generator_stats,
            copy=True,
        )

    def discriminator(self, state: TrainState) -> Discriminator:
        """Returns the discriminator module holding copies of the state's arrays.

        It is a ``Discriminator``, or the network of ``_new_discriminator`` in a
        subclass.
        """
        return nnx.merge(
            self._discriminator_def,
            state.discriminator_params,
            state.discriminator_stats,
            copy=True,
        )

    # Public steps.

    def train_step(
        self, state: TrainState, batch: jax.Array | np.ndarray
    ) -> tuple[TrainState, dict[str, jax.Array]]:
        """Runs one training step; compiled on the first call only.

        Args:
            state: The current state.
            batch: Real images ``(batch, size, size, channels)``, float32 NHWC
                in [-1, 1].

        Returns:
            The new state and scalar metrics: ``discriminator_loss``,
            ``generator_loss``, ``d_real`` (mean D(x)), ``d_fake`` (mean
            D(G(z)) before the discriminator's update) and the gradient norms
            ``discriminator_grad_norm`` and ``generator_grad_norm``. D is the
            sigmoid of the output, which is a probability for the
            cross-entropy objective only. ``wasserstein_gp`` adds
            ``gradient_penalty`` (before its weight) and ``critic_gap``,
            E[D(x)] - E[D(G(z))] on the raw outputs, the critic's estimate of
            the Wasserstein distance. With ``discriminator_steps`` above 1,
            ``generator_loss`` and ``generator_grad_norm`` describe the
            generator's gradient at every step, also at steps where it is not
            applied.
        """
        batch = self._check_batch(batch)
        return self._train_step(state, batch)

    def train_steps(
        self,
        state: TrainState,
        batches: jax.Array | np.ndarray,
        *,
        unroll: int | bool = 1,
    ) -> tuple[TrainState, dict[str, jax.Array]]:
        """Runs ``K`` steps in one call with ``jax.lax.scan``.

        Args:
            state: The current state.
            batches: ``(K, batch, size, size, channels)`` real images.
            unroll: Passed to ``jax.lax.scan``; ``True`` unrolls fully, which
                compiles longer but can run faster on a CPU.

        Returns:
            The state after ``K`` steps and metrics stacked to shape ``(K,)``.
        """
        shape = tuple(getattr(batches, "shape", ()))
        if len(shape) != 5 or shape[0] == 0:
            raise ValueError(
                f"batches have shape {shape}; expected (steps, batch, height, "
                "width, channels) with at least one step."
            )
        self._check_batch(batches[0])
        if isinstance(batches, np.ndarray):
            self._check_range(batches)
        batches = jnp.asarray(batches)
        return self._train_steps(state, batches, unroll=unroll)

    def generate(self, state: TrainState, z: jax.Array | np.ndarray) -> jax.Array:
        """Renders images from latent vectors with the running statistics.

        Sampling never changes the state, and each image depends only on its
        own latent vector.

        Args:
            state: The state whose generator to use.
            z: Latent vectors ``(n, latent_dim)``.

        Returns:
            Images ``(n, size, size, channels)`` in [-1, 1].
        """
        z = jnp.asarray(z, jnp.float32)
        expected = self.model_config.latent_dim
        if z.ndim != 2 or z.shape[1] != expected:
            raise ValueError(f"z has shape {z.shape}; expected (n, {expected}).")
        return self._generate(state.generator_params, state.generator_stats, z)

    def discriminate(
        self, state: TrainState, images: jax.Array | np.ndarray
    ) -> jax.Array:
        """Returns discriminator logits ``(n,)`` with the running statistics."""
        images = self._check_batch(images)
        return self._discriminate(
            state.discriminator_params, state.discriminator_stats, images
        )

    def sample_latent(self, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` latent vectors from the configured prior."""
        return sample_latent(key, num, self.model_config)

    def set_learning_rates(
        self,
        state: TrainState,
        *,
        generator: float | None = None,
        discriminator: float | None = None,
    ) -> TrainState:
        """Returns ``state`` with new learning rates; nothing recompiles."""
        return state._replace(
            generator_opt_state=set_learning_rate(
                state.generator_opt_state, generator, "generator"
            ),
            discriminator_opt_state=set_learning_rate(
                state.discriminator_opt_state, discriminator, "discriminator"
            ),
        )

    # Pure functions behind the jitted ones. ``conditions`` are further
    # network inputs after z or the images, such as the class labels of a
    # conditional GAN. The networks of this class take none.

    def _apply_generator(self, params, stats, z, *conditions, train: bool):
        model = nnx.merge(self._generator_def, params, stats, copy=True)
        images = model(z, *conditions, train=train)
        return images, nnx.state(model, nnx.BatchStat)

    def _apply_discriminator(self, params, stats, images, *conditions, train: bool):
        model = nnx.merge(self._discriminator_def, params, stats, copy=True)
        logits = model(images, *conditions, train=train)
        return logits, nnx.state(model, nnx.BatchStat)

    def _generate_impl(self, params, stats, z, *conditions):
        images, _ = self._apply_generator(params, stats, z, *conditions, train=False)
        return images

    def _discriminate_impl(self, params, stats, images, *conditions):
        logits, _ = self._apply_discriminator(
            params, stats, images, *conditions, train=False
        )
        return logits

    def _step_keys(self, state: TrainState) -> tuple[jax.Array, jax.Array]:
        """Returns the step's key and one key per generator update."""
        step_key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
        return step_key, jax.random.split(step_key, self.train_config.generator_steps)

    def _step(self, state: TrainState, real: jax.Array):
        tc = self.train_config
        batch_size = real.shape[0]
        step_key, keys = self._step_keys(state)

        # Generate once, keeping the VJP: the discriminator trains on these
        # images and the first generator update backpropagates through them.
        z = sample_latent(keys[0], batch_size, self.model_config)
        generate = functools.partial(
            self._apply_generator, stats=state.generator_stats, z=z, train=True
        )
        fake, pullback, g_stats = jax.vjp(
            generate, state.generator_params, has_aux=True
        )

        # Update the discriminator on a real and a generated batch. Batch norm
        # normalises each batch with its own statistics, so neither batch's
        # statistics leak into the other's normalisation.
        penalized = tc.objective == losses.WASSERSTEIN_GP
        penalty_key = jax.random.fold_in(step_key, _PENALTY_SALT)

        def discriminator_objective(d_params):
            real_logits, d_stats = self._apply_discriminator(
                d_params, state.discriminator_stats, real, train=True
            )
            fake_logits, d_stats = self._apply_discriminator(
                d_params, d_stats, jax.lax.stop_gradient(fake), train=True
            )
            loss = losses.objective_discriminator_loss(
                tc.objective, real_logits, fake_logits, tc.label_smoothing
            )
            extra = {}
            if penalized:
                extra["gradient_penalty"] = self._gradient_penalty(
                    d_params, d_stats, real, jax.lax.stop_gradient(fake), penalty_key
                )
                extra["critic_gap"] = jnp.mean(real_logits) - jnp.mean(fake_logits)
                loss = loss + tc.gradient_penalty_weight * extra["gradient_penalty"]
            return loss, (d_stats, real_logits, fake_logits, extra)

        (d_loss, (d_stats, real_logits, fake_logits, extra)), d_grads = (
            jax.value_and_grad(discriminator_objective, has_aux=True)(
                state.discriminator_params
            )
        )
        d_params, d_opt_state = apply_optimizer(
            self.discriminator_optimizer,
            d_grads,
            state.discriminator_opt_state,
            state.discriminator_params,
        )

        # Update the generator through the updated discriminator. Its batch
        # statistics from this pass are discarded: they describe fakes only.
        def generator_objective(images):
            logits, _ = self._apply_discriminator(d_params, d_stats, images, train=True)
            return losses.objective_generator_loss(
                tc.objective, logits, tc.generator_loss
            )

        g_loss, d_fake_images = jax.value_and_grad(generator_objective)(fake)
        (g_grads,) = pullback(d_fake_images)
        g_params = state.generator_params
        g_opt_state = state.generator_opt_state
        if tc.discriminator_steps == 1:
            g_updates, g_opt_state = self.generator_optimizer.update(
                g_grads, g_opt_state, g_params
            )
            g_params = optax.apply_updates(g_params, g_updates)
        else:
            # Several critic updates per generator update: apply this
            # gradient after every discriminator_steps-th step only.
            is_generator_step = (state.step + 1) % tc.discriminator_steps == 0
            g_params, g_opt_state = jax.lax.cond(
                is_generator_step,
                self._apply_generator_update,
                lambda grads, opt_state, params: (params, opt_state),
                g_grads,
                g_opt_state,
                g_params,
            )

        # Extra generator updates, each on fresh latent vectors.
        for key in keys[1:]:
            z = sample_latent(key, batch_size, self.model_config)

            def full_objective(params, stats, z=z):
                images, stats = self._apply_generator(params, stats, z, train=True)
                return generator_objective(images), stats

            (g_loss, g_stats), g_grads = jax.value_and_grad(
                full_objective, has_aux=True
            )(g_params, g_stats)
            g_updates, g_opt_state = self.generator_optimizer.update(
                g_grads, g_opt_state, g_params
            )
            g_params = optax.apply_updates(g_params, g_updates)

        new_state = TrainState(
            step=state.step + 1,
            key=state.key,
            generator_params=g_params,
            generator_stats=g_stats,
            discriminator_params=d_params,
            discriminator_stats=d_stats,
            generator_opt_state=g_opt_state,
            discriminator_opt_state=d_opt_state,
        )
        metrics = step_metrics(
            d_loss, g_loss, real_logits, fake_logits, d_grads, g_grads
        )
        return new_state, {**metrics, **extra}

    def _apply_generator_update(self, grads, opt_state, params):
        return apply_optimizer(self.generator_optimizer, grads, opt_state, params)

    def _gradient_penalty(self, d_params, d_stats, real, fake, key):
        """Returns E[(||grad D(x_hat)|| - 1)^2] on real-fake interpolates.

        The critic runs with ``train=False`` here, so the penalty pass leaves
        the spectral-norm vectors as the real and generated passes left them.
        Batch norm is rejected for this objective by ``check_objective``, so
        each image's score depends on that image alone, and the gradient of
        the summed scores contains each image's own input gradient.
        """
        points = losses.interpolate(key, real, fake)

        def summed_scores(x):
            scores, _ = self._apply_discriminator(d_params, d_stats, x, train=False)
            return jnp.sum(scores)

        return losses.gradient_penalty(jax.grad(summed_scores)(points))

    def _steps(self, state: TrainState, batches: jax.Array, *, unroll):
        return jax.lax.scan(self._step, state, batches, unroll=unroll)

    @staticmethod
    def _check_mesh_batch(mesh: Mesh, batch_size: int) -> None:
        if DATA_AXIS not in mesh.axis_names:
            raise ValueError(
                f"mesh axes {mesh.axis_names} lack {DATA_AXIS!r}; build the mesh "
                "with gan_lessons.train.data_parallel_mesh()."
            )
        devices = mesh.shape[DATA_AXIS]
        if batch_size % devices:
            raise ValueError(
                f"batch_size={batch_size} does not split evenly over {devices} "
                f"devices; use a multiple of {devices}."
            )

    def _check_batch(self, batch: Any) -> jax.Array:
        expected = self.model_config.image_shape
        shape = getattr(batch, "shape", None)
        if shape is None or len(shape) != 4 or tuple(shape[1:]) != expected:
            raise ValueError(
                f"batch has shape {shape}; expected (batch, {expected[0]}, "
                f"{expected[1]}, {expected[2]}) float32 NHWC in [-1, 1]."
            )
        if shape[0] == 0:
            raise ValueError("batch is empty; expected at least one image.")
        dtype = np.dtype(batch.dtype)
        if dtype != np.float32:
            hint = (
                " Convert with gan_lessons.data.to_float." if dtype == np.uint8 else ""
            )
            raise ValueError(
                f"batch has dtype {dtype}; expected float32 in [-1, 1].{hint}"
            )
        if isinstance(batch, np.ndarray):
            self._check_range(batch)
            return self.shard_batch(batch)
        return batch

    @staticmethod
    def _check_range(batch: np.ndarray) -> None:
        # Only host arrays are checked: reading a device array's range would
        # wait for the device every step.
        low, high = float(batch.min()), float(batch.max())
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError("batch contains NaN or infinite values.")
        if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
            raise ValueError(
                f"batch values span [{low:.3g}, {high:.3g}]; expected [-1, 1]. "
                "Scale uint8 images with gan_lessons.data.to_float."
            )


def check_objective(model_config: ModelConfig, train_config: TrainConfig) -> None:
    """Raises ``ValueError`` for an objective the architecture cannot train.

    The gradient penalty needs one input gradient per image, which batch norm
    in the critic breaks: each image's score then depends on its whole batch.
    """
    if (
        train_config.objective == losses.WASSERSTEIN_GP
        and model_config.discriminator_norm == "batch"
    ):
        raise ValueError(
            "objective='wasserstein_gp' cannot use discriminator_norm='batch', "
            "because batch norm makes each image's critic score depend on its "
            "batch and the gradient penalty needs per-image gradients. Set "
            "ModelConfig(discriminator_norm='layer') or 'none' (on the command "
            "line: --discriminator-norm layer)."
        )


def apply_optimizer(
    optimizer: optax.GradientTransformation,
    grads: nnx.State,
    opt_state: optax.OptState,
    params: nnx.State,
) -> tuple[nnx.State, optax.OptState]:
    """Applies one ``optimizer`` update and returns ``(params, opt_state)``."""
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def step_metrics(
    discriminator_loss: jax.Array,
    generator_loss: jax.Array,
    real_logits: jax.Array,
    fake_logits: jax.Array,
    discriminator_grads: nnx.State,
    generator_grads: nnx.State,
) -> dict[str, jax.Array]:
    """Returns the scalar metrics that every training step reports.

    ``d_real`` and ``d_fake`` are the mean sigmoids of the logits, and the
    gradient norms are global L2 norms over all parameters.
    """
    return {
        "discriminator_loss": discriminator_loss,
        "generator_loss": generator_loss,
        "d_real": jnp.mean(jax.nn.sigmoid(real_logits)),
        "d_fake": jnp.mean(jax.nn.sigmoid(fake_logits)),
        "discriminator_grad_norm": optax.tree.norm(discriminator_grads),
        "generator_grad_norm": optax.tree.norm(generator_grads),
    }


def data_parallel_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """Returns a one-axis mesh named ``"data"`` over ``devices``.

    Args:
        devices: Devices to train on; ``None`` uses all devices of all
            processes, ``jax.devices()``.
    """
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def set_learning_rate(opt_state, value: float | None, name: str = "optimizer"):
    """Returns ``opt_state`` of ``make_optimizer`` with learning rate ``value``.

    ``None`` returns ``opt_state`` unchanged. ``name`` labels the optimiser in
    the error for a value that is not a positive number.
    """
    if value is None:
        return opt_state
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} learning rate {value!r} must be a positive number.")
    hyperparams = dict(opt_state.hyperparams)
    old = hyperparams["learning_rate"]
    hyperparams["learning_rate"] = jnp.asarray(value, dtype=old.dtype)
    return opt_state._replace(hyperparams=hyperparams)
