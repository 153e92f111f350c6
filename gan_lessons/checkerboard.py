"""Checkerboard artifacts of transposed convolutions: counting, measuring, training.

A transposed convolution with stride ``s`` places a copy of its ``k``-tap
kernel, scaled by the input pixel, every ``s`` output pixels. Output pixel
``o`` of input pixel ``i`` receives tap ``t`` when ``o = s * i + t``, so away
from the borders output pixel ``o`` receives the taps ``t`` with
``t % s == o % s``. When ``k`` is not a multiple of ``s``, some output phases
receive more taps than others. A constant input and a kernel of equal weights
then give an output that repeats every ``s`` pixels, which along both axes of
an image is a checkerboard. Odena,
Dumoulin and Olah describe this in "Deconvolution and Checkerboard Artifacts"
(Distill, 2016) and propose the resize-convolution, which
``ModelConfig(upsampling="resize")`` implements.

This module contains:

* the overlap arithmetic: ``taps_per_phase``, ``transposed_output_size``,
  ``overlap_counts`` and ``overlap_counts_2d``, and ``OverlapExplorer``, the
  sliders of lesson 8 over kernel size and stride;
* ``checkerboard_share``, the share of an image's spectral power at the
  period-2 frequencies, and ``mean_power_spectrum`` to look at the spectrum;
* ``constant_input_response`` and ``train_variants``, which show the artifacts
  of fresh and trained generators;
* the exercise checks of lesson 8.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Mapping

import ipywidgets
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from IPython import display as ipython_display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from gan_lessons import checking, config, data, models, plotting, train
from gan_lessons.config import ModelConfig, TrainConfig
from gan_lessons.layers import _transpose_pads
from gan_lessons.widgets import display_widget_with_png

# Slider ranges of ``OverlapExplorer``.
MAX_KERNEL_SIZE = 8
MAX_STRIDE = 4
# Input pixels in the explorer's 1D picture: enough for an interior of a few
# periods at the largest kernel and stride.
EXPLORER_INPUT_SIZE = 8


# Overlap arithmetic.


def taps_per_phase(kernel_size: int, stride: int) -> np.ndarray:
    """Counts the kernel taps that reach each output phase, away from borders.

    Output pixel ``o`` receives tap ``t`` of input pixel ``i`` when
    ``o = stride * i + t``. Far enough from the borders, it therefore receives
    every tap ``t`` with ``t % stride == o % stride``.

    Returns:
        Int array ``(stride,)``: entry ``r`` is the number of taps that each
        output pixel with ``o % stride == r`` receives. All entries are equal
        exactly when ``kernel_size`` is a multiple of ``stride``.
    """
    _check_size("kernel_size", kernel_size)
    _check_size("stride", stride)
    taps = np.arange(kernel_size)
    return np.bincount(taps % stride, minlength=stride)


def transposed_output_size(input_size: int, kernel_size: int, stride: int) -> int:
    """Returns the output length of a transposed convolution without padding.

    Every tap of every input pixel lands in the output, so the last input
    pixel's last tap sets the length: ``stride * (input_size - 1) +
    kernel_size``. This is ``torch.nn.ConvTranspose2d`` with ``padding=0``;
    ``padding="SAME"`` in JAX crops it to ``stride * input_size``.
    """
    _check_size("input_size", input_size)
    _check_size("kernel_size", kernel_size)
    _check_size("stride", stride)
    return stride * (input_size - 1) + kernel_size


def overlap_counts(
    input_size: int,
    kernel_size: int,
    stride: int,
    padding: str | tuple[int, int] | None = None,
) -> np.ndarray:
    """Counts the kernel taps that reach each output pixel of a 1D input.

    This is the output of a transposed convolution of an input of ones with a
    kernel of ones, computed by counting instead of multiplying.

    Args:
        input_size: Input pixels.
        kernel_size: Kernel taps.
        stride: Output pixels between the copies of the kernel.
        padding: ``None`` for no padding, the full output of length
            ``transposed_output_size``. Otherwise ``"SAME"``, ``"VALID"`` or a
            ``(low, high)`` pair, read as ``jax.lax.conv_transpose`` reads it;
            ``"SAME"`` gives ``stride * input_size`` pixels.

    Returns:
        Int array ``(output_size,)``.
    """
    _check_size("input_size", input_size)
    _check_size("kernel_size", kernel_size)
    _check_size("stride", stride)
    if padding is None:
        low, high = kernel_size - 1, kernel_size - 1
    elif padding in ("SAME", "VALID") or (
        isinstance(padding, tuple) and len(padding) == 2
    ):
        low, high = _transpose_pads(kernel_size, stride, padding)
    else:
        raise ValueError(
            f"padding={padding!r}; expected None, 'SAME', 'VALID' or a "
            "(low, high) pair of integers."
        )
    # jax.lax.conv_transpose computes y[o] = sum_t d[o + t - low] * w[t], where
    # d is the input with stride - 1 zeros between its pixels.
    output_size = stride * (input_size - 1) + 1 + low + high - kernel_size + 1
    counts = np.zeros(max(output_size, 0), np.int64)
    for i in range(input_size):
        for t in range(kernel_size):
            o = stride * i + low - t
            if 0 <= o < output_size:
                counts[o] += 1
    return counts


def overlap_counts_2d(
    input_size: int,
    kernel_size: int,
    stride: int,
    padding: str | tuple[int, int] | None = None,
) -> np.ndarray:
    """Counts the taps of a square kernel that reach each output pixel in 2D.

    A square kernel is the product of its row and column taps, so the count is
    the outer product of the 1D counts of ``overlap_counts``, with the same
    arguments on both axes.

    Returns:
        Int array ``(output_size, output_size)``.
    """
    counts = overlap_counts(input_size, kernel_size, stride, padding)
    return np.outer(counts, counts)


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer.")


# The spectral measure.


def _as_grey_batch(images: ArrayLike) -> np.ndarray:
    """Returns ``images`` as float64 ``(batch, height, width)``, channels averaged.

    Accepts ``(height, width)``, ``(batch, height, width)`` or NHWC
    ``(batch, height, width, channels)``.
    """
    array = np.asarray(images, np.float64)
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 4:
        array = array.mean(axis=-1)
    elif array.ndim != 3:
        raise ValueError(
            f"images have shape {array.shape}; expected (height, width), "
            "(batch, height, width) or (batch, height, width, channels)."
        )
    height, width = array.shape[1:]
    if height % 2 or width % 2 or height < 2 or width < 2:
        raise ValueError(
            f"images are {height}x{width}; the checkerboard frequencies need an "
            "even height and width."
        )
    return array


def _power_spectra(images: ArrayLike) -> np.ndarray:
    """Returns ``|FFT2(x - mean(x))|**2`` of each image, ``(batch, h, w)``."""
    array = _as_grey_batch(images)
    centred = array - array.mean(axis=(1, 2), keepdims=True)
    return np.abs(np.fft.fft2(centred)) ** 2


def checkerboard_share(images: ArrayLike) -> np.ndarray:
    """Measures how much of each image's variation repeats every 2 pixels.

    Each image (channels averaged) has its mean removed, and its 2D discrete
    Fourier transform gives the power ``P(u, v)``. The share is the power at
    the three frequencies of patterns with period 2, ``(pi, pi)`` (a
    checkerboard), ``(pi, 0)`` (alternate rows) and ``(0, pi)`` (alternate
    columns), divided by the total power. Removing the mean sets ``P(0, 0)``
    to 0, so a uniform background does not count.

    A pure checkerboard scores 1, a smooth image nearly 0, and an image of
    independent noise 3 / (height * width - 1) on average. A uniform image
    has no power at all and scores 0.

    Args:
        images: ``(height, width)``, ``(batch, height, width)`` or NHWC
            ``(batch, height, width, channels)``, with even height and width.

    Returns:
        Float64 ``(batch,)`` shares in [0, 1]; ``(1,)`` for one 2D image.
    """
    power = _power_spectra(images)
    height, width = power.shape[1:]
    period_2 = (
        power[:, height // 2, width // 2]
        + power[:, height // 2, 0]
        + power[:, 0, width // 2]
    )
    total = power.sum(axis=(1, 2))
    return np.divide(period_2, total, out=np.zeros_like(total), where=total > 0)


def mean_power_spectrum(images: ArrayLike) -> np.ndarray:
    """Averages the images' power spectra, with frequency 0 in the centre.

    Each spectrum is divided by its total power first, so every image counts
    equally. Row ``height // 2`` and column ``width // 2`` hold frequency 0,
    and row and column 0 the frequency pi, as ``np.fft.fftshift`` arranges
    them.

    Returns:
        Float64 ``(height, width)``, summing to 1 unless every image is
        uniform.
    """
    power = _power_spectra(images)
    total = power.sum(axis=(1, 2), keepdims=True)
    normalised = np.divide(power, total, out=np.zeros_like(power), where=total > 0)
    return np.fft.fftshift(normalised.mean(axis=0))


# Generators: a constant input, and trained side by side.


def constant_input_response(model_config: ModelConfig, seed: int = 0) -> np.ndarray:
    """Runs a fresh generator's upsampling layers on a constant feature map.

    The 4x4 map of ones, with ``generator_features[0]`` channels, goes through
    every upsampling layer and the output layer, as in ``Generator.__call__``
    with ``train=False``. At initialisation batch norm's running averages are
    0 and 1, so it is nearly the identity. The tanh is left out so that small
    values keep their size. A layer that treats every output pixel alike,
    such as the resize-convolution, maps a constant map to a constant map,
    apart from the borders, so a periodic pattern in the output comes from
    the layers themselves.

    Returns:
        Float32 ``(image_size, image_size)``: the first channel of the output.
    """
    return np.asarray(_constant_response(model_config, seed), np.float32)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _constant_response(model_config: ModelConfig, seed: int) -> jax.Array:
    # Built inside jit, so that the initialisers and layers compile as one
    # program instead of one small program per operation.
    generator = models.Generator(model_config, rngs=nnx.Rngs(seed))
    features = model_config.generator_features[0]
    x = jnp.ones((1, 4, 4, features), jnp.float32)
    resize = model_config.upsampling == "resize"
    for i, layer in enumerate(generator.upsample):
        x = layer(models.upsample_nearest(x) if resize else x)
        if i < len(generator.upsample_norms):
            norm = generator.upsample_norms[i]
            x = nnx.relu(norm(x, use_running_average=True))
    if generator.output is not None:
        x = generator.output(x)
    return x[0, :, :, 0]


def lesson_configs(width: int = 16, kernel: int = 5) -> dict[str, ModelConfig]:
    """Returns the two generators that lesson 8 trains, by label.

    Both are the ``dcgan`` preset at ``width`` with ``kernel`` x ``kernel``
    kernels in the generator: one with stride-2 transposed convolutions, one
    with resize-convolutions. They have the same parameter shapes, and the
    discriminators are the same.
    """
    base = dataclasses.replace(
        config.model_preset("dcgan", width=width),
        generator_kernel=kernel,
        upsampling="transposed",
    )
    return {
        f"transposed {kernel}x{kernel}": base,
        f"resize {kernel}x{kernel}": dataclasses.replace(base, upsampling="resize"),
    }


def count_generator_params(model_config: ModelConfig) -> int:
    """Returns the generator's number of parameters, without creating them."""
    generator = nnx.eval_shape(lambda: models.Generator(model_config, rngs=nnx.Rngs(0)))
    return models.count_params(generator)


