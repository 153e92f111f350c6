"""Tests for generator files: export, loading, errors and the ``export`` command."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jax
import numpy as np
import pytest

from gan_lessons import classifier, pretrained
from gan_lessons.checkpoint import Checkpointer, CheckpointError
from gan_lessons.cli import main
from gan_lessons.config import ModelConfig
from gan_lessons.pretrained import GeneratorFileError

# The shipped file must stay small enough to ship inside the package.
MAX_ASSET_MB = 3.0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, gan, init_state, trained_state) -> Path:
    """A run folder whose checkpoints contain steps 0 and 3 of the tiny GAN."""
    run = tmp_path_factory.mktemp("pretrained") / "run"
    checkpointer = Checkpointer(run / "checkpoints")
    checkpointer.save(gan, init_state)
    checkpointer.save(gan, trained_state)
    return run


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory) -> Path:
    """The newest checkpoint of ``run_dir`` exported to a generator file."""
    out = tmp_path_factory.mktemp("exported") / "generator.npz"
    return pretrained.export_generator(run_dir, out)


@pytest.fixture(scope="module")
def latents() -> np.ndarray:
    return np.asarray(jax.random.normal(jax.random.key(7), (6, 100)))


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _rewrite(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez(path, **arrays)
    return path


def test_round_trip_matches_gan(exported, gan, trained_state, latents):
    generator = pretrained.load_generator(exported)
    expected = np.asarray(gan.generate(trained_state, latents))
    np.testing.assert_array_equal(np.asarray(generator.generate(latents)), expected)


def test_loaded_metadata(exported, gan):
    generator = pretrained.load_generator(exported)
    assert generator.model_config == gan.model_config
    assert generator.step == 3
    assert generator.path == exported
    assert generator.latent_dim == 100
    assert generator.image_shape == (32, 32, 1)


def test_file_has_plain_arrays(exported, gan):
    arrays = _arrays(exported)
    assert str(arrays["format"]) == pretrained.FORMAT_NAME
    assert int(arrays["format_version"]) == pretrained.FORMAT_VERSION
    stored = ModelConfig.from_dict(json.loads(str(arrays["model_config"])))
    assert stored == gan.model_config
    assert "params/project/kernel" in arrays
    assert "batch_stats/project_norm/mean" in arrays
    assert all(array.dtype != object for array in arrays.values())


def test_file_omits_discriminator(exported):
    names = _arrays(exported).keys()
    assert not [name for name in names if "discriminator" in name]
    assert not [name for name in names if "opt_state" in name]


def test_export_older_step(run_dir, tmp_path, gan, init_state, latents):
    out = pretrained.export_generator(run_dir, tmp_path / "step0.npz", step=0)
    generator = pretrained.load_generator(out)
    assert generator.step == 0
    expected = np.asarray(gan.generate(init_state, latents))
    np.testing.assert_array_equal(np.asarray(generator.generate(latents)), expected)


def test_export_accepts_checkpoints_folder(run_dir, tmp_path):
    out = pretrained.export_generator(run_dir / "checkpoints", tmp_path / "g.npz")
    assert pretrained.load_generator(out).step == 3


def test_export_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no_run"):
        pretrained.export_generator(tmp_path / "no_run", tmp_path / "g.npz")


def test_export_missing_step(run_dir, tmp_path):
    with pytest.raises(CheckpointError, match=r"saved steps are \[0, 3\]"):
        pretrained.export_generator(run_dir, tmp_path / "g.npz", step=5)


def test_export_rejects_suffix(run_dir, tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        pretrained.export_generator(run_dir, tmp_path / "g.pkl")
    assert not (tmp_path / "g.pkl").exists()


def test_save_leaves_no_temporary_file(exported):
    assert sorted(p.name for p in exported.parent.iterdir()) == ["generator.npz"]


def test_generate_checks_shape(exported):
    generator = pretrained.load_generator(exported)
    with pytest.raises(ValueError, match=r"z\[None\]"):
        generator.generate(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match=r"expected \(n, 100\)"):
        generator.generate(np.zeros((2, 99), np.float32))


def test_generate_ignores_batch(exported, latents):
    generator = pretrained.load_generator(exported)
    together = np.asarray(generator.generate(latents))
    alone = np.asarray(generator.generate(latents[2:3]))
    np.testing.assert_allclose(alone[0], together[2], atol=1e-6)


def test_sample_latent_shape(exported):
    generator = pretrained.load_generator(exported)
    z = generator.sample_latent(jax.random.key(0), 5)
    assert z.shape == (5, 100)


def test_module_matches_generate(exported, latents):
    generator = pretrained.load_generator(exported)
    module_images = generator.module()(latents, train=False)
    np.testing.assert_allclose(
        np.asarray(module_images), np.asarray(generator.generate(latents)), atol=1e-6
    )


# Bad files.


def test_missing_file(tmp_path):
    missing = tmp_path / "none.npz"
    with pytest.raises(FileNotFoundError, match="none.npz"):
        pretrained.load_generator(missing)


def test_not_a_zip(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("not an archive")
    with pytest.raises(GeneratorFileError, match="text.npz"):
        pretrained.load_generator(path)


def test_truncated_file(exported, tmp_path):
    path = tmp_path / "cut.npz"
    path.write_bytes(exported.read_bytes()[:1000])
    with pytest.raises(GeneratorFileError, match="cut.npz"):
        pretrained.load_generator(path)


def test_single_array_file(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(GeneratorFileError, match="contains a single array"):
        pretrained.load_generator(path)


def test_pickled_array(exported, tmp_path):
    arrays = _arrays(exported)
    arrays["step"] = np.array([{"code": "run me"}], dtype=object)
    path = _rewrite(tmp_path / "pickled.npz", arrays)
    with pytest.raises(GeneratorFileError, match="pickle"):
        pretrained.load_generator(path)


def test_other_format(tmp_path):
    # The classifier's weights are an npz file of another format.
    with pytest.raises(GeneratorFileError, match="not a gan_lessons generator"):
        pretrained.load_generator(classifier.default_weights_path())


def test_other_version(exported, tmp_path):
    arrays = _arrays(exported)
    arrays["format_version"] = np.asarray(pretrained.FORMAT_VERSION + 1)
    path = _rewrite(tmp_path / "v2.npz", arrays)
    with pytest.raises(GeneratorFileError, match="format version 2"):
        pretrained.load_generator(path)


def test_unreadable_model_config(exported, tmp_path):
    arrays = _arrays(exported)
    arrays["model_config"] = np.asarray("{not json")
    path = _rewrite(tmp_path / "config.npz", arrays)
    with pytest.raises(GeneratorFileError, match="model configuration"):
        pretrained.load_generator(path)


def test_invalid_model_config(exported, tmp_path):
    arrays = _arrays(exported)
    values = json.loads(str(arrays["model_config"]))
    values["image_size"] = 48
    arrays["model_config"] = np.asarray(json.dumps(values))
    path = _rewrite(tmp_path / "size.npz", arrays)
    with pytest.raises(GeneratorFileError, match="image_size"):
        pretrained.load_generator(path)


def test_array_of_wrong_shape(exported, tmp_path):
    arrays = _arrays(exported)
    arrays["params/project/kernel"] = arrays["params/project/kernel"][:, :-1]
    path = _rewrite(tmp_path / "shape.npz", arrays)
    with pytest.raises(GeneratorFileError, match="params/project/kernel is float32"):
        pretrained.load_generator(path)


def test_config_of_other_width(exported, tmp_path):
    arrays = _arrays(exported)
    values = json.loads(str(arrays["model_config"]))
    values["generator_features"] = [64, 32, 16]
    arrays["model_config"] = np.asarray(json.dumps(values))
    path = _rewrite(tmp_path / "width.npz", arrays)
    with pytest.raises(GeneratorFileError, match="do not match"):
        pretrained.load_generator(path)


def test_missing_array(exported, tmp_path):
    arrays = _arrays(exported)
    del arrays["batch_stats/project_norm/var"]
    path = _rewrite(tmp_path / "missing.npz", arrays)
    with pytest.raises(GeneratorFileError, match="missing arrays"):
        pretrained.load_generator(path)


def test_unexpected_array(exported, tmp_path):
    arrays = _arrays(exported)
    arrays["params/extra"] = np.zeros(3, np.float32)
    path = _rewrite(tmp_path / "extra.npz", arrays)
    with pytest.raises(GeneratorFileError, match="unexpected arrays"):
        pretrained.load_generator(path)


def test_non_finite_array(exported, tmp_path):
    arrays = _arrays(exported)
    arrays["batch_stats/project_norm/mean"] = np.full(
        arrays["batch_stats/project_norm/mean"].shape, np.nan, np.float32
    )
    path = _rewrite(tmp_path / "nan.npz", arrays)
    with pytest.raises(GeneratorFileError, match="NaN"):
        pretrained.load_generator(path)


def test_save_rejects_suffix(gan, trained_state, tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        pretrained.save_generator(
            tmp_path / "g.bin",
            gan.model_config,
            trained_state.generator_params,
            trained_state.generator_stats,
            step=3,
        )


# The shipped generator.


def test_shipped_file_is_small():
    size_mb = pretrained.default_generator_path().stat().st_size / 1e6
    assert size_mb < MAX_ASSET_MB


def test_shipped_file_is_a_zip_of_npy():
    with zipfile.ZipFile(pretrained.default_generator_path()) as archive:
        names = archive.namelist()
    assert names
    assert all(name.endswith(".npy") for name in names)


def test_shipped_generator_config():
    generator = pretrained.load_generator()
    config = generator.model_config
    assert config.preset == "dcgan"
    assert config.generator_features == (128, 64, 32)
    assert generator.step == 3000


def test_shipped_generator_draws_digits():
    generator = pretrained.load_generator()
    images = np.asarray(
        generator.generate(generator.sample_latent(jax.random.key(0), 256))
    )
    assert images.shape == (256, 32, 32, 1)
    assert images.min() >= -1.0
    assert images.max() <= 1.0
    verdict = classifier.judge_samples(images)
    # The default run gave 63% confident samples and all 10 classes.
    assert verdict["confident_fraction"] > 0.5
    assert verdict["num_classes_present"] == 10


# The export command.


def test_export_command(run_dir, tmp_path, capsys):
    out = tmp_path / "cli.npz"
    code = main(["export", "--checkpoint", str(run_dir), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "step 3" in captured.out
    assert str(out) in captured.out
    assert pretrained.load_generator(out).step == 3


def test_export_command_step(run_dir, tmp_path, capsys):
    out = tmp_path / "cli0.npz"
    args = ["export", "--checkpoint", str(run_dir), "--out", str(out), "--step", "0"]
    assert main(args) == 0, capsys.readouterr().err
    assert pretrained.load_generator(out).step == 0


def test_export_command_missing_checkpoint(tmp_path, capsys):
    out = tmp_path / "g.npz"
    args = ["export", "--checkpoint", str(tmp_path / "no_run"), "--out", str(out)]
    assert main(args) == 2
    assert "no_run" in capsys.readouterr().err
    assert not out.exists()


def test_export_command_rejects_suffix(run_dir, tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["export", "--checkpoint", str(run_dir), "--out", str(out)]) == 2
    assert "g.png" in capsys.readouterr().err
    assert not out.exists()


def test_export_command_rejects_negative_step(run_dir, tmp_path, capsys):
    args = ["export", "--checkpoint", str(run_dir), "--out", "g.npz", "--step", "-1"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "-1" in capsys.readouterr().err


def test_load_rejects_non_zip_without_pickle_advice(tmp_path):
    bogus = tmp_path / "bogus.npz"
    bogus.write_text("not a zip")
    with pytest.raises(
        pretrained.GeneratorFileError, match="not an npz archive"
    ) as error:
        pretrained.load_generator(bogus)
    assert "pickle" not in str(error.value)


def test_load_rejects_folder_with_export_hint(tmp_path):
    with pytest.raises(pretrained.GeneratorFileError, match="is a folder") as error:
        pretrained.load_generator(tmp_path)
    assert "export" in str(error.value)
