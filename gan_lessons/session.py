"""A notebook training session: train a GAN a cell at a time and watch it learn.

``TrainingSession`` drives the pieces behind ``python -m gan_lessons train``
(``train.GAN`` for the jit-compiled step, ``data.BatchStream`` for the batches,
``checkpoint.Checkpointer`` for Orbax checkpoints) from notebook cells:

* ``train(steps)`` continues from the current step, so re-running a cell
  trains further. Batch ``s`` and the latent vectors of step ``s`` depend only
  on ``s`` and the seed, so ``train(5)`` twice reaches the state of
  ``train(10)``.
* While it trains, a ``tqdm.auto`` progress bar shows the latest losses, and
  one output area shows the samples of a fixed latent batch beside the loss
  curves, redrawn in place every ``sample_every`` steps. The same grids are
  kept as frames of a GIF.
* An interrupt (Ctrl-C, or the notebook's stop button) keeps the state of the
  last finished step, saves it when the session has a folder, and re-raises
  ``KeyboardInterrupt`` so that "run all" stops.
* ``save`` and ``restore`` write and read the session's folder::

      DIR/checkpoints/STEP/   Orbax checkpoints of the TrainState (newest 3)
      DIR/history.npz         every step's metrics and the GIF frames

  A session created with a folder that contains a checkpoint restores it, and
  ``train_to(total)`` then trains only the missing steps, none when the
  checkpoint is trained.

The module ends with ``layer_shapes``, which lists the output shape of every
layer of a network, and the exercise checks of lesson 3.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from gan_lessons import checking, models, plotting, widgets
from gan_lessons.checkpoint import Checkpointer, model_config_of
from gan_lessons.config import ModelConfig, TrainConfig, model_preset
from gan_lessons.data import BatchStream, Dataset
from gan_lessons.runner import (
    NUM_GRID_SAMPLES,
    SAMPLE_SEED_OFFSET,
    TrainingDivergedError,
)
from gan_lessons.train import GAN, TrainState

logger = logging.getLogger(__name__)

# Folder of the lessons' runs. It does not depend on the working directory, so
# a notebook finds its checkpoint however Jupyter was started.
LESSON_RUNS_DIR = Path("~/.cache/gan_lessons/lessons").expanduser()
CHECKPOINT_FOLDER = "checkpoints"
HISTORY_FILE = "history.npz"
# A first step slower than this many later steps, plus half a second, is
# reported as mostly tracing and compiling.
COMPILE_REPORT_RATIO = 5.0


def lesson_run_directory(name: str, *, quick: bool) -> Path:
    """Chooses the folder where a lesson keeps its run.

    Full runs go to ``~/.cache/gan_lessons/lessons/NAME``, where a later
    kernel finds and restores them. Quick-mode runs (the notebook tests) go to
    a new temporary folder, deleted when the Python process exits, so a quick
    run never replaces a full one or makes a later quick run skip training.

    Args:
        name: Name of the run, such as ``"03_dcgan"``.
        quick: Whether the lesson runs in quick mode.
    """
    if not name or os.sep in name or name in (".", ".."):
        raise ValueError(f"name={name!r} must be a single folder name.")
    if not quick:
        return LESSON_RUNS_DIR / name
    folder = Path(tempfile.mkdtemp(prefix=f"gan-lessons-{name}-quick-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@dataclasses.dataclass(frozen=True)
class StepTimes:
    """Wall-clock times of one ``train`` call, in seconds.

    Attributes:
        steps: Steps trained by the call.
        total: Time of the whole call, drawing and saving included.
        first_step: Time of the call's first step until its result was ready.
            On the session's first step it includes tracing and compiling.
        later_step: Mean time of the other steps, without the time spent
            drawing and saving, or ``None`` for one step.
        compiled: Whether the first step was the session's first, which
            traces the step and compiles it, or loads it from JAX's
            compilation cache.
    """

    steps: int
    total: float
    first_step: float
    later_step: float | None
    compiled: bool


class _LiveImage:
    """One notebook output that shows the newest figure, replaced in place."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._handle = None

    def show(self, fig: Figure) -> None:
        if not self.enabled:
            return
        from IPython.display import Image, display

        image = Image(data=widgets.figure_png(fig))
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)