@dataclasses.dataclass
class TrainedGenerator:
    """A GAN trained by ``train_variants``.

    Attributes:
        gan: The GAN, holding the configurations and compiled steps.
        state: Its state after the last step.
        history: Each metric of ``train.GAN.train_step``, one float per step.
        seconds: Wall time of the training, compilation included.
    """

    gan: train.GAN
    state: train.TrainState
    history: dict[str, np.ndarray]
    seconds: float

    def generate(self, latent: ArrayLike) -> np.ndarray:
        """Returns float32 NHWC images in [-1, 1] for ``latent`` ``(n, latent_dim)``."""
        return np.asarray(self.gan.generate(self.state, latent), np.float32)


def train_variants(
    model_configs: Mapping[str, ModelConfig],
    train_config: TrainConfig,
    *,
    dataset: data.Dataset | None = None,
) -> dict[str, TrainedGenerator]:
    """Trains one GAN per configuration with the same seed and batches.

    Args:
        model_configs: Label to architecture.
        train_config: Steps, batch size, seed and optimiser, shared by all.
        dataset: Training images; ``None`` loads the bundled MNIST subset.

    Returns:
        Label to the trained GAN, in the order of ``model_configs``.
    """
    if dataset is None:
        dataset = data.load_mnist("bundled", "train")
    stream = data.BatchStream(dataset, train_config.batch_size, seed=train_config.seed)
    results = {}
    for label, model_config in model_configs.items():
        start = time.perf_counter()
        gan = train.GAN(model_config, train_config)
        state = gan.init(train_config.seed)
        records = []
        for step in range(train_config.steps):
            state, metrics = gan.train_step(state, stream.batch_at(step))
            records.append(metrics)
        history = {
            name: np.asarray(jnp.stack([m[name] for m in records]))
            for name in records[0]
        }
        results[label] = TrainedGenerator(
            gan, state, history, time.perf_counter() - start
        )
    return results


