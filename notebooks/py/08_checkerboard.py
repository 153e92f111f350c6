# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/08_checkerboard.ipynb)

# %% [markdown]
# # 8. Checkerboard artifacts
#
# **Goal:** find out why generators built from transposed convolutions draw faint
# checkerboards, see the pattern in a fresh and in a trained generator, measure
# it, and remove it with a resize-convolution.
#
# After this lesson you can:
#
# * count how many kernel taps reach each output pixel of a transposed
#   convolution, and say for which kernel sizes and strides the count is uneven;
# * compute the output size of a transposed convolution;
# * explain why a 5x5 kernel with stride 2, the choice of the classic TensorFlow
#   DCGAN tutorial that the `seed` preset copies, leaves a pattern that repeats
#   every 2 pixels;
# * measure that pattern as a share of the image's spectral power and compare
#   it with real digits;
# * train a generator with `ModelConfig(upsampling="resize")` or
#   `python -m gan_lessons train --upsampling resize`.
#
# **Run time:** about 4.5 minutes on a 2-core CPU shared with other jobs, most
# of it in the cell that trains three generators, compilation included. Quick
# mode (`GAN_LESSONS_QUICK=1`, used by the tests) trains two smaller generators
# for fewer steps and took about 70 seconds.
#
# **Widgets:** the kernel and stride sliders need a front end with ipywidgets
# (JupyterLab, Jupyter Notebook, VS Code, Colab). The cell's output also holds
# a picture of the starting values, which a notebook rendered without widgets
# shows in place of the widgets.

# %%
# @title Colab setup (does nothing outside Google Colab)
# On Google Colab this cell installs gan_lessons from the project's repository
# and turns on Colab's widget manager, so the lessons' widgets render.
# Everywhere else it does nothing. scripts/sync_notebooks.py writes this cell
# into every lesson, so change it there.


def _set_up_colab() -> None:
    import sys

    # Colab's IPython shell is a class in google.colab._shell, so google.colab
    # is imported before the first cell runs. find_spec would also match a
    # local Jupyter that merely has the google-colab package installed.
    if "google.colab" not in sys.modules:
        return

    import importlib.metadata
    import importlib.util
    import os
    import re
    import subprocess
    import tempfile

    from google.colab import output

    repository = "https://github.com/gan-lessons/gan_lessons"
    requirement = f"gan-lessons @ git+{repository}"
    minimum_versions = {
        "jax": "0.10.2",
        "numpy": "2.0",
        "matplotlib": "3.8",
        "ipywidgets": "7.7",
    }

    # The custom widget manager loads the widgets' front end from Google's CDN
    # in place of Colab's built-in one. Calling it again changes nothing.
    output.enable_custom_widget_manager()
    if importlib.util.find_spec("gan_lessons") is not None:
        print("gan_lessons is already installed.")
        return

    # Colab's own builds stay: pip may not replace a package that other
    # preinstalled packages were compiled against while the session runs.
    installed = {}
    for name in ("jax", "jaxlib", "numpy", "matplotlib", "ipywidgets"):
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    kept = ", ".join(f"{name} {version}" for name, version in installed.items())
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
        file.writelines(f"{name}=={version}\n" for name, version in installed.items())
    if kept:
        print(f"Installing {requirement} with pip, keeping Colab's {kept}.")
    else:
        print(f"Installing {requirement} with pip.")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--constraint",
                file.name,
                requirement,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.remove(file.name)
    pip_output = (result.stdout + result.stderr).strip().splitlines()
    # pip reports conflicts with packages outside the request even when it
    # succeeds, and --quiet does not hide them.
    conflicts = [
        line
        for line in pip_output
        if "dependency resolver" in line
        or line.endswith(("which is incompatible.", "which is not installed."))
    ]
    importlib.invalidate_caches()
    if result.returncode == 0 and importlib.util.find_spec("gan_lessons"):
        print("Installed gan-lessons.")
        if conflicts:
            print("pip reported conflicts with other preinstalled packages:")
            print("\n".join("    " + line for line in conflicts))
        return

    def release(version: str) -> tuple:
        # A pre-release such as 3.8.0rc1 sorts before 3.8, as in pip.
        match = re.match(r"(\d+(?:\.\d+)*)(\.?(?:a|b|rc|dev)\d*)?", version)
        if match is None:
            return ((), 0)
        numbers = [int(part) for part in match.group(1).split(".")]
        while numbers and numbers[-1] == 0:
            numbers.pop()
        return (tuple(numbers), 0 if match.group(2) else 1)

    too_old = [
        f"{name} {installed[name]} (gan-lessons needs {name}>={minimum})"
        for name, minimum in minimum_versions.items()
        if name in installed and release(installed[name]) < release(minimum)
    ]
    # jax finds a GPU or TPU through a plugin package, which must be upgraded
    # together with jax and jaxlib, or jax falls back to the CPU.
    names = {
        re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
        for dist in importlib.metadata.distributions()
    }
    cuda = [
        match.group(1)
        for name in names
        if (match := re.fullmatch(r"jax-cuda(\d+)-(?:plugin|pjrt)", name))
    ]
    if cuda:
        jax = f"jax[cuda{max(cuda, key=int)}]"
        pip_command = f'%pip install -U "{jax}" "{requirement}"'
    elif "libtpu" in names:
        pip_command = f'%pip install -U "jax[tpu]" "{requirement}"'
    else:
        pip_command = f'%pip install "{requirement}"'
    if result.returncode == 0:
        failure = "pip succeeded, but gan_lessons still does not import."
    else:
        failure = f"pip exited with status {result.returncode}."
    if too_old:
        cause = "Too old in this Colab runtime: " + "; ".join(too_old) + "."
    else:
        cause = "None of them is older than gan-lessons needs; see pip's output."
    message = [f"Installing {requirement} failed: {failure}"]
    if kept:
        message += [
            f"This cell kept Colab's {kept} on purpose, because replacing them in a",
            "running session breaks the preinstalled packages built against them.",
            cause,
        ]
    message += [
        "To install it without these constraints, run this in a new cell:",
        f"    {pip_command}",
        "then choose Runtime > Restart session and run the lesson from the top.",
    ]
    if pip_output:
        message.append("The last lines of pip's output:")
        message += ["    " + line for line in pip_output[-20:]]
    print("\n".join(message), file=sys.stderr)