def _in_notebook() -> bool:
    """Returns whether this code runs in a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class TrainingSession:
    """A GAN, its training state, metric history and sample frames.

    Args:
        model_config: Architecture; a restored checkpoint must match it.
        train_config: Optimisation settings. ``train_config.steps`` is the
            default target of ``train_to``.
        dataset: Images to train on; their shape must be
            ``model_config.image_shape``.
        directory: Folder of checkpoints and history, or ``None`` to keep
            everything in memory.
        resume: Restore the newest checkpoint in ``directory`` if there is one.
        sample_every: Steps between sample grids: each redraws the live figure
            and adds a GIF frame. Frames are kept at step 0 and every multiple
            of ``sample_every``.
        checkpoint_every: Steps between checkpoints during ``train``, or
            ``None`` to save only when a ``train`` call ends or is interrupted.
        log_every: Steps between fetches of the metrics from the device. Each
            fetch waits for the device, so fetching every step would slow a
            GPU down.
        num_samples: Size of the fixed latent batch drawn in the grids.
        show: Draw the live figure; ``None`` draws it in a Jupyter kernel only.
        verbose: Print what ``train``, ``save`` and ``restore`` did.

    Attributes:
        gan: The model structure and its jit-compiled functions.
        stream: The batches; step ``s`` trains on ``stream.batch_at(s)``.
        state: The ``TrainState`` after the last finished step.
        fixed_latent: Latent vectors ``(num_samples, latent_dim)`` of the grids.
        checkpointer: Reader and writer of ``directory / "checkpoints"``, or
            ``None``.
        init_seconds: Time of ``gan.init()``, compilation included.
        last_times: Times of the latest ``train`` call, or ``None``.
    """

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        dataset: Dataset,
        *,
        directory: str | os.PathLike | None = None,
        resume: bool = True,
        sample_every: int = 100,
        checkpoint_every: int | None = None,
        log_every: int = 10,
        num_samples: int = NUM_GRID_SAMPLES,
        show: bool | None = None,
        verbose: bool = True,
    ):
        for name, value in (
            ("sample_every", sample_every),
            ("log_every", log_every),
            ("num_samples", num_samples),
        ):
            _check_positive_int(name, value)
        if checkpoint_every is not None:
            _check_positive_int("checkpoint_every", checkpoint_every)
        if dataset.images.shape[1:] != model_config.image_shape:
            raise ValueError(
                f"The dataset's images have shape {dataset.images.shape[1:]} but "
                f"the model expects {model_config.image_shape}; pass channels "
                "(and image_size) to model_preset that match the data."
            )
        self.gan = GAN(model_config, train_config)
        self.stream = BatchStream(
            dataset, train_config.batch_size, seed=train_config.seed
        )
        self.sample_every = sample_every
        self.checkpoint_every = checkpoint_every
        self.log_every = log_every
        self.show = _in_notebook() if show is None else show
        self.verbose = verbose
        self.directory = None if directory is None else Path(directory).expanduser()
        self.checkpointer = (
            None
            if self.directory is None
            else Checkpointer(self.directory / CHECKPOINT_FOLDER)
        )
        self.fixed_latent = self.gan.sample_latent(
            jax.random.key(train_config.seed + SAMPLE_SEED_OFFSET), num_samples
        )
        # One record per step and one (step, frame) pair per grid. Each list
        # grows by a single extend or append, which an interrupt cannot split.
        self._records: list[dict[str, float]] = []
        self._frames: list[tuple[int, np.ndarray]] = []
        self._stepped = False
        self.last_times: StepTimes | None = None

        started = time.perf_counter()
        self.state: TrainState = jax.block_until_ready(self.gan.init())
        self.init_seconds = time.perf_counter() - started
        if resume and self.has_checkpoint():
            self.restore()

    @classmethod
    def from_directory(
        cls, directory: str | os.PathLike, dataset: Dataset, **options: Any
    ) -> TrainingSession:
        """Re-creates a saved session with the configurations in its checkpoint.

        Args:
            directory: A folder that a session with a directory saved to.
            dataset: The images to continue training on.
            **options: Further keyword arguments of ``TrainingSession``.

        Raises:
            CheckpointError: The folder contains no readable checkpoint.
        """
        model_config, train_config = model_config_of(
            Path(directory).expanduser() / CHECKPOINT_FOLDER
        )
        return cls(model_config, train_config, dataset, directory=directory, **options)

    # State and history.

    @property
    def step(self) -> int:
        """Number of finished training steps."""
        return int(self.state.step)

    @property
    def history(self) -> dict[str, list[float]]:
        """Metric name to its value at each step of ``history_steps``.

        The metrics are those of ``GAN.train_step``: both losses, ``d_real``
        (mean D(x)), ``d_fake`` (mean D(G(z))) and both gradient norms.
        """
        result: dict[str, list[float]] = {}
        for record in self._records:
            for name, value in record.items():
                if name != "step":
                    result.setdefault(name, []).append(value)
        return result

    @property
    def history_steps(self) -> list[int]:
        """Step number of each value in ``history``, from 1."""
        return [int(record["step"]) for record in self._records]

    @property
    def frames(self) -> list[np.ndarray]:
        """Sample grids as uint8 images, ``(H, W)`` grey or ``(H, W, 3)`` RGB."""
        return [frame for _, frame in self._frames]

    @property
    def frame_steps(self) -> list[int]:
        """Step at which each frame of ``frames`` was drawn."""
        return [step for step, _ in self._frames]

    def samples(self) -> np.ndarray:
        """Generates the fixed latent batch's images, NHWC float32 in [-1, 1].

        The generator runs with its batch-norm running averages
        (``train=False``), so drawing changes nothing in the state.
        """
        return np.asarray(self.gan.generate(self.state, self.fixed_latent))

    def generate(self, num: int, *, seed: int = 1) -> np.ndarray:
        """Generates ``num`` images from fresh latent vectors drawn with ``seed``.

        Returns:
            float32 ``(num, height, width, channels)`` in [-1, 1].
        """
        _check_positive_int("num", num)
        z = self.gan.sample_latent(jax.random.key(seed), num)
        return np.asarray(self.gan.generate(self.state, z))

    # Training.

    def train(
        self,
        steps: int,
        *,
        progress: bool = True,
        callback: Callable[[int], None] | None = None,
    ) -> None:
        """Trains ``steps`` more steps from the current one.

        Args:
            steps: Number of steps; 0 does nothing.
            progress: Show a progress bar.
            callback: Called with the step number after each finished step.
                An exception it raises stops training like an interrupt
                does; a ``KeyboardInterrupt`` also saves the state.

        Raises:
            KeyboardInterrupt: Training was interrupted. ``state`` is the
                state of the last finished step, and it was saved when the
                session has a folder.
            TrainingDivergedError: A metric became NaN or infinite. ``state``
                then contains the diverged values; ``restore()`` goes back to the
                newest checkpoint.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps={steps!r} must be a non-negative integer.")
        if steps == 0:
            return
        start = self.step
        end = start + steps
        live = _LiveImage(self.show)
        if start % self.sample_every == 0 and start not in self.frame_steps:
            self._record_frame()
        live.show(self.progress_figure())

        compiled = not self._stepped
        bar = tqdm(
            total=steps,
            desc="compiling the step" if compiled else "training",
            unit="step",
            disable=not progress,
        )
        pending: list[tuple[int, dict[str, jax.Array]]] = []
        started = time.perf_counter()
        first_step = 0.0
        # Seconds spent drawing and saving, left out of the mean step time.
        overhead = 0.0
        try:
            for step in range(start, end):
                done = step + 1
                # Update the discriminator, then the generator. The new state
                # replaces the old one only once the step has returned.
                new_state, metrics = self.gan.train_step(
                    self.state, self.stream.batch_at(step)
                )
                if step == start:
                    jax.block_until_ready(new_state)
                    first_step = time.perf_counter() - started
                    self._stepped = True
                    bar.set_description("training")
                pending.append((done, metrics))
                self.state = new_state

                # Log: fetch the pending metrics in one transfer.
                if done % self.log_every == 0 or done == end:
                    latest = self._flush(pending)
                    pending = []
                    if latest is not None:
                        bar.set_postfix(_postfix(latest))

                # Draw the fixed latent batch.
                if done % self.sample_every == 0:
                    drawing = time.perf_counter()
                    self._record_frame()
                    live.show(self.progress_figure())
                    overhead += time.perf_counter() - drawing

                # Checkpoint, after checking the metrics.
                due = self.checkpoint_every and done % self.checkpoint_every == 0
                if due and done != end and self.checkpointer is not None:
                    saving = time.perf_counter()
                    self._flush(pending)
                    pending = []
                    self.save(quiet=True)
                    overhead += time.perf_counter() - saving
                bar.update(1)
                if callback is not None:
                    callback(done)
        except KeyboardInterrupt:
            bar.close()
            self._keep_interrupted(pending, start, live)
            raise
        finally:
            bar.close()

        jax.block_until_ready(self.state)
        training = time.perf_counter() - started - overhead
        later = (training - first_step) / (steps - 1) if steps > 1 else None
        if end % self.sample_every != 0:
            live.show(self.progress_figure())
        if self.checkpointer is not None:
            self.save(quiet=True)
        total = time.perf_counter() - started
        self.last_times = StepTimes(steps, total, first_step, later, compiled)
        self._print(self._summary(start, end))

    def _keep_interrupted(
        self,
        pending: list[tuple[int, dict[str, jax.Array]]],
        start: int,
        live: _LiveImage,
    ) -> None:
        """Records, saves and shows the last finished step after an interrupt."""
        self._flush(pending)
        where = ""
        if self.checkpointer is not None and self.step > start:
            self.save(quiet=True)
            where = f" and saved to {self.directory}"
        live.show(self.progress_figure())
        self._print(
            f"Interrupted: the state of step {self.step} is kept{where}. "
            "Run train() again to continue from it."
        )

    def train_to(self, total_steps: int | None = None, **options: Any) -> None:
        """Trains until ``step`` reaches ``total_steps``, or reports that it has.

        Args:
            total_steps: Target step; ``None`` uses ``train_config.steps``.
            **options: Keyword arguments of ``train``.
        """
        target = self.gan.train_config.steps if total_steps is None else total_steps
        _check_positive_int("total_steps", target)
        if self.step >= target:
            self._print(
                f"Skipping training: the session is at step {self.step}, and "
                f"{target} were requested. Call train(steps) to train further."
            )
            return
        self.train(target - self.step, **options)

    def _flush(
        self, pending: list[tuple[int, dict[str, jax.Array]]]
    ) -> dict[str, float] | None:
        """Moves fetched metrics into the history and checks that they are finite.

        Returns the newest record, or ``None`` when nothing was pending.
        """
        if not pending:
            return None
        fetched = jax.device_get([metrics for _, metrics in pending])
        latest = self.step
        recorded = self._records[-1]["step"] if self._records else 0
        records = []
        for (step, _), metrics in zip(pending, fetched, strict=True):
            # Skip steps already recorded by an interrupted flush, and a step
            # whose state was never stored because the interrupt came first.
            if recorded < step <= latest:
                record = {"step": step}
                record.update({name: float(value) for name, value in metrics.items()})
                records.append(record)
        self._records.extend(records)
        for record in records:
            bad = {k: v for k, v in record.items() if not math.isfinite(v)}
            if bad:
                raise TrainingDivergedError(
                    f"Training diverged at step {record['step']}: {bad}. The "
                    "session's state contains the diverged values; restore() goes "
                    "back to the newest checkpoint. Try a lower learning rate."
                )
        return records[-1] if records else None

    def _record_frame(self) -> None:
        grid = plotting.grid_to_uint8(plotting.image_grid(self.samples()))
        self._frames.append((self.step, grid))

    def _summary(self, start: int, end: int) -> str:
        times = self.last_times
        parts = [f"Trained steps {start} -> {end} in {_format_seconds(times.total)}."]
        if times.later_step is None:
            parts.append(f"The step took {_format_seconds(times.first_step)}.")
        else:
            slow = times.first_step > (COMPILE_REPORT_RATIO * times.later_step + 0.5)
            reason = ", most of it tracing and compiling" if slow else ""
            parts.append(
                f"The first step took {_format_seconds(times.first_step)}{reason}; "
                f"the others took {times.later_step * 1000:.0f} ms each on average."
            )
        if self.checkpointer is not None:
            parts.append(f"Saved step {end} to {self.directory}.")
        return " ".join(parts)

    def _print(self, message: str) -> None:
        logger.info(message)
        if self.verbose:
            print(message)

    # Figures.

    def progress_figure(self) -> Figure:
        """Draws the fixed batch's samples beside the loss and D curves."""
        return plotting.plot_progress(
            self.samples(),
            self.history,
            steps=self.history_steps,
            title=f"step {self.step}",
        )

    def plot_history(self) -> Figure:
        """Plots both losses, and mean D(x) against D(G(z)), with running means."""
        if not self._records:
            raise ValueError("The session has no history yet; call train() first.")
        return plotting.plot_smoothed_history(self.history, steps=self.history_steps)

    def save_gif(
        self, path: str | os.PathLike | None = None, *, frame_ms: int = 200
    ) -> Path:
        """Writes the frames to an animated GIF and returns its path.

        Args:
            path: Output file; ``None`` writes ``progress.gif`` in the
                session's folder.
            frame_ms: Milliseconds each frame is shown; the last one stays
                longer.
        """
        if path is None:
            if self.directory is None:
                raise ValueError(
                    "The session has no directory; pass the path of the GIF."
                )
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / "progress.gif"
        if not self._frames:
            raise ValueError("The session has no frames yet; call train() first.")
        return plotting.save_gif(self.frames, path, frame_ms=frame_ms)

    # Checkpoints.

    def has_checkpoint(self) -> bool:
        """Returns whether the session's folder contains a checkpoint."""
        return self.checkpointer is not None and bool(self.checkpointer.steps())

    def save(self, *, quiet: bool = False) -> Path:
        """Saves the state, history and frames to the session's folder.

        The history file is written first and the checkpoint second, so a
        failure between the two leaves a history that ``restore`` cuts back to
        the restored step.

        Args:
            quiet: Print nothing.

        Returns:
            The folder of the checkpoint.
        """
        if self.checkpointer is None:
            raise ValueError(
                "This session has no directory; create it with directory=... "
                "to save checkpoints."
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_history(self.directory / HISTORY_FILE)
        self.checkpointer.save(
            self.gan, self.state, extra={"data_source": self.stream.dataset.source}
        )
        if not quiet:
            self._print(f"Saved step {self.step} to {self.directory}.")
        return self.checkpointer.directory / str(self.step)

    def restore(self, step: int | None = None) -> int:
        """Loads a checkpoint, with the history and frames up to its step.

        Args:
            step: The step to restore; ``None`` restores the newest readable
                checkpoint.

        Returns:
            The restored step.

        Raises:
            ValueError: The session has no directory.
            CheckpointError: No matching checkpoint could be read.
        """
        if self.checkpointer is None:
            raise ValueError("This session has no directory to restore from.")
        state = self.checkpointer.restore(self.gan, step)
        restored = int(state.step)
        saved = self.checkpointer.read_meta(restored).get("train_config", {})
        current = self.gan.train_config.to_dict()
        differences = sorted(
            name
            for name in current
            if name != "steps" and name in saved and saved[name] != current[name]
        )
        if differences:
            logger.warning(
                "Checkpoint step %d was trained with other settings of %s; "
                "training continues with the current ones.",
                restored,
                differences,
            )
        self.state = state
        self._read_history(self.directory / HISTORY_FILE, up_to=restored)
        self._print(f"Restored step {restored} from {self.directory}.")
        return restored

    def _write_history(self, path: Path) -> None:
        names = sorted({name for record in self._records for name in record} - {"step"})
        arrays = {
            "steps": np.asarray(self.history_steps, np.int64),
            "frame_steps": np.asarray(self.frame_steps, np.int64),
        }
        for name in names:
            arrays[f"metric_{name}"] = np.asarray(
                [record.get(name, math.nan) for record in self._records], np.float64
            )
        if self._frames:
            arrays["frames"] = np.stack(self.frames)
        # Written beside the target and renamed, so an interrupted write never
        # leaves a damaged history file.
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)

    def _read_history(self, path: Path, *, up_to: int) -> None:
        if not path.is_file():
            self._records, self._frames = [], []
            logger.warning("No %s in %s; the history starts empty.", path.name, path)
            return
        with np.load(path) as archive:
            steps = archive["steps"]
            names = [
                key[len("metric_") :] for key in archive if key.startswith("metric_")
            ]
            metrics = {name: archive[f"metric_{name}"] for name in names}
            frame_steps = archive["frame_steps"]
            frames = archive["frames"] if "frames" in archive else None
        records = []
        for index, step in enumerate(steps):
            if step <= up_to:
                record = {"step": int(step)}
                record.update({name: float(metrics[name][index]) for name in names})
                records.append(record)
        kept_frames = [
            (int(step), frames[index])
            for index, step in enumerate(frame_steps)
            if step <= up_to
        ]
        self._records, self._frames = records, kept_frames


