"""Time one redraw of each playground widget in ``gan_lessons.widgets``.

A redraw is what a front end waits for after a slider moves or a button is
pressed: the artists get new data, the changing ones are drawn over the
saved background, and the PNG goes into the image widget. The script times
50 redraws of each playground and prints the median and the 90th percentile:

* the best-discriminator playground, through its slider (the whole callback);
* the training playground's redraw alone, and a click of "One night" (a
  round of 3 discriminator and 1 generator updates, its record and the
  redraw; two of the clicks also draw the whole figure, because the curves'
  axis grows);
* a full draw of each figure, which happens at the start, at a reset and
  when the curves' axis doubles.

No widget front end is needed: the widgets' callbacks run in this process.
Compilation happens before the timing. The load average is printed because
other jobs on the machine slow the figures down.

Usage:
    python benchmarks/redraw.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import jax
import matplotlib
import numpy as np

from gan_lessons import toy, widgets


def time_calls(action: Callable[[int], None], repeats: int) -> list[float]:
    """Calls ``action(i)`` for each i below ``repeats`` and returns the times in ms."""
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        action(index)
        times.append(1e3 * (time.perf_counter() - start))
    return times


def report(name: str, times: list[float]) -> None:
    median = statistics.median(times)
    percentile_90 = float(np.percentile(times, 90))
    print(
        f"{name:<48} median {median:6.1f} ms   90th percentile {percentile_90:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=50, help="redraws timed per playground"
    )
    args = parser.parse_args()

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__}, matplotlib {matplotlib.__version__}; load "
        "average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    )

    # The playground of the best discriminator, through its slider.
    crowd = widgets.OptimalDiscriminatorPlayground(name="benchmark_crowd")
    slider = crowd.sliders["strength_mean"]
    slider.value = 1.0  # warms up the jax operations of D*

    def move_slider(index: int) -> None:
        slider.value = round(0.1 * (index % 40), 1)

    report("best discriminator: slider move", time_calls(move_slider, args.repeats))
    report(
        "best discriminator: full draw",
        time_calls(lambda _: crowd.render(full=True), max(args.repeats // 5, 5)),
    )
    print(
        f"  PNG of {len(crowd.png) / 1024:.0f} KiB, {crowd.canvas.get_width_height()}"
    )

    # The training playground, with the lesson's settings.
    config = toy.ToyConfig(
        generator_learning_rate=3e-3, discriminator_learning_rate=3e-3
    )
    gan = toy.ToyGAN(toy.tough_guys(), config)
    training = widgets.TrainingPlayground(gan, name="benchmark_training")
    # Compiles the round. The timed clicks pass the curves' x range twice, so
    # two of them include a full draw.
    training.buttons["round"].click()
    report(
        "training: redraw",
        time_calls(lambda _: training.redraw(), args.repeats),
    )
    report(
        "training: 'One night' click (round + redraw)",
        time_calls(lambda _: training.buttons["round"].click(), args.repeats),
    )
    report(
        "training: full draw",
        time_calls(lambda _: training.render(full=True), max(args.repeats // 5, 5)),
    )
    print(
        f"  PNG of {len(training.png) / 1024:.0f} KiB, "
        f"{training.canvas.get_width_height()}"
    )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    crowd.close()
    training.close()


if __name__ == "__main__":
    main()
