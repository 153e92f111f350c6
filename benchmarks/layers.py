"""Time forward + backward of the DCGAN's strided convolution layers.

For each layer shape and batch size, every formulation in `gan_lessons.layers`
(and PyTorch's nn.Conv2d / nn.ConvTranspose2d, when torch is installed) runs
forward and backward with respect to the input and the kernel. Candidates are
timed interleaved, one call each per round, so that load from other processes
hits them alike; the table reports the median over rounds.

Run from the repository root:

    python benchmarks/layers.py --quick
    python benchmarks/layers.py --batch 64 128 256 --repeats 15

GFLOP/s counts the useful work only: 3 * 2 * N * kh * kw * in * out * (output
pixels of the strided convolution, or input pixels of the transposed one),
which is forward plus both gradients. The ceiling is the rate of a large
float32 `jnp.dot` under jit, measured in the same process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from gan_lessons import layers  # noqa: E402

try:
    import torch
except ImportError:  # torch is a benchmark-only reference.
    torch = None


@dataclass(frozen=True)
class LayerShape:
    """A stride-2, 'SAME'-padded layer of the DCGAN."""

    name: str
    transpose: bool
    size: int  # Input height and width.
    c_in: int
    c_out: int
    kernel: int

    @property
    def out_size(self) -> int:
        return self.size * 2 if self.transpose else self.size // 2

    def gflop(self, batch: int) -> float:
        pixels = self.size**2 if self.transpose else self.out_size**2
        macs = batch * pixels * self.kernel**2 * self.c_in * self.c_out
        return 3 * 2 * macs / 1e9


def dcgan_shapes(kernels: list[int]) -> list[LayerShape]:
    shapes = []
    for k in kernels:
        shapes += [
            LayerShape(f"G 4x4x256->8x8x128 k{k}", True, 4, 256, 128, k),
            LayerShape(f"G 8x8x128->16x16x64 k{k}", True, 8, 128, 64, k),
            LayerShape(f"G 16x16x64->32x32x1 k{k}", True, 16, 64, 1, k),
            LayerShape(f"D 32x32x1->16x16x64 k{k}", False, 32, 1, 64, k),
            LayerShape(f"D 16x16x64->8x8x128 k{k}", False, 16, 64, 128, k),
            LayerShape(f"D 8x8x128->4x4x256 k{k}", False, 8, 128, 256, k),
        ]
    return shapes


# JAX candidates. Each returns a jitted f(x, kernel, cotangent) -> (y, dx, dkernel).


def _jax_candidate(apply: Callable) -> Callable:
    def forward_backward(x, kernel, cotangent):
        y, vjp = jax.vjp(apply, x, kernel)
        dx, dkernel = vjp(cotangent)
        return y, dx, dkernel

    return jax.jit(forward_backward)


def jax_candidates(shape: LayerShape) -> dict[str, Callable]:
    """Return {name: (jitted fwd+bwd, whether it takes NCHW data)} for one layer."""
    candidates = {}
    if shape.transpose:
        for impl in layers.CONV_TRANSPOSE_IMPLS[1:]:
            candidates[impl] = (
                _jax_candidate(
                    lambda x, w, impl=impl: layers.conv_transpose2d(
                        x, w, strides=2, padding="SAME", impl=impl
                    )
                ),
                False,
            )
        candidates["lax NCHW"] = (
            _jax_candidate(
                lambda x, w: lax.conv_transpose(
                    x, w, (2, 2), "SAME", dimension_numbers=("NCHW", "HWIO", "NCHW")
                )
            ),
            True,
        )
    else:
        for impl in layers.CONV_IMPLS[1:]:
            candidates[impl] = (
                _jax_candidate(
                    lambda x, w, impl=impl: layers.conv2d(
                        x, w, strides=2, padding="SAME", impl=impl
                    )
                ),
                False,
            )
        candidates["lax NCHW"] = (
            _jax_candidate(
                lambda x, w: lax.conv_general_dilated(
                    x, w, (2, 2), "SAME", dimension_numbers=("NCHW", "HWIO", "NCHW")
                )
            ),
            True,
        )
    return candidates


def torch_candidate(shape: LayerShape, batch: int) -> Callable:
    """Return a call that runs the PyTorch layer forward and backward, NCHW."""
    k = shape.kernel
    padding = (k - 1) // 2
    # With this padding and output_padding, size -> 2*size (transposed) or
    # size -> size/2, the shapes that 'SAME' gives in JAX.
    if shape.transpose:
        module = torch.nn.ConvTranspose2d(
            shape.c_in,
            shape.c_out,
            k,
            stride=2,
            padding=padding,
            output_padding=2 + 2 * padding - k,
        )
    else:
        module = torch.nn.Conv2d(shape.c_in, shape.c_out, k, stride=2, padding=padding)
    x = torch.randn(batch, shape.c_in, shape.size, shape.size, requires_grad=True)
    cotangent = torch.randn(batch, shape.c_out, shape.out_size, shape.out_size)
    if module(x).shape != cotangent.shape:
        raise RuntimeError(f"torch layer for {shape.name} has the wrong output shape")

    def forward_backward():
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).backward(cotangent)

    return forward_backward


# Timing.


def measure_matmul_ceiling(size: int = 2048, repeats: int = 9) -> float:
    """Return the median GFLOP/s of a jitted float32 (size x size) @ (size x size)."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(size, size)), jnp.float32)
    b = jnp.asarray(np.random.default_rng(1).normal(size=(size, size)), jnp.float32)
    matmul = jax.jit(jnp.dot)
    matmul(a, b).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).block_until_ready()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def time_layer(shape: LayerShape, batch: int, repeats: int) -> dict[str, float]:
    """Return the median milliseconds per fwd+bwd of every candidate."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, shape.size, shape.size, shape.c_in))
    kernel = rng.normal(size=(shape.kernel, shape.kernel, shape.c_in, shape.c_out))
    cotangent = rng.normal(size=(batch, shape.out_size, shape.out_size, shape.c_out))
    x, kernel, cotangent = (jnp.asarray(a, jnp.float32) for a in (x, kernel, cotangent))
    x_nchw = x.transpose(0, 3, 1, 2)
    cotangent_nchw = cotangent.transpose(0, 3, 1, 2)

    calls = {}
    for name, (fn, nchw) in jax_candidates(shape).items():
        args = (x_nchw, kernel, cotangent_nchw) if nchw else (x, kernel, cotangent)
        calls[name] = lambda fn=fn, args=args: jax.block_until_ready(fn(*args))
    if torch is not None:
        calls["torch"] = torch_candidate(shape, batch)

    for call in calls.values():  # Compile and warm up.
        call()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[64, 128, 256], help="batch sizes"
    )
    parser.add_argument(
        "--repeats", type=int, default=9, help="timed rounds per layer and batch"
    )
    parser.add_argument(
        "--kernel", type=int, nargs="+", default=[4, 5], help="kernel sizes"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="batch 128, kernel 4 and 3 rounds only (about a minute)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument(
        "--only", default="", help="run only layers whose name contains this text"
    )
    args = parser.parse_args()
    if args.quick:
        args.batch, args.kernel, args.repeats = [128], [4], 3
    if torch is not None:
        torch.set_num_threads(args.threads)

    print(
        f"jax {jax.__version__}, devices {jax.devices()}, "
        f"torch {torch.__version__ if torch else 'not installed'}, "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
    )
    ceiling = measure_matmul_ceiling()
    print(f"float32 matmul ceiling (jitted 2048x2048 jnp.dot): {ceiling:.0f} GFLOP/s")
    print()
    header = (
        f"{'layer':28} {'batch':>5} {'candidate':15} {'ms':>8} {'GFLOP/s':>8} "
        f"{'ceiling':>7} {'vs lax':>7} {'vs torch':>8}"
    )
    print(header)
    print("-" * len(header))
    for shape in dcgan_shapes(args.kernel):
        if args.only not in shape.name:
            continue
        for batch in args.batch:
            ms = time_layer(shape, batch, args.repeats)
            gflop = shape.gflop(batch)
            for name, value in ms.items():
                rate = gflop / value * 1e3
                vs_torch = ms["torch"] / value if "torch" in ms else float("nan")
                print(
                    f"{shape.name:28} {batch:5d} {name:15} {value:8.2f} {rate:8.1f} "
                    f"{rate / ceiling:7.0%} {ms['lax'] / value:6.2f}x "
                    f"{vs_torch:7.2f}x",
                    flush=True,
                )
            print()


if __name__ == "__main__":
    main()
