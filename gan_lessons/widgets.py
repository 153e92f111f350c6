"""Playgrounds of the toy GAN: ipywidgets controls around one redrawn figure.

``OptimalDiscriminatorPlayground`` lets the learner set the generator's
distribution by hand and shows the best possible discriminator for it.
``TrainingPlayground`` trains a ``toy.ToyGAN`` a step or a round at a time.
``record_training`` runs the same training without widgets and records how
the discriminator's reliance on each feature and the generated points change.

How a playground shows its figure. Each playground draws one matplotlib
``Figure``, built without pyplot, so it adds nothing to ``plt.get_fignums()``
and no backend displays it on its own. The figure is rendered to PNG by Agg
and shown in an ``ipywidgets.Image``. A redraw changes the data of the
existing artists (``set_data``, ``set_offsets``, ``set_UVC``), draws only
those artists over a saved background (blitting) and sends the new PNG
through the widget's state. Unlike an ``Output`` widget updated with
``clear_output`` and ``display``, a state update does not depend on how the
front end routes the output messages of a callback.

Widgets need a front end that runs the widget manager: JupyterLab, Notebook
7, VS Code or Colab. Without one (nbclient in the tests, a notebook rendered
on GitHub or nbviewer, a front end without the widget extension) a widget
shows as a line of text and its callbacks never run. ``show`` therefore
displays, by default, one output that contains both the widget box and a PNG of
the starting figure (``display_widget_with_png``): live front ends render the
widget, and static renders keep the PNG. ``show(mode="interactive")`` leaves
the PNG out and ``show(mode="static")`` leaves the widgets out.

Re-running a cell that builds a playground replaces the previous playground
of the same ``name``, whose widgets are closed and whose figure is cleared.
So rebuilding a playground any number of times keeps one figure and one set
of widget models alive.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Callable

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import numpy as np
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from gan_lessons import toy

# MIME type of a widget view in a notebook output.
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
# The part of feature space that the playgrounds draw: (min, max) of strength
# and of fighting. It contains the real data (mean (4, 1)), a fresh generator's
# points near (0, 0) and a generator that overshoots strength.
STRENGTH_LIMITS = (-2.0, 9.0)
FIGHTING_LIMITS = (-2.0, 4.0)
# Heatmap cells per axis.
GRID_SIZE = 60
# Pixels per inch of the rendered figures.
DPI = 80
# zlib level of the PNG sent at each redraw. On the training figure, level 1
# of RGB pixels took about half as long as PIL's default level 6 of RGBA
# pixels, for a file of about the same size.
PNG_COMPRESSION = 1

# The playground most recently built under each name.
_PLAYGROUNDS: dict[str, Playground] = {}

_FEATURE_COLORS = ("tab:red", "tab:green")
_REAL_STYLE = {"color": "tab:blue", "edgecolors": "white", "linewidths": 0.4}
_FAKE_STYLE = {"color": "tab:orange", "edgecolors": "black", "linewidths": 0.4}


# Pure helpers.


def optimal_discriminator(
    data: toy.Gaussian | toy.GaussianMixture,
    generator: toy.Gaussian | toy.GaussianMixture,
    points: jax.Array | np.ndarray,
) -> np.ndarray:
    """Returns D*(x) = p_data(x) / (p_data(x) + p_g(x)) at each point.

    This is the best discriminator for a fixed generator distribution
    ``p_g``. It is computed as sigmoid(log p_data(x) - log p_g(x)), which is
    the same value but stays finite far from both distributions, where both
    densities round to 0.

    Args:
        data: The real distribution.
        generator: The generator's distribution.
        points: ``(n, dim)`` points.

    Returns:
        ``(n,)`` float64 probabilities in [0, 1].
    """
    points = jnp.asarray(points, jnp.float32)
    log_ratio = data.log_density(points) - generator.log_density(points)
    return np.asarray(jax.nn.sigmoid(log_ratio), np.float64)


def feature_grid(size: int = GRID_SIZE) -> np.ndarray:
    """Returns the centres of a ``size`` x ``size`` grid over the drawn limits.

    Shape ``(size * size, 2)``. Strength varies fastest, so values at these
    points reshaped to ``(size, size)`` form an image with one row per
    fighting value, from the lowest up, as ``imshow(..., origin="lower")``
    expects.
    """
    strength = _cell_centres(STRENGTH_LIMITS, size)
    fighting = _cell_centres(FIGHTING_LIMITS, size)
    grid_strength, grid_fighting = np.meshgrid(strength, fighting)
    return np.stack([grid_strength.ravel(), grid_fighting.ravel()], axis=1).astype(
        np.float32
    )


def _cell_centres(limits: tuple[float, float], size: int) -> np.ndarray:
    low, high = limits
    width = (high - low) / size
    return low + width * (np.arange(size) + 0.5)


def reliance_shares(reliance: np.ndarray) -> np.ndarray:
    """Returns each feature's share of the total reliance, summing to 1.

    ``toy.feature_reliance`` measures, per feature, how much the
    discriminator's loss grows when the feature is hidden. The shares show
    which feature the discriminator uses, whatever its overall confidence.
    They are nan when the total is 0, where the discriminator uses no feature.
    """
    reliance = np.asarray(reliance, np.float64)
    total = reliance.sum()
    if not total > 0:
        return np.full_like(reliance, np.nan)
    return reliance / total


def figure_png(figure: Figure) -> bytes:
    """Renders a figure built without pyplot to PNG bytes with Agg."""
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    return buffer.getvalue()


def show_figure(figure: Figure) -> None:
    """Displays a figure built without pyplot as an ordinary PNG output."""
    display(Image(data=figure_png(figure)))


def display_widget_with_png(widget: widgets.Widget, png: bytes) -> None:
    """Displays a widget and a PNG picture of it as one output.

    The output carries both MIME types, and each front end renders the one it
    ranks first. JupyterLab ranks the widget first (the browser tests check
    that only the widget shows), so a live notebook shows no stale copy of the
    figure. Front ends that cannot render widgets, such as nbconvert, GitHub
    and nbviewer, show the PNG. The view's version 2.0 is the format that
    ipywidgets 7.7 and 8 both send.
    """
    bundle = {
        "text/plain": repr(widget),
        "image/png": base64.b64encode(png).decode("ascii"),
        WIDGET_VIEW_MIMETYPE: {
            "version_major": 2,
            "version_minor": 0,
            "model_id": widget.model_id,
        },
    }
    display(bundle, raw=True)


# Recording a training run.


@dataclasses.dataclass
class TrainingRecord:
    """Measurements of a toy GAN after each recorded round or step.

    Each list has one entry per record, in order.

    Attributes:
        updates: Updates of either network so far.
        discriminator_loss: The discriminator's loss after the record's
            updates, on a fresh batch.
        generator_loss: The generator's loss, likewise.
        d_real: Mean D(x) on real points.
        d_fake: Mean D(G(z)) on generated points.
        generator_grad_norm: Norm of the gradient of the generator's loss
            with respect to its parameters.
        reliance: ``toy.feature_reliance`` on the evaluation points: how many
            nats the discriminator's loss rises when each feature is hidden,
            ``(data_dim,)``.
        reliance_share: Each feature's share of ``reliance``, from
            ``reliance_shares``, ``(data_dim,)``; nan when the reliance on
            every feature is 0.
        fake_mean: Mean of the generated evaluation points, ``(data_dim,)``.
        fake_std: Their standard deviation per feature, ``(data_dim,)``.
    """

    updates: list[int] = dataclasses.field(default_factory=list)
    discriminator_loss: list[float] = dataclasses.field(default_factory=list)
    generator_loss: list[float] = dataclasses.field(default_factory=list)
    d_real: list[float] = dataclasses.field(default_factory=list)
    d_fake: list[float] = dataclasses.field(default_factory=list)
    generator_grad_norm: list[float] = dataclasses.field(default_factory=list)
    reliance: list[np.ndarray] = dataclasses.field(default_factory=list)
    reliance_share: list[np.ndarray] = dataclasses.field(default_factory=list)
    fake_mean: list[np.ndarray] = dataclasses.field(default_factory=list)
    fake_std: list[np.ndarray] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.updates)

    def append(
        self,
        gan: toy.ToyGAN,
        state: toy.ToyState,
        metrics: dict[str, jax.Array],
        real: jax.Array,
        fake: jax.Array,
    ) -> None:
        """Adds one record from a ``train_round`` result and evaluation points.

        Args:
            gan: The toy GAN.
            state: Its state after the round.
            metrics: The metrics that ``train_round`` returned with ``state``.
            real: Real evaluation points ``(n, data_dim)``.
            fake: Generated evaluation points ``(m, data_dim)`` of ``state``.
        """
        fake_points = np.asarray(fake)
        self.updates.append(int(state.updates))
        for name in _RECORDED_METRICS:
            getattr(self, name).append(float(metrics[name]))
        reliance = np.asarray(toy.feature_reliance(gan, state, real, fake), np.float64)
        self.reliance.append(reliance)
        self.reliance_share.append(reliance_shares(reliance))
        self.fake_mean.append(fake_points.mean(axis=0))
        self.fake_std.append(fake_points.std(axis=0))

    def averaged_shares(self, window: int) -> np.ndarray:
        """Returns each feature's share averaged over ``window`` records.

        A record whose shares are nan, because the discriminator uses no
        feature, counts as an even split. Entry ``i`` averages records
        ``i - window + 1`` to ``i``, or from the first record while fewer
        than ``window`` exist, so it uses no later record.

        Returns:
            ``(len(self), data_dim)`` float64.
        """
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window={window!r} must be a positive integer.")
        shares = np.asarray(self.reliance_share, np.float64)
        shares = np.where(np.isnan(shares), 1.0 / shares.shape[1], shares)
        totals = np.cumsum(shares, axis=0)
        averaged = totals.copy()
        averaged[window:] -= totals[:-window]
        counts = np.minimum(np.arange(1, len(shares) + 1), window)
        return averaged / counts[:, None]


# The metrics of ToyGAN.train_round that a TrainingRecord keeps.
_RECORDED_METRICS = (
    "discriminator_loss",
    "generator_loss",
    "d_real",
    "d_fake",
    "generator_grad_norm",
)


def evaluation_points(
    gan: toy.ToyGAN, seed: int, num: int = 1024
) -> tuple[jax.Array, jax.Array]:
    """Returns fixed real points and latent vectors to watch a run with.

    Measuring every record on the same points keeps sampling noise out of
    the changes from one record to the next.

    Returns:
        Real points ``(num, data_dim)`` and latent vectors
        ``(num, latent_dim)``.
    """
    # Folding in 1 keeps these keys apart from those of gan.init(seed).
    key = jax.random.fold_in(jax.random.key(seed), 1)
    real_key, latent_key = jax.random.split(key)
    return gan.data.sample(real_key, num), gan.sample_latent(latent_key, num)


def record_training(
    gan: toy.ToyGAN,
    *,
    seed: int = 0,
    rounds: int = 120,
    discriminator_steps: int = 3,
    generator_steps: int = 1,
    num_points: int = 1024,
) -> tuple[toy.ToyState, TrainingRecord]:
    """Trains a toy GAN from ``seed`` and records every round.

    Args:
        gan: The toy GAN.
        seed: Seed of the networks, the batches and the evaluation points.
        rounds: Number of rounds.
        discriminator_steps: Discriminator updates per round.
        generator_steps: Generator updates per round.
        num_points: Real and generated points that each record is measured
            on; the same points for every round.

    Returns:
        The final state and the record, one entry per round.
    """
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds={rounds!r} must be a positive integer.")
    state = gan.init(seed)
    real, latent = evaluation_points(gan, seed, num_points)
    record = TrainingRecord()
    for _ in range(rounds):
        state, metrics = gan.train_round(
            state,
            discriminator_steps=discriminator_steps,
            generator_steps=generator_steps,
        )
        record.append(gan, state, metrics, real, gan.generate(state, latent))
    return state, record


@dataclasses.dataclass(frozen=True)
class StoryPhases:
    """The rounds at which the club story changes phase in a recorded run.

    Rounds count records from 1.

    Attributes:
        early_strength_share: Mean share of strength in the discriminator's
            reliance over the first rounds.
        strength_matched_round: First round whose generated strength mean is
            within the tolerance of the real one, or ``None``.
        fighting_round: First round at which fighting's share, averaged over
            the last few rounds, exceeds 1/2, or ``None``. The average keeps
            one noisy round from counting as a phase.
    """

    early_strength_share: float
    strength_matched_round: int | None
    fighting_round: int | None

    @property
    def in_story_order(self) -> bool:
        """Whether strength was matched no later than fighting took over."""
        return (
            self.strength_matched_round is not None
            and self.fighting_round is not None
            and self.strength_matched_round <= self.fighting_round
        )


def find_story_phases(
    record: TrainingRecord,
    data: toy.Gaussian,
    *,
    early_rounds: int = 15,
    window: int = 5,
    tolerance: float = 0.5,
) -> StoryPhases:
    """Finds the phases of the club story in a record of ``record_training``.

    Args:
        record: The record, one entry per round, of a GAN on data whose
            features are ``toy.FEATURES``: strength, then fighting.
        data: The real distribution.
        early_rounds: Rounds that count as the start.
        window: Rounds averaged before fighting's share is compared with 1/2;
            see ``TrainingRecord.averaged_shares``.
        tolerance: Largest distance of the generated strength mean from the
            real one that counts as matched.
    """
    if len(record) < max(early_rounds, window):
        raise ValueError(
            f"The record has {len(record)} rounds; finding the phases needs at "
            f"least max(early_rounds, window) = {max(early_rounds, window)}."
        )
    shares = np.asarray(record.reliance_share)
    early = float(np.nanmean(shares[:early_rounds, 0]))

    strength_mean = np.asarray(record.fake_mean)[:, 0]
    matched = np.flatnonzero(np.abs(strength_mean - data.mean[0]) <= tolerance)
    matched_round = int(matched[0]) + 1 if matched.size else None

    # The first window - 1 averages cover fewer rounds, so they do not count.
    averaged = record.averaged_shares(window)[window - 1 :, 1]
    crossed = np.flatnonzero(averaged > 0.5)
    fighting_round = int(crossed[0]) + window if crossed.size else None
    return StoryPhases(early, matched_round, fighting_round)


def plot_training_record(
    record: TrainingRecord,
    data: toy.Gaussian,
    phases: StoryPhases | None = None,
    *,
    window: int = 5,
) -> Figure:
    """Plots the reliance, means and spreads of a recorded run.

    Args:
        record: One entry per round.
        data: The real distribution, drawn as dashed lines.
        phases: When given, vertical lines mark the round where strength was
            matched and the round where fighting took over.
        window: Rounds averaged in the panel of the shares.

    Returns:
        A figure with four panels, built without pyplot.
    """
    rounds = np.arange(1, len(record) + 1)
    panels = {
        "How much the bouncer's loss rises without the feature (nats)": (
            np.asarray(record.reliance),
            None,
        ),
        f"Share of the reliance, averaged over {window} rounds": (
            record.averaged_shares(window),
            None,
        ),
        "Imitators' mean (dashed: real)": (np.asarray(record.fake_mean), data.mean),
        "Imitators' spread (dashed: real)": (np.asarray(record.fake_std), data.std),
    }
    figure = Figure(figsize=(11, 6), dpi=DPI, layout="constrained")
    axes = figure.subplots(2, 2).ravel()
    for axis, (title, (values, real)) in zip(axes, panels.items(), strict=True):
        for index, feature in enumerate(toy.FEATURES):
            color = _FEATURE_COLORS[index]
            axis.plot(rounds, values[:, index], color=color, label=feature)
            if real is not None:
                axis.axhline(real[index], color=color, linestyle="--", linewidth=1)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("round (night)")
    axes[1].axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axes[1].set_ylim(0, 1)
    if phases is not None:
        for round_, text in (
            (phases.strength_matched_round, "strength matched"),
            (phases.fighting_round, "fighting takes over"),
        ):
            if round_ is None:
                continue
            for axis in axes:
                axis.axvline(round_, color="black", linewidth=0.8, linestyle="-.")
            axes[1].annotate(
                f"{text} ",
                (round_, 0.03),
                rotation=90,
                ha="right",
                va="bottom",
                fontsize=8,
            )
    for axis in axes:
        axis.legend(loc="upper right", fontsize=8)
    return figure


# Playgrounds.


class Playground:
    """Base of the playgrounds: one figure, its PNG, the widget box and ``show``.

    Other lesson modules subclass it for their own widgets.

    A subclass draws its figure in ``_build_figure``, listing the artists that
    change in ``self._animated`` and the legends in ``self._legends``, updates
    the artists in ``_update_artists`` and sets ``self.box`` to the widget
    box, which contains ``self.status`` and ``self.image``.

    A redraw restores the saved background, draws the changing artists over
    it and then pastes back the pixels of each legend, saved at the last full
    draw. The legends are opaque, so they stay on top at the cost of one
    memory copy each instead of drawing their text again.
    """

    _figure_size: tuple[float, float] = (6.0, 4.0)
    # CSS class of the widget box: a stable handle for styles and for tests
    # that drive the playground in a browser.
    DOM_CLASS = "gan-lessons-playground"

    def __init__(self, name: str):
        self.name = name
        self.figure = Figure(figsize=self._figure_size, dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self._animated: list = []
        self._legends: list = []
        self._background = None
        self._legend_pixels: list = []
        self._build_figure()
        for artist in self._animated:
            artist.set_animated(True)
        # The PNG of the last redraw. The image widget may keep it as another
        # type, such as a memoryview in ipywidgets 8.
        self.png = b""
        # An ipywidgets box stretches its children to its own width by
        # default, which would scale the image up to the notebook's width.
        # Aligned to the start, the image keeps its size, as the PNG output.
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(align_self="flex-start")
        )
        self.status = widgets.HTML(value="")
        self.box: widgets.Box | None = None

    def _build_figure(self) -> None:
        raise NotImplementedError

    def _update_artists(self) -> None:
        raise NotImplementedError

    def _register(self) -> None:
        previous = _PLAYGROUNDS.get(self.name)
        if previous is not None and previous is not self:
            previous.close()
        _PLAYGROUNDS[self.name] = self

    def close(self) -> None:
        """Closes every widget of the playground and clears its figure."""
        for widget in _descendants(self.box):
            widget.close()
        self.figure.clear()
        self._animated = []
        self._legends = []
        self._background = None
        self._legend_pixels = []
        if _PLAYGROUNDS.get(self.name) is self:
            del _PLAYGROUNDS[self.name]

    def redraw(self, *, full: bool = False) -> None:
        """Updates the artists and sends the new PNG to the image widget.

        Args:
            full: Draw the whole figure again, as needed after axis limits or
                other parts of the background change. Otherwise only the
                changing artists are drawn, over the saved background.
        """
        self._update_artists()
        self.png = self.render(full=full)
        self.image.value = self.png

    def render(self, *, full: bool = False) -> bytes:
        """Draws the figure as it is now and returns it as PNG bytes."""
        if full or self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._legend_pixels = [
                self.canvas.copy_from_bbox(legend.get_window_extent())
                for legend in self._legends
            ]
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        for artist in self._animated:
            artist.draw(renderer)
        for pixels in self._legend_pixels:
            self.canvas.restore_region(pixels)
        width, height = self.canvas.get_width_height()
        pixels = PILImage.frombuffer(
            "RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        ).convert("RGB")
        buffer = io.BytesIO()
        pixels.save(buffer, format="png", compress_level=PNG_COMPRESSION)
        return buffer.getvalue()

    def show(self, mode: str = "both") -> None:
        """Displays the playground.

        Args:
            mode: ``"both"`` displays one output with the widget box and
                a PNG of the figure, so that static renders keep a figure.
                ``"interactive"`` displays the widget box only, ``"static"``
                the PNG only. See the module docstring.
        """
        if mode not in ("both", "interactive", "static"):
            raise ValueError(
                f"mode={mode!r}; expected 'both', 'interactive' or 'static'."
            )
        if mode == "both":
            display_widget_with_png(self.box, self.png)
        elif mode == "static":
            display(Image(data=self.png))
        else:
            display(self.box)

    def _guarded(self, action: Callable[[object], None]) -> Callable[[object], None]:
        """Wraps a widget callback so that its error also shows in the status.

        Front ends log the errors of widget callbacks where learners do not
        look. The error is raised again after it is shown.
        """

        def handler(event: object) -> None:
            try:
                action(event)
            except Exception as error:
                self.status.value = f"<b>Error:</b> {type(error).__name__}: {error}"
                raise

        return handler


def _descendants(widget: widgets.Widget | None) -> list[widgets.Widget]:
    """Returns ``widget`` and every widget inside it, children first."""
    if widget is None:
        return []
    found = []
    for child in getattr(widget, "children", ()):
        found.extend(_descendants(child))
    found.append(widget)
    return found


def _slider(kind, description: str, value: float, low: float, high: float, step):
    return kind(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        style={"description_width": "initial"},
    )


def _legend(axis, location: str):
    # Opaque, so that its saved pixels do not depend on what lies behind it.
    return axis.legend(loc=location, fontsize=7, framealpha=1.0)


def _scatter(axis, style: dict, num: int, label: str):
    return axis.scatter(np.zeros(num), np.zeros(num), s=12, label=label, **style)


def _heatmap(axis, colorbar_label: str):
    image = axis.imshow(
        np.full((GRID_SIZE, GRID_SIZE), 0.5),
        origin="lower",
        extent=(*STRENGTH_LIMITS, *FIGHTING_LIMITS),
        aspect="auto",
        cmap="RdBu",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
    )
    axis.set_xlim(*STRENGTH_LIMITS)
    axis.set_ylim(*FIGHTING_LIMITS)
    axis.set_xlabel(toy.FEATURES[0])
    axis.set_ylabel(toy.FEATURES[1])
    colorbar = axis.figure.colorbar(image, ax=axis, fraction=0.06, pad=0.02)
    colorbar.set_label(colorbar_label)
    return image


class OptimalDiscriminatorPlayground(Playground):
    """Sliders set the generator's normal distribution; the figure shows D*.

    The heatmap is ``optimal_discriminator`` over feature space: the best
    discriminator for the crowd that the sliders describe. The score is the
    mean of D* over generated points, the share of them let in when each is
    let in with probability D*(x). It reaches 1/2 when the crowd matches the
    real data, and stays below 1/2 otherwise.

    Attributes:
        data: The real distribution.
        heatmap: The ``AxesImage`` of D*, ``(GRID_SIZE, GRID_SIZE)`` values
            over ``feature_grid()``.
        sliders: ``"strength_mean"``, ``"fighting_mean"``, ``"strength_std"``
            and ``"fighting_std"`` to their ``FloatSlider``.
    """

    _figure_size = (6.4, 4.2)
    DOM_CLASS = "gan-lessons-optimal-discriminator-playground"

    def __init__(
        self,
        data: toy.Gaussian | None = None,
        *,
        name: str = "optimal_discriminator",
        num_points: int = 200,
        score_points: int = 4000,
        seed: int = 0,
    ):
        """Builds the playground, draws it and replaces any previous
        playground of the same ``name``.

        Args:
            data: The real distribution of two features; ``None`` gives
                ``toy.tough_guys()``.
            name: Key of the playground among those built in this process.
            num_points: Real and generated points drawn in the figure.
            score_points: Generated points that the score averages over.
            seed: Seed of the drawn points and of the generator's noise.
        """
        self.data = toy.tough_guys() if data is None else data
        if self.data.dim != 2:
            raise ValueError(
                f"The data has dimension {self.data.dim}; the playground draws "
                "two features."
            )
        if not 0 < num_points <= score_points:
            raise ValueError(
                f"num_points={num_points} must be positive and at most "
                f"score_points={score_points}, because the drawn generated "
                "points are the first of those that the score averages over."
            )
        self._grid = feature_grid()
        self._num_points = num_points
        real_key, noise_key = jax.random.split(jax.random.key(seed))
        self._real = np.asarray(self.data.sample(real_key, num_points))
        # A generated point is mean + std * noise with fixed standard normal
        # noise, so the points slide smoothly with the sliders.
        self._noise = np.asarray(jax.random.normal(noise_key, (score_points, 2)))
        super().__init__(name)

        self.sliders = {
            "strength_mean": _slider(
                widgets.FloatSlider, "mean strength", 0.0, -1.0, 8.0, 0.1
            ),
            "fighting_mean": _slider(
                widgets.FloatSlider, "mean fighting", 0.0, -1.5, 3.5, 0.05
            ),
            "strength_std": _slider(
                widgets.FloatSlider, "spread of strength", 0.5, 0.1, 2.0, 0.05
            ),
            "fighting_std": _slider(
                widgets.FloatSlider, "spread of fighting", 0.5, 0.05, 1.5, 0.05
            ),
        }
        for slider in self.sliders.values():
            slider.observe(self._guarded(lambda _: self.redraw()), names="value")
        sliders = list(self.sliders.values())
        columns = widgets.HBox([widgets.VBox(sliders[:2]), widgets.VBox(sliders[2:])])
        self.box = widgets.VBox([columns, self.status, self.image])
        self.box.add_class(self.DOM_CLASS)
        self.redraw()
        self._register()

    def _build_figure(self) -> None:
        axis = self.figure.add_subplot()
        self.figure.subplots_adjust(left=0.1, right=0.9, bottom=0.12, top=0.9)
        self.heatmap = _heatmap(axis, "D*(x): chance of being let in")
        self._real_scatter = _scatter(axis, _REAL_STYLE, self._num_points, "real")
        self._fake_scatter = _scatter(axis, _FAKE_STYLE, self._num_points, "generated")
        self._title = axis.text(
            0.5, 1.03, "", transform=axis.transAxes, ha="center", va="bottom"
        )
        self._animated = [
            self.heatmap,
            self._real_scatter,
            self._fake_scatter,
            self._title,
        ]
        self._legends = [_legend(axis, "upper left")]

    @property
    def generator(self) -> toy.Gaussian:
        """The generator's distribution that the sliders set."""
        s = self.sliders
        return toy.Gaussian(
            mean=(s["strength_mean"].value, s["fighting_mean"].value),
            std=(s["strength_std"].value, s["fighting_std"].value),
        )

    def fake_points(self) -> np.ndarray:
        """Returns the generated points of the sliders' crowd, ``(n, 2)``."""
        generator = self.generator
        return np.asarray(generator.mean) + np.asarray(generator.std) * self._noise

    def score(self) -> float:
        """Returns the mean of D* over the generated points, in [0, 1]."""
        verdicts = optimal_discriminator(self.data, self.generator, self.fake_points())
        return float(np.mean(verdicts))

    def _update_artists(self) -> None:
        verdict = optimal_discriminator(self.data, self.generator, self._grid)
        self.heatmap.set_data(verdict.reshape(GRID_SIZE, GRID_SIZE))
        self._real_scatter.set_offsets(self._real)
        self._fake_scatter.set_offsets(self.fake_points()[: self._num_points])
        share = self.score()
        self._title.set_text(
            f"The best bouncer lets in {share:.1%} of the imitators (goal: 50%)"
        )
        self.status.value = (
            f"Imitators let in: <b>{share:.1%}</b>. A perfect imitation is let "
            "in half the time, as often as the real tough guys."
        )


