"""Image grids and training curves.

Functions that draw return a matplotlib ``Figure`` built without pyplot, so
they create no global state and work without a display. Callers close nothing.
``save_gif`` writes frames of a training run to an animated GIF with Pillow,
which matplotlib depends on.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

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


def show_real_and_generated(
    real: np.ndarray,
    generated: np.ndarray,
    *,
    columns: int | None = None,
    size: float = 4.0,
) -> Figure:
    """Draws a grid of real images beside a grid of generated ones.

    Args:
        real: ``(n, height, width, channels)`` in [-1, 1].
        generated: ``(m, height, width, channels)`` in [-1, 1], with the same
            height, width and channels as ``real``.
        columns: Images per row of each grid; ``None`` gives near-square grids.
        size: Width in inches of each grid.

    Returns:
        A figure with two panels, titled "real" and "generated".
    """
    real = np.asarray(real)
    generated = np.asarray(generated)
    if real.shape[1:] != generated.shape[1:]:
        raise ValueError(
            f"real images have shape {real.shape[1:]} and generated ones "
            f"{generated.shape[1:]}; expected the same (height, width, channels)."
        )
    fig = Figure(figsize=(2 * size + 0.5, size + 0.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    show_images(real, columns=columns, title="real", ax=left)
    show_images(generated, columns=columns, title="generated", ax=right)
    return fig


# Number of running-mean windows that fit in a history: a history of 3,000 steps
# is smoothed over 60 steps, and one of fewer than 100 steps not at all.
SMOOTHING_WINDOWS = 50
LOSS_CURVES = (("discriminator_loss", "discriminator"), ("generator_loss", "generator"))
OUTPUT_CURVES = (("d_real", "D(x), real"), ("d_fake", "D(G(z)), generated"))


def running_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Computes the mean of each ``window`` consecutive values.

    Returns:
        float64 ``(len(values) - window + 1,)``; empty when there are fewer
        than ``window`` values.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window={window!r} must be a positive integer.")
    values = np.asarray(values, dtype=np.float64)
    if len(values) < window:
        return np.empty(0)
    sums = np.cumsum(np.concatenate([[0.0], values]))
    return (sums[window:] - sums[:-window]) / window


def _draw_curves(
    axes: Sequence,
    history: Mapping[str, Sequence[float]],
    steps: Sequence[int],
    window: int | None,
) -> None:
    """Draws the losses on ``axes[0]`` and the D outputs on ``axes[1]``.

    Each series is drawn faintly step by step and, when ``window`` exceeds 1,
    solid as its running mean, plotted at the last step of each window.
    """
    x = np.asarray(steps)
    if window is None:
        window = max(1, len(x) // SMOOTHING_WINDOWS)
    loss_ax, output_ax = axes
    for ax, curves in ((loss_ax, LOSS_CURVES), (output_ax, OUTPUT_CURVES)):
        for colour, (name, label) in enumerate(curves):
            values = history.get(name, ())
            if not len(values):
                continue
            if window == 1:
                ax.plot(x, values, color=f"C{colour}", linewidth=0.8, label=label)
                continue
            ax.plot(x, values, color=f"C{colour}", linewidth=0.5, alpha=0.25)
            ax.plot(
                x[window - 1 :],
                running_mean(values, window),
                color=f"C{colour}",
                linewidth=1.2,
                label=f"{label}, mean of {window} steps",
            )
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            # D(x) stays high and D(G(z)) low, so the middle is usually free.
            where = "upper right" if ax is loss_ax else "center right"
            ax.legend(loc=where, fontsize="small")
    loss_ax.set_ylabel("loss")
    output_ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    output_ax.set_ylim(0, 1)
    output_ax.set_ylabel("mean discriminator output")


def plot_smoothed_history(
    history: Mapping[str, Sequence[float]],
    *,
    steps: Sequence[int],
    window: int | None = None,
) -> Figure:
    """Plots both losses, and D(x) against D(G(z)), with their running means.

    Args:
        history: Metric name to values. ``discriminator_loss``,
            ``generator_loss``, ``d_real`` and ``d_fake`` are drawn when
            present.
        steps: Step of each value in ``history``.
        window: Steps per running mean; ``None`` fits ``SMOOTHING_WINDOWS``
            windows in the history, and 1 draws the values only.

    Returns:
        A figure with two panels.
    """
    fig = Figure(figsize=(10, 3.5), layout="constrained")
    _draw_curves(fig.subplots(1, 2), history, steps, window)
    return fig


def plot_progress(
    images: np.ndarray,
    history: Mapping[str, Sequence[float]],
    *,
    steps: Sequence[int],
    title: str = "",
) -> Figure:
    """Draws samples, the losses, and D(x) against D(G(z)), side by side.

    Args:
        images: ``(n, height, width, channels)`` in [-1, 1], drawn as a grid.
        history: Metric name to values, drawn as ``plot_smoothed_history``
            draws them. An empty history gives empty panels.
        steps: Step of each value in ``history``.
        title: Title of the sample grid, such as the step it shows.

    Returns:
        A figure with three panels.
    """
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    grid_ax, *curve_axes = fig.subplots(1, 3, width_ratios=(1, 1.3, 1.3))
    show_images(images, title=title or None, ax=grid_ax)
    _draw_curves(curve_axes, history, steps, None)
    return fig


def save_gif(
    frames: Sequence[np.ndarray],
    path: str | os.PathLike,
    *,
    frame_ms: int = 200,
    last_frame_ms: int = 1500,
) -> Path:
    """Writes frames to an animated GIF that loops forever, with Pillow.

    Args:
        frames: uint8 images of one shape, ``(height, width)`` for grey or
            ``(height, width, 3)`` for RGB, such as the output of
            ``grid_to_uint8``.
        path: Output file, usually ending in ``.gif``; its folder must exist.
        frame_ms: Milliseconds each frame is shown.
        last_frame_ms: Milliseconds the last frame is shown, so that a viewer
            can look at the final result before the loop restarts.

    Returns:
        The path written.

    NOTE: Pillow merges a frame identical to the one before it into that frame
    (Pillow 13), so the file then contains fewer frames than ``frames``.
    """
    from PIL import Image

    if len(frames) == 0:
        raise ValueError("frames is empty; expected at least one image.")
    arrays = [np.asarray(frame) for frame in frames]
    first = arrays[0]
    for index, frame in enumerate(arrays):
        if frame.dtype != np.uint8:
            raise ValueError(
                f"frame {index} has dtype {frame.dtype}; expected uint8. Convert "
                "an image grid in [-1, 1] with grid_to_uint8."
            )
        if frame.shape != first.shape:
            raise ValueError(
                f"frame {index} has shape {frame.shape}, but frame 0 has "
                f"{first.shape}; all frames need one shape."
            )
    if not (first.ndim == 2 or (first.ndim == 3 and first.shape[-1] == 3)):
        raise ValueError(
            f"frames have shape {first.shape}; expected (height, width) or "
            "(height, width, 3)."
        )
    for name, value in (("frame_ms", frame_ms), ("last_frame_ms", last_frame_ms)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}={value!r} must be a positive integer.")
    images = [Image.fromarray(frame) for frame in arrays]
    durations = [frame_ms] * (len(images) - 1) + [last_frame_ms]
    path = Path(path)
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        loop=0,
    )
    return path


def canvas_png(canvas) -> bytes:
    """Encodes the pixels an Agg canvas has drawn so far as PNG bytes.

    Widgets that redraw only their changing artists over a saved background
    call this after each redraw. Dropping the alpha channel halves the PNG,
    and the fastest compression keeps a redraw short.
    """
    import PIL.Image

    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    buffer = io.BytesIO()
    PIL.Image.fromarray(pixels).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()
