"""The README's training command produces digits a classifier recognises.

This runs the full default schedule, which takes minutes on a 2-core CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gan_lessons import classifier

NUM_SAMPLES = 256

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("default_run")
    env = dict(os.environ)
    # The command exactly as the README gives it, with the output folder moved
    # into the test's temporary folder.
    train = subprocess.run(
        [sys.executable, "-m", "gan_lessons", "train", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    samples = out / "digits.npz"
    sample = subprocess.run(
        [
            sys.executable,
            "-m",
            "gan_lessons",
            "sample",
            "--checkpoint",
            str(out),
            "--n",
            str(NUM_SAMPLES),
            "--seed",
            "1",
            "--out",
            str(samples),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert sample.returncode == 0, sample.stderr[-3000:]
    with np.load(samples) as archive:
        images = archive["images"]
    return out, images, train


def test_default_run_writes_outputs(default_run):
    out, _, train = default_run
    for name in ("samples.png", "losses.png", "metrics.jsonl", "config.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "checkpoints").iterdir())
    assert "Samples:" in train.stdout


def test_default_run_digits_are_recognisable(default_run):
    _, images, _ = default_run
    assert images.shape == (NUM_SAMPLES, 32, 32, 1)
    verdict = classifier.judge_samples(images, confidence=0.9)
    report = {
        key: verdict[key]
        for key in ("confident_fraction", "num_classes_present", "class_histogram")
    }
    # Most samples classified with confidence of at least 0.9.
    assert verdict["confident_fraction"] > 0.5, report
    # At least 8 of the 10 digit classes appear.
    assert verdict["num_classes_present"] >= 8, report


def test_default_run_evaluates_quality(default_run):
    out, _, _ = default_run
    lines = (out / "evaluation.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["step"] for record in records] == [1000, 2000, 3000]
    final = records[-1]
    # Closer to real digits than after the first 1,000 steps, and no copying.
    assert final["frechet"] < records[0]["frechet"], records
    assert final["near_copy_fraction"] < 0.05, final
    assert final["num_classes_present"] >= 8, final