def _postfix(record: dict[str, float]) -> dict[str, str]:
    return {
        "d_loss": f"{record['discriminator_loss']:.3f}",
        "g_loss": f"{record['generator_loss']:.3f}",
        "D(x)": f"{record['d_real']:.2f}",
        "D(G(z))": f"{record['d_fake']:.2f}",
    }


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer.")


# Output shapes of a network's layers.


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """Output of one layer call.

    Attributes:
        path: Where the layer sits in the network, such as ``"upsample.0"``.
        layer: Class name of the layer, such as ``"ConvTranspose"``.
        shape: Shape of the layer's output, batch axis first.
    """

    path: str
    layer: str
    shape: tuple[int, ...]


@contextlib.contextmanager
def _recording_calls(
    classes: set[type], paths: dict[int, str], records: list[LayerShape]
) -> Iterator[None]:
    """Temporarily makes every call of ``classes`` append its output shape."""
    originals = {cls: cls.__dict__.get("__call__") for cls in classes}

    def recording(cls: type, call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self, *args, **kwargs):
            output = call(self, *args, **kwargs)
            if id(self) in paths:
                records.append(LayerShape(paths[id(self)], cls.__name__, output.shape))
            return output

        return wrapper

    # NOTE: a class that inherits __call__ from another class in ``classes``
    # would record each call twice; the DCGAN's layer classes are unrelated.
    try:
        for cls in classes:
            cls.__call__ = recording(cls, cls.__call__)
        yield
    finally:
        for cls, original in originals.items():
            if original is None:
                del cls.__call__
            else:
                cls.__call__ = original