# Figures.


def draw_overlap(
    figure: Figure,
    kernel_size: int,
    stride: int,
    input_size: int = EXPLORER_INPUT_SIZE,
) -> None:
    """Draws the overlap of a 1D transposed convolution on an empty figure.

    The upper left panel shows where each input pixel's kernel lands in the
    output, without padding. The lower left panel shows the taps per output
    pixel, from ``overlap_counts``; the interior, where every phase gets its
    full share, is coloured. The right panel shows the 2D counts of a square
    kernel, from ``overlap_counts_2d``.
    """
    counts = overlap_counts(input_size, kernel_size, stride)
    output_size = len(counts)
    # Outputs from kernel_size - 1 to stride * (input_size - 1) receive a
    # tap of every phase of the kernel.
    interior = np.zeros(output_size, bool)
    interior[kernel_size - 1 : stride * (input_size - 1) + 1] = True

    grid = figure.add_gridspec(2, 2, width_ratios=(1.6, 1), height_ratios=(1, 1))
    footprint_axes = figure.add_subplot(grid[0, 0])
    bar_axes = figure.add_subplot(grid[1, 0], sharex=footprint_axes)
    pattern_axes = figure.add_subplot(grid[:, 1])

    colours = _colours(input_size)
    for i in range(input_size):
        start = stride * i
        footprint_axes.plot(
            [start - 0.4, start + kernel_size - 0.6],
            [i, i],
            linewidth=6,
            solid_capstyle="butt",
            color=colours[i],
        )
    footprint_axes.set_ylim(input_size - 0.5, -0.5)
    footprint_axes.set_ylabel("input pixel")
    footprint_axes.set_title(
        f"each input pixel's kernel ({kernel_size} taps, every {stride} pixels)",
        fontsize=10,
    )
    positions = np.arange(output_size)
    bar_colours = np.where(interior, "tab:blue", "lightgrey")
    bar_axes.bar(positions, counts, color=bar_colours, width=0.85)
    bar_axes.set_xlabel("output pixel")
    bar_axes.set_ylabel("taps received")
    bar_axes.set_ylim(0, max(int(counts.max()), 1) + 0.5)
    bar_axes.set_title("taps per output pixel (blue: interior)", fontsize=10)
    bar_axes.set_xlim(-0.6, output_size - 0.4)

    counts_2d = overlap_counts_2d(input_size, kernel_size, stride)
    image = pattern_axes.imshow(counts_2d, cmap="viridis", vmin=0)
    pattern_axes.set_title("taps per output pixel in 2D", fontsize=10)
    pattern_axes.set_xticks([])
    pattern_axes.set_yticks([])
    figure.colorbar(image, ax=pattern_axes, shrink=0.7)


