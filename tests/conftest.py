"""Shared fixtures: a tiny DCGAN compiled once per session, its states and batches.

Compiling a GAN dominates the run time of these tests on a CPU, so the session
shares one compiled ``GAN`` and a persistent JAX compilation cache in a
temporary folder. The cache lets a second ``GAN`` of the same configuration,
or a ``python -m gan_lessons`` subprocess, load the compiled programs instead
of compiling them again. It changes no result.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import jax
import numpy as np
import pytest

from gan_lessons.config import ModelConfig, TrainConfig, model_preset, train_preset
from gan_lessons.train import GAN, TrainState

BATCH_SIZE = 8
WIDTH = 8
NUM_BATCHES = 3

# jax reads the cache folder when it first compiles, so it is set at import,
# before any test runs. A folder that the caller already chose is kept.
_CACHE_DIR = os.environ.get("JAX_COMPILATION_CACHE_DIR") or tempfile.mkdtemp(
    prefix="gan-lessons-jax-cache-"
)
_OWN_CACHE_DIR = "JAX_COMPILATION_CACHE_DIR" not in os.environ
jax.config.update("jax_compilation_cache_dir", _CACHE_DIR)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_CACHE_DIR:
        shutil.rmtree(_CACHE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def jax_cache_env() -> dict[str, str]:
    """Environment of a subprocess that shares this session's compilation cache."""
    env = dict(os.environ)
    env["JAX_COMPILATION_CACHE_DIR"] = _CACHE_DIR
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    env["JAX_PLATFORMS"] = "cpu"
    return env


@pytest.fixture(scope="session")
def model_config() -> ModelConfig:
    """The dcgan preset at width 8: 32x32x1 images, latent length 100."""
    return model_preset("dcgan", width=WIDTH)


@pytest.fixture(scope="session")
def train_config() -> TrainConfig:
    """The dcgan optimiser settings at batch 8."""
    return train_preset("dcgan", batch_size=BATCH_SIZE)


@pytest.fixture(scope="session")
def gan(model_config: ModelConfig, train_config: TrainConfig) -> GAN:
    """One GAN whose jitted steps every test module reuses."""
    return GAN(model_config, train_config)


@pytest.fixture(scope="session")
def init_state(gan: GAN) -> TrainState:
    """The state at step 0 with seed 0.

    Its ``nnx.State`` containers are mutable Python objects, so a test that
    might change them builds its own state with ``gan.init()``.
    """
    return gan.init()


@pytest.fixture(scope="session")
def batches() -> np.ndarray:
    """Random float32 images ``(3, 8, 32, 32, 1)`` in [-1, 1]: three batches."""
    rng = np.random.default_rng(1234)
    shape = (NUM_BATCHES, BATCH_SIZE, 32, 32, 1)
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


@pytest.fixture(scope="session")
def batch(batches: np.ndarray) -> np.ndarray:
    """The first of ``batches``, ``(8, 32, 32, 1)``."""
    return batches[0]


@pytest.fixture(scope="session")
def trained_state(gan: GAN, init_state: TrainState, batches: np.ndarray) -> TrainState:
    """The state after one ``train_step`` on each of ``batches`` (step 3)."""
    state = init_state
    for step_batch in batches:
        state, _ = gan.train_step(state, step_batch)
    return state


def state_leaves(state: TrainState) -> dict[str, np.ndarray]:
    """Returns host copies of every array in ``state``, keyed by pytree path."""
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(path): np.array(leaf) for path, leaf in leaves}


def max_abs_change(before, after) -> float:
    """Returns the largest absolute elementwise difference of two pytrees."""
    changes = jax.tree.map(
        lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0)),
        before,
        after,
    )
    return max(jax.tree.leaves(changes))