_set_up_colab()
del _set_up_colab

# %%
# %matplotlib inline
import dataclasses

import jax
import numpy as np

from gan_lessons import (
    checkerboard,
    config,
    data,
    notebook,
    pretrained,
    runtime,
)

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## Where a transposed convolution puts its kernel
#
# A transposed convolution with stride $s$ and a kernel of $k$ taps
# $w_0, \dots, w_{k-1}$ upsamples by pasting a scaled copy of the kernel for each
# input pixel, $s$ output pixels further along each time. In 1D, without
# padding, input pixel $i$ adds $x_i w_t$ to output pixel
#
# $$o = s\,i + t, \qquad t = 0, \dots, k - 1,$$
#
# so the output has $s\,(n - 1) + k$ pixels for $n$ input pixels. Away from the
# borders, output pixel $o$ receives every tap $t$ with $t \bmod s = o \bmod s$.
# Its *phase* $r = o \bmod s$ therefore decides how many taps it receives:
#
# $$\#\{\, t < k : t \bmod s = r \,\} = \lfloor k / s \rfloor + [\, r < k \bmod s \,].$$
#
# All phases receive the same number exactly when $s$ divides $k$. Odena,
# Dumoulin and Olah call the uneven case *uneven overlap* ("Deconvolution and
# Checkerboard Artifacts", Distill, 2016). With $k = 5$ and $s = 2$ the even
# output pixels receive 3 taps and the odd ones 2, and the `dcgan` preset's
# $k = 4$ gives 2 taps to each. `checkerboard.taps_per_phase` counts them, and
# `checkerboard.overlap_counts` counts the taps of every output pixel,
# borders included. It is the output of a transposed convolution of an input
# of ones with a kernel of ones; the tests check it against
# `jax.lax.conv_transpose`.

# %%
for kernel_size in (3, 4, 5, 6):
    print(
        f"kernel {kernel_size}, stride 2: taps per phase",
        checkerboard.taps_per_phase(kernel_size, 2),
    )
print("kernel 5, stride 2, 8 input pixels:", checkerboard.overlap_counts(8, 5, 2))

# %% [markdown]
# The counts of the 5-tap kernel alternate 3, 2, 3, 2 in the interior, and the
# border pixels receive fewer taps. In 2D a square kernel has $k \times k$ taps,
# and the rows and the columns of the output each have their phase, so the count
# is the product of two 1D counts: 9, 6, 6 and 4 for $k = 5$, $s = 2$. With
# `padding="SAME"`, as in the generator, the output is cropped to $s\,n$ pixels
# per axis. On a 4x4 input, like the generator's first map:

# %%
print(checkerboard.overlap_counts_2d(4, 5, 2, "SAME"))

# %% [markdown]
# ## Explore kernel size and stride
#
# The upper left panel shows where each input pixel's kernel lands. The bars
# below count the taps per output pixel: blue in the interior, where every phase
# has its full share, grey at the borders. The right panel shows the 2D counts
# of a square kernel. Move the sliders and look for the pairs whose blue bars
# are all equal.

# %%
explorer = checkerboard.OverlapExplorer(kernel_size=5, stride=2, name="overlap")
explorer.show()

# %% [markdown]
# **What to try.** With stride 2, every even kernel size overlaps evenly and
# every odd one does not. With stride 3, kernel sizes 3 and 6 are even, 4 and 5
# are not. A kernel smaller than the stride (kernel 1 or 2 with stride 3) leaves
# output pixels that receive no tap at all, a pattern of holes. Stride 1 is
# always even: it does not upsample, and the `seed` preset's final 32x32 layer
# has stride 1.

# %% [markdown]
# ## A fresh generator on a constant input
#
# Equal counts are not enough, because the taps have different weights. Output
# pixels of one phase sum one subset of the kernel's taps, and the other phase
# sums another subset. Unless the subsets have equal sums, even a constant input
# gives an output that alternates between the phases. With uneven overlap the
# pattern is there even when all weights are equal. With even overlap training
# can make the subset sums equal, but it has to learn that.
#
# A *resize-convolution*, which the same article proposes, first repeats each
# pixel into a 2x2 block (nearest-neighbour upsampling) and then applies a
# stride-1 convolution. Every output pixel of that convolution reads all
# $k \times k$ taps, so a constant input gives a constant output, apart from
# the borders. `ModelConfig(upsampling="resize")` builds the generator this way,
# with kernels of the same shape, so both generators have the same parameters.
#
# `checkerboard.constant_input_response` feeds a 4x4 map of ones through a
# freshly initialised generator's upsampling layers, without the tanh. The
# generators are the `dcgan` preset at width 16 with 5x5 kernels, transposed and
# resize, and the preset's own 4x4 transposed kernels.

# %%
configs = checkerboard.lesson_configs(width=16, kernel=5)
configs["transposed 4x4"] = config.model_preset("dcgan", width=16)
responses = {
    label: checkerboard.constant_input_response(model_config)
    for label, model_config in configs.items()
}
checkerboard.plot_responses(responses)

# %% [markdown]
# **Reading the responses.** Both transposed generators draw a grid of period 2
# on top of coarser blocks of period 4 and 8 from the earlier layers. The 5x5
# kernels give the larger share of period 2. The resize generator draws a smooth map whose only
# structure is at the borders, where the zero padding of the convolutions
# counts.
#
# ### Measuring the pattern
#
# The titles give the *checkerboard share*, which `checkerboard.checkerboard_share`
# computes. For an $H \times W$ image $x$ with even sides, subtract its mean,
# take the 2D discrete Fourier transform $X(u, v)$, and compare the power at the
# three frequencies whose patterns repeat every 2 pixels with the total power:
#
# $$\text{share}(x) = \frac{P(\tfrac{H}{2}, \tfrac{W}{2}) + P(\tfrac{H}{2}, 0) + P(0, \tfrac{W}{2})}{\sum_{u, v} P(u, v)}, \qquad P(u, v) = |X(u, v)|^2.$$
#
# Index $H/2$ is the frequency $\pi$ per pixel: $(\pi, \pi)$ is a
# checkerboard, $(\pi, 0)$ alternate rows and $(0, \pi)$ alternate columns.
# Removing the mean sets $P(0, 0) = 0$, so the black background of a digit does
# not count. A pure checkerboard scores 1 and a smooth image nearly 0. An image of
# independent noise scores $3 / (HW - 1)$ on average, 0.003 at 32x32. Real
# digits are smooth at the scale of a pixel:

# %%
real_digits = data.to_float(data.load_mnist("bundled", "test").images[:256])
real_share = checkerboard.checkerboard_share(real_digits).mean()
rows, cols = np.mgrid[:32, :32]
pure_share = checkerboard.checkerboard_share((-1.0) ** (rows + cols))[0]
print(f"a pure checkerboard: {pure_share:.3f}")
print(f"256 real test digits, mean: {real_share:.5f}")