def _colours(count: int) -> list:
    """Returns ``count`` distinct colours from matplotlib's tab10 cycle."""
    from matplotlib import colormaps

    cycle = colormaps["tab10"]
    return [cycle(i % 10) for i in range(count)]


def describe_overlap(kernel_size: int, stride: int) -> str:
    """Returns one sentence on how evenly a kernel overlaps at a stride."""
    phases = taps_per_phase(kernel_size, stride)
    listed = ", ".join(str(int(n)) for n in phases)
    if kernel_size % stride == 0:
        verdict = (
            f"even: {kernel_size} is a multiple of {stride}, so a constant "
            "input can give a constant output"
        )
    else:
        verdict = (
            f"uneven: {kernel_size} is not a multiple of {stride}, so the "
            f"output repeats a pattern every {stride} pixels"
        )
    return (
        f"Kernel {kernel_size}, stride {stride}: interior output pixels receive "
        f"{listed} taps by phase, {verdict}."
    )


def plot_overlap(
    kernel_size: int, stride: int, input_size: int = EXPLORER_INPUT_SIZE
) -> Figure:
    """Returns the figure of ``draw_overlap``, built without pyplot."""
    figure = Figure(figsize=(10.0, 4.6), layout="constrained")
    draw_overlap(figure, kernel_size, stride, input_size)
    return figure


