"""Strided convolution layers for the DCGAN that train fast on XLA CPU.

`nnx.ConvTranspose` lowers a stride-2 layer to one `lax.conv_transpose`. On XLA
CPU (jaxlib 0.10.2) its kernel gradient is a convolution with a dilated kernel
and reversed window that no tuned library handles: at batch 128 it took 456 of
the 510 ms of forward plus backward for the 8x8x128 -> 16x16x64 layer. The
functions here compute the same result with stride-1 convolutions and matrix
products, whose gradients XLA sends to its tuned kernels:

- A transposed convolution with stride s is s*s stride-1 convolutions of the
  undilated input, one per output phase (sub-pixel convolution), interleaved
  by depth-to-space. They run as one convolution or one matrix product with
  s*s*out channels ('subpixel', 'subpixel_im2col'), or one per phase
  ('phases', 'im2col'). Alternatively every input pixel times every kernel tap
  is one matrix product, and the products are added into the output at their
  offsets ('col2im').
- A strided convolution is one matrix product over strided input patches
  ('im2col'), or a stride-1 convolution of the space-to-depth input.

`select_conv_impl` and `select_conv_transpose_impl` pick the formulation that
measured fastest, and benchmarks/layers.py prints the measurements.

Parameters keep flax's layout: `kernel` has shape (kh, kw, in, out) and `bias`
shape (out,), so `Conv` and `ConvTranspose` can load the parameters of
`nnx.Conv` and `nnx.ConvTranspose` and return the same outputs. The kernel is
rearranged inside each call because it is small next to the activations.

All images are NHWC: (batch, height, width, channels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax import lax

__all__ = [
    "CONV_IMPLS",
    "CONV_TRANSPOSE_IMPLS",
    "Conv",
    "ConvTranspose",
    "conv2d",
    "conv_transpose2d",
    "select_conv_impl",
    "select_conv_transpose_impl",
]

PaddingLike = str | int | Sequence[int | tuple[int, int]]

CONV_IMPLS = ("auto", "lax", "space_to_depth", "im2col")
CONV_TRANSPOSE_IMPLS = (
    "auto",
    "lax",
    "subpixel",
    "subpixel_im2col",
    "phases",
    "im2col",
    "col2im",
)

_DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")

# The initializers that nnx.Conv and nnx.ConvTranspose use by default.
DEFAULT_KERNEL_INIT = nnx.initializers.lecun_normal()
DEFAULT_BIAS_INIT = nnx.initializers.zeros_init()


# Argument handling.


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """Return `value` as a (height, width) pair of positive ints."""
    if isinstance(value, int):
        pair = (value, value)
    else:
        pair = tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(
            f"{name} must be a positive int or a pair of positive ints for a 2D "
            f"convolution, got {value!r}"
        )
    return pair


def _canonical_padding(padding: PaddingLike) -> str | tuple[tuple[int, int], ...]:
    """Return 'SAME', 'VALID' or ((lo, hi), (lo, hi)) the way flax reads it."""
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"padding {padding!r} is not supported. Use 'SAME', 'VALID', an "
                "int or (low, high) pairs, or nnx.Conv / nnx.ConvTranspose for "
                "'CIRCULAR' and 'CAUSAL'"
            )
        return padding.upper()
    if isinstance(padding, int):
        return ((padding, padding),) * 2
    pairs = []
    for item in padding:
        if isinstance(item, int):
            pairs.append((item, item))
        else:
            low, high = item
            pairs.append((int(low), int(high)))
    if len(pairs) == 1:
        pairs *= 2
    if len(pairs) != 2:
        raise ValueError(
            f"padding needs one (low, high) pair per spatial dimension, got {padding!r}"
        )
    return tuple(pairs)


def _check_ranks(x: jax.Array, kernel: jax.Array) -> None:
    if x.ndim != 4:
        raise ValueError(f"x must be NHWC with 4 dimensions, got shape {x.shape}")
    if kernel.ndim != 4:
        raise ValueError(
            f"kernel must have shape (kh, kw, in, out), got shape {kernel.shape}"
        )
    if x.shape[-1] != kernel.shape[2]:
        raise ValueError(
            f"x has {x.shape[-1]} channels but the kernel expects {kernel.shape[2]} "
            f"(kernel shape {kernel.shape})"
        )


def _add_bias(y: jax.Array, bias: jax.Array | None) -> jax.Array:
    if bias is None:
        return y
    return y + jnp.reshape(bias, (1, 1, 1, -1))


def _pad_spatial(x: jax.Array, pads: Sequence[tuple[int, int]]) -> jax.Array:
    """Pad (or crop, for negative amounts) the two spatial axes of NHWC `x`."""
    zero = jnp.zeros((), x.dtype)
    config = [(0, 0, 0), *((low, high, 0) for low, high in pads), (0, 0, 0)]
    return lax.pad(x, zero, config)


def _select_taps(
    kernel: jax.Array, taps_h: np.ndarray, taps_w: np.ndarray
) -> jax.Array:
    """Pick kernel taps by static index tables, where index k means a zero tap.

    Static slices and stacks keep the gradient a sum of pads, which XLA fuses.
    A gather would make the gradient a slow scatter-add.

    Args:
      kernel: (kh, kw, in, out).
      taps_h: int table of shape (a, b) with entries in [0, kh].
      taps_w: int table of shape (c, d) with entries in [0, kw].

    Returns:
      (a, b, c, d, in, out).
    """
    kh, kw, c_in, c_out = kernel.shape
    zero_row = jnp.zeros((kw, c_in, c_out), kernel.dtype)
    rows = [kernel[t] if t < kh else zero_row for t in taps_h.ravel().tolist()]
    by_row = jnp.stack(rows).reshape(*taps_h.shape, kw, c_in, c_out)
    zero_column = jnp.zeros((*taps_h.shape, c_in, c_out), kernel.dtype)
    columns = [
        by_row[:, :, t] if t < kw else zero_column for t in taps_w.ravel().tolist()
    ]
    selected = jnp.stack(columns, axis=2)
    return selected.reshape(*taps_h.shape, *taps_w.shape, c_in, c_out)


def _depth_to_space(z: jax.Array, strides: tuple[int, int]) -> jax.Array:
    """(N, Q, P, sh*sw*C) with channels ordered (rh, rw, c) -> (N, Q*sh, P*sw, C)."""
    n, q, p, channels = z.shape
    sh, sw = strides
    c = channels // (sh * sw)
    z = z.reshape(n, q, p, sh, sw, c)
    z = z.transpose(0, 1, 3, 2, 4, 5)
    return z.reshape(n, q * sh, p * sw, c)


def _space_to_depth(x: jax.Array, strides: tuple[int, int]) -> jax.Array:
    """(N, H, W, C) with H, W divisible by the strides -> (N, H/sh, W/sw, sh*sw*C)."""
    n, h, w, c = x.shape
    sh, sw = strides
    x = x.reshape(n, h // sh, sh, w // sw, sw, c)
    x = x.transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h // sh, w // sw, sh * sw * c)


def _patches(
    x: jax.Array,
    window: tuple[int, int],
    out_hw: tuple[int, int],
    strides: tuple[int, int],
) -> jax.Array:
    """Stack the input windows of a VALID convolution along channels (im2col).

    Args:
      x: (N, H, W, C), already padded.
      window: (kh, kw).
      out_hw: (Ho, Wo), the number of windows along each axis.
      strides: (sh, sw) between windows.

    Returns:
      (N, Ho, Wo, kh*kw*C), channels ordered (tap row, tap column, c) like a
      flattened HWIO kernel.
    """
    n, _, _, c = x.shape
    (kh, kw), (ho, wo), (sh, sw) = window, out_hw, strides
    columns = []
    for i in range(kh):
        for j in range(kw):
            start = (0, i, j, 0)
            limit = (n, i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1, c)
            columns.append(lax.slice(x, start, limit, (1, sh, sw, 1)))
    return jnp.concatenate(columns, axis=-1)


def _matmul_channels(patches: jax.Array, weights: jax.Array) -> jax.Array:
    """(N, H, W, K) x (K, C) -> (N, H, W, C) as a single matrix product."""
    n, h, w, k = patches.shape
    y = jnp.dot(patches.reshape(n * h * w, k), weights)
    return y.reshape(n, h, w, weights.shape[-1])


# Strided convolution.


def _space_to_depth_taps(k: int, s: int) -> np.ndarray:
    """Kernel tap for each (block offset m, phase r) of one spatial axis.

    After padding, output o reads input s*o + t for taps t < k. Writing
    t = s*m + r, that is phase r of block o + m of the space-to-depth input.
    Entries equal to k mark taps past the kernel, which get zero weight.

    Returns:
      Int table of shape (ceil(k / s), s).
    """
    blocks = -(-k // s)
    taps = np.arange(blocks)[:, None] * s + np.arange(s)[None, :]
    return np.where(taps < k, taps, k)


def _conv_space_to_depth(x, kernel, strides, pads):
    (kh, kw), (sh, sw) = kernel.shape[:2], strides
    _, h, w, _ = x.shape
    out_h = (h + sum(pads[0]) - kh) // sh + 1
    out_w = (w + sum(pads[1]) - kw) // sw + 1
    taps_h, taps_w = _space_to_depth_taps(kh, sh), _space_to_depth_taps(kw, sw)
    blocks_h, blocks_w = taps_h.shape[0], taps_w.shape[0]

    # Pad so that every output reads whole blocks: out + blocks - 1 of them.
    (low_h, _), (low_w, _) = pads
    high_h = sh * (out_h + blocks_h - 1) - h - low_h
    high_w = sw * (out_w + blocks_w - 1) - w - low_w
    x = _pad_spatial(x, ((low_h, high_h), (low_w, high_w)))
    x = _space_to_depth(x, strides)  # (N, out_h + bh - 1, out_w + bw - 1, sh*sw*in)

    # (bh, sh, bw, sw, in, out) -> (bh, bw, sh*sw*in, out), matching x's channels.
    block_kernel = _select_taps(kernel, taps_h, taps_w).transpose(0, 2, 1, 3, 4, 5)
    block_kernel = block_kernel.reshape(blocks_h, blocks_w, -1, kernel.shape[-1])
    return lax.conv_general_dilated(
        x, block_kernel, (1, 1), "VALID", dimension_numbers=_DIMENSION_NUMBERS
    )


def _conv_im2col(x, kernel, strides, pads):
    kh, kw, c_in, c_out = kernel.shape
    _, h, w, _ = x.shape
    out_h = (h + sum(pads[0]) - kh) // strides[0] + 1
    out_w = (w + sum(pads[1]) - kw) // strides[1] + 1
    x = _pad_spatial(x, pads)
    patches = _patches(x, (kh, kw), (out_h, out_w), strides)
    return _matmul_channels(patches, kernel.reshape(kh * kw * c_in, c_out))


def select_conv_impl(
    x_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: tuple[int, int],
) -> str:
    """Choose the fastest measured formulation of a strided convolution.

    Args:
      x_shape: (N, H, W, in).
      kernel_shape: (kh, kw, in, out).
      strides: (sh, sw).

    Returns:
      One of `CONV_IMPLS` other than 'auto'.
    """
    del x_shape, kernel_shape  # One rule fits every DCGAN shape measured so far.
    if strides == (1, 1):
        return "lax"
    # Measured with benchmarks/layers.py on 2 CPU cores, kernels 4 and 5,
    # batch 64-256: im2col took 0.37-0.55x the time of 'lax' with 1 input
    # channel. With 64 or 128 it took 0.8-1.2x the time of 'lax', varying
    # between runs, except 0.17x where 'lax' falls off its fast path (kernel
    # 5, 8x8x128 -> 4x4x256).
    return "im2col"


def conv2d(
    x: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None = None,
    *,
    strides: int | Sequence[int] = 1,
    padding: PaddingLike = "SAME",
    impl: str = "auto",
) -> jax.Array:
    """Apply a 2D convolution, equal to `nnx.Conv` with the same parameters.

    Args:
      x: input images (N, H, W, in).
      kernel: (kh, kw, in, out), laid out like `nnx.Conv.kernel`.
      bias: optional (out,).
      strides: int or (sh, sw).
      padding: 'SAME', 'VALID', an int, or one (low, high) pair per spatial
        axis, read as `nnx.Conv` reads it.
      impl: 'lax' (one `lax.conv_general_dilated`), 'space_to_depth' (a
        stride-1 convolution of the space-to-depth input), 'im2col' (one
        matrix product over strided patches) or 'auto' (`select_conv_impl`).
        Stride 1 always uses 'lax'.

    Returns:
      (N, Ho, Wo, out), with Ho = ceil(H / sh) for 'SAME' padding.
    """
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    _check_ranks(x, kernel)
    strides = _pair(strides, "strides")
    if impl not in CONV_IMPLS:
        raise ValueError(f"impl must be one of {CONV_IMPLS}, got {impl!r}")
    padding = _canonical_padding(padding)
    if isinstance(padding, str):
        pads = lax.padtype_to_pads(x.shape[1:3], kernel.shape[:2], strides, padding)
    else:
        pads = padding
    pads = tuple(tuple(p) for p in pads)

    if impl == "auto":
        impl = select_conv_impl(x.shape, kernel.shape, strides)
    if strides == (1, 1):
        impl = "lax"

    if impl == "lax":
        y = lax.conv_general_dilated(
            x, kernel, strides, pads, dimension_numbers=_DIMENSION_NUMBERS
        )
    elif impl == "space_to_depth":
        y = _conv_space_to_depth(x, kernel, strides, pads)
    else:
        y = _conv_im2col(x, kernel, strides, pads)
    return _add_bias(y, bias)


# Transposed convolution.


def _transpose_pads(k: int, s: int, padding: str | tuple[int, int]) -> tuple[int, int]:
    """Padding of the dilated input that `lax.conv_transpose` uses on one axis."""
    if padding == "SAME":
        total = k + s - 2
        low = k - 1 if s > k - 1 else math.ceil(total / 2)
        return low, total - low
    if padding == "VALID":
        total = k + s - 2 + max(k - s, 0)
        return k - 1, total - (k - 1)
    return padding


def _transpose_out_size(size: int, k: int, s: int, pads: tuple[int, int]) -> int:
    return max(s * (size - 1) + 1 + pads[0] + pads[1] - k + 1, 0)


def _phase_taps(k: int, s: int, low: int) -> tuple[int, np.ndarray]:
    """Kernel tap for each (input offset, output phase) of one spatial axis.

    `lax.conv_transpose` without kernel flipping computes
    y[o] = sum_t d[o + t - low] * w[t], where d is the input dilated by s.
    For output o = s*q + r the nonzero terms are those with
    (r + t - low) % s == 0, which read input q + j with j = (r + t - low) / s.

    Returns:
      (j_min, table): the smallest offset j, and an int table of shape
      (J, s) whose entry [j - j_min, r] is the tap t, or k where output
      phase r does not read input offset j.
    """
    pairs = [
        ((r + t - low) // s, r, t)
        for r in range(s)
        for t in range(k)
        if (r + t - low) % s == 0
    ]
    offsets = [j for j, _, _ in pairs]
    j_min, j_max = min(offsets), max(offsets)
    table = np.full((j_max - j_min + 1, s), k)
    for j, r, t in pairs:
        table[j - j_min, r] = t
    return j_min, table


def _phase_pads(
    size: int, out_size: int, s: int, j_min: int, window: int
) -> tuple[tuple[int, int], int]:
    """Padding of the input for a stride-1 VALID convolution over all phases."""
    per_phase = -(-out_size // s)
    low = -j_min
    high = per_phase + window - 1 - size - low
    return (low, high), per_phase


def _subpixel_kernel(kernel, table_h, table_w):
    """(kh, kw, in, out) -> (J_h, J_w, in, sh*sw*out) with outputs ordered (rh, rw)."""
    _, s_h = table_h.shape
    _, s_w = table_w.shape
    c_in, c_out = kernel.shape[2:]
    gathered = _select_taps(kernel, table_h, table_w)  # (Jh, sh, Jw, sw, in, out)
    gathered = gathered.transpose(0, 2, 4, 1, 3, 5)  # (Jh, Jw, in, sh, sw, out)
    return gathered.reshape(table_h.shape[0], table_w.shape[0], c_in, s_h * s_w * c_out)


def _transpose_phase_plan(x, kernel, strides, pads):
    (kh, kw), (sh, sw) = kernel.shape[:2], strides
    _, h, w, _ = x.shape
    out_h = _transpose_out_size(h, kh, sh, pads[0])
    out_w = _transpose_out_size(w, kw, sw, pads[1])
    j_min_h, table_h = _phase_taps(kh, sh, pads[0][0])
    j_min_w, table_w = _phase_taps(kw, sw, pads[1][0])
    pads_h, q_h = _phase_pads(h, out_h, sh, j_min_h, table_h.shape[0])
    pads_w, q_w = _phase_pads(w, out_w, sw, j_min_w, table_w.shape[0])
    return (out_h, out_w), (table_h, table_w), (pads_h, pads_w), (q_h, q_w)


def _aligned_shift(k: int, s: int, low: int) -> int:
    """Return the output shift in [0, s) that gives the phases one narrow window.

    Shifting the output by `shift` pixels is a transposed convolution with
    `low + shift` padding. For 'SAME' padding and an even kernel, a shift of 1
    makes all phases read the same input window.
    """
    widths = [_phase_taps(k, s, low + shift)[1].shape[0] for shift in range(s)]
    return int(np.argmin(widths))


def _conv_transpose_subpixel(x, kernel, strides, pads, use_matmul):
    """Compute all phases as one stride-1 convolution with sh*sw*out channels.

    The output is computed `shift` pixels further along each axis, where that
    narrows the window the phases share, and cropped back.
    """
    (kh, kw), (sh, sw) = kernel.shape[:2], strides
    shift_h = _aligned_shift(kh, sh, pads[0][0])
    shift_w = _aligned_shift(kw, sw, pads[1][0])
    shifted_pads = (
        (pads[0][0] + shift_h, pads[0][1]),
        (pads[1][0] + shift_w, pads[1][1]),
    )
    out_hw, (table_h, table_w), x_pads, q_hw = _transpose_phase_plan(
        x, kernel, strides, shifted_pads
    )
    phase_kernel = _subpixel_kernel(kernel, table_h, table_w)
    x = _pad_spatial(x, x_pads)
    if use_matmul:
        window = (table_h.shape[0], table_w.shape[0])
        patches = _patches(x, window, q_hw, (1, 1))
        weights = phase_kernel.reshape(-1, phase_kernel.shape[-1])
        z = _matmul_channels(patches, weights)
    else:
        z = lax.conv_general_dilated(
            x, phase_kernel, (1, 1), "VALID", dimension_numbers=_DIMENSION_NUMBERS
        )
    y = _depth_to_space(z, strides)  # (N, sh*q_h, sw*q_w, out)
    return y[:, shift_h : out_hw[0], shift_w : out_hw[1], :]


def _conv_transpose_phases(x, kernel, strides, pads, use_matmul):
    """Compute one stride-1 convolution (or matrix product) per output phase.

    Each phase reads only its own taps, so no multiplication by a zero tap
    is done. With 'SAME' padding and an even kernel the phases read windows
    shifted by one pixel against each other, which a single sub-pixel
    convolution can only cover with a larger, partly zero kernel.
    """
    out_hw, (table_h, table_w), (x_pads_h, x_pads_w), (q_h, q_w) = (
        _transpose_phase_plan(x, kernel, strides, pads)
    )
    (kh, kw), (sh, sw) = kernel.shape[:2], strides
    n, h, w, _ = x.shape
    c_out = kernel.shape[-1]
    phase_outputs = []
    for r_h in range(sh):
        used_h = np.nonzero(table_h[:, r_h] < kh)[0]
        for r_w in range(sw):
            used_w = np.nonzero(table_w[:, r_w] < kw)[0]
            if used_h.size == 0 or used_w.size == 0:
                phase_outputs.append(jnp.zeros((n, q_h, q_w, c_out), x.dtype))
                continue
            # The offsets that one phase reads form a contiguous range.
            sub_kernel = _select_taps(
                kernel, table_h[used_h, r_h][:, None], table_w[used_w, r_w][:, None]
            )[:, 0, :, 0]  # (mh, mw, in, out)
            low_h = x_pads_h[0] - int(used_h[0])
            low_w = x_pads_w[0] - int(used_w[0])
            phase_pads = (
                (low_h, q_h + used_h.size - 1 - h - low_h),
                (low_w, q_w + used_w.size - 1 - w - low_w),
            )
            x_phase = _pad_spatial(x, phase_pads)
            if use_matmul:
                window = (used_h.size, used_w.size)
                patches = _patches(x_phase, window, (q_h, q_w), (1, 1))
                y_phase = _matmul_channels(patches, sub_kernel.reshape(-1, c_out))
            else:
                y_phase = lax.conv_general_dilated(
                    x_phase,
                    sub_kernel,
                    (1, 1),
                    "VALID",
                    dimension_numbers=_DIMENSION_NUMBERS,
                )
            phase_outputs.append(y_phase)  # (N, q_h, q_w, out)
    z = jnp.stack(phase_outputs, axis=3)  # (N, q_h, q_w, sh*sw, out)
    y = _depth_to_space(z.reshape(n, q_h, q_w, sh * sw * c_out), strides)
    return y[:, : out_hw[0], : out_hw[1], :]


def _conv_transpose_col2im(x, kernel, strides, pads):
    """Multiply input pixels by all kernel taps at once, then overlap-add.

    Every input pixel times the kernel gives a (kh, kw, out) block of
    contributions (the columns). Tap (i, j) of input pixel (a, b) lands on
    output (sh*a + low_h - i, sw*b + low_w - j), so each tap's plane of columns
    is dilated by the stride, shifted and summed into the output.
    """
    kh, kw, c_in, c_out = kernel.shape
    n, h, w, _ = x.shape
    (sh, sw), ((low_h, _), (low_w, _)) = strides, pads
    out_h = _transpose_out_size(h, kh, sh, pads[0])
    out_w = _transpose_out_size(w, kw, sw, pads[1])
    weights = kernel.transpose(2, 0, 1, 3).reshape(c_in, kh * kw * c_out)
    columns = _matmul_channels(x, weights).reshape(n, h, w, kh, kw, c_out)

    zero = jnp.zeros((), x.dtype)
    span_h, span_w = sh * (h - 1) + 1, sw * (w - 1) + 1
    y = None
    for i in range(kh):
        for j in range(kw):
            shift_h, shift_w = low_h - i, low_w - j
            config = [
                (0, 0, 0),
                (shift_h, out_h - span_h - shift_h, sh - 1),
                (shift_w, out_w - span_w - shift_w, sw - 1),
                (0, 0, 0),
            ]
            term = lax.pad(columns[:, :, :, i, j, :], zero, config)
            y = term if y is None else y + term
    return y  # (N, out_h, out_w, out)


def select_conv_transpose_impl(
    x_shape: Sequence[int],
    kernel_shape: Sequence[int],
    strides: tuple[int, int],
) -> str:
    """Choose the fastest measured formulation of a transposed convolution.

    Args:
      x_shape: (N, H, W, in).
      kernel_shape: (kh, kw, in, out).
      strides: (sh, sw).

    Returns:
      One of `CONV_TRANSPOSE_IMPLS` other than 'auto'.
    """
    del x_shape  # The ranking held at batch 64, 128 and 256.
    if strides == (1, 1):
        return "lax"
    # Measured with benchmarks/layers.py on 2 CPU cores, kernels 4 and 5,
    # batch 64-256: with 1 output channel col2im took 0.57-1.03x the time of
    # 'lax' and every sub-pixel form was slower than 'lax'. With 64 or more,
    # 'subpixel_im2col' took 0.10-0.19x the time of 'lax' and was fastest in
    # all but one case (4x4x256 -> 8x8x128 at batch 64: 1.15x 'phases').
    if kernel_shape[-1] < 16:
        return "col2im"
    return "subpixel_im2col"


def conv_transpose2d(
    x: jax.Array,
    kernel: jax.Array,
    bias: jax.Array | None = None,
    *,
    strides: int | Sequence[int] = 1,
    padding: PaddingLike = "SAME",
    impl: str = "auto",
) -> jax.Array:
    """Apply a 2D transposed convolution, equal to `nnx.ConvTranspose`.

    The result equals `lax.conv_transpose(x, kernel, strides, padding,
    dimension_numbers=('NHWC', 'HWIO', 'NHWC'))` without kernel flipping, which
    is what `nnx.ConvTranspose` computes with its default
    `transpose_kernel=False`.

    Args:
      x: input images (N, H, W, in).
      kernel: (kh, kw, in, out), laid out like `nnx.ConvTranspose.kernel`.
      bias: optional (out,).
      strides: int or (sh, sw).
      padding: 'SAME', 'VALID', an int, or one (low, high) pair per spatial
        axis, read as `lax.conv_transpose` reads it.
      impl: the formulation. 'lax' is one `lax.conv_transpose`. 'subpixel'
        is one stride-1 convolution with sh*sw*out channels, then
        depth-to-space, and 'subpixel_im2col' is the same as one matrix
        product over input patches. 'phases' is one stride-1 convolution per output
        phase, then interleaving. 'im2col' is one matrix product over input
        patches per output phase. 'col2im' is one matrix product of input
        pixels and all kernel taps, then overlap-add. 'auto' calls
        `select_conv_transpose_impl`. Stride 1 always uses 'lax'.

    Returns:
      (N, Ho, Wo, out), with Ho = H * sh for 'SAME' padding.
    """
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    _check_ranks(x, kernel)
    strides = _pair(strides, "strides")
    if impl not in CONV_TRANSPOSE_IMPLS:
        raise ValueError(f"impl must be one of {CONV_TRANSPOSE_IMPLS}, got {impl!r}")
    padding = _canonical_padding(padding)
    if isinstance(padding, str):
        pads = tuple(
            _transpose_pads(k, s, padding)
            for k, s in zip(kernel.shape[:2], strides, strict=True)
        )
    else:
        pads = padding

    if impl == "auto":
        impl = select_conv_transpose_impl(x.shape, kernel.shape, strides)
    if strides == (1, 1):
        impl = "lax"

    if impl == "lax":
        y = lax.conv_transpose(
            x, kernel, strides, pads, dimension_numbers=_DIMENSION_NUMBERS
        )
    elif impl in ("subpixel", "subpixel_im2col"):
        y = _conv_transpose_subpixel(
            x, kernel, strides, pads, use_matmul=impl == "subpixel_im2col"
        )
    elif impl == "col2im":
        y = _conv_transpose_col2im(x, kernel, strides, pads)
    else:
        y = _conv_transpose_phases(
            x, kernel, strides, pads, use_matmul=impl == "im2col"
        )
    return _add_bias(y, bias)


# Modules.


def _check_impl(impl: str, choices: tuple[str, ...]) -> str:
    if impl not in choices:
        raise ValueError(f"impl must be one of {choices}, got {impl!r}")
    return impl


class Conv(nnx.Module):
    """2D convolution with the parameters and output of `nnx.Conv`.

    Supports what a DCGAN discriminator uses: any kernel size and strides,
    'SAME', 'VALID' or explicit padding, no dilation and no feature groups.
    Strided layers run through `conv2d`, which picks the formulation that
    measured fastest on XLA CPU for the shape. Stride 1 uses
    `lax.conv_general_dilated` as `nnx.Conv` does.

    Attributes:
      kernel: `nnx.Param` of shape (kh, kw, in_features, out_features).
      bias: `nnx.Param` of shape (out_features,), or None without bias.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        *,
        strides: int | Sequence[int] = 1,
        padding: PaddingLike = "SAME",
        use_bias: bool = True,
        kernel_init: nnx.Initializer = DEFAULT_KERNEL_INIT,
        bias_init: nnx.Initializer = DEFAULT_BIAS_INIT,
        param_dtype: jnp.dtype = jnp.float32,
        dtype: jnp.dtype | None = None,
        impl: str = "auto",
        rngs: nnx.Rngs,
    ):
        """Create the parameters, drawing keys in the order `nnx.Conv` does.

        Args:
          in_features: input channels.
          out_features: output channels.
          kernel_size: (kh, kw), or an int k for (k, k). `nnx.Conv` reads an
            int as a 1D kernel, so pass a pair to it when comparing.
          strides: int or (sh, sw).
          padding: 'SAME', 'VALID', an int, or one (low, high) pair per
            spatial axis, as for `nnx.Conv`.
          use_bias: whether to add a learned bias.
          kernel_init: initializer of the kernel.
          bias_init: initializer of the bias.
          param_dtype: dtype of the parameters.
          dtype: dtype of the computation and the output, to which input and
            parameters are cast; None promotes the input and kernel dtypes.
          impl: formulation passed to `conv2d`, one of `CONV_IMPLS`.
          rngs: random number streams. `rngs.params()` seeds the parameters.
        """
        self.in_features = in_features
        self.out_features = out_features
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        _canonical_padding(padding)  # Raise on unsupported padding now.
        self.padding = padding
        self.impl = _check_impl(impl, CONV_IMPLS)
        self.dtype = dtype
        kernel_shape = (*self.kernel_size, in_features, out_features)
        self.kernel = nnx.Param(kernel_init(rngs.params(), kernel_shape, param_dtype))
        self.bias: nnx.Param | None
        if use_bias:
            self.bias = nnx.Param(
                bias_init(rngs.params(), (out_features,), param_dtype)
            )
        else:
            self.bias = nnx.data(None)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Convolve images (N, H, W, in_features) to (N, Ho, Wo, out_features)."""
        kernel = self.kernel[...]
        bias = None if self.bias is None else self.bias[...]
        dtype = self.dtype or jnp.result_type(x, kernel)
        return conv2d(
            x.astype(dtype),
            kernel.astype(dtype),
            None if bias is None else bias.astype(dtype),
            strides=self.strides,
            padding=self.padding,
            impl=self.impl,
        )


class ConvTranspose(nnx.Module):
    """2D transposed convolution with the parameters and output of `nnx.ConvTranspose`.

    Matches `nnx.ConvTranspose` with its default `transpose_kernel=False`, for
    any kernel size and strides and 'SAME', 'VALID' or explicit padding,
    without dilation. Strided layers run through `conv_transpose2d`, which
    picks the formulation that measured fastest on XLA CPU for the shape.
    Stride 1 uses `lax.conv_transpose` as `nnx.ConvTranspose` does.

    Attributes:
      kernel: `nnx.Param` of shape (kh, kw, in_features, out_features).
      bias: `nnx.Param` of shape (out_features,), or None without bias.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | Sequence[int],
        *,
        strides: int | Sequence[int] = 1,
        padding: PaddingLike = "SAME",
        use_bias: bool = True,
        kernel_init: nnx.Initializer = DEFAULT_KERNEL_INIT,
        bias_init: nnx.Initializer = DEFAULT_BIAS_INIT,
        param_dtype: jnp.dtype = jnp.float32,
        dtype: jnp.dtype | None = None,
        impl: str = "auto",
        rngs: nnx.Rngs,
    ):
        """Create the parameters, drawing keys in the order `nnx.ConvTranspose` does.

        Args:
          in_features: input channels.
          out_features: output channels.
          kernel_size: (kh, kw), or an int k for (k, k). `nnx.Conv` reads an
            int as a 1D kernel, so pass a pair to it when comparing.
          strides: int or (sh, sw).
          padding: 'SAME', 'VALID', an int, or one (low, high) pair per
            spatial axis, as for `nnx.ConvTranspose`.
          use_bias: whether to add a learned bias.
          kernel_init: initializer of the kernel.
          bias_init: initializer of the bias.
          param_dtype: dtype of the parameters.
          dtype: dtype of the computation and the output, to which input and
            parameters are cast; None promotes the input and kernel dtypes.
          impl: formulation passed to `conv_transpose2d`, one of
            `CONV_TRANSPOSE_IMPLS`.
          rngs: random number streams. `rngs.params()` seeds the parameters.
        """
        self.in_features = in_features
        self.out_features = out_features
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        _canonical_padding(padding)  # Raise on unsupported padding now.
        self.padding = padding
        self.impl = _check_impl(impl, CONV_TRANSPOSE_IMPLS)
        self.dtype = dtype
        kernel_shape = (*self.kernel_size, in_features, out_features)
        self.kernel = nnx.Param(kernel_init(rngs.params(), kernel_shape, param_dtype))
        self.bias: nnx.Param | None
        if use_bias:
            self.bias = nnx.Param(
                bias_init(rngs.params(), (out_features,), param_dtype)
            )
        else:
            self.bias = nnx.data(None)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Upsample images (N, H, W, in_features) to (N, Ho, Wo, out_features)."""
        kernel = self.kernel[...]
        bias = None if self.bias is None else self.bias[...]
        dtype = self.dtype or jnp.result_type(x, kernel)
        return conv_transpose2d(
            x.astype(dtype),
            kernel.astype(dtype),
            None if bias is None else bias.astype(dtype),
            strides=self.strides,
            padding=self.padding,
            impl=self.impl,
        )
