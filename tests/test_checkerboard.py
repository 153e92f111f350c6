"""Tests of gan_lessons.checkerboard and of the generator's upsampling option."""

from __future__ import annotations

import dataclasses
import functools
import json
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from gan_lessons import checkerboard, checkpoint, cli, config, layers, models, runner
from gan_lessons.config import ModelConfig

# Overlap arithmetic.


@pytest.mark.parametrize(
    ("kernel_size", "stride", "expected"),
    [(5, 2, [3, 2]), (4, 2, [2, 2]), (3, 2, [2, 1]), (1, 2, [1, 0]), (7, 3, [3, 2, 2])],
)
def test_taps_per_phase_values(kernel_size, stride, expected):
    assert checkerboard.taps_per_phase(kernel_size, stride).tolist() == expected


@pytest.mark.parametrize("kernel_size", range(1, 10))
@pytest.mark.parametrize("stride", range(1, 5))
def test_taps_per_phase_even_iff_divisible(kernel_size, stride):
    taps = checkerboard.taps_per_phase(kernel_size, stride)
    assert taps.sum() == kernel_size
    assert (len(set(taps.tolist())) == 1) == (kernel_size % stride == 0)


def _brute_force_counts(input_size, kernel_size, stride, padding):
    """Transposed convolution of ones with a kernel of ones, by jax.lax."""
    if padding is None:
        padding = [(kernel_size - 1, kernel_size - 1)]
    elif isinstance(padding, tuple):
        padding = [padding]
    ones = jnp.ones((1, input_size, 1))
    kernel = jnp.ones((kernel_size, 1, 1))
    output = jax.lax.conv_transpose(
        ones, kernel, (stride,), padding, dimension_numbers=("NWC", "WIO", "NWC")
    )
    return np.asarray(output[0, :, 0])


@pytest.mark.parametrize("padding", [None, "SAME", "VALID", (1, 2)])
def test_overlap_counts_match_conv_transpose(padding):
    for kernel_size in range(1, 6):
        for stride in range(1, 4):
            for input_size in (2, 5):
                counts = checkerboard.overlap_counts(
                    input_size, kernel_size, stride, padding
                )
                expected = _brute_force_counts(input_size, kernel_size, stride, padding)
                case = (input_size, kernel_size, stride, padding)
                np.testing.assert_array_equal(counts, expected, err_msg=str(case))


def test_overlap_counts_2d_match_conv_transpose():
    for kernel_size, stride in ((5, 2), (4, 2), (3, 3)):
        ones = jnp.ones((1, 6, 6, 1))
        kernel = jnp.ones((kernel_size, kernel_size, 1, 1))
        output = jax.lax.conv_transpose(
            ones,
            kernel,
            (stride, stride),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        counts = checkerboard.overlap_counts_2d(6, kernel_size, stride, "SAME")
        np.testing.assert_array_equal(counts, np.asarray(output[0, :, :, 0]))


def test_interior_counts_follow_phases():
    for kernel_size in range(1, 9):
        for stride in range(1, 5):
            counts = checkerboard.overlap_counts(8, kernel_size, stride)
            phases = checkerboard.taps_per_phase(kernel_size, stride)
            for o in range(kernel_size - 1, stride * 7 + 1):
                assert counts[o] == phases[o % stride], (kernel_size, stride, o)


def test_output_size_matches_counts():
    for input_size in (1, 4, 7):
        for kernel_size in range(1, 7):
            for stride in range(1, 4):
                size = checkerboard.transposed_output_size(
                    input_size, kernel_size, stride
                )
                counts = checkerboard.overlap_counts(input_size, kernel_size, stride)
                assert size == len(counts)
                assert counts.sum() == input_size * kernel_size


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "5"])
def test_overlap_rejects_bad_size(value):
    with pytest.raises(ValueError, match="positive integer"):
        checkerboard.taps_per_phase(value, 2)
    with pytest.raises(ValueError, match="positive integer"):
        checkerboard.overlap_counts(4, 5, value)


def test_overlap_rejects_bad_padding():
    with pytest.raises(ValueError, match="padding"):
        checkerboard.overlap_counts(4, 5, 2, "FULL")


def test_describe_overlap():
    assert "uneven" in checkerboard.describe_overlap(5, 2)
    assert "3, 2 taps" in checkerboard.describe_overlap(5, 2)
    assert "even:" in checkerboard.describe_overlap(4, 2)


# The spectral measure.


def _grid(size: int = 32):
    rows, cols = np.mgrid[:size, :size]
    return rows, cols


