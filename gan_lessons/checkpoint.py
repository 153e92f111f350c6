"""Saving and restoring training state with Orbax.

A checkpoint folder contains one sub-folder per saved step. Each contains the
``TrainState`` arrays (both networks, both optimiser states, batch-norm
statistics, the step and the PRNG key) stored by Orbax as tensorstore arrays,
and a JSON record of the model and training configurations. Nothing is
pickled, so loading a checkpoint runs no code from it. Orbax writes each step
to a temporary folder and renames it when complete, so an interrupted save
leaves the previous steps intact.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from gan_lessons import __version__
from gan_lessons.config import ModelConfig, TrainConfig
from gan_lessons.train import GAN, TrainState

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not match the model."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint was saved by a model of another architecture."""


def _flatten(state: TrainState) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _manager(directory: str | os.PathLike, *, create: bool, max_to_keep: int | None):
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        create=create,
        enable_async_checkpointing=False,
    )
    return ocp.CheckpointManager(
        Path(directory).absolute(),
        options=options,
        item_handlers={
            "state": ocp.StandardCheckpointHandler(),
            "meta": ocp.JsonCheckpointHandler(),
        },
    )


class Checkpointer:
    """Writes training state to a folder and reads it back.

    Args:
        directory: Folder of the checkpoints; created on the first save.
        max_to_keep: Number of most recent steps to keep; older ones are
            deleted after each save.
    """

    def __init__(self, directory: str | os.PathLike, max_to_keep: int = 3):
        self.directory = Path(directory)
        self.max_to_keep = max_to_keep
        self._manager = None

    def _get_manager(self, create: bool):
        if self._manager is None:
            self._manager = _manager(
                self.directory, create=create, max_to_keep=self.max_to_keep
            )
        return self._manager

    def save(self, gan: GAN, state: TrainState, extra: dict[str, Any] | None = None):
        """Saves ``state`` under its step number, replacing none.

        Args:
            gan: The model whose configurations are recorded with the arrays.
            state: The state to save.
            extra: JSON-compatible values to store beside the configurations.
        """
        step = int(state.step)
        meta = {
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "step": step,
            "model_config": gan.model_config.to_dict(),
            "train_config": gan.train_config.to_dict(),
            "extra": extra or {},
        }
        manager = self._get_manager(create=True)
        if step in manager.all_steps():
            # A run resumed from an older step replaces what it saved after it,
            # which may be the unreadable checkpoint that forced the fallback.
            manager.delete(step)
        manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(_flatten(state)),
                meta=ocp.args.JsonSave(meta),
            ),
            force=True,
        )
        manager.wait_until_finished()
        logger.info("Saved checkpoint of step %d to %s", step, self.directory)

    def steps(self) -> list[int]:
        """Returns the saved step numbers on disk now, oldest first.

        The folder is read on every call, so steps saved by another process
        since the last call are included.
        """
        if not self.directory.is_dir():
            return []
        manager = self._get_manager(create=False)
        manager.reload()
        return sorted(manager.all_steps())

    def latest_step(self) -> int | None:
        """Returns the newest saved step, or ``None`` when there is none."""
        steps = self.steps()
        return steps[-1] if steps else None

    def read_meta(self, step: int | None = None) -> dict[str, Any]:
        """Returns the JSON record saved with ``step``.

        Without ``step``, returns the newest readable record, logging a
        warning for each newer one that cannot be read.
        """
        if step is None:
            steps = self.steps()
            for candidate in reversed(steps[1:]):
                try:
                    return self.read_meta(candidate)
                except CheckpointError as error:
                    logger.warning("%s Trying an older checkpoint.", error)
            step = steps[0] if steps else None  # the oldest raises if unreadable
        step = self._resolve_step(step)
        path = self.directory / str(step) / "meta" / "metadata"
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise CheckpointError(
                f"Cannot read the configuration of checkpoint step {step} at "
                f"{path}: {error}."
            ) from error

    def restore(self, gan: GAN, step: int | None = None) -> TrainState:
        """Restores the state saved at ``step`` into ``gan``'s structure.

        Without ``step``, tries the newest checkpoint and falls back to older
        ones if it is unreadable, logging a warning for each one skipped.

        Args:
            gan: A model with the same architecture as the saved one.
            step: The step to restore, or ``None`` for the newest readable.

        Returns:
            The restored state.

        Raises:
            CheckpointError: The folder has no checkpoint, the architecture or
                optimiser differs, or no checkpoint can be read.
        """
        if step is not None:
            return self._restore_step(gan, self._resolve_step(step))
        steps = self.steps()
        if not steps:
            self._resolve_step(None)  # raises with the folder named
        errors = []
        for candidate in reversed(steps):
            try:
                return self._restore_step(gan, candidate)
            except CheckpointMismatchError:
                raise
            except Exception as error:  # noqa: BLE001 - reported, then skipped
                logger.warning(
                    "Checkpoint step %d in %s is unreadable (%s); trying an older one.",
                    candidate,
                    self.directory,
                    error,
                )
                errors.append(f"step {candidate}: {error}")
        raise CheckpointError(
            f"No readable checkpoint in {self.directory}: " + "; ".join(errors)
        )

    def _resolve_step(self, step: int | None) -> int:
        steps = self.steps()
        if not steps:
            raise CheckpointError(
                f"No checkpoint found in {self.directory}. Check the path, or "
                "start a new run without --resume."
            )
        if step is None:
            return steps[-1]
        if step not in steps:
            raise CheckpointError(
                f"No checkpoint of step {step} in {self.directory}; saved steps "
                f"are {steps}."
            )
        return step

    def _restore_step(self, gan: GAN, step: int) -> TrainState:
        meta = self.read_meta(step)
        check_compatible(meta, gan.model_config, self.directory / str(step))
        reference = gan.init()
        ref_leaves, treedef = jax.tree_util.tree_flatten_with_path(reference)
        target = {
            jax.tree_util.keystr(path): jax.ShapeDtypeStruct(leaf.shape, leaf.dtype)
            for path, leaf in ref_leaves
        }
        manager = self._get_manager(create=False)
        saved = manager.item_metadata(step)["state"]
        if saved is None:
            raise CheckpointError(
                f"Checkpoint {self.directory / str(step)} has no readable array "
                "metadata (state/_METADATA)."
            )
        _check_same_arrays(saved, target, self.directory / str(step))
        restored = manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(target)),
        )["state"]
        leaves = [restored[jax.tree_util.keystr(path)] for path, _ in ref_leaves]
        state = jax.tree_util.tree_unflatten(treedef, leaves)
        logger.info("Restored checkpoint of step %d from %s", step, self.directory)
        return state


