"""Command line: ``python -m gan_lessons COMMAND``, or ``gan-lessons COMMAND``.

Commands: ``train``, ``sample``, ``export`` and ``evaluate``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from gan_lessons import config, data

logger = logging.getLogger("gan_lessons")

# The README's default run: with the dcgan preset at width 32 and batch 64,
# recognisable digits of all classes in about 4 minutes on a 2-core CPU.
DEFAULT_STEPS = 3000
# Adam learning rate of both networks in the DCGAN guidelines.
DEFAULT_LEARNING_RATE = 2e-4
# Images rendered per call by the sample command.
SAMPLE_CHUNK = 256


def _number_parser(kind: type, minimum: float, strict: bool, wording: str):
    """Returns an argparse type that parses ``kind`` values above ``minimum``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        too_small = value <= minimum if strict else value < minimum
        if too_small or value != value:  # value != value is true for NaN
            raise argparse.ArgumentTypeError(f"{value} must be {wording}")
        return value

    return parse


_positive_int = _number_parser(int, 0, True, "a positive integer")
_non_negative_int = _number_parser(int, 0, False, "0 or more")
_positive_float = _number_parser(float, 0.0, True, "a positive number")
_at_least_ten = _number_parser(int, 10, False, "at least 10")


def build_parser() -> argparse.ArgumentParser:
    """Returns the parser of the four commands."""
    parser = argparse.ArgumentParser(
        prog="python -m gan_lessons",
        description="Train a DCGAN on MNIST, draw samples from it, evaluate them "
        "and export its generator.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        help="train a GAN and write samples, curves, metrics and checkpoints",
        description="Train a GAN on MNIST. Writes OUT/samples.png, "
        "OUT/losses.png, OUT/metrics.jsonl, OUT/samples/ and OUT/checkpoints/.",
    )
    train.add_argument(
        "--steps",
        type=_positive_int,
        default=DEFAULT_STEPS,
        help=f"total training steps (default {DEFAULT_STEPS})",
    )
    train.add_argument(
        "--batch-size",
        type=_positive_int,
        default=None,
        help="real images per step (default: the preset's, 64 for dcgan)",
    )
    train.add_argument(
        "--seed", type=_non_negative_int, default=None, help="random seed (default 0)"
    )
    train.add_argument(
        "--preset",
        choices=config.PRESETS,
        default=None,
        help="architecture and optimiser preset (default dcgan, or the saved "
        "one with --resume)",
    )
    train.add_argument(
        "--width",
        type=_positive_int,
        default=None,
        help="channels of the generator's last hidden layer (default: preset's)",
    )
    train.add_argument(
        "--upsampling",
        choices=config.UPSAMPLINGS,
        default=None,
        help="how the generator doubles height and width: transposed "
        "(stride-2 transposed convolutions) or resize (nearest-neighbour "
        "upsampling then a stride-1 convolution, which avoids checkerboard "
        "artifacts); default transposed, or the saved one with --resume",
    )
    train.add_argument(
        "--generator-steps",
        type=_positive_int,
        default=None,
        help="generator updates per discriminator update (default: preset's)",
    )
    train.add_argument(
        "--loss",
        choices=config.GENERATOR_LOSSES,
        default=None,
        help="generator loss (default non_saturating)",
    )
    train.add_argument(
        "--objective",
        choices=config.OBJECTIVES,
        default=None,
        help="GAN objective: cross_entropy (the original GAN, default), hinge, "
        "or wasserstein_gp (Wasserstein loss with gradient penalty, which "
        "needs --discriminator-norm layer or none)",
    )
    train.add_argument(
        "--discriminator-steps",
        type=_positive_int,
        default=None,
        help="discriminator updates per generator update (default 1; "
        "Gulrajani et al. use 5 with wasserstein_gp)",
    )
    train.add_argument(
        "--gradient-penalty-weight",
        type=_positive_float,
        default=None,
        help="weight lambda of the gradient penalty of wasserstein_gp (default 10)",
    )
    train.add_argument(
        "--discriminator-norm",
        choices=config.DISCRIMINATOR_NORMS,
        default=None,
        help="normalisation in the discriminator: batch (default), layer or none",
    )
    train.add_argument(
        "--spectral-norm",
        action="store_true",
        help="spectrally normalise the discriminator's weights",
    )
    train.add_argument(
        "--lr",
        type=_positive_float,
        default=None,
        help="Adam learning rate of both networks (default 2e-4)",
    )
    train.add_argument(
        "--data",
        choices=data.SOURCES,
        default="auto",
        help="MNIST source: tfds (full, must be prepared), bundled (10,000 "
        "digits in the package) or auto (tfds if prepared, else bundled)",
    )
    train.add_argument(
        "--data-dir", default=None, help="tensorflow-datasets data folder"
    )
    train.add_argument(
        "--out", default="runs/default", help="output folder (default runs/default)"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from the newest checkpoint in --out with its saved "
        "settings; only --steps may change",
    )
    train.add_argument(
        "--sample-every",
        type=_non_negative_int,
        default=250,
        help="steps between sample grids, 0 for none (default 250)",
    )
    train.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=500,
        help="steps between checkpoints (default 500)",
    )
    train.add_argument(
        "--log-every",
        type=_positive_int,
        default=10,
        help="steps between writes to metrics.jsonl, which records every step "
        "(default 10)",
    )
    train.add_argument(
        "--evaluate-every",
        type=_non_negative_int,
        default=1000,
        help="steps between sample-quality evaluations written to "
        "evaluation.jsonl, 0 for none (default 1000)",
    )
    train.add_argument(
        "--evaluate-samples",
        type=_at_least_ten,
        default=1000,
        help="generated and real digits per evaluation, at most 1000 (default 1000)",
    )
    train.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )
    train.add_argument(
        "--data-parallel",
        action="store_true",
        help="split each batch over all devices JAX sees, such as several GPUs "
        "or TPU cores; the batch size must be a multiple of their count",
    )
    train.add_argument(
        "--distributed",
        action="store_true",
        help="call jax.distributed.initialize() first, for one process per "
        "host of a multi-host GPU cluster or TPU pod slice; implies "
        "--data-parallel",
    )

    sample = commands.add_parser(
        "sample",
        help="draw images from a trained generator",
        description="Draw images from the newest checkpoint of a run. A .npz "
        "output holds key 'images' of shape (N, size, size, channels) in "
        "[-1, 1]; a .png output holds a grid.",
    )
    sample.add_argument(
        "--checkpoint",
        required=True,
        help="a run's output folder, or its checkpoints/ folder",
    )
    sample.add_argument(
        "--n", type=_positive_int, default=64, help="number of images (default 64)"
    )
    sample.add_argument("--out", required=True, help="output file, .npz or .png")
    sample.add_argument(
        "--seed", type=_non_negative_int, default=0, help="seed of the latent vectors"
    )

    export = commands.add_parser(
        "export",
        help="write a trained generator to one small .npz file",
        description="Write the generator of a run's checkpoint (parameters, "
        "batch-norm running averages and model configuration) to one .npz file, "
        "which gan_lessons.pretrained.load_generator reads without pickle.",
    )
    export.add_argument(
        "--checkpoint",
        required=True,
        help="a run's output folder, or its checkpoints/ folder",
    )
    export.add_argument("--out", required=True, help="output file, ending in .npz")
    export.add_argument(
        "--step",
        type=_non_negative_int,
        default=None,
        help="checkpoint step to export (default: the newest readable one)",
    )
    evaluate = commands.add_parser(
        "evaluate",
        help="measure the quality, variety and originality of generated digits",
        description="Generate digits from a run's newest checkpoint and print the "
        "Fréchet distance on classifier features, class coverage, the distance "
        "to the nearest training digit, and precision and recall, each beside "
        "the value that held-out real digits get.",
    )
    evaluate.add_argument(
        "--checkpoint",
        required=True,
        help="a run's output folder, or its checkpoints/ folder",
    )
    evaluate.add_argument(
        "--n",
        type=_at_least_ten,
        default=1000,
        help="generated and real digits to compare, at most 1000 (default 1000)",
    )
    evaluate.add_argument(
        "--seed", type=_non_negative_int, default=0, help="seed of the latent vectors"
    )
    evaluate.add_argument(
        "--json", default=None, help="also write the figures to this JSON file"
    )
    return parser