# %% [markdown]
# ## Trained side by side
#
# Do the artifacts survive training? The next cell trains the two 5x5 generators
# with the same width, seed, batches and discriminator: the `dcgan` preset at
# width 16, batch 64, Adam at $2 \times 10^{-4}$, for 600 steps. In full mode it
# also trains the preset's own 4x4 transposed generator. On 2 CPU cores shared
# with other jobs the three runs took 87, 119 and 38 seconds, compilation
# included. The resize generator is the slowest, because its convolutions run
# on the upsampled maps: every output pixel reads all 25 taps instead of 4, 6
# or 9. Quick mode trains width 8 at batch 32 for 150 steps, which
# shows the difference in the spectrum but draws blobs, not digits.

# %%
width, steps, batch_size = (8, 150, 32) if QUICK else (16, 600, 64)
trained_configs = checkerboard.lesson_configs(width=width, kernel=5)
if not QUICK:
    trained_configs["transposed 4x4"] = config.model_preset("dcgan", width=width)
train_config = config.train_preset("dcgan", steps=steps, batch_size=batch_size)
runs = checkerboard.train_variants(trained_configs, train_config)
for label, run in runs.items():
    print(f"{label}: {run.seconds:.0f} s, compilation included")

# %% [markdown]
# Below are samples of each generator from the same 256 latent vectors, beside
# real test digits and the generator that ships with the package (`dcgan`
# preset, 4x4 transposed kernels, width 32, trained for 3,000 steps). The lower
# row shows each set's mean power spectrum on a log scale, with frequency 0 in
# the centre; the circles mark the three checkerboard frequencies at the edges.

# %%
latent = jax.random.normal(jax.random.key(7), (256, 100))
images = {"real digits": real_digits}
images.update({label: run.generate(latent) for label, run in runs.items()})
shipped = pretrained.load_generator()
images["shipped 4x4, 3,000 steps"] = np.asarray(shipped.generate(latent))
shares = {
    label: float(checkerboard.checkerboard_share(batch).mean())
    for label, batch in images.items()
}
for label, share in shares.items():
    print(f"{label:>26}: checkerboard share {share:.5f}")
checkerboard.plot_samples_and_spectra(images)

# %% [markdown]
# **Reading the results.** Running this notebook in full mode on 2 CPU cores
# (`jupyter nbconvert --to notebook --execute notebooks/08_checkerboard.ipynb`
# without `GAN_LESSONS_QUICK`) printed these mean shares: real digits 0.00011,
# transposed 5x5 0.0105, resize 5x5 0.00018, transposed 4x4 0.0032, and the
# shipped generator 0.00018. So the transposed 5x5 generator puts about 100
# times the real digits' share of its power at the checkerboard frequencies,
# the 4x4 one about 30 times, and the resize generator less than twice. Quick
# mode printed 0.016 for the transposed and 0.00012 for the resize generator.
#
# After 600 steps both transposed generators drew nearly the same image for
# every latent vector, while the resize generator drew varied shapes. This is
# one seed, and lesson 5 shows that DCGAN samples often look alike this early,
# so it is no evidence that resize-convolutions train faster in general.
#
# The transposed 5x5 generator's spectrum has bright spots at the edges, at the
# checkerboard frequencies, and a grid is visible in its samples. The resize
# generator's spectrum falls off smoothly towards the edges, like that of real
# digits. The shipped generator shows that even overlap plus long training can
# bring a transposed generator close to real digits; uneven overlap makes the
# pattern the starting point that training has to undo.
#
# The cell below checks the ordering that the lesson relies on, in both modes:
# the transposed 5x5 generator has the larger share, by a wide margin.

# %%
transposed_share = shares["transposed 5x5"]
resize_share = shares["resize 5x5"]
print(f"transposed 5x5 / resize 5x5: {transposed_share / resize_share:.1f} times")
assert transposed_share > 5 * resize_share
assert resize_share < 10 * shares["real digits"]

# %% [markdown]
# ## The option in the package
#
# `ModelConfig.upsampling` selects the generator's upsampling layers:
# `"transposed"` (the default, unchanged) or `"resize"`. On the command line:
#
# ```bash
# python -m gan_lessons train --upsampling resize --out runs/resize
# ```
#
# Checkpoints record the choice in `config.json`. Records written before the
# option existed load as `"transposed"`, and `--resume` with the other choice
# fails with a message, because both choices have kernels of the same shapes
# and the wrong one would load without an error. The option works with both
# presets; the `seed` preset keeps its final stride-1 32x32 layer. The
# parameter counts are equal:

