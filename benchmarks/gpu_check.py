"""Training throughput of the dcgan preset on one GPU, float32 and bfloat16.

For each batch size and compute dtype it compiles ``GAN.train_step``, runs
warm-up steps, then times rounds of consecutive steps and reports the median
images per second. With PyTorch importable it times the same architecture in
PyTorch eager on the same device (``torch.autocast`` for bfloat16), in rounds
that alternate with JAX's, so that load from other processes affects both
alike. The environment is printed first and the table last.

Without ``--cpu`` it exits with status 1 when JAX finds no GPU. ``--cpu``
forces JAX and PyTorch onto the CPU with small batches, as a dry run of the
script itself, and its numbers describe no GPU.

Usage:
    python benchmarks/gpu_check.py [--cpu] [--batch-sizes 128 512 2048]
        [--steps 50] [--rounds 3] [--no-torch]
"""

from __future__ import annotations

import os

# XLA's GPU client reserves 75% of the GPU memory when it starts, which would
# leave PyTorch too little in the same process. Half is plenty for these
# models. The variable must be set before JAX creates its GPU client, so this
# runs before jax is imported. jaxlib 0.10.2 raises an error when both names
# are set, so a value that the caller chose is kept.
if not (
    os.environ.get("XLA_CLIENT_MEM_FRACTION")
    or os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION")
):
    os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = "0.5"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import importlib.metadata  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import gan_lessons  # noqa: E402
from gan_lessons import config  # noqa: E402
from gan_lessons.train import GAN  # noqa: E402

PRESET = "dcgan"
COMPUTE_DTYPES = ("float32", "bfloat16")
GPU_BATCH_SIZES = (128, 512, 2048)
CPU_BATCH_SIZES = (16, 32)
CPU_NOTICE = (
    "CPU DRY RUN: JAX and PyTorch ran on the CPU because of --cpu. These "
    "numbers check that the script works; they do not describe a GPU."
)


@dataclasses.dataclass
class Row:
    """Measured throughput of one batch size and compute dtype."""

    batch_size: int
    compute_dtype: str
    compile_s: float
    jax_images_per_s: float
    torch_images_per_s: float | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="run on the CPU with small batches, as a dry run of this script",
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=None,
        help="images per step; default 128 512 2048, or 16 32 with --cpu",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps per round; default 50, or 3 with --cpu",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="timed rounds per row, reported as the median; default 3, or 2 with --cpu",
    )
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    args = parser.parse_args(argv)

    if args.batch_sizes is None:
        args.batch_sizes = list(CPU_BATCH_SIZES if args.cpu else GPU_BATCH_SIZES)
    if args.steps is None:
        args.steps = 3 if args.cpu else 50
    if args.rounds is None:
        args.rounds = 2 if args.cpu else 3

    for name in ("steps", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}={getattr(args, name)} must be at least 1.")
    if min(args.batch_sizes) < 1:
        parser.error(f"--batch-sizes={args.batch_sizes} must all be at least 1.")
    return args


def import_torch() -> tuple[Any, Any] | None:
    """Returns ``torch`` and ``torch_reference``, or ``None`` without torch."""
    try:
        import torch
        import torch_reference
    except ImportError as error:
        print(f"PyTorch rows skipped: {error}")
        return None
    return torch, torch_reference


def print_environment(torch_modules: tuple[Any, Any] | None, torch_device: str) -> None:
    """Prints versions, devices and the numeric settings that affect speed."""
    print("== environment")
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    print(f"gan_lessons {gan_lessons.__version__}")
    packages = ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin")
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} not installed")
    print(", ".join(versions))

    print(f"jax default backend: {jax.default_backend()}")
    for device in jax.devices():
        print(f"jax device {device.id}: {device.platform} {device.device_kind}")
    precision = jax.config.jax_default_matmul_precision
    print(f"jax_default_matmul_precision: {precision} (None is XLA's default)")

    if torch_modules is None:
        print("torch: not importable")
    else:
        torch, _ = torch_modules
        print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}")
        print(f"torch.cuda.is_available(): {torch.cuda.is_available()}")
        if torch_device == "cuda":
            print(f"torch device: {torch.cuda.get_device_name(0)}")
            print(
                "torch TF32: matmul "
                f"{torch.backends.cuda.matmul.allow_tf32}, cuDNN "
                f"{torch.backends.cudnn.allow_tf32}; cudnn.benchmark "
                f"{torch.backends.cudnn.benchmark}"
            )
        else:
            print(f"torch CPU threads: {torch.get_num_threads()}")

    model_config = config.model_preset(PRESET)
    print(
        f"model: preset {PRESET}, {model_config.image_size}x"
        f"{model_config.image_size}x{model_config.channels}, generator_features "
        f"{model_config.generator_features}, discriminator_features "
        f"{model_config.discriminator_features}"
    )


