"""JAX runtime settings shared by the command line and the notebooks."""

from __future__ import annotations

import logging
import os
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


def describe_devices() -> str:
    """Returns one line naming the devices JAX uses and what that means."""
    devices = jax.devices()
    platform = devices[0].platform
    kinds = sorted({device.device_kind for device in devices})
    names = ", ".join(kinds)
    if platform == "cpu":
        advice = (
            "training runs on the CPU, where the default run takes minutes and "
            "long schedules are better run on a GPU"
        )
    elif platform == "gpu":
        advice = "training runs on the GPU; full schedules take minutes"
    else:
        advice = f"training runs on the {platform.upper()}"
    return (
        f"JAX {jax.__version__} sees {len(devices)} {platform} device(s) "
        f"({names}): {advice}."
    )