# %%
for preset in ("dcgan", "seed"):
    for upsampling in ("transposed", "resize"):
        model_config = dataclasses.replace(
            config.model_preset(preset), upsampling=upsampling
        )
        count = checkerboard.count_generator_params(model_config)
        print(f"{preset:>5}, {upsampling:>10}: {count:,} generator parameters")


# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong, without giving the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** Write `taps_per_phase(kernel_size, stride)`. It returns an
# array of `stride` integers: entry `r` is the number of kernel taps that an
# output pixel $o$ with $o \bmod s = r$ receives, away from the borders, when tap
# $t$ of input pixel $i$ lands on $o = s\,i + t$. The check tries 30 pairs with
# kernel sizes 1 to 9 and strides 1 to 4.

# %%
def taps_per_phase(kernel_size, stride):
    # Your answer: an array of `stride` counts.
    return None


exercise_1_passed = checkerboard.check_taps_per_phase(taps_per_phase)


# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# ```python
# def taps_per_phase(kernel_size, stride):
#     taps = np.arange(kernel_size)
#     return np.array([np.sum(taps % stride == r) for r in range(stride)])
# ```
#
# The first `kernel_size % stride` phases get `kernel_size // stride + 1` taps
# and the others `kernel_size // stride`.
# </details>

# %% [markdown]
# **Exercise 2.** Write `output_size(input_size, kernel_size, stride)`: the
# number of output pixels of a 1D transposed convolution without padding, where
# every tap of every input pixel lands in the output. This is PyTorch's
# `ConvTranspose1d` with `padding=0`.

# %%
def output_size(input_size, kernel_size, stride):
    # Your answer: an integer.
    return None


exercise_2_passed = checkerboard.check_output_size(output_size)


# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# ```python
# def output_size(input_size, kernel_size, stride):
#     return stride * (input_size - 1) + kernel_size
# ```
#
# The kernel of the last input pixel starts at `stride * (input_size - 1)` and
# covers `kernel_size` pixels. `padding="SAME"` crops this to
# `stride * input_size`, which is why the generator exactly doubles its maps.
# </details>

# %% [markdown]
# **Exercise 3.** Write `checkerboard_share(image)` for one 2D NumPy image with
# even sides, as defined above: the power at $(\pi, \pi)$, $(\pi, 0)$ and
# $(0, \pi)$ of the mean-free image, divided by its total power. Use
# `np.fft.fft2`. The check tries 10 images with a smooth pattern, a bright or
# dark mean, and random amounts of checkerboard and stripes.

# %%
def checkerboard_share(image):
    # Your answer: a float between 0 and 1.
    return None


exercise_3_passed = checkerboard.check_checkerboard_share(checkerboard_share)

# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# ```python
# def checkerboard_share(image):
#     power = np.abs(np.fft.fft2(image - image.mean())) ** 2
#     h, w = image.shape
#     return (power[h // 2, w // 2] + power[h // 2, 0] + power[0, w // 2]) / power.sum()
# ```
#
# `np.fft.fft2` puts frequency 0 at index 0 and the frequency $\pi$ at index
# $H/2$. After `np.fft.fftshift` the two trade places.
# </details>

# %% [markdown]
# ## Summary
#
# * A transposed convolution with stride $s$ gives each output pixel the taps
#   $t$ with $t \bmod s = o \bmod s$. Unless $s$ divides the kernel size, the
#   phases receive different numbers of taps, and the output repeats a pattern
#   every $s$ pixels: in 2D, a checkerboard.
# * Even overlap removes the pattern only when the taps of each phase have
#   equal sums, which a fresh generator's random weights do not; training has to
#   learn it.
# * A resize-convolution (nearest-neighbour upsampling, then a stride-1
#   convolution) treats every output pixel alike, so it has no such pattern.
#   `ModelConfig(upsampling="resize")` and `train --upsampling resize` select it.
# * The checkerboard share, the spectral power at $(\pi, \pi)$, $(\pi, 0)$ and
#   $(0, \pi)$ over the total, measures the pattern; real digits score about
#   0.0001.
#
# **Limitations**
#
# * The share sees only the period-2 pattern of the last upsampling layer.
#   Earlier layers leave patterns of period 4 and 8, at lower frequencies, which
#   it does not count; the spectra show them as a grid of fainter spots.
# * The trained comparison is one seed and a few hundred steps at width 16. The
#   transposed generators also drew less varied samples at that point; longer
#   runs and other seeds may change the size of the gap.
# * The resize-convolution costs about 4 times the multiplications of a
#   transposed convolution with the same kernel, because it convolves the
#   upsampled map.