def make_jax_step(gan: GAN, batch_size: int) -> tuple[Callable[[], Any], float]:
    """Returns a function that dispatches one training step, and the compile time.

    The batches live on the device, so no step copies images from the host or
    checks their range there. The returned function does not wait for the
    device; callers block on its result once per round.
    """
    rng = np.random.default_rng(0)
    shape = (batch_size, *gan.model_config.image_shape)
    batches = [
        jax.device_put(rng.uniform(-1, 1, shape).astype(np.float32)) for _ in range(4)
    ]
    holder = {"state": gan.init(), "count": 0}
    start = time.perf_counter()
    holder["state"], metrics = gan.train_step(holder["state"], batches[0])
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - start

    def step() -> Any:
        holder["count"] += 1
        batch = batches[holder["count"] % len(batches)]
        holder["state"], metrics = gan.train_step(holder["state"], batch)
        return metrics

    return step, compile_s


def make_torch_step(
    torch_modules: tuple[Any, Any],
    model_config: config.ModelConfig,
    train_config: config.TrainConfig,
    device: str,
) -> Callable[[], Any]:
    """Returns a function that runs one PyTorch eager step on ``device``.

    The step does the work of ``GAN.train_step``: one generator pass, a
    discriminator update on a real and a generated batch, and a generator
    update through the updated discriminator. For bfloat16 the forward passes
    and losses run under ``torch.autocast``, which keeps parameters, gradients
    and optimiser state in float32.
    """
    torch, torch_reference = torch_modules
    torch.manual_seed(0)
    generator = torch_reference.build_generator(model_config).to(device)
    discriminator = torch_reference.build_discriminator(model_config).to(device)
    betas = (train_config.beta1, train_config.beta2)
    g_opt = torch.optim.Adam(
        generator.parameters(), lr=train_config.generator_learning_rate, betas=betas
    )
    d_opt = torch.optim.Adam(
        discriminator.parameters(),
        lr=train_config.discriminator_learning_rate,
        betas=betas,
    )
    bce = torch.nn.BCEWithLogitsLoss()
    batch_size = train_config.batch_size
    size, channels = model_config.image_size, model_config.channels
    rng = np.random.default_rng(0)
    real = torch.from_numpy(
        rng.uniform(-1, 1, (batch_size, channels, size, size)).astype(np.float32)
    ).to(device)
    ones = torch.ones(batch_size, device=device)
    zeros = torch.zeros(batch_size, device=device)
    autocast = torch.autocast(
        device_type=torch.device(device).type,
        dtype=torch.bfloat16,
        enabled=model_config.compute_dtype == "bfloat16",
    )

    def step() -> Any:
        z = torch.randn(batch_size, model_config.latent_dim, device=device)
        with autocast:
            fake = generator(z)
            d_loss = bce(discriminator(real)[:, 0], ones) + bce(
                discriminator(fake.detach())[:, 0], zeros
            )
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        with autocast:
            g_loss = bce(discriminator(fake)[:, 0], ones)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        return g_loss

    return step


def time_round(
    step: Callable[[], Any], steps: int, wait: Callable[[Any], Any]
) -> float:
    """Returns steps per second of ``steps`` calls, waiting for the device once."""
    start = time.perf_counter()
    result = None
    for _ in range(steps):
        result = step()
    wait(result)
    return steps / (time.perf_counter() - start)