# ModelConfig fields that change no array, so a checkpoint restores across them.
_FIELDS_NOT_IN_ARRAYS = ("compute_dtype",)


def check_compatible(meta: dict[str, Any], model_config: ModelConfig, where) -> None:
    """Raises ``CheckpointMismatchError`` unless the architectures match.

    Fields missing from an older record take their defaults, and fields that
    change no array (the compute dtype) may differ.
    """
    saved = meta.get("model_config")
    if saved is None:
        raise CheckpointMismatchError(f"{where} has no model configuration.")
    defaults = ModelConfig().to_dict()
    current = model_config.to_dict()
    differences = [
        f"{name}: checkpoint {_normalise(saved.get(name, defaults[name]))!r}, "
        f"requested {_normalise(current[name])!r}"
        for name in current
        if name not in _FIELDS_NOT_IN_ARRAYS
        and _normalise(saved.get(name, defaults[name])) != _normalise(current[name])
    ]
    if differences:
        raise CheckpointMismatchError(
            f"Checkpoint {where} was saved by a different architecture ("
            + "; ".join(differences)
            + "). Use matching options, or a new output folder."
        )


def model_config_of(directory: str | os.PathLike, step: int | None = None):
    """Returns the ``ModelConfig`` and ``TrainConfig`` saved in a folder."""
    meta = Checkpointer(directory).read_meta(step)
    return (
        ModelConfig.from_dict(meta["model_config"]),
        TrainConfig.from_dict(meta["train_config"]),
    )


def _normalise(value):
    return list(value) if isinstance(value, tuple) else value


def _check_same_arrays(saved: Any, target: dict[str, Any], where) -> None:
    saved_keys = set(saved.keys()) if hasattr(saved, "keys") else set()
    missing = sorted(set(target) - saved_keys)
    unexpected = sorted(saved_keys - set(target))
    problems = []
    if missing:
        problems.append(f"missing arrays {missing[:5]}")
    if unexpected:
        problems.append(f"unexpected arrays {unexpected[:5]}")
    for key in sorted(set(target) & saved_keys):
        shape = tuple(getattr(saved[key], "shape", ()))
        if shape != tuple(target[key].shape):
            problems.append(
                f"{key} has shape {shape}, expected {tuple(target[key].shape)}"
            )
    if problems:
        raise CheckpointMismatchError(
            f"Checkpoint {where} does not match this model and optimiser: "
            + "; ".join(problems[:5])
            + "."
        )
