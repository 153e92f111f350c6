"""Tests of gan_lessons.session: continued training, checkpoints, interrupts, GIFs.

The sessions use the tiny configuration of ``conftest.py`` (width 8, batch 8),
so they load the compiled programs of the shared GAN from the session's JAX
compilation cache. On XLA's CPU backend two ``train(5)`` calls reach exactly
the arrays of one ``train(10)``: both run the same compiled step on the same
inputs, so the tests compare bit for bit.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import state_leaves
from flax import nnx
from PIL import Image

from gan_lessons import layers, losses, plotting, session, widgets
from gan_lessons.config import model_preset
from gan_lessons.data import Dataset
from gan_lessons.runner import TrainingDivergedError

SAMPLE_EVERY = 4
REFERENCE_STEPS = 10


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    """64 random grey images, uint8 ``(64, 32, 32, 1)``."""
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (64, 32, 32, 1), dtype=np.uint8)
    return Dataset(images=images, labels=np.zeros(64, np.int32), source="random")


def make_session(model_config, train_config, dataset, **options):
    options.setdefault("sample_every", SAMPLE_EVERY)
    options.setdefault("show", False)
    options.setdefault("verbose", False)
    return session.TrainingSession(model_config, train_config, dataset, **options)


@pytest.fixture(scope="module")
def reference(model_config, train_config, dataset):
    """A session trained 10 steps in one call, and its state after each step."""
    trained = make_session(model_config, train_config, dataset)
    states = {0: state_leaves(trained.state)}

    def keep_state(step):
        states[step] = state_leaves(trained.state)

    trained.train(REFERENCE_STEPS, progress=False, callback=keep_state)
    return trained, states


def assert_same_leaves(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


# Continuing training.


def test_two_calls_equal_one_call(model_config, train_config, dataset, reference):
    trained, states = reference
    split = make_session(model_config, train_config, dataset)
    split.train(5, progress=False)
    split.train(5, progress=False)
    assert split.step == REFERENCE_STEPS
    assert_same_leaves(state_leaves(split.state), states[REFERENCE_STEPS])
    assert split.history_steps == trained.history_steps
    assert split.history == trained.history
    assert split.frame_steps == trained.frame_steps


def test_history_has_every_step(reference):
    trained, _ = reference
    assert trained.history_steps == list(range(1, REFERENCE_STEPS + 1))
    for name in ("discriminator_loss", "generator_loss", "d_real", "d_fake"):
        values = trained.history[name]
        assert len(values) == REFERENCE_STEPS
        assert all(math.isfinite(value) for value in values)


def test_frames_at_multiples_of_sample_every(reference):
    trained, _ = reference
    assert trained.frame_steps == [0, 4, 8]
    assert len(trained.frames) == 3
    # 64 images of 32x32 in an 8x8 grid with 2 pixels of padding.
    assert trained.frames[0].shape == (8 * 34 + 2, 8 * 34 + 2)
    assert trained.frames[0].dtype == np.uint8


def test_train_zero_steps_changes_nothing(reference):
    trained, _ = reference
    before = trained.step
    trained.train(0)
    assert trained.step == before


@pytest.mark.parametrize("steps", [-1, 2.0, True])
def test_train_rejects_invalid_steps(reference, steps):
    trained, _ = reference
    with pytest.raises(ValueError, match="non-negative integer"):
        trained.train(steps)


def test_step_times_recorded(reference):
    trained, _ = reference
    times = trained.last_times
    assert times.steps == REFERENCE_STEPS
    assert times.first_step > 0
    assert times.later_step > 0
    assert times.total >= times.first_step
    assert times.compiled


def test_samples_leave_state_unchanged(reference):
    trained, _ = reference
    before = state_leaves(trained.state)
    images = trained.samples()
    assert images.shape == (64, 32, 32, 1)
    assert np.all(np.abs(images) <= 1.0)
    assert_same_leaves(state_leaves(trained.state), before)


def test_generate_draws_requested_count(reference):
    trained, _ = reference
    images = trained.generate(5, seed=3)
    assert images.shape == (5, 32, 32, 1)


def test_dataset_shape_must_match_model(model_config, train_config):
    images = np.zeros((16, 32, 32, 3), np.uint8)
    colour = Dataset(images=images, labels=np.zeros(16, np.int32), source="test")
    with pytest.raises(ValueError, match=r"expects \(32, 32, 1\)"):
        session.TrainingSession(model_config, train_config, colour)


@pytest.mark.parametrize(
    ("option", "value"),
    [("sample_every", 0), ("log_every", -1), ("checkpoint_every", 0)],
)
def test_session_rejects_invalid_intervals(
    model_config, train_config, dataset, option, value
):
    with pytest.raises(ValueError, match=f"{option}={value}"):
        make_session(model_config, train_config, dataset, **{option: value})


# Checkpoints.


def test_save_restore_round_trip(model_config, train_config, dataset, tmp_path):
    trained = make_session(model_config, train_config, dataset, directory=tmp_path)
    trained.train(6, progress=False)
    assert (tmp_path / session.HISTORY_FILE).is_file()
    assert trained.checkpointer.latest_step() == 6

    restored = session.TrainingSession.from_directory(
        tmp_path, dataset, sample_every=SAMPLE_EVERY, show=False, verbose=False
    )
    assert restored.step == 6
    assert_same_leaves(state_leaves(restored.state), state_leaves(trained.state))
    assert restored.history_steps == trained.history_steps
    assert restored.history == trained.history
    assert restored.frame_steps == [0, 4]
    for actual, expected in zip(restored.frames, trained.frames, strict=True):
        np.testing.assert_array_equal(actual, expected)


def test_restore_cuts_history_to_step(model_config, train_config, dataset, tmp_path):
    trained = make_session(model_config, train_config, dataset, directory=tmp_path)
    trained.train(4, progress=False)
    trained.train(5, progress=False)
    assert trained.checkpointer.steps() == [4, 9]
    assert trained.restore(4) == 4
    assert trained.history_steps == [1, 2, 3, 4]
    assert trained.frame_steps == [0, 4]


def test_resume_continues_like_one_run(
    model_config, train_config, dataset, reference, tmp_path
):
    _, states = reference
    first = make_session(model_config, train_config, dataset, directory=tmp_path)
    first.train(3, progress=False)
    second = make_session(model_config, train_config, dataset, directory=tmp_path)
    assert second.step == 3
    second.train(REFERENCE_STEPS - 3, progress=False)
    assert_same_leaves(state_leaves(second.state), states[REFERENCE_STEPS])


def test_train_to_skips_when_trained(
    model_config, train_config, dataset, tmp_path, capsys
):
    trained = make_session(model_config, train_config, dataset, directory=tmp_path)
    trained.train(4, progress=False)
    resumed = make_session(
        model_config, train_config, dataset, directory=tmp_path, verbose=True
    )
    assert "Restored step 4" in capsys.readouterr().out
    resumed.train_to(4)
    assert resumed.step == 4
    assert "Skipping training" in capsys.readouterr().out
    resumed.train_to(6, progress=False)
    assert resumed.step == 6


def test_resume_false_starts_fresh(model_config, train_config, dataset, tmp_path):
    trained = make_session(model_config, train_config, dataset, directory=tmp_path)
    trained.train(2, progress=False)
    fresh = make_session(
        model_config, train_config, dataset, directory=tmp_path, resume=False
    )
    assert fresh.step == 0


def test_checkpoint_every_saves_during_training(
    model_config, train_config, dataset, tmp_path
):
    trained = make_session(
        model_config, train_config, dataset, directory=tmp_path, checkpoint_every=2
    )
    trained.train(5, progress=False)
    assert trained.checkpointer.steps() == [2, 4, 5]


def test_save_without_directory_raises(reference):
    trained, _ = reference
    with pytest.raises(ValueError, match="no directory"):
        trained.save()
    with pytest.raises(ValueError, match="no directory"):
        trained.restore()


# Interrupts and divergence.


def stop_at(step: int):
    def callback(done: int) -> None:
        if done == step:
            raise KeyboardInterrupt

    return callback


def test_interrupt_keeps_last_step(
    model_config, train_config, dataset, reference, tmp_path, capsys
):
    _, states = reference
    interrupted = make_session(
        model_config, train_config, dataset, directory=tmp_path, verbose=True
    )
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(8, progress=False, callback=stop_at(3))
    assert "the state of step 3 is kept and saved" in capsys.readouterr().out
    assert interrupted.step == 3
    assert interrupted.history_steps == [1, 2, 3]
    assert interrupted.checkpointer.latest_step() == 3
    assert_same_leaves(state_leaves(interrupted.state), states[3])

    interrupted.train(2, progress=False)
    assert_same_leaves(state_leaves(interrupted.state), states[5])
    assert interrupted.history_steps == [1, 2, 3, 4, 5]


def test_interrupt_inside_step_keeps_previous_state(
    model_config, train_config, dataset, reference, monkeypatch
):
    _, states = reference
    interrupted = make_session(model_config, train_config, dataset)
    real_step = interrupted.gan.train_step
    calls = []

    def step_then_interrupt(state, batch):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(state, batch)

    monkeypatch.setattr(interrupted.gan, "train_step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(5, progress=False)
    assert interrupted.step == 2
    assert interrupted.history_steps == [1, 2]
    assert_same_leaves(state_leaves(interrupted.state), states[2])


def test_interrupt_without_directory_saves_nothing(model_config, train_config, dataset):
    interrupted = make_session(model_config, train_config, dataset)
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(4, progress=False, callback=stop_at(1))
    assert interrupted.step == 1
    assert interrupted.checkpointer is None


def test_nan_metric_raises_diverged(
    model_config, train_config, dataset, monkeypatch, tmp_path
):
    diverging = make_session(
        model_config, train_config, dataset, directory=tmp_path, log_every=1
    )
    real_step = diverging.gan.train_step

    def nan_at_step_two(state, batch):
        new_state, metrics = real_step(state, batch)
        if int(state.step) == 1:
            metrics = dict(metrics, discriminator_loss=jnp.float32(jnp.nan))
        return new_state, metrics

    monkeypatch.setattr(diverging.gan, "train_step", nan_at_step_two)
    with pytest.raises(TrainingDivergedError, match="diverged at step 2"):
        diverging.train(4, progress=False)
    assert diverging.checkpointer.steps() == []


# Figures and the GIF.


def test_gif_has_one_frame_per_grid(reference, tmp_path):
    trained, _ = reference
    path = trained.save_gif(tmp_path / "progress.gif")
    frames = trained.frames
    # Pillow merges a frame equal to the one before it.
    distinct = 1 + sum(
        not np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False)
    )
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == distinct
        assert gif.size == (frames[0].shape[1], frames[0].shape[0])
    assert distinct == 3


def test_gif_default_path_needs_directory(reference):
    trained, _ = reference
    with pytest.raises(ValueError, match="pass the path"):
        trained.save_gif()


def test_save_gif_keeps_distinct_frames(tmp_path):
    frames = [np.full((6, 5), value, np.uint8) for value in (0, 80, 160, 240)]
    path = plotting.save_gif(frames, tmp_path / "grey.gif", frame_ms=50)
    with Image.open(path) as gif:
        assert gif.n_frames == 4
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
            assert np.asarray(gif.convert("L"))[0, 0] == frames[index][0, 0]
    assert durations == [50, 50, 50, 1500]


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "frames is empty"),
        ([np.zeros((4, 4), np.float32)], "dtype float32"),
        ([np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8)], "one shape"),
        ([np.zeros((4, 4, 2), np.uint8)], r"\(height, width, 3\)"),
    ],
)
def test_save_gif_rejects_invalid_frames(tmp_path, frames, message):
    with pytest.raises(ValueError, match=message):
        plotting.save_gif(frames, tmp_path / "bad.gif")


def test_progress_figure_has_three_panels(reference):
    trained, _ = reference
    fig = trained.progress_figure()
    assert len(fig.axes) == 3
    assert widgets.figure_png(fig).startswith(b"\x89PNG")


def test_running_mean_values():
    np.testing.assert_allclose(plotting.running_mean([1, 2, 3, 4], 2), [1.5, 2.5, 3.5])
    np.testing.assert_allclose(plotting.running_mean([1, 2, 3], 1), [1, 2, 3])
    assert plotting.running_mean([1, 2], 3).shape == (0,)
    with pytest.raises(ValueError, match="window=0"):
        plotting.running_mean([1, 2], 0)


def test_smoothed_history_draws_means():
    steps = list(range(1, 201))
    history = {
        "discriminator_loss": [1.0] * 200,
        "generator_loss": [2.0] * 200,
        "d_real": [0.8] * 200,
        "d_fake": [0.2] * 200,
    }
    fig = plotting.plot_smoothed_history(history, steps=steps)
    loss_ax, output_ax = fig.axes
    labels = [text.get_text() for text in loss_ax.get_legend().get_texts()]
    assert labels == [
        "discriminator, mean of 4 steps",
        "generator, mean of 4 steps",
    ]
    # Each series is drawn twice: step by step, then as its running mean.
    assert len(loss_ax.lines) == 4
    mean_line = loss_ax.lines[1]
    assert mean_line.get_xdata()[0] == 4
    np.testing.assert_allclose(mean_line.get_ydata(), 1.0)
    assert output_ax.get_ylim() == (0.0, 1.0)


def test_smoothed_history_short_run_unsmoothed(reference):
    trained, _ = reference
    fig = trained.plot_history()
    loss_ax, _ = fig.axes
    # Ten steps are too few to smooth, so each series is drawn once.
    assert len(loss_ax.lines) == 2
    labels = [text.get_text() for text in loss_ax.get_legend().get_texts()]
    assert labels == ["discriminator", "generator"]


def test_progress_figure_before_training(model_config, train_config, dataset):
    fresh = make_session(model_config, train_config, dataset)
    assert len(fresh.progress_figure().axes) == 3
    with pytest.raises(ValueError, match="no history"):
        fresh.plot_history()


def test_live_figure_updates_one_output(
    model_config, train_config, dataset, monkeypatch
):
    import IPython.display

    displayed_ids, updated = [], []

    class Handle:
        def update(self, value):
            updated.append(value)

    def display(value, display_id=False):
        displayed_ids.append(display_id)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    watched = make_session(model_config, train_config, dataset, show=True)
    watched.train(6, progress=False)
    # One output, displayed at the start, redrawn at step 4 and at the end.
    assert displayed_ids == [True]
    assert len(updated) == 2
    assert all(isinstance(value, IPython.display.Image) for value in updated)


def test_real_and_generated_figure(reference):
    trained, _ = reference
    real = trained.stream.batch_at(0)
    fig = plotting.show_real_and_generated(real, trained.generate(8))
    assert [ax.get_title() for ax in fig.axes] == ["real", "generated"]
    with pytest.raises(ValueError, match="the same"):
        plotting.show_real_and_generated(real, np.zeros((2, 16, 16, 1)))


# Run folders.


def test_quick_run_directory_is_fresh():
    first = session.lesson_run_directory("03_dcgan", quick=True)
    second = session.lesson_run_directory("03_dcgan", quick=True)
    assert first.is_dir()
    assert first != second
    assert not any(first.iterdir())


def test_full_run_directory_is_fixed():
    path = session.lesson_run_directory("03_dcgan", quick=False)
    assert path == session.LESSON_RUNS_DIR / "03_dcgan"
    assert path.is_absolute()


@pytest.mark.parametrize("name", ["", "a/b", ".."])
def test_run_directory_rejects_paths(name):
    with pytest.raises(ValueError, match="single folder name"):
        session.lesson_run_directory(name, quick=True)


# Layer shapes.


def test_generator_layer_shapes():
    config = model_preset("dcgan")
    z = jax.ShapeDtypeStruct((2, config.latent_dim), jnp.float32)
    records = session.layer_shapes(session.abstract_generator(config), z, train=False)
    assert [(r.path, r.layer, r.shape) for r in records] == [
        ("project", "Linear", (2, 2048)),
        ("project_norm", "BatchNorm", (2, 4, 4, 128)),
        ("upsample.0", "ConvTranspose", (2, 8, 8, 64)),
        ("upsample_norms.0", "BatchNorm", (2, 8, 8, 64)),
        ("upsample.1", "ConvTranspose", (2, 16, 16, 32)),
        ("upsample_norms.1", "BatchNorm", (2, 16, 16, 32)),
        ("upsample.2", "ConvTranspose", (2, 32, 32, 1)),
    ]


def test_discriminator_layer_shapes_in_colour():
    config = model_preset("dcgan", channels=3)
    images = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
    module = session.abstract_discriminator(config)
    records = session.layer_shapes(module, images, train=False)
    convs = [r.shape for r in records if r.layer == "Conv"]
    assert convs == [(2, 16, 16, 32), (2, 8, 8, 64), (2, 4, 4, 128)]
    assert records[-1].path == "classify"
    assert records[-1].shape == (2, 1)


def test_layer_shapes_restores_classes():
    before = {cls: cls.__dict__.get("__call__") for cls in (nnx.Linear, layers.Conv)}
    config = model_preset("dcgan", width=8)
    images = jax.ShapeDtypeStruct((1, 32, 32, 1), jnp.float32)
    session.layer_shapes(session.abstract_discriminator(config), images, train=False)
    after = {cls: cls.__dict__.get("__call__") for cls in before}
    assert after == before


def test_layer_shapes_on_concrete_module(gan, init_state):
    generator = gan.generator(init_state)
    records = session.layer_shapes(generator, jnp.zeros((1, 100)), train=False)
    assert records[-1].shape == (1, 32, 32, 1)


# Exercise checks.


def lax_output_size(size, kernel, stride, pad):
    return (size - 1) * stride + 2 * pad - kernel + 2


def test_dilated_size_matches_lax():
    rng = np.random.default_rng(0)
    for _ in range(8):
        size, kernel, stride, pad = session._dilated_transpose_inputs(rng)
        x = jnp.zeros((1, size, size, 1))
        weights = jnp.zeros((kernel, kernel, 1, 1))
        out = jax.lax.conv_transpose(
            x,
            weights,
            (stride, stride),
            ((pad, pad), (pad, pad)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        assert out.shape[1] == lax_output_size(size, kernel, stride, pad)
        assert out.shape[1] > 0


def test_check_dilated_size_accepts_any_form(capsys):
    assert session.check_dilated_transpose_size(lax_output_size)
    # Through the trimming convention: pad = kernel - 1 - trimmed pixels.
    assert session.check_dilated_transpose_size(
        lambda n, k, s, q: float((n - 1) * s - 2 * (k - 1 - q) + k)
    )
    assert capsys.readouterr().out.count("Correct:") == 2


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda n, k, s, q: None, "Not answered yet"),
        (lambda n, k, s, q: n * s, "'SAME' padding"),
        (lambda n, k, s, q: (n - 1) * s - 2 * q + k, "pixels trimmed"),
        (lambda n, k, s, q: n * s + 2 * q - k + 1, "not after the last one"),
        (lambda n, k, s, q: (n - 1) * s + 1 + 2 * q - k, "n - k + 1 positions"),
        (lambda n, k, s, q: (n - 1) * s + 2 + q - k, "both ends"),
        (lambda n, k, s, q: n + k, "Build it in two steps"),
        (lambda n, k, s, q: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_dilated_size_hints(capsys, answer, hint):
    assert not session.check_dilated_transpose_size(answer)
    output = capsys.readouterr().out
    assert hint in output
    assert "+ 2 * pad" not in output


EXERCISE_SHAPES = [(16, 16, 16), (8, 8, 32), (4, 4, 64)]


def test_check_discriminator_shapes_accepts(capsys):
    assert session.check_discriminator_shapes(EXERCISE_SHAPES)
    assert session.check_discriminator_shapes([list(s) for s in EXERCISE_SHAPES])
    assert capsys.readouterr().out.count("Correct:") == 2


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "Not answered yet"),
        ([(16, 16, 16)], "has 3 stride-2 convolutions"),
        ([(1, 16, 16, 16), (8, 8, 32), (4, 4, 64)], "Leave out the batch axis"),
        ([(16, 16, 3), (8, 8, 32), (4, 4, 64)], "channels of shape 1"),
        ([(16, 16, 16), (16, 16, 32), (4, 4, 64)], "height or width of shape 2"),
        ([(16, 16), (8, 8, 32), (4, 4, 64)], "shape 1 has 2 entries"),
        (["abc", (8, 8, 32), (4, 4, 64)], "tuples of integers"),
    ],
)
def test_check_discriminator_shapes_hints(capsys, answer, hint):
    assert not session.check_discriminator_shapes(answer)
    output = capsys.readouterr().out
    assert hint in output
    assert "(4, 4, 64)" not in output


def test_check_discriminator_shapes_other_config(capsys):
    config = model_preset("dcgan", width=8)
    assert session.check_discriminator_shapes(
        [(16, 16, 8), (8, 8, 16), (4, 4, 32)], config
    )


def test_check_gradient_flow_accepts(capsys):
    assert session.check_gradient_flow(
        {"discriminator"}, {"Generator", "discriminator"}
    )
    assert "Correct:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("with_stop", "without_stop", "hint"),
    [
        (None, None, "Not answered yet"),
        ({"discriminator"}, None, "Not answered yet"),
        ({"generator", "discriminator"}, {"generator", "discriminator"}, "constants"),
        ({"discriminator"}, {"discriminator"}, "depend on"),
        (set(), {"generator"}, "logits of both batches"),
        ({"critic"}, {"generator"}, "contains ['critic']"),
        (3, {"generator"}, "should be a set"),
    ],
)
def test_check_gradient_flow_hints(capsys, with_stop, without_stop, hint):
    assert not session.check_gradient_flow(with_stop, without_stop)
    assert hint in capsys.readouterr().out


def test_gradient_flow_answer_matches_jax(gan, init_state, batch, capsys):
    state = init_state
    z = gan.sample_latent(jax.random.key(0), batch.shape[0])

    def joint_loss(g_params, d_params, stop):
        fake, _ = gan._apply_generator(g_params, state.generator_stats, z, train=True)
        if stop:
            fake = jax.lax.stop_gradient(fake)
        real_logits, stats = gan._apply_discriminator(
            d_params, state.discriminator_stats, batch, train=True
        )
        fake_logits, _ = gan._apply_discriminator(d_params, stats, fake, train=True)
        return losses.discriminator_loss(real_logits, fake_logits)

    @jax.jit
    def gradients(g_params, d_params):
        # Both cases in one program, so the test compiles once.
        grad = jax.grad(joint_loss, argnums=(0, 1))
        return grad(g_params, d_params, True), grad(g_params, d_params, False)

    def non_zero(pair) -> set[str]:
        return {
            name
            for name, tree in zip(("generator", "discriminator"), pair, strict=True)
            if any(bool(jnp.any(leaf != 0)) for leaf in jax.tree.leaves(tree))
        }

    stopped, flowing = gradients(state.generator_params, state.discriminator_params)
    with_stop = non_zero(stopped)
    without_stop = non_zero(flowing)
    assert with_stop == {"discriminator"}
    assert without_stop == {"generator", "discriminator"}
    assert session.check_gradient_flow(with_stop, without_stop)