def measure_row(
    batch_size: int,
    compute_dtype: str,
    args: argparse.Namespace,
    torch_modules: tuple[Any, Any] | None,
    torch_device: str,
) -> Row:
    """Compiles, warms up and times JAX, and PyTorch when given, for one row."""
    model_config = dataclasses.replace(
        config.model_preset(PRESET), compute_dtype=compute_dtype
    )
    train_config = config.train_preset(PRESET, batch_size=batch_size)
    gan = GAN(model_config, train_config)
    jax_step, compile_s = make_jax_step(gan, batch_size)
    for _ in range(3):  # warm-up
        jax.block_until_ready(jax_step())

    torch_step = None
    if torch_modules is not None:
        torch = torch_modules[0]

        def torch_wait(_: Any) -> None:
            if torch_device == "cuda":
                torch.cuda.synchronize()

        torch_step = make_torch_step(
            torch_modules, model_config, train_config, torch_device
        )
        for _ in range(3):  # warm-up, including cuDNN's algorithm search
            torch_step()
        torch_wait(None)

    jax_rates, torch_rates = [], []
    for _ in range(args.rounds):
        jax_rates.append(time_round(jax_step, args.steps, jax.block_until_ready))
        if torch_step is not None:
            torch_rates.append(time_round(torch_step, args.steps, torch_wait))
    torch_images = None
    if torch_rates:
        torch_images = float(np.median(torch_rates)) * batch_size
    return Row(
        batch_size=batch_size,
        compute_dtype=compute_dtype,
        compile_s=compile_s,
        jax_images_per_s=float(np.median(jax_rates)) * batch_size,
        torch_images_per_s=torch_images,
    )


def format_table(rows: list[Row]) -> str:
    """Returns the results as a Markdown table."""
    lines = [
        "| batch | compute dtype | jax compile s | jax images/s "
        "| torch images/s | jax / torch |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.torch_images_per_s is None:
            torch_cell, ratio_cell = "n/a", "n/a"
        else:
            torch_cell = f"{row.torch_images_per_s:,.0f}"
            ratio_cell = f"{row.jax_images_per_s / row.torch_images_per_s:.2f}"
        lines.append(
            f"| {row.batch_size} | {row.compute_dtype} | {row.compile_s:.1f} "
            f"| {row.jax_images_per_s:,.0f} | {torch_cell} | {ratio_cell} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cpu:
        # Must run before the first JAX computation initialises a backend.
        jax.config.update("jax_platforms", "cpu")
    elif jax.default_backend() != "gpu":
        print(
            f"No GPU found: JAX's default backend is {jax.default_backend()!r} "
            f"with devices {jax.devices()}. Install a CUDA build of jax (see "
            "benchmarks/gpu_check.sh), or pass --cpu for a dry run on the CPU.",
            file=sys.stderr,
        )
        return 1
    start = time.perf_counter()

    torch_modules = None if args.no_torch else import_torch()
    torch_device = "cpu"
    if torch_modules is not None and not args.cpu:
        torch = torch_modules[0]
        if torch.cuda.is_available():
            torch_device = "cuda"
            # The shapes never change, so cuDNN can time its algorithms once
            # per layer and keep the fastest, as a PyTorch user would.
            torch.backends.cudnn.benchmark = True
    print_environment(torch_modules, torch_device)
    if torch_modules is not None and not args.cpu and torch_device != "cuda":
        print("PyTorch rows skipped: torch.cuda.is_available() is False.")
        torch_modules = None
    if args.cpu:
        print(CPU_NOTICE)
    print(
        f"== timing: {args.rounds} rounds of {args.steps} steps per row after "
        "3 warm-up steps; the first step compiles, which may take a while",
        flush=True,
    )

    rows = []
    for batch_size in args.batch_sizes:
        for compute_dtype in COMPUTE_DTYPES:
            row = measure_row(
                batch_size, compute_dtype, args, torch_modules, torch_device
            )
            rows.append(row)
            print(
                f"batch {batch_size} {compute_dtype}: jax "
                f"{row.jax_images_per_s:,.0f} images/s",
                flush=True,
            )

    elapsed = time.perf_counter() - start
    torch_where = "not run" if torch_modules is None else f"on {torch_device}"
    print(
        f"== results: jax on {jax.devices()[0].device_kind}, torch {torch_where}, "
        f"{elapsed:.0f} s in all"
    )
    if args.cpu:
        print(CPU_NOTICE)
    print(format_table(rows))
    if args.cpu:
        print(CPU_NOTICE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