def _saved_configs(args: argparse.Namespace):
    """Returns the model and training configurations of ``--out``'s newest
    checkpoint, or ``None`` when it has none (the run then reports that)."""
    from gan_lessons import checkpoint

    folder = Path(args.out) / "checkpoints"
    if not checkpoint.Checkpointer(folder).steps():
        return None
    return checkpoint.model_config_of(folder)


def _train(args: argparse.Namespace) -> int:
    import jax

    from gan_lessons import runner
    from gan_lessons.train import check_objective

    if args.distributed:
        # Reads the coordinator address and process ids from the cluster's
        # environment (TPU metadata, SLURM or Open MPI variables).
        jax.distributed.initialize()

    saved = _saved_configs(args) if args.resume else None
    if saved is not None:
        # Resume with the run's own architecture and settings; only the step
        # count changes. An explicit --width or --preset is still checked
        # against the checkpoint, so a mismatch is reported, not ignored.
        model_config, train_config = saved
        _check_resumed_options(args, train_config)
        train_config = dataclasses.replace(train_config, steps=args.steps)
    preset = args.preset or "dcgan"
    if saved is None or args.width is not None or args.preset is not None:
        model_config = config.model_preset(preset, width=args.width)
    if args.upsampling is not None:
        # On resume a different choice is reported as a mismatch, because
        # both choices have kernels of the same shapes and would load.
        model_config = dataclasses.replace(model_config, upsampling=args.upsampling)
    elif saved is not None:
        # A preset rebuilt for --width or --preset keeps the saved choice.
        model_config = dataclasses.replace(model_config, upsampling=saved[0].upsampling)
    model_config = _with_discriminator_options(model_config, args, saved)
    learning_rate = DEFAULT_LEARNING_RATE if args.lr is None else args.lr
    overrides = {
        "steps": args.steps,
        "seed": 0 if args.seed is None else args.seed,
        "generator_loss": args.loss or "non_saturating",
        "generator_learning_rate": learning_rate,
        "discriminator_learning_rate": learning_rate,
    }
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.generator_steps is not None:
        overrides["generator_steps"] = args.generator_steps
    for name in ("objective", "discriminator_steps", "gradient_penalty_weight"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if saved is None:
        train_config = config.train_preset(preset, **overrides)
    # Fails before any data loads, with the flag that fixes the combination.
    check_objective(model_config, train_config)
    if (
        args.gradient_penalty_weight is not None
        and train_config.objective != "wasserstein_gp"
    ):
        raise ValueError(
            f"--gradient-penalty-weight {args.gradient_penalty_weight} has no "
            f"effect with objective {train_config.objective!r}; add --objective "
            "wasserstein_gp or drop --gradient-penalty-weight."
        )
    options = runner.RunOptions(
        out_dir=args.out,
        data_source=args.data,
        data_dir=args.data_dir,
        resume=args.resume,
        log_every=args.log_every,
        sample_every=args.sample_every,
        checkpoint_every=args.checkpoint_every,
        evaluate_every=args.evaluate_every,
        evaluate_samples=args.evaluate_samples,
        progress=not args.no_progress,
        data_parallel=args.data_parallel or args.distributed,
    )
    # Log lines go above the progress bar instead of onto its line.
    with logging_redirect_tqdm(loggers=[logging.getLogger()]):
        result = runner.run_training(model_config, train_config, options)
    last = {name: values[-1] for name, values in result.history.items()}
    if last:
        print(
            f"step {int(result.state.step)}: discriminator loss "
            f"{last['discriminator_loss']:.3f}, generator loss "
            f"{last['generator_loss']:.3f}, D(x) {last['d_real']:.2f}, "
            f"D(G(z)) {last['d_fake']:.2f}"
        )
    print(f"Samples: {result.out_dir / 'samples.png'}")
    print(f"Curves: {result.out_dir / 'losses.png'}")
    print(f"Checkpoints: {result.out_dir / 'checkpoints'}")
    return 0


# Options of `train` that set a TrainConfig field: (flag, fields it sets).
_TRAIN_OPTIONS = {
    "batch_size": ("--batch-size", ("batch_size",)),
    "seed": ("--seed", ("seed",)),
    "loss": ("--loss", ("generator_loss",)),
    "lr": ("--lr", ("generator_learning_rate", "discriminator_learning_rate")),
    "generator_steps": ("--generator-steps", ("generator_steps",)),
    "objective": ("--objective", ("objective",)),
    "discriminator_steps": ("--discriminator-steps", ("discriminator_steps",)),
    "gradient_penalty_weight": (
        "--gradient-penalty-weight",
        ("gradient_penalty_weight",),
    ),
}


def _check_resumed_options(args: argparse.Namespace, saved_train_config) -> None:
    """Raises ``ValueError`` for a training option that differs from the run's.

    A resumed run continues with its saved settings, so an option that would
    change them is an error rather than silently ignored.
    """
    for name, (flag, fields) in _TRAIN_OPTIONS.items():
        value = getattr(args, name)
        if value is None:
            continue
        for field in fields:
            saved_value = getattr(saved_train_config, field)
            if value != saved_value:
                raise ValueError(
                    f"{flag} {value} differs from the resumed run's saved "
                    f"{field}={saved_value!r}; --resume keeps a run's settings "
                    f"and only --steps may change. Drop {flag}, or start a new "
                    "run in another --out folder."
                )


def _with_discriminator_options(model_config, args: argparse.Namespace, saved):
    """Applies --discriminator-norm and --spectral-norm to ``model_config``.

    Without the flags, a resumed run keeps its saved choices. With them, a
    choice that differs from the checkpoint raises the checkpoint mismatch
    error, which names the field.
    """
    norm = args.discriminator_norm
    spectral = True if args.spectral_norm else None
    if saved is not None:
        norm = saved[0].discriminator_norm if norm is None else norm
        spectral = saved[0].spectral_norm if spectral is None else spectral
    if norm is not None:
        model_config = dataclasses.replace(model_config, discriminator_norm=norm)
    if spectral is not None:
        model_config = dataclasses.replace(model_config, spectral_norm=spectral)
    return model_config


def _load_run(path: str):
    """Returns the GAN and the newest readable state of a run's checkpoints."""
    from gan_lessons import checkpoint
    from gan_lessons.train import GAN

    folder = Path(path)
    if (folder / "checkpoints").is_dir():
        folder = folder / "checkpoints"
    if not folder.is_dir():
        raise checkpoint.CheckpointError(
            f"Checkpoint folder {path!r} not found. Pass a run's output folder, "
            "such as runs/default."
        )
    model_config, train_config = checkpoint.model_config_of(folder)
    gan = GAN(model_config, train_config)
    return gan, checkpoint.Checkpointer(folder).restore(gan)


def _generate(gan, state, num: int, seed: int):
    """Returns ``num`` images from latent vectors drawn with ``seed``."""
    import jax
    import numpy as np

    z = gan.sample_latent(jax.random.key(seed), num)
    # Render in chunks, so a large count compiles once and bounds memory.
    chunks = [
        np.asarray(gan.generate(state, z[i : i + SAMPLE_CHUNK]), dtype=np.float32)
        for i in range(0, num, SAMPLE_CHUNK)
    ]
    return np.concatenate(chunks)


def _sample(args: argparse.Namespace) -> int:
    import numpy as np

    from gan_lessons import plotting

    out = Path(args.out)
    if out.suffix.lower() not in (".npz", ".png"):
        raise ValueError(f"--out {args.out!r} must end in .npz or .png.")
    _check_not_folder(args.out)
    gan, state = _load_run(args.checkpoint)
    images = _generate(gan, state, args.n, args.seed)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"Cannot create the folder of --out {args.out!r} ({error.strerror}). "
            "Choose another path."
        ) from error
    if out.suffix.lower() == ".npz":
        np.savez_compressed(out, images=images)
    else:
        plotting.save_image_grid(images, out)
    print(f"Wrote {args.n} images of shape {images.shape[1:]} to {out}")
    return 0