def layer_shapes(module: nnx.Module, *args: Any, **kwargs: Any) -> list[LayerShape]:
    """Runs ``module(*args, **kwargs)`` abstractly and lists each layer's output.

    The call runs under ``nnx.eval_shape``: shapes propagate through the real
    layers, but no arithmetic runs and nothing is compiled, so it takes well
    under a second even for a module built with ``nnx.eval_shape``. While it
    runs, the ``__call__`` of each sub-module's class is wrapped to record the
    output shape, in call order. A reshape between layers shows as a change
    of shape from one layer's output to the next layer's.

    Args:
        module: The network, such as ``models.Generator(config, rngs=...)``.
        *args: Inputs; arrays or ``jax.ShapeDtypeStruct``.
        **kwargs: Keyword arguments of the call, such as ``train=False``.
            Pass ``train=False``: a batch-norm update under ``eval_shape``
            would store abstract values in the module.

    Returns:
        One ``LayerShape`` per call of a sub-module, in call order.
    """
    classes = {
        type(sub)
        for path, sub in nnx.iter_modules(module)
        if path and not isinstance(sub, nnx.List)
    }
    paths: dict[int, str] = {}
    records: list[LayerShape] = []

    def run(copy: nnx.Module, *inputs: Any) -> Any:
        # eval_shape passes a copy of the module, so paths are read from it.
        paths.clear()
        paths.update(
            {
                id(sub): ".".join(str(part) for part in path)
                for path, sub in nnx.iter_modules(copy)
                if path
            }
        )
        return copy(*inputs, **kwargs)

    with _recording_calls(classes, paths, records):
        nnx.eval_shape(run, module, *args)
    return records


