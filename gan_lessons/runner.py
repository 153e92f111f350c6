"""The training loop behind ``python -m gan_lessons train``.

A run writes into one output folder::

    OUT/config.json          model and training configurations, data source
    OUT/metrics.jsonl        one JSON line of scalar metrics per logged step
    OUT/evaluation.jsonl     sample-quality figures (``metrics.evaluate``)
    OUT/samples/step_NNNNNN.png   grids of a fixed latent batch over training
    OUT/samples.png          the final grid
    OUT/losses.png           loss curves and mean D(x), D(G(z))
    OUT/checkpoints/STEP/    Orbax checkpoints (the newest few)

Training resumes from the newest checkpoint with ``resume=True`` and then
receives exactly the batches and latent vectors of an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from gan_lessons import data, plotting
from gan_lessons.checkpoint import Checkpointer, check_compatible
from gan_lessons.config import ModelConfig, TrainConfig
from gan_lessons.train import GAN, TrainState, data_parallel_mesh

logger = logging.getLogger(__name__)

# Seed offset of the fixed latent batch drawn for the sample grids, so that the
# grid's vectors never coincide with a training step's.
SAMPLE_SEED_OFFSET = 10_000
NUM_GRID_SAMPLES = 64
# Seed offset of the latent vectors of the sample-quality evaluations.
EVALUATION_SEED_OFFSET = 20_000
# Image shape that the bundled classifier, and so the evaluation, accepts.
EVALUATED_IMAGE_SHAPE = (32, 32, 1)


class TrainingDivergedError(RuntimeError):
    """A loss or gradient norm became NaN or infinite."""


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Output folder, data source and reporting intervals of a run.

    Attributes:
        out_dir: Output folder; created if missing.
        data_source: ``"auto"``, ``"tfds"`` or ``"bundled"``.
        data_dir: tensorflow-datasets data folder, or ``None``.
        resume: Continue from the newest checkpoint in ``out_dir``.
        log_every: Steps between metric records.
        sample_every: Steps between sample grids; 0 disables them.
        checkpoint_every: Steps between checkpoints; the last step is always
            saved.
        evaluate_every: Steps between sample-quality evaluations
            (``metrics.evaluate``: Fréchet distance, class coverage, copying,
            precision and recall); 0 disables them. Only MNIST-shaped models,
            32x32x1, are evaluated. The real digits of the comparison are the
            bundled ones, whatever the training data, so with tfds data the
            copying check searches the bundled 9,000 training digits only.
        evaluate_samples: Generated and real digits per evaluation, at most
            the 1,000 bundled test digits.
        progress: Show a tqdm progress bar.
        data_parallel: Split each batch over all devices of all processes
            (``jax.devices()``), with the networks replicated on each. With
            several processes, only process 0 writes files other than
            checkpoints.
    """

    out_dir: str | os.PathLike = "runs/default"
    data_source: str = "auto"
    data_dir: str | os.PathLike | None = None
    resume: bool = False
    log_every: int = 10
    sample_every: int = 250
    checkpoint_every: int = 500
    evaluate_every: int = 1000
    evaluate_samples: int = 1000
    progress: bool = True
    data_parallel: bool = False

    def __post_init__(self) -> None:
        for name in ("log_every", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a positive integer.")
        for name in ("sample_every", "evaluate_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"{name}={value!r} must be 0 (off) or a positive integer."
                )
        if not isinstance(self.evaluate_samples, int) or self.evaluate_samples < 10:
            raise ValueError(
                f"evaluate_samples={self.evaluate_samples!r} must be an integer >= 10."
            )
        if self.data_source not in data.SOURCES:
            raise ValueError(
                f"data_source={self.data_source!r} is invalid. Use one of "
                f"{data.SOURCES}."
            )


@dataclasses.dataclass
class RunResult:
    """Result of a finished run.

    Attributes:
        gan: The model structure.
        state: The final training state.
        history: Metric name to the logged values.
        steps: The step number of each logged value.
        out_dir: The output folder.
        evaluations: One dict of ``metrics.Evaluation`` figures per
            evaluation of this run so far, with its ``step``.
    """

    gan: GAN
    state: TrainState
    history: dict[str, list[float]]
    steps: list[int]
    out_dir: Path
    evaluations: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def prepare_output_folder(out_dir: str | os.PathLike) -> Path:
    """Creates ``out_dir`` and checks that files can be written there."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ValueError(
            f"Output folder {str(path)!r} is not writable ({error.strerror}). "
            "Choose another folder with --out."
        ) from error
    return path


def run_training(
    model_config: ModelConfig,
    train_config: TrainConfig,
    options: RunOptions = RunOptions(),
    *,
    dataset: data.Dataset | None = None,
) -> RunResult:
    """Trains a GAN and writes samples, curves, metrics and checkpoints.

    Args:
        model_config: Architecture; on resume it must match the checkpoint.
        train_config: Optimisation settings. On resume the saved settings are
            used, except ``steps``, which may extend the run.
        options: Output folder, data source and reporting intervals.
        dataset: Images to train on; ``None`` loads MNIST's training split
            from ``options.data_source``.

    Returns:
        The final state and the logged metric history.

    Raises:
        ValueError: The output folder already contains a run and ``resume`` is
            off, or is not writable, or a setting is invalid.
        CheckpointError: ``resume`` is on and the checkpoint is missing or
            belongs to another architecture.
        TrainingDivergedError: A metric became NaN or infinite; the last
            checkpoint is kept.
    """
    out = prepare_output_folder(options.out_dir)
    checkpointer = Checkpointer(out / "checkpoints")
    saved_steps = checkpointer.steps()
    if saved_steps and not options.resume:
        raise ValueError(
            f"{str(out)!r} already contains a run with a checkpoint at step "
            f"{saved_steps[-1]}. Pass --resume to continue it, or choose another "
            "--out."
        )

    if options.resume:
        meta = checkpointer.read_meta()
        check_compatible(meta, model_config, checkpointer.directory)
        saved_train = TrainConfig.from_dict(meta["train_config"])
        requested = dataclasses.replace(train_config, steps=saved_train.steps)
        if requested != saved_train:
            logger.warning(
                "Resuming with the saved training settings %s; of the new "
                "settings only steps=%d applies.",
                saved_train,
                train_config.steps,
            )
        train_config = dataclasses.replace(saved_train, steps=train_config.steps)
    mesh = data_parallel_mesh() if options.data_parallel else None
    gan = GAN(model_config, train_config, mesh=mesh)
    state = checkpointer.restore(gan) if options.resume else gan.init()
    if mesh is not None:
        state = jax.device_put(state, NamedSharding(mesh, PartitionSpec()))
    # NOTE: several processes are supported through jax.distributed but have
    # only been run as one process; every process must see the same folder.
    primary = jax.process_index() == 0
    start = int(state.step)
    if start >= train_config.steps:
        logger.warning(
            "The checkpoint is at step %d and steps=%d, so there is nothing to "
            "train and no file was changed. Pass a larger --steps to continue.",
            start,
            train_config.steps,
        )
        return RunResult(gan, state, {}, [], out)

    if dataset is None:
        dataset = data.load_mnist(options.data_source, "train", options.data_dir)
    if dataset.images.shape[1:] != model_config.image_shape:
        raise ValueError(
            f"The dataset's images have shape {dataset.images.shape[1:]} but the "
            f"model expects {model_config.image_shape}; pass image_size and "
            "channels that match the data."
        )
    stream = data.BatchStream(dataset, train_config.batch_size, seed=train_config.seed)
    if primary:
        _write_json(
            out / "config.json",
            {
                "model_config": model_config.to_dict(),
                "train_config": train_config.to_dict(),
                "data_source": dataset.source,
                "num_train_images": len(dataset),
            },
        )

    metrics_path = out / "metrics.jsonl" if primary else None
    history, logged_steps = _read_history(
        out / "metrics.jsonl", up_to=start, rewrite=primary
    )
    fixed_z = gan.sample_latent(
        jax.random.key(train_config.seed + SAMPLE_SEED_OFFSET), NUM_GRID_SAMPLES
    )
    samples_dir = out / "samples"
    samples_dir.mkdir(exist_ok=True)
    evaluator = None
    if primary and options.evaluate_every:
        evaluator = _Evaluator.create(gan, options, out / "evaluation.jsonl", start)

    logger.info(
        "Training from step %d to %d at batch %d on %s; compiling the step "
        "first takes a while.",
        start,
        train_config.steps,
        train_config.batch_size,
        jax.devices()[0].platform.upper(),
    )
    pending: list[tuple[int, dict[str, jax.Array]]] = []
    bar = tqdm(
        total=train_config.steps,
        initial=start,
        disable=not options.progress,
        desc="training",
        unit="step",
    )
    started = time.perf_counter()
    step = start
    with _deferred_interrupts() as interrupted:
        try:
            for step in range(start, train_config.steps):
                # Update the discriminator, then the generator.
                state, metrics = gan.train_step(state, stream.batch_at(step))
                pending.append((step + 1, metrics))
                done = step + 1
                last = done == train_config.steps
                save = done % options.checkpoint_every == 0 or last

                # Log: fetch the metrics of the last few steps in one transfer.
                # Metrics are checked before every checkpoint, so a diverged state
                # is never saved.
                if done % options.log_every == 0 or save:
                    records = _flush(pending, metrics_path, checkpointer)
                    pending = []
                    for record in records:
                        logged_steps.append(record["step"])
                        for name, value in record.items():
                            if name != "step":
                                history.setdefault(name, []).append(value)
                    bar.set_postfix(
                        d_loss=f"{records[-1]['discriminator_loss']:.3f}",
                        g_loss=f"{records[-1]['generator_loss']:.3f}",
                    )

                # Draw the fixed latent batch.
                due = options.sample_every and done % options.sample_every == 0
                if primary and (due or last):
                    plotting.save_image_grid(
                        np.asarray(gan.generate(state, fixed_z)),
                        samples_dir / f"step_{done:06d}.png",
                    )

                # Evaluate sample quality.
                if evaluator is not None and done % options.evaluate_every == 0:
                    evaluator.evaluate(state, done)

                # Checkpoint.
                if save:
                    checkpointer.save(gan, state, extra={"data_source": dataset.source})
                bar.update(1)
                if interrupted.is_set():
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            bar.close()
            _flush(pending, metrics_path, checkpointer)  # raises if diverged
            if int(state.step) > start:
                logger.warning(
                    "Interrupted; saving a checkpoint of step %d.", int(state.step)
                )
                checkpointer.save(gan, state, extra={"data_source": dataset.source})
            raise
    bar.close()
    elapsed = time.perf_counter() - started
    trained = train_config.steps - start
    if trained > 0:
        logger.info(
            "Trained %d steps in %.1f s (%.1f images/s, compilation included).",
            trained,
            elapsed,
            trained * train_config.batch_size / elapsed,
        )

    # Final outputs.
    if not primary:
        return RunResult(gan, state, history, logged_steps, out)
    plotting.save_image_grid(
        np.asarray(gan.generate(state, fixed_z)), out / "samples.png"
    )
    if history:
        fig = plotting.plot_history(history, steps=logged_steps)
        fig.savefig(out / "losses.png", dpi=100)
    evaluations = [] if evaluator is None else evaluator.records
    return RunResult(gan, state, history, logged_steps, out, evaluations)


@contextlib.contextmanager
def _deferred_interrupts():
    """Turns the first Ctrl-C (SIGINT) into a flag that the loop checks.

    Without this, a KeyboardInterrupt raised inside a library call, such as a
    checkpoint save, can be caught there and lost, and training goes on. The
    loop stops at the end of the current step instead; a second Ctrl-C raises
    at once. Outside the main thread, where Python delivers no signals, and
    in a process that ignores SIGINT, the flag is never set.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        # Started with interrupts ignored, as under nohup: keep it that way.
        yield flag
        return

    def handle(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()
        logger.warning(
            "Interrupt received; stopping after this step. Press Ctrl-C again "
            "to stop at once."
        )

    signal.signal(signal.SIGINT, handle)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class _Evaluator:
    """Sample-quality evaluations of a run, appended to ``evaluation.jsonl``.

    The real digits and their baselines are computed at the first evaluation,
    so a run that never reaches one pays nothing.
    """

    def __init__(self, gan: GAN, options: RunOptions, path: Path):
        self.gan = gan
        self.options = options
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._reference = None
        self.latent = gan.sample_latent(
            jax.random.key(gan.train_config.seed + EVALUATION_SEED_OFFSET),
            options.evaluate_samples,
        )

    @classmethod
    def create(
        cls, gan: GAN, options: RunOptions, path: Path, start: int
    ) -> _Evaluator | None:
        if gan.model_config.image_shape != EVALUATED_IMAGE_SHAPE:
            logger.info(
                "Skipping sample-quality evaluations: the classifier judges "
                "%s images, and this model makes %s images.",
                EVALUATED_IMAGE_SHAPE,
                gan.model_config.image_shape,
            )
            return None
        available = len(data.load_mnist("bundled", "test"))
        if options.evaluate_samples > available:
            raise ValueError(
                f"evaluate_samples={options.evaluate_samples} is more than the "
                f"{available} bundled test digits; pass at most {available}."
            )
        evaluator = cls(gan, options, path)
        # A resumed run keeps the evaluations up to its checkpoint.
        history, steps = _read_history(path, up_to=start, rewrite=True)
        for index, step in enumerate(steps):
            record = {"step": step}
            record.update({name: values[index] for name, values in history.items()})
            evaluator.records.append(record)
        return evaluator

    def evaluate(self, state: TrainState, step: int) -> dict[str, Any]:
        """Evaluates the generator of ``state`` and appends one JSON line."""
        # Imported here: the metrics pull in the classifier, which only
        # evaluating runs need.
        from gan_lessons import metrics

        if self._reference is None:
            self._reference = metrics.real_reference(self.options.evaluate_samples)
        images = np.asarray(self.gan.generate(state, self.latent))
        result = metrics.evaluate(images, self._reference)
        record = {"step": step, **result.as_dict()}
        record["class_histogram"] = list(result.class_histogram)
        with self.path.open("a") as file:
            file.write(json.dumps(record) + "\n")
        self.records.append(record)
        logger.info(
            "Step %d: Fréchet distance %.2f (real digits %.2f), %d classes, "
            "%.0f%% confident, %.1f%% near copies, precision %.2f, recall %.2f.",
            step,
            result.frechet,
            result.frechet_real,
            result.num_classes_present,
            100 * result.confident_fraction,
            100 * result.near_copy_fraction,
            result.precision,
            result.recall,
        )
        return record


def _flush(
    pending: list[tuple[int, dict[str, jax.Array]]],
    path: Path | None,
    checkpointer: Checkpointer,
) -> list[dict[str, Any]]:
    """Fetches pending metrics, checks them, and appends them to ``path``.

    ``path=None`` checks without writing, as processes other than 0 do.
    """
    fetched = jax.device_get([metrics for _, metrics in pending])
    records = []
    for (step, _), metrics in zip(pending, fetched, strict=True):
        record = {"step": step}
        record.update({name: float(value) for name, value in metrics.items()})
        records.append(record)
    if path is not None:
        with path.open("a") as file:
            for record in records:
                # JSON has no NaN or infinity, so non-finite values become null.
                finite = {
                    k: (v if math.isfinite(v) else None) for k, v in record.items()
                }
                file.write(json.dumps(finite) + "\n")
    for record in records:
        bad = {k: v for k, v in record.items() if not math.isfinite(v)}
        if bad:
            saved = checkpointer.latest_step()
            kept = (
                f"The checkpoint of step {saved} is kept."
                if saved is not None
                else "No checkpoint was saved before."
            )
            raise TrainingDivergedError(
                f"Training diverged at step {record['step']}: {bad}. {kept} "
                "Start a new run with a lower learning rate (--lr)."
            )
    return records


def _read_history(
    path: Path, *, up_to: int, rewrite: bool
) -> tuple[dict[str, list[float]], list[int]]:
    """Reads logged metrics up to step ``up_to`` and drops any later lines.

    A run resumed from an earlier checkpoint than its last log line would
    otherwise record those steps twice. ``rewrite=False`` only reads.
    """
    history: dict[str, list[float]] = {}
    steps: list[int] = []
    if not path.exists():
        return history, steps
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if record.get("step", math.inf) > up_to:
            continue
        kept.append(line)
        steps.append(record["step"])
        for name, value in record.items():
            if name != "step":
                history.setdefault(name, []).append(
                    math.nan if value is None else value
                )
    if rewrite:
        path.write_text("".join(line + "\n" for line in kept))
    return history, steps


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")
