"""Image grids and training curves.

Functions that draw return a matplotlib ``Figure`` built without pyplot, so
they create no global state and work without a display. Callers close nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def image_grid(
    images: np.ndarray, *, columns: int | None = None, padding: int = 2
) -> np.ndarray:
    """Tiles a batch of images into one image.

    Args:
        images: ``(n, height, width, channels)`` with values in [-1, 1], or
            ``(n, height, width)``.
        columns: Images per row; ``None`` gives a near-square grid.
        padding: Pixels of background (-1) between and around the images.

    Returns:
        ``(rows * (height + padding) + padding, columns * (width + padding) +
        padding, channels)`` array in [-1, 1].
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(
            f"images have shape {images.shape}; expected a non-empty "
            "(n, height, width, channels) batch."
        )
    if padding < 0:
        raise ValueError(f"padding={padding} must be at least 0.")
    n, height, width, channels = images.shape
    if columns is None:
        columns = math.ceil(math.sqrt(n))
    if columns <= 0:
        raise ValueError(f"columns={columns} must be positive.")
    rows = math.ceil(n / columns)
    grid = np.full(
        (
            rows * (height + padding) + padding,
            columns * (width + padding) + padding,
            channels,
        ),
        -1.0,
        dtype=np.float32,
    )
    for i in range(n):
        top = padding + (i // columns) * (height + padding)
        left = padding + (i % columns) * (width + padding)
        grid[top : top + height, left : left + width] = images[i]
    return grid


def grid_to_uint8(grid: np.ndarray) -> np.ndarray:
    """Maps a [-1, 1] grid to uint8 pixels, dropping a single channel axis."""
    pixels = np.clip((np.asarray(grid) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def save_image_grid(
    images: np.ndarray, path: str | os.PathLike, *, columns: int | None = None
) -> None:
    """Writes a grid of ``images`` (NHWC in [-1, 1]) to a PNG file."""
    import matplotlib.image

    pixels = grid_to_uint8(image_grid(images, columns=columns))
    cmap = "gray" if pixels.ndim == 2 else None
    matplotlib.image.imsave(os.fspath(path), pixels, cmap=cmap, vmin=0, vmax=255)


def show_images(
    images: np.ndarray,
    *,
    columns: int | None = None,
    title: str | None = None,
    ax=None,
    size: float = 4.0,
) -> Figure:
    """Draws a grid of images (NHWC in [-1, 1]) on ``ax`` or a new figure."""
    pixels = grid_to_uint8(image_grid(images, columns=columns))
    if ax is None:
        fig = Figure(figsize=(size, size * pixels.shape[0] / pixels.shape[1]))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]], *, steps: Sequence[int] | None = None
) -> Figure:
    """Plots losses, and D(x) against D(G(z)), over training.

    Args:
        history: Metric name to values, with at least ``discriminator_loss``
            and ``generator_loss``; ``d_real`` and ``d_fake`` are drawn when
            present.
        steps: Step of each value; ``None`` numbers them from 1.

    Returns:
        A figure with one or two panels.
    """
    for name in ("discriminator_loss", "generator_loss"):
        if name not in history:
            raise ValueError(f"history has no {name!r}; it contains {sorted(history)}.")
    count = len(history["discriminator_loss"])
    x = np.arange(1, count + 1) if steps is None else np.asarray(steps)
    has_probabilities = "d_real" in history and "d_fake" in history
    fig = Figure(figsize=(10 if has_probabilities else 5, 3.5), layout="constrained")
    axes = fig.subplots(1, 2 if has_probabilities else 1, squeeze=False)[0]
    axes[0].plot(x, history["discriminator_loss"], label="discriminator")
    axes[0].plot(x, history["generator_loss"], label="generator")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if has_probabilities:
        axes[1].plot(x, history["d_real"], label="D(x), real")
        axes[1].plot(x, history["d_fake"], label="D(G(z)), generated")
        axes[1].axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
        axes[1].set_ylim(0, 1)
        axes[1].set_xlabel("step")
        axes[1].set_ylabel("mean discriminator output")
        axes[1].legend()
    return fig
