"""Training throughput, compile time and single-image render latency.

Prints one row per batch size: seconds to compile the step, steady-state steps
per second and images per second. Then prints how long rendering one image
from one latent vector takes, which bounds how responsive a latent slider can
be. With ``--torch`` it also times PyTorch eager on the same architecture in
the same process and thread count (needs ``pip install torch==2.13.0``).

Usage:
    python benchmarks/train_speed.py [--preset dcgan] [--width 64]
        [--batch-sizes 64 128 256] [--steps 20] [--torch]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import numpy as np

from gan_lessons import config
from gan_lessons.train import GAN


def time_jax(gan: GAN, batch_size: int, steps: int) -> dict[str, float]:
    """Returns compile seconds and steady-state steps/s of ``gan.train_step``."""
    rng = np.random.default_rng(0)
    shape = (batch_size, *gan.model_config.image_shape)
    batches = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(4)]
    state = gan.init()
    start = time.perf_counter()
    state, metrics = gan.train_step(state, batches[0])
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - start
    for i in range(3):  # warm-up
        state, metrics = gan.train_step(state, batches[i % 4])
    jax.block_until_ready(metrics)
    start = time.perf_counter()
    for i in range(steps):
        state, metrics = gan.train_step(state, batches[i % 4])
    jax.block_until_ready(metrics)
    elapsed = time.perf_counter() - start
    return {"compile_s": compile_s, "steps_per_s": steps / elapsed}


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
    parser.add_argument("--steps", type=int, default=20, help="timed steps per size")
    parser.add_argument(
        "--torch", action="store_true", help="also time PyTorch eager on the same net"
    )
    args = parser.parse_args()

    model_config = config.model_preset(args.preset, width=args.width)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, preset {args.preset}, "
        f"generator_features {model_config.generator_features}, "
        f"discriminator_features {model_config.discriminator_features}"
    )
    header = f"{'batch':>6} {'compile s':>10} {'steps/s':>9} {'images/s':>9}"
    if args.torch:
        header += f" {'torch img/s':>12} {'ratio':>6}"
    print(header)
    for batch_size in args.batch_sizes:
        train_config = config.train_preset(args.preset, batch_size=batch_size)
        gan = GAN(model_config, train_config)
        result = time_jax(gan, batch_size, args.steps)
        images_per_s = result["steps_per_s"] * batch_size
        row = (
            f"{batch_size:>6} {result['compile_s']:>10.1f} "
            f"{result['steps_per_s']:>9.2f} {images_per_s:>9.0f}"
        )
        if args.torch:
            from torch_reference import time_torch

            torch_steps = time_torch(model_config, train_config, args.steps)
            torch_images = torch_steps * batch_size
            row += f" {torch_images:>12.0f} {images_per_s / torch_images:>6.2f}"
        print(row, flush=True)
    gan = GAN(model_config, config.train_preset(args.preset))
    print(f"render one image from one latent vector: {time_render(gan):.2f} ms")


if __name__ == "__main__":
    main()