def abstract_discriminator(model_config: ModelConfig) -> models.Discriminator:
    """Builds a discriminator whose parameters are shapes only, computing nothing."""
    return nnx.eval_shape(lambda: models.Discriminator(model_config, rngs=nnx.Rngs(0)))


def abstract_generator(model_config: ModelConfig) -> models.Generator:
    """Builds a generator whose parameters are shapes only, computing nothing."""
    return nnx.eval_shape(lambda: models.Generator(model_config, rngs=nnx.Rngs(0)))


# Exercise checks of lesson 3. Each prints one line that starts with
# "Correct:", "Not quite:" or "Not answered yet:" and returns whether the
# answer is right. A wrong answer gets a hint, never the solution.


def _dilated_transpose_size(size: int, kernel: int, stride: int, pad: int) -> int:
    dilated = (size - 1) * stride + 1
    return dilated + 2 * pad - kernel + 1


def _dilated_transpose_inputs(rng: np.random.Generator) -> tuple[int, int, int, int]:
    # Sizes of at least 2 and pads of at least (kernel - 1) // 2 keep every
    # output size positive. Kernels of at least 3 make most pads non-zero.
    kernel = int(rng.integers(3, 8))
    return (
        int(rng.integers(2, 17)),
        kernel,
        int(rng.integers(1, 4)),
        int(rng.integers((kernel - 1) // 2, kernel)),
    )


_DILATED_SIZE_MISTAKES = (
    checking.Mistake(
        "SAME size",
        lambda size, kernel, stride, pad: size * stride,
        "size * stride is the output size of 'SAME' padding, which picks the "
        "pad that gives it. Here the pad is an argument.",
    ),
    checking.Mistake(
        "padding trims",
        lambda size, kernel, stride, pad: (size - 1) * stride - 2 * pad + kernel,
        "this treats pad as pixels trimmed from the output. In lax's "
        "convention pad adds pixels to the dilated input before the "
        "stride-1 convolution.",
    ),
    checking.Mistake(
        "zeros after every pixel",
        lambda size, kernel, stride, pad: size * stride + 2 * pad - kernel + 1,
        "count the dilated input again: the stride - 1 zeros go only between "
        "neighbouring pixels, not after the last one.",
    ),
    checking.Mistake(
        "convolution without plus one",
        lambda size, kernel, stride, pad: (size - 1) * stride + 1 + 2 * pad - kernel,
        "count the outputs of the stride-1 convolution again. A kernel of k "
        "pixels fits at n - k + 1 positions of n pixels.",
    ),
    checking.Mistake(
        "pad on one side",
        lambda size, kernel, stride, pad: (size - 1) * stride + 2 + pad - kernel,
        "pad is added at both ends of each axis.",
    ),
)


def check_dilated_transpose_size(output_size: Callable[..., Any]) -> bool:
    """Checks ``output_size(size, kernel, stride, pad)`` in lax's convention.

    ``lax.conv_transpose``, and so ``nnx.ConvTranspose``, computes a
    transposed convolution by putting ``stride - 1`` zeros between the input
    pixels (dilation), adding ``pad`` pixels at both ends of each axis and
    running a stride-1 convolution. The check draws sizes from 2 to 16,
    kernels from 3 to 7, strides from 1 to 3 and pads from
    ``(kernel - 1) // 2`` to ``kernel - 1``.
    """
    return checking.check_function(
        output_size,
        _dilated_transpose_size,
        _dilated_transpose_inputs,
        name="output_size",
        mistakes=_DILATED_SIZE_MISTAKES,
        hint="Build it in two steps: the length of the dilated and padded "
        "input, then the number of positions a kernel fits in it.",
        tolerance=0.0,
        trials=8,
    )


def exercise_model_config() -> ModelConfig:
    """Returns the configuration of the shape exercise: 32x32x3, width 16."""
    return model_preset("dcgan", channels=3, width=16)


def check_discriminator_shapes(
    answer: Sequence[Sequence[int]] | None, model_config: ModelConfig | None = None
) -> bool:
    """Checks the per-image output shape of each of the discriminator's convolutions.

    Args:
        answer: One ``(height, width, channels)`` per convolution, in order,
            or ``None`` when not answered yet.
        model_config: The architecture; ``None`` uses
            ``exercise_model_config()``.
    """
    if answer is None:
        print("Not answered yet: shapes is None.")
        return False
    config = exercise_model_config() if model_config is None else model_config
    image = jax.ShapeDtypeStruct((1, *config.image_shape), np.float32)
    expected = [
        record.shape[1:]
        for record in layer_shapes(abstract_discriminator(config), image, train=False)
        if record.layer == "Conv"
    ]
    try:
        entries = [tuple(int(value) for value in entry) for entry in answer]
    except (TypeError, ValueError):
        print(
            "Not quite: give a list of (height, width, channels) tuples of "
            "integers, one per convolution."
        )
        return False
    if len(entries) != len(expected):
        print(
            f"Not quite: you gave {len(entries)} shapes, but the discriminator "
            f"has {len(expected)} stride-2 convolutions. Give one shape for each."
        )
        return False
    for index, (entry, target) in enumerate(zip(entries, expected, strict=True)):
        number = index + 1
        if len(entry) == 4:
            print(
                f"Not quite: shape {number} has 4 entries. Leave out the batch "
                "axis and give (height, width, channels) for one image."
            )
            return False
        if len(entry) != 3:
            print(
                f"Not quite: shape {number} has {len(entry)} entries; expected "
                "(height, width, channels)."
            )
            return False
        if entry[:2] != target[:2]:
            print(
                f"Not quite: the height or width of shape {number} is off. A "
                "stride-2 convolution with 'SAME' padding outputs "
                "ceil(input / 2) pixels per axis."
            )
            return False
        if entry[2] != target[2]:
            print(
                f"Not quite: the channels of shape {number} are off. A "
                "convolution outputs as many channels as it has filters, and "
                "discriminator_features in the configuration lists them."
            )
            return False
    print(
        "Correct: each convolution halves the height and width, and the "
        "channels follow discriminator_features."
    )
    return True


_NETWORKS = ("discriminator", "generator")


def _parse_networks(answer: Any, name: str) -> set[str] | None:
    """Parses ``answer`` into network names, or prints why and returns ``None``."""
    if isinstance(answer, str):
        answer = {answer}
    try:
        names = {str(item).strip().lower() for item in answer}
    except TypeError:
        print(f'Not quite: {name} should be a set such as {{"generator"}}.')
        return None
    unknown = sorted(names - set(_NETWORKS))
    if unknown:
        print(
            f"Not quite: {name} contains {unknown}; use the names "
            '"generator" and "discriminator".'
        )
        return None
    return names


def check_gradient_flow(
    with_stop_gradient: set[str] | None, without_stop_gradient: set[str] | None
) -> bool:
    """Checks which networks get non-zero gradients from a joint discriminator loss.

    The setting: ``loss(g_params, d_params)`` generates images from
    ``g_params`` and returns the discriminator loss on real images and on the
    generated ones, and ``jax.grad(loss, argnums=(0, 1))`` differentiates it
    with respect to both. The answers name the networks whose gradient is
    non-zero when the generated images pass through ``jax.lax.stop_gradient``
    before the discriminator sees them, and when they do not.
    """
    if with_stop_gradient is None or without_stop_gradient is None:
        print("Not answered yet: set both answers to a set of network names.")
        return False
    with_stop = _parse_networks(with_stop_gradient, "with_stop_gradient")
    if with_stop is None:
        return False
    without_stop = _parse_networks(without_stop_gradient, "without_stop_gradient")
    if without_stop is None:
        return False
    if "discriminator" not in with_stop or "discriminator" not in without_stop:
        print(
            "Not quite: the loss depends on the discriminator's parameters "
            "through the logits of both batches, whatever happens to the "
            "images."
        )
        return False
    if "generator" in with_stop:
        print(
            "Not quite: with stop_gradient, jax.grad treats the generated "
            "images as constants. What path is left from the loss back to "
            "g_params?"
        )
        return False
    if "generator" not in without_stop:
        print(
            "Not quite: without stop_gradient, what do the generated images "
            "depend on inside this loss function?"
        )
        return False
    print(
        "Correct: stop_gradient is what keeps the discriminator's loss from "
        "reaching the generator when both are differentiated together."
    )
    return True
