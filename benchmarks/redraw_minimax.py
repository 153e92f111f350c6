"""Times one slider redraw of lesson 2's snapshot viewer.

Usage: python benchmarks/redraw_minimax.py [--updates 50] [--points 300]

The viewer shows training snapshots of a 1-D GAN (``minimax.SnapshotViewer``).
A redraw sets the data of the changing artists, draws them over the saved
background and encodes the figure as PNG, which is what a slider change costs
in the kernel. Sending the PNG to the browser is not included. The snapshots
are synthetic curves of the same size as the notebook's, so no training runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy import stats

from gan_lessons import minimax


def synthetic_snapshots(count: int, points: int) -> minimax.TrainingSnapshots:
    """Returns ``count`` snapshots of a generator moving from 0 onto N(4, 0.5)."""
    grid = np.linspace(-2.0, 6.5, points)
    means = np.linspace(0.3, 4.0, count)
    stds = np.linspace(0.2, 0.5, count)
    latent = np.linspace(-1.0, 1.0, 25)
    discriminator = [
        1.0 / (1.0 + np.exp(-(grid - (m + 4.0) / 2.0) * (4.2 - m) * 2.0)) for m in means
    ]
    return minimax.TrainingSnapshots(
        rounds=np.arange(count) * 10,
        grid=grid,
        data_density=stats.norm.pdf(grid, 4.0, 0.5),
        generator_density=np.stack(
            [stats.norm.pdf(grid, m, s) for m, s in zip(means, stds, strict=True)]
        ),
        discriminator=np.stack(discriminator),
        latent=latent,
        generated=np.stack(
            [
                m + s * stats.norm.ppf(0.02 + 0.96 * (latent + 1) / 2)
                for m, s in zip(means, stds, strict=True)
            ]
        ),
        distance=np.abs(4.0 - means),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--updates", type=int, default=50, help="redraws to time (default 50)"
    )
    parser.add_argument(
        "--points", type=int, default=300, help="grid points per curve (default 300)"
    )
    parser.add_argument(
        "--snapshots",
        type=int,
        default=41,
        help="snapshots to cycle through (default 41)",
    )
    args = parser.parse_args()

    snapshots = synthetic_snapshots(args.snapshots, args.points)
    start = time.perf_counter()
    viewer = minimax.SnapshotViewer(snapshots, name="benchmark")
    build = time.perf_counter() - start

    durations = []
    for i in range(args.updates):
        # Step by 7 so that consecutive redraws show different snapshots.
        index = (7 * (i + 1)) % len(snapshots)
        start = time.perf_counter()
        viewer.update(index)
        durations.append(time.perf_counter() - start)
    viewer.close()

    width, height = viewer.figure.canvas.get_width_height()
    print(f"figure {width}x{height} px, PNG {len(viewer.png) / 1024:.0f} KiB")
    print(f"building the viewer: {1000 * build:.0f} ms (one full draw)")
    print(
        f"{args.updates} redraws: median {1000 * statistics.median(durations):.1f} ms, "
        f"min {1000 * min(durations):.1f} ms, max {1000 * max(durations):.1f} ms"
    )


if __name__ == "__main__":
    main()