# Explorers by name, so that building one again closes the previous one's
# widgets instead of leaving them open in the kernel.
_EXPLORERS: dict[str, OverlapExplorer] = {}


class OverlapExplorer:
    """Sliders for kernel size and stride over the figure of ``draw_overlap``.

    The figure is built without pyplot on an Agg canvas and sent as PNG to an
    ``ipywidgets.Image`` at every slider change, so it is redrawn in place.
    Each change redraws the whole figure, because the number of bars
    changes with the kernel size and stride. Only APIs shared by ipywidgets
    7.7 and 8 are used. Building an explorer again under the same ``name``
    closes the previous one.

    Without a front end that runs widgets (nbclient, GitHub), the sliders show
    as text, so ``show`` also displays the starting figure as a PNG output.

    Attributes:
        kernel_slider: ``IntSlider`` of the kernel size, 1 to ``MAX_KERNEL_SIZE``.
        stride_slider: ``IntSlider`` of the stride, 1 to ``MAX_STRIDE``.
        status: ``HTML`` widget with ``describe_overlap``'s sentence.
        image: ``Image`` widget with the rendered figure.
        widget: ``VBox`` of the sliders, the status and the image.
        png: The latest rendering, PNG bytes.
    """

    def __init__(
        self,
        kernel_size: int = 5,
        stride: int = 2,
        *,
        name: str = "overlap",
        dpi: int = 80,
    ):
        if not 1 <= kernel_size <= MAX_KERNEL_SIZE:
            raise ValueError(
                f"kernel_size={kernel_size!r} must be in [1, {MAX_KERNEL_SIZE}]."
            )
        if not 1 <= stride <= MAX_STRIDE:
            raise ValueError(f"stride={stride!r} must be in [1, {MAX_STRIDE}].")
        previous = _EXPLORERS.pop(name, None)
        if previous is not None:
            previous.close()

        self.name = name
        self.png = b""
        self.figure = Figure(figsize=(10.0, 4.6), dpi=dpi, layout="constrained")
        self._canvas = FigureCanvasAgg(self.figure)

        self.kernel_slider = ipywidgets.IntSlider(
            value=kernel_size,
            min=1,
            max=MAX_KERNEL_SIZE,
            step=1,
            description="kernel size",
            continuous_update=False,
        )
        self.stride_slider = ipywidgets.IntSlider(
            value=stride,
            min=1,
            max=MAX_STRIDE,
            step=1,
            description="stride",
            continuous_update=False,
        )
        self.status = ipywidgets.HTML(value="")
        self.image = ipywidgets.Image(format="png")
        self.widget = ipywidgets.VBox(
            [
                ipywidgets.HBox([self.kernel_slider, self.stride_slider]),
                self.status,
                self.image,
            ]
        )
        self.kernel_slider.observe(self._on_change, names="value")
        self.stride_slider.observe(self._on_change, names="value")

        self.draw()
        _EXPLORERS[name] = self

    def _on_change(self, change) -> None:
        del change
        self.draw()

    def draw(self) -> None:
        """Redraws the figure for the sliders' values and updates the widgets."""
        kernel_size = self.kernel_slider.value
        stride = self.stride_slider.value
        self.figure.clear()
        draw_overlap(self.figure, kernel_size, stride)
        self._canvas.draw()
        self.png = plotting.canvas_png(self._canvas)
        self.image.value = self.png
        self.status.value = describe_overlap(kernel_size, stride)

    def show(self, mode: str = "both") -> None:
        """Displays the widgets with a PNG of the starting figure, or either.

        Args:
            mode: ``"both"`` (one output with the widgets and a PNG of
                the figure, see ``display_widget_with_png``),
                ``"interactive"`` (the widgets only) or ``"static"`` (the PNG
                only).
        """
        if mode not in ("both", "interactive", "static"):
            raise ValueError(
                f"mode={mode!r}; expected 'both', 'interactive' or 'static'."
            )
        if mode == "both":
            display_widget_with_png(self.widget, self.png)
        elif mode == "static":
            ipython_display.display(ipython_display.Image(data=self.png))
        else:
            ipython_display.display(self.widget)

    def close(self) -> None:
        """Closes the widgets and clears the figure."""
        for widget in (
            self.kernel_slider,
            self.stride_slider,
            self.status,
            self.image,
            self.widget,
        ):
            widget.close()
        self.figure.clear()
        if _EXPLORERS.get(self.name) is self:
            del _EXPLORERS[self.name]


