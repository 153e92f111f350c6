"""Setup, demonstrations and exercise checks shared by the lesson notebooks.

The notebooks import this module so that their cells stay short and the code
behind them is tested. Quick mode (``GAN_LESSONS_QUICK=1``) shrinks every
expensive cell so that the notebook tests finish in minutes on a CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence

import jax
import numpy as np

QUICK_ENV = "GAN_LESSONS_QUICK"
_TRUE_WORDS = ("1", "true", "yes", "on")

# Prefix of the subprocess's result line, so that stray prints cannot be
# mistaken for it.
_RESULT_PREFIX = "gan_lessons.notebook result: "
_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def quick_mode() -> bool:
    """Returns whether ``GAN_LESSONS_QUICK`` turns on shortened cells.

    The values ``1``, ``true``, ``yes`` and ``on`` (any case) turn quick mode
    on. The notebook tests set ``GAN_LESSONS_QUICK=1``.
    """
    return os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE_WORDS


# Data parallelism on one device versus several.


@dataclasses.dataclass(frozen=True)
class DataParallelComparison:
    """Result of training the same tiny GAN on one device and on a mesh.

    Attributes:
        platform: JAX platform of the mesh, such as ``"cpu"`` or ``"gpu"``.
        devices: Number of devices in the mesh.
        virtual: Whether the devices were virtual CPU devices in a subprocess.
        batch_size: Global batch size. Each device gets
            ``batch_size // devices`` rows.
        parameter_differences: Largest absolute difference between the two
            runs' states after each step, one entry per step.
        loss_differences: Absolute difference of the discriminator loss at
            each step.
        state_sharding: ``repr`` of a generator kernel's sharding on the mesh.
        batch_sharding: ``repr`` of the sharded batch's sharding.
        batch_shards: One ``(device, rows, shape)`` entry per shard of the
            batch: the device name, the rows it contains as ``"start:stop"`` and
            the shard's shape.
        batch_picture: Text drawing of the batch's layout over the devices
            from ``jax.debug.visualize_array_sharding``, or ``""`` when the
            ``rich`` package it needs is missing.
        seconds: Wall time of the comparison, including compilation.
    """

    platform: str
    devices: int
    virtual: bool
    batch_size: int
    parameter_differences: tuple[float, ...]
    loss_differences: tuple[float, ...]
    state_sharding: str
    batch_sharding: str
    batch_shards: tuple[tuple[str, str, tuple[int, ...]], ...]
    batch_picture: str
    seconds: float

    @property
    def max_difference(self) -> float:
        """Largest parameter difference over all steps."""
        return max(self.parameter_differences)

    def report(self) -> str:
        """Returns a few lines describing the comparison for a notebook."""
        if self.virtual:
            where = f"{self.devices} virtual CPU devices in a subprocess"
        else:
            where = f"{self.devices} {self.platform.upper()} devices"
        lines = [
            f"{where}, global batch "
            f"{self.batch_size}, {len(self.parameter_differences)} steps, "
            f"{self.seconds:.0f} s including compilation.",
            f"State sharding: {self.state_sharding}",
            f"Batch sharding: {self.batch_sharding}",
            "Batch shards:",
        ]
        for device, rows, shape in self.batch_shards:
            lines.append(f"  {device}: rows {rows}, shape {shape}")
        if self.batch_picture:
            lines.append("Batch layout (rows flattened to one line each):")
            lines.append(self.batch_picture.rstrip())
        lines.append("Step  max |parameter difference|  |loss difference|")
        pairs = zip(self.parameter_differences, self.loss_differences, strict=True)
        for step, (parameter, loss) in enumerate(pairs, start=1):
            lines.append(f"{step:4d}  {parameter:26.2e}  {loss:17.2e}")
        return "\n".join(lines)


def compare_data_parallel(
    *,
    steps: int = 3,
    width: int = 8,
    rows_per_device: int = 2,
    virtual_devices: int = 4,
    seed: int = 0,
    timeout: float = 900.0,
) -> DataParallelComparison:
    """Trains one tiny GAN on one device and on all devices, and compares them.

    Both runs start from the same weights and see the same random batches in
    [-1, 1], so any difference comes from how the devices split the work. When
    JAX in this process has more than one device (several GPUs, TPU cores, or CPU
    devices forced through ``XLA_FLAGS``), the comparison runs here. Otherwise
    it runs in a subprocess that sets ``XLA_FLAGS`` to
    ``--xla_force_host_platform_device_count=virtual_devices`` and
    ``JAX_PLATFORMS=cpu``, because JAX reads these only when it initialises.

    Args:
        steps: Training steps of each run.
        width: ``width`` of ``model_preset("dcgan")``; 8 compiles fastest.
        rows_per_device: Images per device; the global batch is this times the
            number of devices.
        virtual_devices: Number of CPU devices of the subprocess, at least 2.
        seed: Seed of the weights, the latent vectors and the batches.
        timeout: Seconds the subprocess may take before it is stopped.

    Returns:
        The comparison.

    Raises:
        ValueError: If an argument is out of range.
        RuntimeError: If the subprocess fails or times out.
    """
    for name, value in (
        ("steps", steps),
        ("width", width),
        ("rows_per_device", rows_per_device),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    if not isinstance(virtual_devices, int) or virtual_devices < 2:
        raise ValueError(
            f"virtual_devices={virtual_devices!r} must be an integer of at least 2. "
            "One device has nothing to compare against."
        )
    arguments = {
        "steps": steps,
        "width": width,
        "rows_per_device": rows_per_device,
        "seed": seed,
    }
    start = time.perf_counter()
    if jax.device_count() > 1:
        values = _compare_here(**arguments)
        virtual = False
    else:
        values = _compare_in_subprocess(arguments, virtual_devices, timeout)
        virtual = True
    return DataParallelComparison(
        platform=values["platform"],
        devices=values["devices"],
        virtual=virtual,
        batch_size=values["batch_size"],
        parameter_differences=tuple(values["parameter_differences"]),
        loss_differences=tuple(values["loss_differences"]),
        state_sharding=values["state_sharding"],
        batch_sharding=values["batch_sharding"],
        batch_shards=tuple(
            (device, rows, tuple(shape)) for device, rows, shape in values["shards"]
        ),
        batch_picture=values["batch_picture"],
        seconds=time.perf_counter() - start,
    )


def virtual_device_environment(
    devices: int, base: dict[str, str] | None = None
) -> dict[str, str]:
    """Returns an environment in which JAX starts with ``devices`` CPU devices.

    Any device count already in ``XLA_FLAGS`` is replaced and other flags are
    kept. ``JAX_PLATFORMS=cpu`` keeps a GPU or TPU from being picked instead.
    The JAX compilation cache folder of this process, if one is set, is passed
    on so the subprocess can reuse compiled programs.

    Args:
        devices: Number of CPU devices.
        base: Environment to start from; ``None`` copies ``os.environ``.
    """
    env = dict(os.environ if base is None else base)
    kept = [
        flag
        for flag in env.get("XLA_FLAGS", "").split()
        if not flag.startswith(_DEVICE_COUNT_FLAG)
    ]
    env["XLA_FLAGS"] = " ".join([*kept, f"{_DEVICE_COUNT_FLAG}={devices}"])
    env["JAX_PLATFORMS"] = "cpu"
    cache_dir = jax.config.jax_compilation_cache_dir
    if cache_dir and "JAX_COMPILATION_CACHE_DIR" not in env:
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir)
    return env


def _compare_in_subprocess(
    arguments: dict[str, int], devices: int, timeout: float
) -> dict:
    code = (
        "import json, sys\n"
        "from gan_lessons import notebook\n"
        "notebook._print_comparison(json.loads(sys.argv[1]))\n"
    )
    command = [sys.executable, "-c", code, json.dumps(arguments)]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=virtual_device_environment(devices),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"The {devices}-device comparison timed out after {timeout:.0f} s; "
            "pass a larger timeout or fewer steps."
        ) from None
    if result.returncode != 0:
        raise RuntimeError(
            f"The {devices}-device comparison failed with exit status "
            f"{result.returncode}. Its error output ends with:\n"
            f"{result.stderr[-3000:]}"
        )
    for line in result.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            return json.loads(line[len(_RESULT_PREFIX) :])
    raise RuntimeError(
        f"The {devices}-device comparison printed no result line. Its output "
        f"ends with:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    )


def _print_comparison(arguments: dict[str, int]) -> None:
    print(_RESULT_PREFIX + json.dumps(_compare_here(**arguments)), flush=True)


def _compare_here(*, steps: int, width: int, rows_per_device: int, seed: int) -> dict:
    """Runs the comparison on this process's devices and returns JSON values."""
    from jax.sharding import NamedSharding, PartitionSpec

    from gan_lessons import config, train

    mesh = train.data_parallel_mesh()
    devices = mesh.devices.size
    batch_size = rows_per_device * devices
    model_config = config.model_preset("dcgan", width=width)
    train_config = config.train_preset("dcgan", batch_size=batch_size, seed=seed)
    single = train.GAN(model_config, train_config)
    parallel = train.GAN(model_config, train_config, mesh=mesh)

    # One initialisation, copied onto the mesh: building the networks a second
    # time would cost as long as a compilation on a CPU.
    state_1 = single.init()
    state_n = jax.device_put(state_1, NamedSharding(mesh, PartitionSpec()))

    rng = np.random.default_rng(seed)
    shape = (batch_size, *model_config.image_shape)
    parameter_differences, loss_differences = [], []
    for _ in range(steps):
        batch = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        state_1, metrics_1 = single.train_step(state_1, batch)
        state_n, metrics_n = parallel.train_step(state_n, batch)
        parameter_differences.append(_max_difference(state_1, state_n))
        loss_1 = float(metrics_1["discriminator_loss"])
        loss_n = float(metrics_n["discriminator_loss"])
        loss_differences.append(abs(loss_1 - loss_n))

    sharded = parallel.shard_batch(batch)
    shards = [
        (str(shard.device), _rows(shard.index[0], batch_size), shard.data.shape)
        for shard in sharded.addressable_shards
    ]
    kernel = state_n.generator_params["project"]["kernel"]
    return {
        "platform": mesh.devices.flat[0].platform,
        "devices": int(devices),
        "batch_size": batch_size,
        "parameter_differences": parameter_differences,
        "loss_differences": loss_differences,
        "state_sharding": repr(kernel.sharding),
        "batch_sharding": repr(sharded.sharding),
        "shards": shards,
        "batch_picture": draw_sharding(sharded.reshape(batch_size, -1)),
    }


