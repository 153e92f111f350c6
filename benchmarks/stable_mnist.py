"""Compare the three objectives of lesson 7 on the bundled MNIST digits.

Trains the ``cross_entropy``, ``hinge`` and ``wasserstein_gp`` recipes of
``gan_lessons.stable`` for the same number of generator updates, once per
seed, and writes each run's Fréchet distance, class coverage and training time
to a JSON file that ``notebooks/07_stable_training.ipynb`` reads. Results are
written after every run, so an interrupted run keeps the finished ones.

Usage:
    python benchmarks/stable_mnist.py [--generator-updates 300] [--width 16]
        [--seeds 0 1] [--samples 500] [--out gan_lessons/assets/stable_mnist.json]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform

import jax

from gan_lessons import runtime, stable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator-updates", type=int, default=300)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--out", default="gan_lessons/assets/stable_mnist.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    runtime.enable_compilation_cache()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"jax {jax.__version__}, devices {jax.devices()}"
    )
    results: list[stable.MnistResult] = []

    def save(result: stable.MnistResult) -> None:
        results.append(result)
        stable.save_mnist_results(results, args.out)

    stable.compare_mnist(
        seeds=args.seeds,
        generator_updates=args.generator_updates,
        width=args.width,
        num_samples=args.samples,
        on_result=save,
    )
    print(stable.mnist_table(results))


if __name__ == "__main__":
    main()
