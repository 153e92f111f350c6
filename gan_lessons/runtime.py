"""JAX runtime settings shared by the command line and the notebooks."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import jax

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path("~/.cache/gan_lessons/jax").expanduser()
# Programs that compile faster than this are not written to the cache.
MIN_CACHED_COMPILE_SECONDS = 0.5


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path | None:
    """Stores compiled XLA programs on disk so a re-run skips compilation.

    A training step that takes seconds to compile loads from the cache in a
    fraction of a second when a notebook kernel restarts or the command runs
    again with the same shapes, on the same JAX version and device.

    Args:
        directory: Cache folder. ``None`` keeps a folder already set through
            ``JAX_COMPILATION_CACHE_DIR`` and otherwise uses
            ``~/.cache/gan_lessons/jax``.

    Returns:
        The cache folder, or ``None`` when it cannot be created (the cache is
        then left off and a warning is logged).
    """
    if directory is None:
        configured = jax.config.jax_compilation_cache_dir
        directory = configured or DEFAULT_CACHE_DIR
    path = Path(directory).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        logger.warning(
            "Compilation cache disabled: cannot create %s (%s). Set "
            "JAX_COMPILATION_CACHE_DIR to a writable folder to enable it.",
            path,
            error.strerror,
        )
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update(
        "jax_persistent_cache_min_compile_time_secs", MIN_CACHED_COMPILE_SECONDS
    )
    return path


# Run-time advice for each JAX platform. The CPU figure is the README's
# default training run (3,000 steps of 64 images at width 32) on 2 idle cores.
# No lesson has been timed on a GPU or TPU, so those texts are estimates.
_RUN_TIME_ADVICE = {
    "cpu": (
        "Training runs on the CPU. Each lesson states its run time on 2 CPU "
        "cores, and the full DCGAN run of 3,000 steps took about 4.5 minutes on "
        "2 idle cores. A GPU shortens the long training runs (on Colab: Runtime "
        "> Change runtime type)."
    ),
    "gpu": (
        "Training runs on the GPU. A step of these small models should take "
        "milliseconds there (an estimate, not timed on a GPU), so compiling "
        "each jitted step, a few seconds, takes most of a short run's time."
    ),
    "tpu": (
        "Training runs on the TPU. As on a GPU, compiling each jitted step, a "
        "few seconds, should take most of a short run's time (an estimate, not "
        "timed on a TPU)."
    ),
}


def describe_devices(devices: Sequence[jax.Device] | None = None) -> str:
    """Describes the devices JAX uses and what they mean for run time.

    Args:
        devices: Devices to describe; ``None`` uses ``jax.devices()``. All
            have the platform of the first.

    Returns:
        One line of plain sentences: the JAX version, the number and kind of
        devices, and how long training takes on them.
    """
    if devices is None:
        devices = jax.devices()
    platform = devices[0].platform
    kinds = ", ".join(sorted({device.device_kind for device in devices}))
    count = len(devices)
    noun = "device" if count == 1 else "devices"
    parts = [f"JAX {jax.__version__} sees {count} {platform.upper()} {noun} ({kinds})."]
    parts.append(
        _RUN_TIME_ADVICE.get(
            platform, f"Training runs on the {platform} device, untimed here."
        )
    )
    if count > 1:
        parts.append(
            "The lessons train on one device. Lesson 9 and `python -m gan_lessons "
            f"train --data-parallel` split each batch over all {count}."
        )
    return " ".join(parts)