def test_share_of_period_2_patterns_is_one():
    rows, cols = _grid()
    for pattern in ((-1.0) ** (rows + cols), (-1.0) ** rows, (-1.0) ** cols):
        share = checkerboard.checkerboard_share(3.0 + 0.5 * pattern)
        np.testing.assert_allclose(share, [1.0])


def test_share_of_smooth_image_is_small():
    rows, cols = _grid()
    blob = np.exp(-((rows - 15.5) ** 2 + (cols - 15.5) ** 2) / 50.0)
    assert checkerboard.checkerboard_share(blob)[0] < 1e-6


def test_share_of_uniform_image_is_zero():
    assert checkerboard.checkerboard_share(np.full((8, 8), 0.7)).tolist() == [0.0]


def test_share_of_noise_matches_expectation():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((400, 16, 16, 1))
    share = checkerboard.checkerboard_share(noise).mean()
    np.testing.assert_allclose(share, 3 / 255, rtol=0.1)


def test_share_ignores_offset_and_scale():
    rng = np.random.default_rng(1)
    images = rng.standard_normal((3, 8, 10, 1))
    np.testing.assert_allclose(
        checkerboard.checkerboard_share(images),
        checkerboard.checkerboard_share(2.5 * images - 4.0),
    )


def test_share_averages_channels():
    rng = np.random.default_rng(2)
    images = rng.standard_normal((2, 8, 8, 3))
    np.testing.assert_allclose(
        checkerboard.checkerboard_share(images),
        checkerboard.checkerboard_share(images.mean(axis=-1)),
    )


def test_share_rejects_odd_size():
    with pytest.raises(ValueError, match="even height and width"):
        checkerboard.checkerboard_share(np.zeros((2, 9, 8, 1)))


def test_mean_power_spectrum_of_checkerboard():
    rows, cols = _grid(8)
    spectrum = checkerboard.mean_power_spectrum((-1.0) ** (rows + cols))
    np.testing.assert_allclose(spectrum.sum(), 1.0)
    # After fftshift the frequency (pi, pi) is at index (0, 0).
    np.testing.assert_allclose(spectrum[0, 0], 1.0)


# The generator's upsampling option.


def _abstract_generator(model_config: ModelConfig) -> models.Generator:
    return nnx.eval_shape(lambda: models.Generator(model_config, rngs=nnx.Rngs(0)))


@functools.partial(jax.jit, static_argnums=0)
def _generate(model_config: ModelConfig, z: jax.Array) -> jax.Array:
    """Builds a generator from nnx.Rngs(0) and renders ``z``, in one program."""
    generator = models.Generator(model_config, rngs=nnx.Rngs(0))
    return generator(z, train=False)


@pytest.mark.parametrize(
    ("preset", "size", "channels"),
    [("dcgan", 32, 1), ("dcgan", 64, 3), ("seed", 32, 1), ("seed", 64, 1)],
)
def test_resize_generator_shapes_and_params(preset, size, channels):
    transposed = config.model_preset(preset, image_size=size, channels=channels)
    resize = dataclasses.replace(transposed, upsampling="resize")
    generator = _abstract_generator(transposed)
    resized = _abstract_generator(resize)
    z = jax.ShapeDtypeStruct((2, transposed.latent_dim), jnp.float32)
    images = jax.eval_shape(functools.partial(_generate, resize), z)
    assert images.shape == (2, size, size, channels)
    assert models.count_params(resized) == models.count_params(generator)
    assert all(isinstance(layer, layers.Conv) for layer in resized.upsample)
    assert all(layer.strides == (1, 1) for layer in resized.upsample)
    assert all(isinstance(layer, layers.ConvTranspose) for layer in generator.upsample)


def test_resize_generator_differs_from_transposed():
    transposed = config.model_preset("dcgan", width=4)
    resize = dataclasses.replace(transposed, upsampling="resize")
    z = jax.random.normal(jax.random.key(3), (2, 100))
    difference = jnp.abs(_generate(resize, z) - _generate(transposed, z))
    assert float(jnp.max(difference)) > 0


def test_upsample_nearest_repeats_pixels():
    x = jnp.arange(2 * 2 * 3 * 2, dtype=jnp.float32).reshape(2, 2, 3, 2)
    y = models.upsample_nearest(x)
    assert y.shape == (2, 4, 6, 2)
    np.testing.assert_array_equal(y[:, ::2, ::2], x)
    np.testing.assert_array_equal(y[:, 1::2, 1::2], x)
    np.testing.assert_array_equal(y[:, ::2, 1::2], x)