def _max_difference(a, b) -> float:
    differences = [
        float(np.max(np.abs(np.asarray(x) - np.asarray(y)), initial=0.0))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    ]
    return max(differences)


def _rows(index: slice, size: int) -> str:
    start, stop, _ = index.indices(size)
    return f"{start}:{stop}"


def draw_sharding(array: jax.Array, max_width: int = 60) -> str:
    """Returns ``jax.debug.visualize_array_sharding``'s drawing as plain text.

    Args:
        array: An array of one or two dimensions.
        max_width: Width of the drawing in characters.

    Returns:
        The drawing, or ``""`` when the ``rich`` package it needs is missing.
    """
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            jax.debug.visualize_array_sharding(
                array, use_color=False, max_width=max_width
            )
    except ValueError as error:
        # JAX raises ValueError, not ImportError, when rich is missing.
        if "rich" not in str(error):
            raise
        return ""
    # rich still highlights numbers when the environment forces colour, as
    # Jupyter kernels do through FORCE_COLOR.
    return _ANSI_ESCAPE.sub("", buffer.getvalue())


# Exercise checks. Each prints feedback and returns whether the answer is right.
# A wrong answer gets a hint, never the solution.


def check_even_split(
    answer: Iterable[int],
    *,
    devices: int = 8,
    candidates: Sequence[int] = (32, 60, 64, 100, 128, 200, 256, 500, 1000, 1024),
) -> bool:
    """Checks which of ``candidates`` split evenly over ``devices`` devices.

    Args:
        answer: The batch sizes the learner picked from ``candidates``.
        devices: Number of devices in the data-parallel mesh.
        candidates: The batch sizes offered.
    """
    picked = set(answer)
    if not picked:
        print("Not answered yet: put the batch sizes that split evenly in the set.")
        return False
    unknown = sorted(picked - set(candidates))
    if unknown:
        print(f"{unknown} are not among the offered sizes {list(candidates)}.")
        return False
    expected = {size for size in candidates if size % devices == 0}
    wrong = sorted(picked - expected)
    if wrong:
        print(
            f"Not quite: {wrong} would leave some devices with a different number "
            f"of rows. Hint: a batch splits evenly when batch_size % {devices} == 0."
        )
        return False
    missing = len(expected - picked)
    if missing:
        print(
            f"Every size you picked splits evenly, but {missing} more of the "
            "offered sizes do too. Hint: the per-device batch need not be a power "
            "of two."
        )
        return False
    print(f"Correct: each of these gives every one of {devices} devices equal rows.")
    return True


