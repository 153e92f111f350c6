"""User mistakes and damaged runs end in clear messages, not tracebacks."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from gan_lessons import config
from gan_lessons.cli import main
from gan_lessons.models import sample_latent

TINY_RUN = ["--width", "8", "--batch-size", "8", "--data", "bundled", "--no-progress"]


def _train(out, steps, *extra):
    return main(["train", "--steps", str(steps), *TINY_RUN, "--out", str(out), *extra])


def test_divergence_exits_with_message(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, 5, "--lr", "1e38", "--log-every", "1") == 2
    message = capsys.readouterr().err
    assert "diverged at step 1" in message
    assert "No checkpoint was saved" in message
    assert "--lr" in message
    assert not (out / "checkpoints").exists()
    # Every line is strict JSON: non-finite values are written as null.
    for line in (out / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line, parse_constant=pytest.fail)
        assert record["step"] >= 1


def test_resume_past_end_changes_nothing(tmp_path, caplog):
    out = tmp_path / "run"
    assert _train(out, 4) == 0
    before = (out / "metrics.jsonl").read_text()
    assert _train(out, 3, "--resume") == 0
    assert "nothing to train" in caplog.text
    assert (out / "metrics.jsonl").read_text() == before
    assert json.loads((out / "config.json").read_text())["train_config"]["steps"] == 4


def test_unreadable_newest_meta_falls_back(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, 6, "--checkpoint-every", "3") == 0
    (out / "checkpoints" / "6" / "meta" / "metadata").write_text("garbage{")
    samples = tmp_path / "samples.npz"
    code = main(["sample", "--checkpoint", str(out), "--n", "4", "--out", str(samples)])
    assert code == 0, capsys.readouterr().err
    assert _train(out, 7, "--resume", "--checkpoint-every", "3") == 0
    meta = json.loads((out / "checkpoints" / "6" / "meta" / "metadata").read_text())
    # The resumed run, which restarted at step 3, saved step 6 again.
    assert meta["step"] == 6
    shutil.rmtree(out)


def test_sample_out_under_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out, 2) == 0
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["sample", "--checkpoint", str(out), "--out", str(blocker / "x.npz")])
    assert code == 2
    assert "Choose another path" in capsys.readouterr().err


@pytest.mark.parametrize(
    "field,value",
    [
        ("steps", 1.5),
        ("batch_size", 2.5),
        ("generator_steps", 1.5),
        ("seed", 1.5),
        ("generator_learning_rate", math.nan),
        ("discriminator_learning_rate", math.inf),
    ],
)
def test_train_config_rejects(field, value):
    with pytest.raises(ValueError, match=field):
        config.TrainConfig(**{field: value})


@pytest.mark.parametrize(
    "overrides,name",
    [
        ({"width": 2.5}, "width"),
        ({"latent_dim": 2.5}, "latent_dim"),
    ],
)
def test_model_preset_rejects(overrides, name):
    with pytest.raises(ValueError, match=name):
        config.model_preset("dcgan", **overrides)


@pytest.mark.parametrize(
    "field,value",
    [("leaky_relu_slope", -1.0), ("init_stddev", math.nan), ("generator_kernel", 2.5)],
)
def test_model_config_rejects(field, value):
    with pytest.raises(ValueError, match=field):
        config.ModelConfig(**{field: value})


def test_train_preset_rejects_unknown_field():
    with pytest.raises(ValueError, match="step"):
        config.train_preset("dcgan", step=100)


def test_sample_latent_rejects_negative():
    import jax

    with pytest.raises(ValueError, match="num=-1"):
        sample_latent(jax.random.key(0), -1, config.model_preset())


def test_train_step_rejects_nan_batch(gan, init_state):
    batch = np.full((8, 32, 32, 1), np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN"):
        gan.train_step(init_state, batch)
