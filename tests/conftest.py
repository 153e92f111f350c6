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
import socket
import tempfile
from pathlib import Path

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


# Hosts that the network-blocking fixture still lets tests reach.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture
def blocked_network(monkeypatch) -> list[object]:
    """Make connections to hosts other than loopback fail at once and record them."""
    attempts: list[object] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK_HOSTS:
            attempts.append(host)
            raise socket.gaierror(f"name resolution of {host!r} blocked by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in LOOPBACK_HOSTS:
            attempts.append(address)
            raise OSError(f"connection to {address!r} blocked by the test")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture
def empty_default_data_dir(tmp_path, monkeypatch) -> Path:
    """Point tfds's default data directory at an empty folder."""
    import tensorflow_datasets as tfds

    folder = tmp_path / "default_tfds"
    folder.mkdir()
    monkeypatch.setenv("TFDS_DATA_DIR", str(folder))
    # tfds reads TFDS_DATA_DIR once, at import, into constants.DATA_DIR.
    monkeypatch.setattr(tfds.core.constants, "DATA_DIR", str(folder))
    return folder