def check_combine_shard_gradients(
    combine: Callable[[Sequence[np.ndarray], Sequence[int]], object],
) -> bool:
    """Checks a function that turns per-shard mean gradients into the full one.

    ``combine(gradients, sizes)`` receives one mean-loss gradient per shard and
    the shards' sizes, and should return the gradient of the mean loss over
    all rows. The check uses a least-squares loss on random data with shards of
    unequal sizes and with equal sizes.
    """
    rng = np.random.default_rng(0)
    cases = [(3, 5), (4, 4, 4, 4), (1, 6, 2)]
    for sizes in cases:
        total = sum(sizes)
        features = rng.normal(size=(total, 3))
        targets = rng.normal(size=total)
        weights = rng.normal(size=3)
        bounds = np.cumsum((0, *sizes))
        gradients = [
            _least_squares_gradient(weights, features[a:b], targets[a:b])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        full = _least_squares_gradient(weights, features, targets)
        result = combine([g.copy() for g in gradients], list(sizes))
        if result is None:
            print("Not answered yet: combine_shard_gradients returns None.")
            return False
        result = np.asarray(result, dtype=np.float64)
        if result.shape != full.shape:
            print(
                f"For shard sizes {sizes} the result has shape {result.shape}; "
                f"expected {full.shape}, the shape of one gradient. Hint: reduce "
                "over the shards, not over a gradient's entries."
            )
            return False
        if np.allclose(result, full, rtol=1e-5, atol=1e-8):
            continue
        if np.allclose(result, np.mean(gradients, axis=0), rtol=1e-5, atol=1e-8):
            print(
                f"For shard sizes {sizes} this is the plain mean of the shard "
                "gradients. Hint: each shard's gradient is a mean over its own "
                "rows, so a shard of 6 rows should count more than one of 1."
            )
        elif np.allclose(result, np.sum(gradients, axis=0), rtol=1e-5, atol=1e-8):
            print(
                f"For shard sizes {sizes} this is the sum of the shard gradients. "
                "Hint: the full loss is a mean over all rows, not a sum of means."
            )
        else:
            error = float(np.max(np.abs(result - full)))
            print(
                f"For shard sizes {sizes} the result differs from the full-batch "
                f"gradient by up to {error:.3g}. Hint: start from the mean loss "
                "over all rows, group its terms by shard and ask how much each "
                "shard's mean contributes."
            )
        return False
    print("Correct: the result matches the full-batch gradient for every split.")
    return True


def _least_squares_gradient(
    weights: np.ndarray, features: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Returns the gradient of ``mean((features @ weights - targets) ** 2)``."""
    residuals = features @ weights - targets
    return 2.0 * features.T @ residuals / len(targets)