def _check_not_folder(out: str) -> None:
    """Raises ``ValueError`` when the output file path ``out`` is a folder."""
    if Path(out).is_dir():
        raise ValueError(
            f"--out {out!r} is a folder; pass a file path inside it, such as "
            f"{str(Path(out) / 'generator.npz')!r}."
        )


def _export(args: argparse.Namespace) -> int:
    from gan_lessons import pretrained

    _check_not_folder(args.out)
    path = pretrained.export_generator(args.checkpoint, args.out, step=args.step)
    generator = pretrained.load_generator(path)
    size_mb = path.stat().st_size / 1e6
    print(f"Wrote the generator of step {generator.step} to {path} ({size_mb:.1f} MB)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from gan_lessons import metrics

    gan, state = _load_run(args.checkpoint)
    shape = gan.model_config.image_shape
    if shape != (32, 32, 1):
        raise ValueError(
            f"The checkpoint makes {shape} images, but the evaluation's classifier "
            "judges MNIST digits of shape (32, 32, 1)."
        )
    reference = metrics.real_reference(args.n)
    images = _generate(gan, state, args.n, args.seed)
    result = metrics.evaluate(images, reference)
    print(f"Step {int(state.step)} of {args.checkpoint}:")
    print(result.report())
    if args.json is not None:
        record = {"step": int(state.step), **result.as_dict()}
        record["class_histogram"] = list(result.class_histogram)
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"Wrote the figures to {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Orbax and absl log every file operation at INFO, tensorflow-datasets
    # warns through absl about folders it probes, and JAX reports at INFO each
    # accelerator plugin it does not find.
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    from gan_lessons import runtime
    from gan_lessons.checkpoint import CheckpointError
    from gan_lessons.runner import TrainingDivergedError

    runtime.enable_compilation_cache()
    logger.info(runtime.describe_devices())
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "export":
            return _export(args)
        if args.command == "evaluate":
            return _evaluate(args)
        return _sample(args)
    except (ValueError, CheckpointError, OSError, TrainingDivergedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
