"""Training throughput, compile time and single-image render latency.

Prints one row per batch size: seconds to compile the step, steady-state steps
per second and images per second. Then prints how long rendering one image
from one latent vector takes, which bounds how responsive a latent slider can
be. FLOPs per step are XLA's own count for the compiled step, and the
ceiling is a large float32 matrix product timed in the same run. With
``--torch`` it also times PyTorch eager on the same architecture in
the same process and thread count (needs ``pip install torch==2.13.0``).
With ``--bfloat16`` it also times the same network computing in bfloat16
(parameters and optimiser state stay float32), interleaved with the float32
step.

Usage:
    python benchmarks/train_speed.py [--preset dcgan] [--width 64]
        [--batch-sizes 64 128 256] [--steps 10] [--rounds 3] [--torch]
        [--bfloat16]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gan_lessons import config
from gan_lessons.train import GAN


def make_jax_step(gan: GAN, batch_size: int) -> tuple[Callable[[], None], float]:
    """Returns a function running one ``gan.train_step`` and the compile time."""
    rng = np.random.default_rng(0)
    shape = (batch_size, *gan.model_config.image_shape)
    batches = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(4)]
    holder = {"state": gan.init(), "count": 0}
    start = time.perf_counter()
    holder["state"], metrics = gan.train_step(holder["state"], batches[0])
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - start

    def step() -> None:
        holder["count"] += 1
        batch = batches[holder["count"] % len(batches)]
        holder["state"], metrics = gan.train_step(holder["state"], batch)
        jax.block_until_ready(metrics)

    for _ in range(3):  # warm-up
        step()
    return step, compile_s


def steps_per_second(step: Callable[[], None], steps: int) -> float:
    """Returns the rate of ``steps`` consecutive calls of ``step``."""
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def step_flops(gan: GAN, batch_size: int) -> float:
    """Returns XLA's count of floating-point operations in one training step."""
    state = gan.init()
    batch = jax.ShapeDtypeStruct((batch_size, *gan.model_config.image_shape), "float32")
    analysis = gan._train_step.lower(state, batch).compile().cost_analysis()
    if isinstance(analysis, list):  # older jax returns one dict per device
        analysis = analysis[0]
    return float(analysis["flops"])


def matmul_ceiling(size: int = 2048, repeats: int = 10) -> float:
    """Returns the float32 GFLOP/s of a jitted ``size``-cubed matrix product."""
    a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (size, size), jnp.float32)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(a, b))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        times.append(time.perf_counter() - start)
    return 2 * size**3 / float(np.median(times)) / 1e9


def time_render(gan: GAN, repeats: int = 50) -> float:
    """Returns the median milliseconds to render one image from one vector."""
    state = gan.init()
    z = gan.sample_latent(jax.random.key(0), 1)
    jax.block_until_ready(gan.generate(state, z))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        image = np.asarray(gan.generate(state, z))
        times.append(time.perf_counter() - start)
    assert image.shape[0] == 1
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=config.PRESETS, default="dcgan")
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per size")
    parser.add_argument(
        "--torch", action="store_true", help="also time PyTorch eager on the same net"
    )
    parser.add_argument(
        "--bfloat16",
        action="store_true",
        help="also time the same net with compute_dtype bfloat16",
    )
    args = parser.parse_args()

    model_config = config.model_preset(args.preset, width=args.width)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, preset {args.preset}, "
        f"generator_features {model_config.generator_features}, "
        f"discriminator_features {model_config.discriminator_features}"
    )
    ceiling = matmul_ceiling()
    print(f"float32 matmul ceiling (2048^3 jnp.dot): {ceiling:.0f} GFLOP/s")
    header = (
        f"{'batch':>6} {'compile s':>10} {'steps/s':>9} {'images/s':>9} "
        f"{'GFLOP/step':>10} {'GFLOP/s':>8} {'ceiling':>8}"
    )
    if args.torch:
        header += f" {'torch img/s':>12} {'ratio':>6}"
    if args.bfloat16:
        header += f" {'bf16 img/s':>11} {'bf16/f32':>8}"
    print(header)
    for batch_size in args.batch_sizes:
        train_config = config.train_preset(args.preset, batch_size=batch_size)
        gan = GAN(model_config, train_config)
        jax_step, compile_s = make_jax_step(gan, batch_size)
        flops = step_flops(gan, batch_size)
        torch_step = None
        if args.torch:
            from torch_reference import make_torch_step

            torch_step = make_torch_step(model_config, train_config)
        bf16_step = None
        if args.bfloat16:
            bf16_config = dataclasses.replace(model_config, compute_dtype="bfloat16")
            bf16_step, _ = make_jax_step(GAN(bf16_config, train_config), batch_size)
        # Alternate the two frameworks in rounds, so that load from other
        # processes affects both alike, and report medians.
        jax_rates, torch_rates, bf16_rates = [], [], []
        for _ in range(args.rounds):
            jax_rates.append(steps_per_second(jax_step, args.steps))
            if torch_step is not None:
                torch_rates.append(steps_per_second(torch_step, args.steps))
            if bf16_step is not None:
                bf16_rates.append(steps_per_second(bf16_step, args.steps))
        rate = float(np.median(jax_rates))
        images_per_s = rate * batch_size
        achieved = flops * rate / 1e9
        row = (
            f"{batch_size:>6} {compile_s:>10.1f} {rate:>9.2f} {images_per_s:>9.0f} "
            f"{flops / 1e9:>10.2f} {achieved:>8.0f} {achieved / ceiling:>8.0%}"
        )
        if torch_step is not None:
            torch_images = float(np.median(torch_rates)) * batch_size
            row += f" {torch_images:>12.0f} {images_per_s / torch_images:>6.2f}"
        if bf16_step is not None:
            bf16_images = float(np.median(bf16_rates)) * batch_size
            row += f" {bf16_images:>11.0f} {bf16_images / images_per_s:>8.2f}"
        print(row, flush=True)
    gan = GAN(model_config, config.train_preset(args.preset))
    print(f"render one image from one latent vector: {time_render(gan):.2f} ms")


if __name__ == "__main__":
    main()