class TrainingPlayground(Playground):
    """Buttons and sliders that train a ``toy.ToyGAN``, and a figure of it.

    The figure shows D(x) over feature space with the real points, the
    generated points and, on some of them, arrows of
    ``gan.generator_direction``. Beside it are both losses, mean D(x) and
    D(G(z)), the discriminator's reliance on each feature and the generated
    mean of each feature against the real one. The reliance is the rise of
    the discriminator's loss when the feature is hidden, from
    ``toy.feature_reliance``. Every action adds one entry to ``self.record``.

    Each distinct pair of step counts compiles its round program once (a
    second or two on a CPU); changing a learning rate compiles nothing.

    Attributes:
        gan: The toy GAN.
        state: Its current state.
        heatmap: The ``AxesImage`` of D(x), ``(GRID_SIZE, GRID_SIZE)`` values
            over ``feature_grid()``.
        record: One entry per action since the start or the last reset.
        buttons: ``"discriminator"``, ``"generator"``, ``"round"`` and
            ``"reset"`` to their ``Button``.
        play: A ``Play`` widget that runs a round at each tick. Its timer runs
            in the browser, so without a front end nothing plays.
        sliders: ``"discriminator_learning_rate"``,
            ``"generator_learning_rate"``, ``"discriminator_steps"`` and
            ``"generator_steps"`` to their slider.
    """

    _figure_size = (12.0, 4.6)
    DOM_CLASS = "gan-lessons-training-playground"
    # Initial range of the curves' x axis, in updates; it doubles as needed.
    _INITIAL_UPDATES = 64
    # Generated points that carry an arrow, at most.
    _ARROWS = 40
    # Upper limits of the loss and reliance panels, in nats; larger values
    # leave the panel.
    _LOSS_LIMIT = 4.0
    _RELIANCE_LIMIT = 2.0

    def __init__(
        self,
        gan: toy.ToyGAN,
        *,
        seed: int = 0,
        state: toy.ToyState | None = None,
        name: str = "training",
        num_points: int = 256,
        discriminator_steps: int = 3,
        generator_steps: int = 1,
        interval_ms: int = 300,
    ):
        """Builds the playground, draws it and replaces any previous
        playground of the same ``name``.

        Args:
            gan: A toy GAN on two features.
            seed: Seed of the networks, at the start and at a reset, and of
                the points drawn and measured.
            state: Start from this state instead of ``gan.init(seed)``; a
                reset still goes back to ``gan.init(seed)``.
            name: Key of the playground among those built in this process.
            num_points: Real and generated points drawn and measured.
            discriminator_steps: Discriminator updates per round at the start.
            generator_steps: Generator updates per round at the start.
            interval_ms: Milliseconds between the play widget's rounds.
        """
        if gan.config.data_dim != 2:
            raise ValueError(
                f"The GAN has data_dim={gan.config.data_dim}; the playground "
                "draws two features."
            )
        self.gan = gan
        self.seed = seed
        self._num_points = num_points
        self._grid = jnp.asarray(feature_grid())
        self._real, self._latent = evaluation_points(gan, seed, num_points)
        self._num_arrows = min(self._ARROWS, num_points)
        super().__init__(name)

        config = gan.config
        self.sliders = {
            "discriminator_learning_rate": _slider(
                widgets.FloatLogSlider,
                "bouncer's learning rate",
                config.discriminator_learning_rate,
                -4,
                -1,
                0.1,
            ),
            "generator_learning_rate": _slider(
                widgets.FloatLogSlider,
                "imitator's learning rate",
                config.generator_learning_rate,
                -4,
                -1,
                0.1,
            ),
            "discriminator_steps": _slider(
                widgets.IntSlider,
                "bouncer's steps a night",
                discriminator_steps,
                0,
                10,
                1,
            ),
            "generator_steps": _slider(
                widgets.IntSlider, "imitator's steps a night", generator_steps, 0, 10, 1
            ),
        }
        for key in ("discriminator_learning_rate", "generator_learning_rate"):
            self.sliders[key].readout_format = ".1e"
            self.sliders[key].observe(
                self._guarded(lambda _: self._apply_learning_rates()), names="value"
            )
        self.buttons = {
            "discriminator": widgets.Button(
                description="Bouncer trains", tooltip="One discriminator update"
            ),
            "generator": widgets.Button(
                description="Imitator trains", tooltip="One generator update"
            ),
            "round": widgets.Button(
                description="One night",
                tooltip="One round: the steps a night of each, the bouncer first",
            ),
            "reset": widgets.Button(
                description="Reset", tooltip="Start again from the same seed"
            ),
        }
        actions = {
            "discriminator": self.step_discriminator,
            "generator": self.step_generator,
            "round": self.step_round,
            "reset": self.reset,
        }
        for key, action in actions.items():
            self.buttons[key].on_click(self._guarded(lambda _, act=action: act()))
        self.play = widgets.Play(
            value=0, min=0, max=10**6, interval=interval_ms, description="Play"
        )
        self.play.observe(self._guarded(self._on_tick), names="value")

        s = self.sliders
        self.box = widgets.VBox(
            [
                widgets.HBox([*self.buttons.values(), self.play]),
                widgets.HBox(
                    [s["discriminator_learning_rate"], s["discriminator_steps"]]
                ),
                widgets.HBox([s["generator_learning_rate"], s["generator_steps"]]),
                self.status,
                self.image,
            ]
        )
        self.box.add_class(self.DOM_CLASS)
        self._start(gan.init(seed) if state is None else state)
        self._register()

    # Actions.

    def step_discriminator(self) -> None:
        """Runs one discriminator update, records it and redraws."""
        self._act(discriminator_steps=1, generator_steps=0)

    def step_generator(self) -> None:
        """Runs one generator update, records it and redraws."""
        self._act(discriminator_steps=0, generator_steps=1)

    def step_round(self) -> None:
        """Runs a round with the sliders' step counts, records it and redraws."""
        self._act(
            discriminator_steps=self.sliders["discriminator_steps"].value,
            generator_steps=self.sliders["generator_steps"].value,
        )

    def reset(self) -> None:
        """Starts again from ``gan.init(seed)`` with the sliders' settings."""
        self._start(self.gan.init(self.seed))

    def _on_tick(self, change: dict) -> None:
        # The play widget's stop button sets the value back to its minimum,
        # which must not run a round.
        if change["new"] > change["old"]:
            self.step_round()

    def _apply_learning_rates(self) -> None:
        self.state = self.gan.set_learning_rates(
            self.state,
            discriminator=self.sliders["discriminator_learning_rate"].value,
            generator=self.sliders["generator_learning_rate"].value,
        )

    def _start(self, state: toy.ToyState) -> None:
        self.state = state
        self._apply_learning_rates()
        self.record = TrainingRecord()
        # A round without updates measures the start.
        self.state, metrics = self.gan.train_round(
            self.state, discriminator_steps=0, generator_steps=0
        )
        self._add_record(metrics)
        self._set_update_limit(self._INITIAL_UPDATES)
        self.redraw(full=True)

    def _act(self, *, discriminator_steps: int, generator_steps: int) -> None:
        self.state, metrics = self.gan.train_round(
            self.state,
            discriminator_steps=discriminator_steps,
            generator_steps=generator_steps,
        )
        self._add_record(metrics)
        updates = self.record.updates[-1]
        full = updates > self._update_limit
        if full:
            limit = self._update_limit
            while limit < updates:
                limit *= 2
            self._set_update_limit(limit)
        self.redraw(full=full)

    def _add_record(self, metrics: dict[str, jax.Array]) -> None:
        fake = self.gan.generate(self.state, self._latent)
        self.record.append(self.gan, self.state, metrics, self._real, fake)

    def _set_update_limit(self, limit: int) -> None:
        self._update_limit = limit
        for axis in self._curve_axes:
            # A small margin left of 0 keeps the marker of the start visible.
            axis.set_xlim(-0.03 * limit, limit)

    # Drawing.

    def _build_figure(self) -> None:
        outer = self.figure.add_gridspec(
            1, 2, width_ratios=(1.25, 2), left=0.05, right=0.98, bottom=0.11, top=0.92
        )
        axis = self.figure.add_subplot(outer[0])
        axis.set_title("D(x), the bouncer's verdict")
        self.heatmap = _heatmap(axis, "D(x)")
        self._real_scatter = _scatter(axis, _REAL_STYLE, self._num_points, "real")
        self._fake_scatter = _scatter(axis, _FAKE_STYLE, self._num_points, "generated")
        zeros = np.zeros(self._num_arrows)
        self._arrows = axis.quiver(
            zeros,
            zeros,
            zeros,
            zeros,
            angles="xy",
            scale_units="xy",
            scale=1.0,
            width=0.004,
            color="black",
        )
        self._legends = [_legend(axis, "upper left")]

        panels = outer[1].subgridspec(2, 2, wspace=0.25, hspace=0.45)
        loss_axis, verdict_axis = (
            self.figure.add_subplot(panels[i, 0]) for i in (0, 1)
        )
        reliance_axis, mean_axis = (
            self.figure.add_subplot(panels[i, 1]) for i in (0, 1)
        )
        self._curve_axes = (loss_axis, verdict_axis, reliance_axis, mean_axis)
        self._lines = {}
        for key, curve_axis, label, color in (
            ("discriminator_loss", loss_axis, "bouncer (D)", "tab:blue"),
            ("generator_loss", loss_axis, "imitator (G)", "tab:orange"),
            ("d_real", verdict_axis, "D(x), real", "tab:blue"),
            ("d_fake", verdict_axis, "D(G(z)), generated", "tab:orange"),
            ("reliance_0", reliance_axis, toy.FEATURES[0], _FEATURE_COLORS[0]),
            ("reliance_1", reliance_axis, toy.FEATURES[1], _FEATURE_COLORS[1]),
            ("mean_0", mean_axis, toy.FEATURES[0], _FEATURE_COLORS[0]),
            ("mean_1", mean_axis, toy.FEATURES[1], _FEATURE_COLORS[1]),
        ):
            # Small markers keep a curve of one record visible.
            (self._lines[key],) = curve_axis.plot(
                [], [], color=color, label=label, marker="o", markersize=1.5
            )
        for index, color in enumerate(_FEATURE_COLORS):
            mean_axis.axhline(
                self.gan.data.mean[index], color=color, linestyle="--", linewidth=1
            )
        verdict_axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        verdict_axis.set_ylim(0, 1)
        loss_axis.set_ylim(0, self._LOSS_LIMIT)
        reliance_axis.set_ylim(0, self._RELIANCE_LIMIT)
        mean_axis.set_ylim(FIGHTING_LIMITS[0], STRENGTH_LIMITS[1])
        for curve_axis, title in (
            (loss_axis, "losses"),
            (verdict_axis, "mean verdict"),
            (reliance_axis, "loss rise without the feature"),
            (mean_axis, "generated mean (dashed: real)"),
        ):
            curve_axis.set_title(title, fontsize=10)
            curve_axis.tick_params(labelsize=8)
        for curve_axis in (verdict_axis, mean_axis):
            curve_axis.set_xlabel("updates", fontsize=8)
        self._legends += [_legend(axis_, "upper right") for axis_ in self._curve_axes]
        self._animated = [
            self.heatmap,
            self._real_scatter,
            self._fake_scatter,
            self._arrows,
            *self._lines.values(),
        ]

    def _update_artists(self) -> None:
        verdict = np.asarray(self.gan.discriminator_probability(self.state, self._grid))
        self.heatmap.set_data(verdict.reshape(GRID_SIZE, GRID_SIZE))
        fake = np.asarray(self.gan.generate(self.state, self._latent))
        self._real_scatter.set_offsets(np.asarray(self._real))
        self._fake_scatter.set_offsets(fake)

        # Each arrow shows the direction of a point's push and its size
        # relative to the largest push, which is drawn one unit long.
        arrow_points = fake[: self._num_arrows]
        direction = np.asarray(
            _generator_direction(self.gan, self.state, jnp.asarray(arrow_points))
        )
        largest = float(np.max(np.linalg.norm(direction, axis=1), initial=0.0))
        if largest > 0:
            direction = direction / largest
        self._arrows.set_offsets(arrow_points)
        self._arrows.set_UVC(direction[:, 0], direction[:, 1])

        record = self.record
        updates = np.asarray(record.updates)
        reliance = np.asarray(record.reliance)
        shares = np.asarray(record.reliance_share)
        means = np.asarray(record.fake_mean)
        series = {
            "discriminator_loss": record.discriminator_loss,
            "generator_loss": record.generator_loss,
            "d_real": record.d_real,
            "d_fake": record.d_fake,
            "reliance_0": reliance[:, 0],
            "reliance_1": reliance[:, 1],
            "mean_0": means[:, 0],
            "mean_1": means[:, 1],
        }
        for key, values in series.items():
            self._lines[key].set_data(updates, np.asarray(values))
        self.status.value = (
            f"After {updates[-1]} updates: D(x) = {record.d_real[-1]:.2f} on real "
            f"points, D(G(z)) = {record.d_fake[-1]:.2f} on generated ones. "
            f"Reliance on {toy.FEATURES[0]}: {_percent(shares[-1, 0])}, on "
            f"{toy.FEATURES[1]}: {_percent(shares[-1, 1])}. Norm of the "
            f"imitator's gradient: {record.generator_grad_norm[-1]:.3g}."
        )


# ToyGAN.generator_direction, compiled once per GAN rather than once per
# playground.
_generator_direction = jax.jit(
    lambda gan, state, points: gan.generator_direction(state, points),
    static_argnums=0,
)


def _percent(share: float) -> str:
    return "none" if np.isnan(share) else f"{share:.0%}"


def playground_names() -> list[str]:
    """Returns the names of the live playgrounds, oldest first."""
    return list(_PLAYGROUNDS)
