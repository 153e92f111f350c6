"""Trained generators stored as one small file, ready to sample without training.

A generator file is a compressed ``.npz`` archive of plain arrays, so
``np.load(path, allow_pickle=False)`` reads it and loading runs no code from
it. It contains:

* ``format``: the string ``"gan_lessons.generator"``;
* ``format_version``: an integer, :data:`FORMAT_VERSION`;
* ``model_config``: the generator's :class:`~gan_lessons.config.ModelConfig`
  as a JSON string;
* ``step``: the training step of the checkpoint it was exported from;
* ``package_version``: the ``gan_lessons`` version that wrote it;
* ``params/<path>``: one float32 array per parameter, for example
  ``params/upsample/0/kernel``;
* ``batch_stats/<path>``: the batch-norm running averages, for example
  ``batch_stats/project_norm/mean``.

The discriminator and the optimiser states are left out. For the default run
the file takes 1.4 MB, a quarter of one checkpoint step (5.8 MB).

The shipped ``gan_lessons/assets/generator_mnist.npz`` was written by the
README's default run followed by an export of its final checkpoint::

    python -m gan_lessons train --out runs/shipped
    python -m gan_lessons export --checkpoint runs/shipped \\
        --out gan_lessons/assets/generator_mnist.npz

The run trains the ``dcgan`` preset at width 32 for 3,000 steps on the bundled
MNIST subset, with seed 0.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from numpy.typing import ArrayLike

from gan_lessons import __version__
from gan_lessons.config import ModelConfig
from gan_lessons.models import Generator, sample_latent

logger = logging.getLogger(__name__)

FORMAT_NAME = "gan_lessons.generator"
# Stored in every file and compared on load. Increase it whenever the keys or
# their meaning change, so that old files fail with a clear message.
FORMAT_VERSION = 1
GENERATOR_ASSET = "generator_mnist.npz"
PARAMS_PREFIX = "params/"
STATS_PREFIX = "batch_stats/"
EXPORT_COMMAND = "python -m gan_lessons export --checkpoint RUN --out FILE.npz"
SHIPPED_COMMANDS = (
    "python -m gan_lessons train --out runs/shipped && python -m gan_lessons "
    "export --checkpoint runs/shipped --out gan_lessons/assets/generator_mnist.npz"
)
_METADATA_KEYS = ("format", "format_version", "model_config", "step", "package_version")


class GeneratorFileError(ValueError):
    """A generator file is unreadable, of another format or version, or does not
    match the model configuration it stores."""


# Rendering.


@functools.partial(jax.jit, static_argnums=0)
def _render(
    graphdef: nnx.GraphDef, params: nnx.State, stats: nnx.State, z: jax.Array
) -> jax.Array:
    """Runs the generator with its running statistics, as ``GAN.generate`` does."""
    model = nnx.merge(graphdef, params, stats, copy=True)
    return model(z, train=False)


class PretrainedGenerator:
    """A trained generator with its batch-norm running averages.

    Each image depends only on its own latent vector, because batch norm uses
    the stored running averages, so a vector gives the same image alone or
    inside a batch.

    Attributes:
        model_config: Architecture of the generator (and of the discriminator
            it was trained against).
        params: The generator's ``nnx.Param`` values.
        batch_stats: The generator's batch-norm running averages.
        step: Training step of the checkpoint the weights came from, or
            ``None`` when unknown.
        path: File the generator was loaded from, or ``None``.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        params: nnx.State,
        batch_stats: nnx.State,
        *,
        step: int | None = None,
        path: Path | None = None,
    ):
        self.model_config = model_config
        self.params = params
        self.batch_stats = batch_stats
        self.step = step
        self.path = path
        self._graphdef = _abstract_generator_parts(model_config)[0]

    @property
    def latent_dim(self) -> int:
        """Length of the latent vector ``z``."""
        return self.model_config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(height, width, channels)``."""
        return self.model_config.image_shape

    def generate(self, z: ArrayLike) -> jax.Array:
        """Renders images from latent vectors, compiling once per batch size.

        The function is traceable, so ``jax.jvp``, ``jax.grad`` and
        ``jax.vmap`` work through it.

        Args:
            z: Latent vectors ``(n, latent_dim)``.

        Returns:
            float32 images ``(n, size, size, channels)``, NHWC, in [-1, 1].
        """
        z = jnp.asarray(z, jnp.float32)
        expected = self.latent_dim
        if z.ndim != 2 or z.shape[1] != expected:
            hint = " Add a batch axis with z[None]." if z.shape == (expected,) else ""
            raise ValueError(f"z has shape {z.shape}; expected (n, {expected}).{hint}")
        return _render(self._graphdef, self.params, self.batch_stats, z)

    def sample_latent(self, key: jax.Array, num: int) -> jax.Array:
        """Draws ``num`` latent vectors ``(num, latent_dim)`` from the prior."""
        return sample_latent(key, num, self.model_config)

    def module(self) -> Generator:
        """Returns a ``Generator`` module that contains copies of the arrays."""
        return nnx.merge(self._graphdef, self.params, self.batch_stats, copy=True)

    def __repr__(self) -> str:
        config = self.model_config
        return (
            f"PretrainedGenerator(preset={config.preset!r}, "
            f"latent_dim={config.latent_dim}, image_shape={config.image_shape}, "
            f"step={self.step}, path={None if self.path is None else str(self.path)!r})"
        )


@functools.cache
def _abstract_generator_parts(
    model_config: ModelConfig,
) -> tuple[nnx.GraphDef, nnx.State, nnx.State]:
    """Returns the graph definition, parameters and statistics as shapes only.

    ``nnx.eval_shape`` runs no initialiser, so this costs no compilation.
    """
    generator = nnx.eval_shape(lambda: Generator(model_config, rngs=nnx.Rngs(0)))
    return nnx.split(generator, nnx.Param, nnx.BatchStat)


def flatten_state(state: nnx.State, prefix: str) -> dict[str, np.ndarray]:
    """Maps ``prefix + "a/0/b"`` to the array of each variable at ``(a, 0, b)``.

    These names are the array names of a generator file.
    """
    return {
        prefix + "/".join(str(part) for part in path): np.asarray(variable.get_value())
        for path, variable in nnx.to_flat_state(state)
    }


def expected_arrays(
    params: nnx.State, batch_stats: nnx.State
) -> dict[str, tuple[tuple, Any]]:
    """Returns ``name -> (shape, dtype)`` of the arrays of a generator file.

    Args:
        params: The generator's ``nnx.Param`` values, abstract or concrete.
        batch_stats: Its batch-norm running averages, abstract or concrete.
    """
    expected = {}
    for prefix, state in ((PARAMS_PREFIX, params), (STATS_PREFIX, batch_stats)):
        for path, variable in nnx.to_flat_state(state):
            value = variable.get_value()
            name = prefix + "/".join(str(part) for part in path)
            expected[name] = (tuple(value.shape), np.dtype(value.dtype))
    return expected


def _expected_shapes(model_config: ModelConfig) -> dict[str, tuple[tuple, Any]]:
    """Returns ``name -> (shape, dtype)`` of every array a file must contain."""
    _, params, stats = _abstract_generator_parts(model_config)
    return expected_arrays(params, stats)


def find_array_problems(
    arrays: dict[str, np.ndarray], expected: dict[str, tuple[tuple, Any]]
) -> list[str]:
    """Lists how ``arrays`` differ from ``expected`` (see ``expected_arrays``).

    Returns:
        One phrase per missing or unexpected group of names, per array of
        another shape or dtype and per array with NaN or infinite values.
        The list is empty when the arrays fit.
    """
    missing = sorted(expected.keys() - arrays.keys())
    unexpected = sorted(arrays.keys() - expected.keys())
    problems = []
    if missing:
        problems.append(f"missing arrays {missing[:5]}")
    if unexpected:
        problems.append(f"unexpected arrays {unexpected[:5]}")
    for name in sorted(expected.keys() & arrays.keys()):
        shape, dtype = expected[name]
        array = arrays[name]
        if array.shape != shape or array.dtype != dtype:
            problems.append(
                f"{name} is {array.dtype}{array.shape}, expected {dtype}{shape}"
            )
        elif not np.all(np.isfinite(array)):
            problems.append(f"{name} contains NaN or infinite values")
    return problems


# Saving.


def save_generator(
    path: str | os.PathLike,
    model_config: ModelConfig,
    params: nnx.State,
    batch_stats: nnx.State,
    *,
    step: int,
) -> Path:
    """Writes a generator file with the keys listed in the module docstring.

    The file is written under a temporary name and then renamed, so an
    interrupted write leaves any older file at ``path`` intact.

    Args:
        path: Output file, ending in ``.npz``. Its folder is created if needed.
        model_config: The generator's architecture.
        params: The generator's ``nnx.Param`` values, as in
            ``TrainState.generator_params``.
        batch_stats: Its batch-norm running averages, as in
            ``TrainState.generator_stats``.
        step: Training step the weights come from.

    Returns:
        The path written.

    Raises:
        ValueError: If ``path`` does not end in ``.npz``, or the arrays do not
            match ``model_config``.
    """
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ValueError(f"Generator file {str(path)!r} must end in .npz.")
    arrays = {
        **flatten_state(params, PARAMS_PREFIX),
        **flatten_state(batch_stats, STATS_PREFIX),
    }
    _check_arrays(arrays, model_config, path)
    arrays.update(
        format=np.asarray(FORMAT_NAME),
        format_version=np.asarray(FORMAT_VERSION),
        model_config=np.asarray(json.dumps(model_config.to_dict(), sort_keys=True)),
        step=np.asarray(int(step)),
        package_version=np.asarray(__version__),
    )
    write_npz(path, arrays)
    logger.info("Wrote generator of step %d to %s", step, path)
    return path


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Writes ``arrays`` to a compressed npz file, creating its folder.

    The file is written under a temporary name and then renamed, so an
    interrupted write leaves any older file at ``path`` intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as file:
            np.savez_compressed(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def find_checkpoint_folder(checkpoint_dir: str | os.PathLike, example: str) -> Path:
    """Returns the ``checkpoints/`` folder of a run, or ``checkpoint_dir`` itself.

    Args:
        checkpoint_dir: A run's output folder or its ``checkpoints/`` folder.
        example: A run folder named in the error, such as ``runs/default``.

    Raises:
        CheckpointError: If the folder does not exist.
    """
    from gan_lessons.checkpoint import CheckpointError

    folder = Path(checkpoint_dir)
    if (folder / "checkpoints").is_dir():
        folder = folder / "checkpoints"
    if not folder.is_dir():
        raise CheckpointError(
            f"Checkpoint folder {os.fspath(checkpoint_dir)!r} not found. Pass a "
            f"run's output folder, such as {example}."
        )
    return folder


def export_generator(
    checkpoint_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    step: int | None = None,
) -> Path:
    """Writes the generator of a training checkpoint to a generator file.

    Args:
        checkpoint_dir: A run's output folder (such as ``runs/default``) or
            its ``checkpoints/`` folder.
        out: Output file, ending in ``.npz``.
        step: Checkpoint step to export; ``None`` exports the newest readable
            one.

    Returns:
        The path written.

    Raises:
        CheckpointError: If the folder or the step is missing or unreadable.
        ValueError: If ``out`` does not end in ``.npz``.
    """
    # Imported here because the checkpoint module loads Orbax, which loading a
    # generator file does not need.
    from gan_lessons.checkpoint import Checkpointer
    from gan_lessons.config import TrainConfig
    from gan_lessons.train import GAN

    if Path(out).suffix.lower() != ".npz":
        raise ValueError(f"Output {os.fspath(out)!r} must end in .npz.")
    folder = find_checkpoint_folder(checkpoint_dir, "runs/default")
    checkpointer = Checkpointer(folder)
    meta = checkpointer.read_meta(step)
    gan = GAN(
        ModelConfig.from_dict(meta["model_config"]),
        TrainConfig.from_dict(meta["train_config"]),
    )
    state = checkpointer.restore(gan, step)
    return save_generator(
        out,
        gan.model_config,
        state.generator_params,
        state.generator_stats,
        step=int(state.step),
    )


# Loading.


def default_generator_path() -> Path:
    """Returns the path of the shipped generator, ``assets/generator_mnist.npz``.

    NOTE: The path is a real file for a source checkout or an installed wheel,
    but not for a package imported from a zip archive.
    """
    return Path(str(resources.files("gan_lessons") / "assets" / GENERATOR_ASSET))


def _rebuild_hint(path: Path) -> str:
    if path == default_generator_path():
        return f"Rebuild it with `{SHIPPED_COMMANDS}`."
    return f"Write it again with `{EXPORT_COMMAND}`."


def load_generator(path: str | os.PathLike | None = None) -> PretrainedGenerator:
    """Loads a generator file written by :func:`save_generator`.

    Args:
        path: The ``.npz`` file; ``None`` loads the shipped MNIST generator.

    Returns:
        The generator, ready for ``generate``.

    Raises:
        FileNotFoundError: If the file does not exist.
        GeneratorFileError: If the file is not a readable npz archive, is of
            another format or version, or its arrays do not match its model
            configuration.
    """
    path = default_generator_path() if path is None else Path(path)
    arrays = _read_npz(path)
    found = arrays.get("format")
    if found is None or found.dtype.kind != "U" or str(found) != FORMAT_NAME:
        found_value = None if found is None else _scalar(found)
        raise GeneratorFileError(
            f"{path} is not a gan_lessons generator file: its 'format' entry is "
            f"{found_value!r}, expected {FORMAT_NAME!r}. Export a generator with "
            f"`{EXPORT_COMMAND}`."
        )
    version = arrays.get("format_version")
    if version is None or version.dtype.kind not in "iu" or version.shape != ():
        raise GeneratorFileError(
            f"{path} has no integer 'format_version'. {_rebuild_hint(path)}"
        )
    if int(version) != FORMAT_VERSION:
        raise GeneratorFileError(
            f"{path} has format version {int(version)}, but this gan_lessons "
            f"{__version__} reads version {FORMAT_VERSION}. {_rebuild_hint(path)}"
        )
    model_config = _read_model_config(arrays, path)
    weights = {
        name: array for name, array in arrays.items() if name not in _METADATA_KEYS
    }
    _check_arrays(weights, model_config, path)
    _, params, stats = _abstract_generator_parts(model_config)
    params = fill_state(params, weights, PARAMS_PREFIX)
    stats = fill_state(stats, weights, STATS_PREFIX)
    step = arrays.get("step")
    step = int(step) if step is not None and step.dtype.kind in "iu" else None
    return PretrainedGenerator(model_config, params, stats, step=step, path=path)


# First bytes of every zip file, and so of every npz archive. A single-array
# .npy file starts with b"\x93NUMPY" instead, and gets its own message below.
_ZIP_SIGNATURE = b"PK\x03\x04"


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        raise GeneratorFileError(
            f"{path} is a folder, not a generator file. If it is a training run, "
            f"export its generator first with `{EXPORT_COMMAND}`."
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"Generator file {path} not found. {_rebuild_hint(path)}"
        )
    with path.open("rb") as file:
        signature = file.read(len(_ZIP_SIGNATURE))
    if signature != _ZIP_SIGNATURE and not signature.startswith(b"\x93NUM"):
        # np.load would report such a file as pickled data, which misleads.
        raise GeneratorFileError(
            f"{path} is not an npz archive (it does not start with the zip "
            f"signature). {_rebuild_hint(path)}"
        )
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise GeneratorFileError(
                f"{path} contains a single array, not an npz archive. "
                f"{_rebuild_hint(path)}"
            )
        with archive:
            return {name: archive[name] for name in archive.files}
    except GeneratorFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        # np.load raises ValueError for a file that needs pickle or is no
        # numpy format at all.
        raise GeneratorFileError(
            f"Reading generator file {path} failed ({error}). {_rebuild_hint(path)}"
        ) from error


def _scalar(array: np.ndarray) -> Any:
    return array.item() if array.size == 1 else f"array of shape {array.shape}"


def _read_model_config(arrays: dict[str, np.ndarray], path: Path) -> ModelConfig:
    text = arrays.get("model_config")
    if text is None or text.dtype.kind != "U" or text.shape != ():
        raise GeneratorFileError(
            f"{path} has no 'model_config' string. {_rebuild_hint(path)}"
        )
    try:
        values = json.loads(str(text))
        return ModelConfig.from_dict(values)
    except (json.JSONDecodeError, TypeError, KeyError, ValueError) as error:
        raise GeneratorFileError(
            f"{path} stores a model configuration that this gan_lessons cannot "
            f"use ({error}). {_rebuild_hint(path)}"
        ) from error


def _check_arrays(
    arrays: dict[str, np.ndarray], model_config: ModelConfig, where: Path
) -> None:
    """Raises ``GeneratorFileError`` unless ``arrays`` fit the generator."""
    problems = find_array_problems(arrays, _expected_shapes(model_config))
    if problems:
        raise GeneratorFileError(
            f"The arrays of {where} do not match its model configuration "
            f"(preset {model_config.preset!r}, generator_features "
            f"{model_config.generator_features}): "
            + "; ".join(problems[:5])
            + ". "
            + _rebuild_hint(where)
        )


def fill_state(
    abstract: nnx.State, arrays: dict[str, np.ndarray], prefix: str
) -> nnx.State:
    """Returns a copy of ``abstract`` whose variables contain the stored arrays.

    ``arrays`` maps the names of ``flatten_state`` with the same ``prefix``
    to arrays of the variables' shapes, as checked by ``find_array_problems``.
    """
    # jax.tree.map builds new Variable objects, so the cached abstract state
    # stays unchanged.
    state = jax.tree.map(lambda leaf: leaf, abstract)
    for path, variable in nnx.to_flat_state(state):
        name = prefix + "/".join(str(part) for part in path)
        variable.set_value(jnp.asarray(arrays[name]))
    return state