def plot_responses(responses: Mapping[str, np.ndarray]) -> Figure:
    """Draws constant-input responses side by side, each on its own scale.

    Args:
        responses: Label to a ``(height, width)`` image from
            ``constant_input_response``.
    """
    figure = Figure(figsize=(3.2 * len(responses), 3.4), layout="constrained")
    panels = figure.subplots(1, len(responses), squeeze=False)[0]
    for axes, (label, response) in zip(panels, responses.items(), strict=True):
        image = axes.imshow(response, cmap="gray")
        share = float(checkerboard_share(response)[0])
        axes.set_title(f"{label}\ncheckerboard share {share:.2f}", fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
        figure.colorbar(image, ax=axes, shrink=0.8)
    return figure


def plot_samples_and_spectra(
    images: Mapping[str, np.ndarray], *, count: int = 16
) -> Figure:
    """Draws samples and the mean power spectrum of each set of images.

    The upper row shows the first ``count`` images of each set. The lower row
    shows ``mean_power_spectrum`` on a log scale, with frequency 0 in the
    centre and the frequency pi at the edges, where the checkerboard
    frequencies lie (circled). The titles give the mean
    ``checkerboard_share``.

    Args:
        images: Label to NHWC images in [-1, 1].
        count: Images drawn per set.
    """
    figure = Figure(figsize=(3.0 * len(images), 6.2), layout="constrained")
    panels = figure.subplots(2, len(images), squeeze=False)
    for column, (label, batch) in enumerate(images.items()):
        batch = np.asarray(batch)
        share = float(checkerboard_share(batch).mean())
        plotting.show_images(
            batch[:count],
            columns=int(math.sqrt(count)),
            title=f"{label}\nshare {share:.4f}",
            ax=panels[0, column],
        )
        spectrum = mean_power_spectrum(batch)
        axes = panels[1, column]
        axes.imshow(np.log10(spectrum + 1e-7), cmap="magma", vmin=-7, vmax=-1)
        height, width = spectrum.shape
        for row, col in ((0, 0), (0, width // 2), (height // 2, 0)):
            axes.scatter(
                [col], [row], s=120, facecolors="none", edgecolors="cyan", linewidths=1
            )
        axes.set_title("log10 mean power spectrum", fontsize=9)
        axes.set_xticks([0, width // 2])
        axes.set_xticklabels(["pi", "0"])
        axes.set_yticks([0, height // 2])
        axes.set_yticklabels(["pi", "0"])
    return figure


# Exercise checks of lesson 8. Each check prints one line of feedback and
# returns whether the learner's function is correct. A wrong function gets a
# hint, never the solution.


def _kernel_and_stride(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(1, 10)), int(rng.integers(1, 5))


def check_taps_per_phase(answer) -> bool:
    """Checks ``answer(kernel_size, stride)`` against ``taps_per_phase``.

    The check tries 30 pairs with kernel sizes 1 to 9 and strides 1 to 4.
    """
    return checking.check_function(
        answer,
        taps_per_phase,
        _kernel_and_stride,
        name="taps_per_phase",
        mistakes=(
            checking.Mistake(
                "floor for every phase",
                lambda k, s: np.full(s, k // s),
                "every phase gets k // stride taps here. When the kernel size "
                "is not a multiple of the stride, the first k % stride phases "
                "get one tap more.",
            ),
            checking.Mistake(
                "ceiling for every phase",
                lambda k, s: np.full(s, -(-k // s)),
                "every phase gets the rounded-up share here. Only the first "
                "k % stride phases get the extra tap.",
            ),
            checking.Mistake(
                "average per phase",
                lambda k, s: np.full(s, k / s),
                "k / stride is the average over the phases. Count the taps t "
                "with t % stride == r for each phase r; the counts are integers.",
            ),
            checking.Mistake(
                "phases reversed",
                lambda k, s: taps_per_phase(k, s)[::-1],
                "the counts are right but in reverse order. Entry r is for the "
                "output pixels o with o % stride == r, which receive the taps t "
                "with t % stride == r.",
            ),
        ),
        hint="Tap t of input pixel i lands on output pixel stride * i + t. "
        "For each phase r in range(stride), count the taps t in "
        "range(kernel_size) with t % stride == r.",
        tolerance=0.0,
        trials=30,
    )


def _sizes(rng: np.random.Generator) -> tuple[int, int, int]:
    return (
        int(rng.integers(1, 17)),
        int(rng.integers(1, 8)),
        int(rng.integers(1, 5)),
    )


def check_output_size(answer) -> bool:
    """Checks ``answer(input_size, kernel_size, stride)``, the unpadded length.

    The reference is ``transposed_output_size``, on 30 random triples with
    input sizes 1 to 16, kernel sizes 1 to 7 and strides 1 to 4.
    """
    return checking.check_function(
        answer,
        transposed_output_size,
        _sizes,
        name="output_size",
        mistakes=(
            checking.Mistake(
                "SAME size",
                lambda n, k, s: n * s,
                "that is the length with padding='SAME', which crops the output "
                "to stride * input_size. Without padding the kernel of the last "
                "input pixel sticks out further.",
            ),
            checking.Mistake(
                "one short",
                lambda n, k, s: s * (n - 1) + k - 1,
                "the result is one pixel short. The last input pixel's kernel "
                "starts at stride * (input_size - 1) and covers kernel_size "
                "pixels from there.",
            ),
            checking.Mistake(
                "input size times stride plus kernel",
                lambda n, k, s: s * n + k,
                "the result is stride pixels too long. The first input pixel's "
                "kernel starts at 0, so the last one starts at "
                "stride * (input_size - 1).",
            ),
            checking.Mistake(
                "ordinary convolution",
                lambda n, k, s: max((n - k) // s + 1, 0),
                "that is the output length of an ordinary strided convolution, "
                "which shrinks its input. A transposed convolution enlarges it.",
            ),
        ),
        hint="Find where the kernel of the last input pixel starts and add the "
        "number of pixels it covers.",
        tolerance=0.0,
        trials=30,
    )


def _share_reference(image: np.ndarray) -> float:
    return float(checkerboard_share(image)[0])


def _share_image(rng: np.random.Generator) -> tuple[np.ndarray]:
    """Draws a smooth image plus random amounts of period-2 patterns.

    The sides are even, as the measure needs, and the mean is nonzero, so a
    function that keeps the mean fails.
    """
    height = 2 * int(rng.integers(4, 17))
    width = 2 * int(rng.integers(4, 17))
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    smooth = np.sin(2 * np.pi * rows / height * rng.uniform(0.5, 1.5)) * np.cos(
        2 * np.pi * cols / width * rng.uniform(0.5, 1.5)
    )
    checker = (-1.0) ** (rows + cols)
    stripes = (-1.0) ** rows
    image = (
        rng.uniform(-1.0, 1.0)
        + smooth
        + rng.uniform(0.0, 0.5) * checker
        + rng.uniform(0.0, 0.3) * stripes
        + 0.1 * rng.standard_normal((height, width))
    )
    return (image,)


def _share_with_mean(image: np.ndarray) -> float:
    power = np.abs(np.fft.fft2(image)) ** 2
    h, w = image.shape
    return float(
        (power[h // 2, w // 2] + power[h // 2, 0] + power[0, w // 2]) / power.sum()
    )


def _share_pi_pi_only(image: np.ndarray) -> float:
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    h, w = image.shape
    return float(power[h // 2, w // 2] / power.sum())


def _share_of_amplitude(image: np.ndarray) -> float:
    amplitude = np.abs(np.fft.fft2(image - image.mean()))
    h, w = image.shape
    period_2 = amplitude[h // 2, w // 2] + amplitude[h // 2, 0] + amplitude[0, w // 2]
    return float(period_2 / amplitude.sum())


def _share_after_fftshift(image: np.ndarray) -> float:
    power = np.fft.fftshift(np.abs(np.fft.fft2(image - image.mean())) ** 2)
    h, w = image.shape
    return float(
        (power[h // 2, w // 2] + power[h // 2, 0] + power[0, w // 2]) / power.sum()
    )


def check_checkerboard_share(answer) -> bool:
    """Checks ``answer(image)`` for one 2D image against ``checkerboard_share``.

    The check tries 10 images of even sizes from 8 to 32 pixels: a smooth
    pattern with a nonzero mean, a random amount of checkerboard and of
    alternating rows, and a little noise.
    """
    return checking.check_function(
        answer,
        _share_reference,
        _share_image,
        name="checkerboard_share",
        mistakes=(
            checking.Mistake(
                "mean kept",
                _share_with_mean,
                "the image's mean is still in the total: P(0, 0) grows with the "
                "brightness of the background. Subtract the mean first.",
            ),
            checking.Mistake(
                "pi pi only",
                _share_pi_pi_only,
                "only the (pi, pi) frequency counts here. Alternate rows, (pi, 0), "
                "and alternate columns, (0, pi), repeat every 2 pixels too.",
            ),
            checking.Mistake(
                "amplitude instead of power",
                _share_of_amplitude,
                "this is a share of the Fourier amplitudes |F|. Power is |F| ** 2.",
            ),
            checking.Mistake(
                "indices after fftshift",
                _share_after_fftshift,
                "after np.fft.fftshift, index (h // 2, w // 2) is frequency 0 and "
                "the frequency pi sits at index 0. Index the unshifted spectrum.",
            ),
        ),
        hint="Take np.fft.fft2 of image - image.mean(), square its absolute "
        "value, and divide the sum at (h // 2, w // 2), (h // 2, 0) and "
        "(0, w // 2) by the total.",
        tolerance=1e-6,
        trials=10,
    )
