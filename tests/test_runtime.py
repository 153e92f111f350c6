"""The device summary that the first code cell of every lesson prints."""

from __future__ import annotations

import types

import jax

from gan_lessons import runtime


def _devices(platform: str, count: int, kind: str) -> list[types.SimpleNamespace]:
    return [
        types.SimpleNamespace(platform=platform, device_kind=kind) for _ in range(count)
    ]


def test_describe_devices_on_this_machine():
    text = runtime.describe_devices()
    devices = jax.devices()
    assert text.startswith(f"JAX {jax.__version__} sees {len(devices)} ")
    assert devices[0].platform.upper() in text
    assert "\n" not in text


def test_describe_devices_cpu_states_run_time():
    text = runtime.describe_devices(_devices("cpu", 1, "cpu"))
    assert "sees 1 CPU device (cpu)." in text
    assert "about 4.5 minutes on 2 idle cores" in text
    assert "Runtime > Change runtime type" in text
    assert "split each batch" not in text


def test_describe_devices_gpu_marks_estimate():
    text = runtime.describe_devices(_devices("gpu", 1, "NVIDIA H100"))
    assert "sees 1 GPU device (NVIDIA H100)." in text
    assert "milliseconds" in text
    assert "an estimate" in text
    assert "compiling" in text


def test_describe_devices_several_name_data_parallel():
    text = runtime.describe_devices(_devices("tpu", 8, "TPU v2"))
    assert "sees 8 TPU devices (TPU v2)." in text
    assert "The lessons train on one device." in text
    assert "--data-parallel` split each batch over all 8." in text


def test_describe_devices_unknown_platform():
    text = runtime.describe_devices(_devices("metal", 1, "Apple M2"))
    assert "sees 1 METAL device (Apple M2)." in text
    assert "Training runs on the metal device, untimed here." in text
