"""Time the latent explorers of lesson 4 without a front end.

Three measurements, each the median over ``--repeats`` calls after a warm-up
call that compiles:

* one image: ``PretrainedGenerator.generate`` on one latent vector, copied to
  a NumPy array;
* slider redraw: setting a slider of ``latent.LatentExplorer``, which renders
  the new image, draws it over the saved background, encodes the PNG and
  stores it in the image widget;
* path redraw: the same for the ``t`` slider of ``latent.PathExplorer``, which
  renders two images.

The redraw times stop at the widget's state in the kernel: sending the PNG to
a browser and drawing it there is not included. Run from the repository root:

    python benchmarks/latent_redraw.py
    python benchmarks/latent_redraw.py --repeats 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import jax
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from gan_lessons import latent, pretrained  # noqa: E402

# Targets of the lesson: a slider should feel immediate.
TARGET_IMAGE_MS = 20.0
TARGET_REDRAW_MS = 50.0


def median_ms(action: Callable[[int], None], repeats: int) -> float:
    """Returns the median wall time of ``action(i)`` in milliseconds."""
    action(-1)  # compiles and warms caches
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=50, help="timed calls per measurement"
    )
    args = parser.parse_args()

    generator = pretrained.load_generator()
    z = np.asarray(generator.sample_latent(jax.random.key(0), 2))
    # Directions need not be the principal ones to time a redraw.
    directions = np.eye(generator.latent_dim, dtype=np.float32)[:3]
    explorer = latent.LatentExplorer(generator, directions, name="benchmark")
    path = latent.PathExplorer(generator, z[0], z[1], name="benchmark_path")
    slider_values = np.linspace(-3.0, 3.0, 61)

    def one_image(i: int) -> None:
        np.asarray(generator.generate(z[:1]))

    def slider_redraw(i: int) -> None:
        explorer.sliders[0].value = float(slider_values[i % len(slider_values)])

    def path_redraw(i: int) -> None:
        path.slider.value = (i % 100 + 0.5) / 100

    rows = [
        ("one image from one latent", one_image, TARGET_IMAGE_MS),
        ("LatentExplorer slider redraw", slider_redraw, TARGET_REDRAW_MS),
        ("PathExplorer slider redraw", path_redraw, TARGET_REDRAW_MS),
    ]
    print(jax.devices()[0].device_kind, f"{os.cpu_count()} CPUs, jax {jax.__version__}")
    print(f"median of {args.repeats} calls:")
    for name, action, target in rows:
        value = median_ms(action, args.repeats)
        print(f"  {name:30s} {value:7.2f} ms  (target under {target:.0f} ms)")


if __name__ == "__main__":
    main()
