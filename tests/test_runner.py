"""Sample-quality evaluations during ``runner.run_training``."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from gan_lessons import config, data, runner

STEPS = 4


def _options(out: Path, **overrides) -> runner.RunOptions:
    settings = {
        "out_dir": out,
        "data_source": "bundled",
        "log_every": 2,
        "sample_every": 0,
        "checkpoint_every": 2,
        "evaluate_every": 2,
        "evaluate_samples": 50,
        "progress": False,
    }
    settings.update(overrides)
    return runner.RunOptions(**settings)


def _evaluation_steps(out: Path) -> list[int]:
    lines = (out / "evaluation.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, model_config, train_config):
    out = tmp_path_factory.mktemp("runner") / "run"
    short = dataclasses.replace(train_config, steps=STEPS)
    result = runner.run_training(model_config, short, _options(out))
    return out, result


def test_evaluations_written_at_interval(evaluated_run):
    out, _ = evaluated_run
    assert _evaluation_steps(out) == [2, 4]


def test_evaluation_record_has_figures(evaluated_run):
    out, result = evaluated_run
    record = json.loads((out / "evaluation.jsonl").read_text().splitlines()[-1])
    for name in ("frechet", "frechet_real", "near_copy_fraction", "recall"):
        assert np.isfinite(record[name]), name
    assert len(record["class_histogram"]) == 10
    assert sum(record["class_histogram"]) == 50
    assert [r["step"] for r in result.evaluations] == [2, 4]


def test_resume_keeps_earlier_evaluations(evaluated_run, tmp_path, train_config):
    out, result = evaluated_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    longer = dataclasses.replace(train_config, steps=STEPS + 2)
    resumed = runner.run_training(
        result.gan.model_config, longer, _options(copy, resume=True)
    )
    assert _evaluation_steps(copy) == [2, 4, 6]
    assert [r["step"] for r in resumed.evaluations] == [2, 4, 6]


def test_colour_model_not_evaluated(tmp_path, train_config, caplog):
    colour = config.model_preset("dcgan", width=8, channels=3)
    rng = np.random.default_rng(0)
    dataset = data.Dataset(
        images=rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8),
        labels=np.zeros(32, np.int32),
        source="random",
    )
    short = dataclasses.replace(train_config, steps=2)
    with caplog.at_level(logging.INFO, logger="gan_lessons"):
        result = runner.run_training(
            colour, short, _options(tmp_path / "run"), dataset=dataset
        )
    assert result.evaluations == []
    assert not (tmp_path / "run" / "evaluation.jsonl").exists()
    assert "Skipping sample-quality evaluations" in caplog.text


def test_too_many_evaluation_samples_rejected(tmp_path, model_config, train_config):
    short = dataclasses.replace(train_config, steps=2)
    with pytest.raises(ValueError, match="evaluate_samples=5000"):
        runner.run_training(
            model_config, short, _options(tmp_path / "run", evaluate_samples=5000)
        )


@pytest.mark.parametrize(
    ("name", "value"), [("evaluate_every", -1), ("evaluate_samples", 5)]
)
def test_options_reject_bad_evaluation_settings(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"{name}={value}"):
        _options(tmp_path, **{name: value})


def test_interrupt_inside_library_call_stops_run(
    tmp_path, model_config, train_config, monkeypatch
):
    # A library that catches KeyboardInterrupt, as a checkpoint writer may,
    # must not make the run ignore Ctrl-C.
    from gan_lessons import checkpoint

    original_save = checkpoint.Checkpointer.save
    calls = []

    def save_swallowing_interrupt(self, gan, state, extra=None):
        calls.append(int(state.step))
        if len(calls) == 1:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)
            except KeyboardInterrupt:
                pass
        original_save(self, gan, state, extra)

    monkeypatch.setattr(checkpoint.Checkpointer, "save", save_swallowing_interrupt)
    longer = dataclasses.replace(train_config, steps=20)
    out = tmp_path / "run"
    # The test process may have been started with SIGINT ignored (nohup).
    handler_before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run_training(
                model_config,
                longer,
                _options(out, evaluate_every=0, checkpoint_every=2),
            )
        handler_after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, handler_before)
    # Stopped after the step whose save received the interrupt, with that
    # step saved, instead of training on to step 20.
    assert calls[0] == 2
    assert checkpoint.Checkpointer(out / "checkpoints").latest_step() == 2
    assert handler_after is signal.default_int_handler