# Outputs of the default generators, recorded before the upsampling option
# existed, for latent vectors normal(key(3), (2, 100)) and nnx.Rngs(0).
_DEFAULT_OUTPUTS = {
    ("dcgan", 8): (
        -0.049151137471199036,
        [1.5198218e-04, -3.2806210e-04, 2.0922416e-04, 2.2670196e-05],
    ),
    ("seed", 4): (
        0.19806672632694244,
        [8.7202498e-05, 1.7497598e-04, -1.3900857e-04, 1.4147809e-04],
    ),
}


@pytest.mark.parametrize(("preset", "width"), list(_DEFAULT_OUTPUTS))
def test_default_generator_unchanged(preset, width):
    model_config = config.model_preset(preset, width=width)
    assert model_config.upsampling == "transposed"
    z = jax.random.normal(jax.random.key(3), (2, 100))
    images = np.asarray(_generate(model_config, z))
    total, pixels = _DEFAULT_OUTPUTS[(preset, width)]
    np.testing.assert_allclose(images.sum(), total, rtol=1e-4)
    np.testing.assert_allclose(images[0, 10:14, 10, 0], pixels, rtol=1e-4, atol=1e-9)


def test_constant_input_response_pattern():
    transposed, resize = checkerboard.lesson_configs(width=4).values()
    pattern = checkerboard.constant_input_response(transposed)
    smooth = checkerboard.constant_input_response(resize)
    assert pattern.shape == smooth.shape == (32, 32)
    assert checkerboard.checkerboard_share(pattern)[0] > 0.1
    assert checkerboard.checkerboard_share(smooth)[0] < 0.01


def test_lesson_configs_differ_in_upsampling_only():
    configs = checkerboard.lesson_configs(width=8, kernel=5)
    assert list(configs) == ["transposed 5x5", "resize 5x5"]
    transposed, resize = configs.values()
    assert transposed.generator_kernel == 5
    assert dataclasses.replace(resize, upsampling="transposed") == transposed


# Configuration records.


def test_config_rejects_unknown_upsampling():
    with pytest.raises(ValueError, match="upsampling='bilinear'"):
        ModelConfig(upsampling="bilinear")


def test_config_round_trip_keeps_upsampling():
    resize = dataclasses.replace(config.model_preset("dcgan"), upsampling="resize")
    record = json.loads(json.dumps(resize.to_dict()))
    assert ModelConfig.from_dict(record) == resize


def test_old_record_loads_as_transposed():
    record = config.model_preset("seed").to_dict()
    del record["upsampling"]
    assert ModelConfig.from_dict(record).upsampling == "transposed"


def test_checkpoint_rejects_other_upsampling(tmp_path):
    saved = config.model_preset("dcgan", width=8)
    meta = {"model_config": json.loads(json.dumps(saved.to_dict()))}
    resize = dataclasses.replace(saved, upsampling="resize")
    with pytest.raises(checkpoint.CheckpointMismatchError, match="upsampling"):
        checkpoint.check_compatible(meta, resize, tmp_path)
    del meta["model_config"]["upsampling"]
    checkpoint.check_compatible(meta, saved, tmp_path)
    with pytest.raises(checkpoint.CheckpointMismatchError, match="upsampling"):
        checkpoint.check_compatible(meta, resize, tmp_path)


# The command line.


def test_cli_parses_upsampling():
    parser = cli.build_parser()
    assert parser.parse_args(["train"]).upsampling is None
    args = parser.parse_args(["train", "--upsampling", "resize"])
    assert args.upsampling == "resize"


