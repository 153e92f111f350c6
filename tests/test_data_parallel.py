"""Data-parallel training over several devices matches one device.

XLA's CPU backend pretends to have several devices when
``--xla_force_host_platform_device_count`` is set before JAX starts, so the
comparison runs in a subprocess with that flag.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax
    import numpy as np

    from gan_lessons import config, train

    assert jax.device_count() == 4, jax.devices()
    model_config = config.model_preset("dcgan", width=8)
    train_config = config.train_preset("dcgan", batch_size=8)
    single = train.GAN(model_config, train_config)
    parallel = train.GAN(
        model_config, train_config, mesh=train.data_parallel_mesh()
    )
    rng = np.random.default_rng(0)
    batches = [
        rng.uniform(-1, 1, (8, 32, 32, 1)).astype(np.float32) for _ in range(3)
    ]
    state_1, state_4 = single.init(), parallel.init()
    for batch in batches:
        state_1, metrics_1 = single.train_step(state_1, batch)
        state_4, metrics_4 = parallel.train_step(state_4, batch)

    kernel = state_4.generator_params["project"]["kernel"]
    print("replicated", kernel.sharding.is_fully_replicated)
    print("devices", len(kernel.sharding.device_set))
    worst = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(state_1), jax.tree.leaves(state_4))
    )
    print("max_difference", worst)
    loss_1 = float(metrics_1["discriminator_loss"])
    loss_4 = float(metrics_4["discriminator_loss"])
    print("loss_difference", abs(loss_1 - loss_4))
    try:
        train.GAN(
            model_config,
            config.train_preset("dcgan", batch_size=6),
            mesh=train.data_parallel_mesh(),
        )
    except ValueError as error:
        print("error", error)
    """
)


def _run_on_four_devices() -> dict[str, str]:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    values = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition(" ")
        values[name] = value
    return values


def test_data_parallel_matches_one_device():
    values = _run_on_four_devices()
    assert values["replicated"] == "True"
    assert values["devices"] == "4"
    # Three steps of Adam; the reductions run in another order across devices.
    assert float(values["max_difference"]) < 1e-4
    assert float(values["loss_difference"]) < 1e-5
    assert "batch_size=6" in values["error"]
    assert "multiple of 4" in values["error"]


def test_train_command_data_parallel_resumes(tmp_path):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    out = tmp_path / "run"
    base = [sys.executable, "-m", "gan_lessons", "train", "--data-parallel"]
    base += ["--width", "8", "--batch-size", "8", "--data", "bundled"]
    base += ["--no-progress", "--out", str(out)]
    first = subprocess.run(
        base + ["--steps", "4"], capture_output=True, text=True, env=env, timeout=600
    )
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run(
        base + ["--steps", "6", "--resume"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    steps = [
        json.loads(line)["step"]
        for line in (out / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_train_command_rejects_uneven_split(tmp_path):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    result = subprocess.run(
        [sys.executable, "-m", "gan_lessons", "train", "--data-parallel"]
        + ["--batch-size", "7", "--steps", "2", "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 2
    assert "batch_size=7" in result.stderr
    assert "multiple of 2" in result.stderr