def test_cli_rejects_unknown_upsampling(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--upsampling", "bilinear"])
    assert "invalid choice" in capsys.readouterr().err


def _captured_model_config(monkeypatch, tmp_path, arguments, saved=None):
    """Runs ``train`` with ``arguments`` and returns the ModelConfig it builds.

    The training itself is replaced by a stub, and ``saved`` is used as the
    configurations of a checkpoint in ``--out``.
    """
    captured = {}

    def run_training(model_config, train_config, options):
        captured["model_config"] = model_config
        return types.SimpleNamespace(history={}, out_dir=tmp_path, state=None)

    monkeypatch.setattr(runner, "run_training", run_training)
    monkeypatch.setattr(cli, "_saved_configs", lambda args: saved)
    out = ["--out", str(tmp_path / "run"), "--no-progress"]
    assert cli.main(["train", *arguments, *out]) == 0
    return captured["model_config"]


def test_cli_sets_upsampling(monkeypatch, tmp_path):
    default = _captured_model_config(monkeypatch, tmp_path, [])
    assert default == config.model_preset("dcgan")
    resize = _captured_model_config(
        monkeypatch, tmp_path, ["--preset", "seed", "--upsampling", "resize"]
    )
    expected = dataclasses.replace(config.model_preset("seed"), upsampling="resize")
    assert resize == expected


def test_cli_resume_keeps_saved_upsampling(monkeypatch, tmp_path):
    saved_model = dataclasses.replace(
        config.model_preset("dcgan", width=8), upsampling="resize"
    )
    saved = (saved_model, config.train_preset("dcgan"))
    for extra in ([], ["--width", "8"]):
        model_config = _captured_model_config(
            monkeypatch, tmp_path, ["--resume", *extra], saved
        )
        assert model_config == saved_model, extra
    # An explicit other choice is passed on, so the checkpoint check rejects it.
    requested = _captured_model_config(
        monkeypatch, tmp_path, ["--resume", "--upsampling", "transposed"], saved
    )
    assert requested.upsampling == "transposed"


# Exercise checks.


def _taps_reference(kernel_size, stride):
    return checkerboard.taps_per_phase(kernel_size, stride)


def _output_size_reference(input_size, kernel_size, stride):
    return stride * (input_size - 1) + kernel_size


def _share_reference(image):
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    h, w = image.shape
    return (power[h // 2, w // 2] + power[h // 2, 0] + power[0, w // 2]) / power.sum()


def _share_mean_kept(image):
    power = np.abs(np.fft.fft2(image)) ** 2
    h, w = image.shape
    return (power[h // 2, w // 2] + power[h // 2, 0] + power[0, w // 2]) / power.sum()


@pytest.mark.parametrize(
    ("check", "answer"),
    [
        (checkerboard.check_taps_per_phase, _taps_reference),
        (checkerboard.check_output_size, _output_size_reference),
        (checkerboard.check_checkerboard_share, _share_reference),
    ],
)
def test_exercise_check_accepts_solution(check, answer, capsys):
    assert check(answer)
    assert capsys.readouterr().out.startswith("Correct:")


@pytest.mark.parametrize(
    "check",
    [
        checkerboard.check_taps_per_phase,
        checkerboard.check_output_size,
        checkerboard.check_checkerboard_share,
    ],
)
def test_exercise_check_unanswered(check, capsys):
    assert not check(lambda *args: None)
    assert capsys.readouterr().out.startswith("Not answered yet:")


@pytest.mark.parametrize(
    ("check", "answer", "hint"),
    [
        (
            checkerboard.check_taps_per_phase,
            lambda k, s: np.full(s, k // s),
            "k % stride phases get one tap more",
        ),
        (
            checkerboard.check_taps_per_phase,
            lambda k, s: checkerboard.taps_per_phase(k, s)[::-1],
            "reverse order",
        ),
        (checkerboard.check_output_size, lambda n, k, s: n * s, "padding='SAME'"),
        (
            checkerboard.check_output_size,
            lambda n, k, s: s * (n - 1) + k - 1,
            "one pixel short",
        ),
        (
            checkerboard.check_checkerboard_share,
            _share_mean_kept,
            "Subtract the mean",
        ),
        (
            checkerboard.check_checkerboard_share,
            lambda image: np.abs(np.fft.fft2(image - image.mean())) ** 2,
            "shape",
        ),
    ],
)
def test_exercise_check_rejects_mistake(check, answer, hint, capsys):
    assert not check(answer)
    output = capsys.readouterr().out
    assert output.startswith("Not quite:")
    assert hint in output


# The explorer.


def test_explorer_redraws_on_slider_change():
    explorer = checkerboard.OverlapExplorer(5, 2, name="test")
    first = explorer.png
    assert first.startswith(b"\x89PNG")
    assert "uneven" in explorer.status.value
    explorer.kernel_slider.value = 4
    assert explorer.png != first
    assert "even:" in explorer.status.value
    explorer.close()


def test_explorer_rebuild_closes_previous():
    first = checkerboard.OverlapExplorer(name="rebuilt")
    second = checkerboard.OverlapExplorer(name="rebuilt")
    assert first.kernel_slider.comm is None
    assert first.image.comm is None
    assert second.kernel_slider.comm is not None
    second.close()


def test_explorer_rejects_out_of_range():
    with pytest.raises(ValueError, match="kernel_size"):
        checkerboard.OverlapExplorer(kernel_size=9)
