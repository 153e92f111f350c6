# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/03_dcgan.ipynb)

# %% [markdown]
# # 3. A DCGAN in Flax
#
# **Goal:** train a deep convolutional GAN (DCGAN) that turns 100 random numbers
# into a 32x32 handwritten digit, and understand each part of it: the layers and
# their shapes, the training step, and what the curves say while it learns.
#
# After this lesson you can:
#
# * follow a latent vector through the generator and an image through the
#   discriminator, layer by layer, and work out every shape;
# * compute the output size of a transposed convolution;
# * say why batch norm, ReLU, leaky ReLU and tanh sit where they do in a DCGAN;
# * read the jit-compiled training step line by line: two optimisers, where the
#   gradients stop, batch norm in training and in sampling, and the random keys;
# * train in a notebook that you can stop, continue and restore from a
#   checkpoint, and judge the digits with a classifier;
# * train the same model on colour images by changing one number.
#
# **Run time:** quick mode (`GAN_LESSONS_QUICK=1`, used by the tests) trains
# 40 steps at width 8 and 20 in colour. It took about 1.5 minutes on a shared
# 2-core CPU with an empty compilation cache, most of it compiling. The full lesson trains 3,000 steps at width 32,
# then 2,000 steps in colour. From the step times measured on 2 CPU cores,
# expect about 9 minutes when the cores are idle (an estimate), and more when
# other jobs share them. Each run is saved, so the next run of the full lesson
# restores it instead of training again.

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
import inspect
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from IPython.display import Image, display
from PIL import Image as PILImage

from gan_lessons import (
    classifier,
    config,
    data,
    layers,
    models,
    notebook,
    plotting,
    runtime,
    session,
    train,
    widgets,
)

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# What to expect from the device named above:
#
# * **CPU.** Building the networks and compiling the training step take from
#   about 5 seconds each on 2 idle cores to half a minute on busy ones. At width
#   32 a step on 64 images then takes about 90 ms, so the default 3,000 steps
#   take about 4.5 minutes: `python -m gan_lessons train`, the same training
#   without this notebook, took 4 min 25 s on 2 idle cores
#   (`benchmarks/README.md`).
# * **GPU.** The same code runs on a GPU without changes. This project has not
#   timed this lesson on one. A step of a model this small should take a few
#   milliseconds there, so expect compilation, drawing the samples and writing
#   checkpoints to take most of the time (an estimate).
# * **TPU.** The code runs unchanged on a TPU as well, again not timed here.
#
# The compilation cache that the first cell enables stores compiled programs in
# `~/.cache/gan_lessons/jax`, so a restarted kernel loads them in about a
# second instead of compiling again.

# %% [markdown]
# ## From points to pictures
#
# Lessons 1 and 2 trained small MLPs on points with one or two features. A
# 32x32 digit has 1,024 pixels, and an MLP would treat neighbouring pixels as
# unrelated inputs: a dense layer from 1,024 pixels to 1,024 features needs a
# million weights and has to learn the same stroke detector again at every
# position. A **convolution** slides one small kernel over the image instead.
# The same weights apply at every position, so a stroke detector learned in one
# place works everywhere, and a 4x4 kernel from 32 to 64 channels has
# $4 \cdot 4 \cdot 32 \cdot 64 = 32{,}768$ weights whatever the image size.
#
# A convolution with **stride 2** moves its kernel two pixels at a time and
# halves the height and width: the discriminator uses it to go from the image
# down to a 4x4 map. A **transposed convolution** with stride 2 does the
# opposite and doubles them: the generator uses it to go from a 4x4 map up to
# the image. The `dcgan` preset of the package follows the guidelines of
# Radford, Metz and Chintala (2016), "Unsupervised Representation Learning with
# Deep Convolutional Generative Adversarial Networks", scaled down to 32x32
# digits:

# %%
dcgan = config.model_preset("dcgan")
print("latent length:         ", dcgan.latent_dim)
print("generator features:    ", dcgan.generator_features)
print("discriminator features:", dcgan.discriminator_features)
print("kernel size:           ", dcgan.generator_kernel)
generator_params = models.count_params(session.abstract_generator(dcgan))
discriminator_params = models.count_params(session.abstract_discriminator(dcgan))
print(
    f"parameters: generator {generator_params:,}, "
    f"discriminator {discriminator_params:,}"
)

# %% [markdown]
# `session.abstract_generator` builds the network with `nnx.eval_shape`: every
# parameter is a shape without values, so it costs no memory and no
# computation. That is enough to count the parameters, and to follow shapes.
#
# ## The generator, layer by layer
#
# The generator maps a latent vector $z \in \mathbb{R}^{100}$, drawn from
# $\mathcal{N}(0, I)$, to an image:
#
# 1. A dense layer without bias computes $W z$ with
#    $W \in \mathbb{R}^{2048 \times 100}$, and the result is reshaped to a 4x4
#    map of 128 channels ($4 \cdot 4 \cdot 128 = 2048$). Batch norm and ReLU
#    follow.
# 2. Three transposed convolutions with 4x4 kernels and stride 2 double the
#    height and width: 8x8x64, 16x16x32, then 32x32x1. The first two are
#    followed by batch norm and ReLU.
# 3. $\tanh$ squashes the last layer's output into $(-1, 1)$, the range of the
#    training images.
#
# `session.layer_shapes` runs a network under `nnx.eval_shape` and records the
# output shape of every layer it calls, in order. No arithmetic runs, so the
# next cell takes well under a second.

# %%
z = jax.ShapeDtypeStruct((1, dcgan.latent_dim), jnp.float32)
generator_layers = session.layer_shapes(
    session.abstract_generator(dcgan), z, train=False
)
print(f"{'input z':32} {z.shape}")
for record in generator_layers:
    print(f"{record.path + ' (' + record.layer + ')':32} {record.shape}")

# %% [markdown]
# The dense layer outputs `(1, 2048)` and the batch norm after it already sees
# `(1, 4, 4, 128)`: the reshape between them is not a layer, so it shows only
# as the change of shape. Batch norm and ReLU keep the shape, and each
# `ConvTranspose` doubles the height and width. The next cell turns the shapes
# stated above into checks.

# %%
upsampled = [r.shape[1:] for r in generator_layers if r.layer == "ConvTranspose"]
assert generator_layers[0].shape == (1, 4 * 4 * 128)
assert generator_layers[1].shape[1:] == (4, 4, 128)
assert upsampled == [(8, 8, 64), (16, 16, 32), (32, 32, 1)]
print("generator shapes as stated")

# %% [markdown]
# ## The discriminator, layer by layer
#
# The discriminator mirrors the generator. Three convolutions with 4x4 kernels
# and stride 2 take the 32x32x1 image down to 16x16x32, 8x8x64 and 4x4x128,
# each followed by leaky ReLU, and all but the first by batch norm. A dense
# layer then maps the $4 \cdot 4 \cdot 128 = 2048$ features to one **logit**
# $a$, the log-odds that the image is real, so that $D(x) = \sigma(a)$ with the
# sigmoid $\sigma(a) = 1 / (1 + e^{-a})$.

# %%
image = jax.ShapeDtypeStruct((1, *dcgan.image_shape), jnp.float32)
discriminator_layers = session.layer_shapes(
    session.abstract_discriminator(dcgan), image, train=False
)
print(f"{'input image':32} {image.shape}")
for record in discriminator_layers:
    print(f"{record.path + ' (' + record.layer + ')':32} {record.shape}")

downsampled = [r.shape[1:] for r in discriminator_layers if r.layer == "Conv"]
assert downsampled == [(16, 16, 32), (8, 8, 64), (4, 4, 128)]
assert discriminator_layers[-1].shape == (1, 1)

# %% [markdown]
# ## How big is the output of a transposed convolution?
#
# One way to see a transposed convolution with stride $s$ and a $k$-pixel
# kernel, along one axis: every input pixel stamps a copy of the kernel, scaled
# by the pixel's value, into the output, and the stamps of neighbouring pixels
# start $s$ pixels apart. Where stamps overlap, they add up. With $n$ input
# pixels the first stamp covers pixels $0$ to $k - 1$ and the last one ends at
# $(n - 1)s + k - 1$, so the full output has $(n - 1)s + k$ pixels. Trimming
# $p$ pixels from each end leaves
#
# $$n_\text{out} = (n - 1)\,s - 2p + k.$$
#
# This is the convention of PyTorch's `ConvTranspose2d`. The DCGAN layers have
# $k = 4$, $s = 2$ and $p = 1$, so $n_\text{out} = 2n$: 4 becomes 8, 8 becomes
# 16 and 16 becomes 32. A kernel size that the stride divides also makes every
# output pixel away from the edges receive the same number of stamps. A 5-pixel
# kernel with stride 2 does not: neighbouring pixels receive 3 and 2 stamps,
# which can leave a faint checkerboard pattern.
#
# Flax and JAX name the padding differently. `'VALID'` keeps the full output,
# $p = 0$ when $k \ge s$. `'SAME'` chooses the padding that gives
# $n_\text{out} = n \cdot s$ for any kernel. The next cell stamps a 1-D kernel
# of four ones over the input `[1, 2, 3]` by hand and compares the result with
# `jax.lax.conv_transpose`, the function under `nnx.ConvTranspose`.

# %%
signal = np.array([1.0, 2.0, 3.0])
kernel, stride = np.ones(4), 2
full = np.zeros((len(signal) - 1) * stride + len(kernel))
for index, value in enumerate(signal):
    start = index * stride
    full[start : start + len(kernel)] += value * kernel
print("stamped by hand:", full)

x = jnp.asarray(signal).reshape(1, 3, 1)  # (batch, width, channels)
w = jnp.asarray(kernel).reshape(4, 1, 1)  # (width, in, out)
for padding in ("VALID", "SAME"):
    out = jax.lax.conv_transpose(
        x, w, (stride,), padding, dimension_numbers=("NWC", "WIO", "NWC")
    )
    print(f"lax, {padding:5}:     ", np.asarray(out).ravel())

# %% [markdown]
# `'VALID'` returns the full $(3 - 1) \cdot 2 + 4 = 8$ pixels, and `'SAME'`
# returns $3 \cdot 2 = 6$: the full output with $p = 1$ pixel trimmed at each
# end, as the formula says.
#
# Under the hood `lax.conv_transpose` gets the same numbers another way: it
# puts $s - 1$ zeros between neighbouring input pixels (it *dilates* the
# input), pads the result at both ends and runs an ordinary stride-1
# convolution over it. Exercise 1 asks for the output size in that convention.
#
# ### Faster convolutions on a CPU
#
# The models do not call `nnx.Conv` and `nnx.ConvTranspose` directly but
# `layers.Conv` and `layers.ConvTranspose` from this package. They hold the same
# parameters and compute the same outputs, but they rewrite each strided
# convolution as stride-1 convolutions and matrix products, whose gradients
# XLA's CPU backend computes with its tuned kernels. A transposed convolution
# with stride 2, for example, becomes one matrix product per output pixel
# phase, or one product over input patches. Training runs several times faster
# on a CPU this way (`benchmarks/README.md`). The next cell gives both layers
# the same kernel and compares their outputs on random input.

# %%
rngs = nnx.Rngs(0)
reference_layer = nnx.ConvTranspose(
    64, 32, (4, 4), strides=(2, 2), padding="SAME", rngs=rngs
)
package_layer = layers.ConvTranspose(
    64, 32, (4, 4), strides=(2, 2), padding="SAME", rngs=rngs
)
package_layer.kernel[...] = reference_layer.kernel[...]
package_layer.bias[...] = reference_layer.bias[...]

x = jax.random.normal(jax.random.key(1), (8, 8, 8, 64))
difference = jnp.max(jnp.abs(package_layer(x) - reference_layer(x)))
formulation = layers.select_conv_transpose_impl(
    x.shape, package_layer.kernel.shape, (2, 2)
)
print("output shape:", package_layer(x).shape)
print(f"formulation picked for this shape: {formulation!r}")
print(f"largest difference from nnx.ConvTranspose: {float(difference):.1e}")
assert difference < 1e-4

# %% [markdown]
# The difference is float32 rounding: the two compute the same sums in a
# different order. `benchmarks/layers.py` measures the speed-up.
#
# ## Why batch norm, ReLU, leaky ReLU and tanh sit where they do
#
# Radford et al. (2016) list the choices that made their convolutional GANs
# train stably, and the `dcgan` preset follows them:
#
# * **Strided convolutions instead of pooling.** The networks learn their own
#   down- and upsampling. There are no hidden dense layers: the only dense
#   layers are the generator's projection of $z$ and the discriminator's final
#   logit.
# * **Batch norm in both networks**, which normalises each channel over the
#   batch to mean 0 and variance 1, then scales and shifts it with learned
#   parameters. It keeps the activations of deep stacks in a range where the
#   gradients neither vanish nor explode, and the paper reports that it helped
#   keep the generator from collapsing all samples onto one point. It is left
#   out at the **generator's output**, whose pixels must be free to take the
#   data's own mean and spread, and at the **discriminator's input**, which
#   sees raw images. The paper found that batch norm on every layer made
#   samples oscillate. A layer followed by batch norm has no bias of its own,
#   because batch norm's shift replaces it.
# * **ReLU in the generator, tanh at its output.** $\tanh$ is bounded to
#   $(-1, 1)$, exactly the range of the images scaled by `data.to_float`, and the
#   paper observed that a bounded output learned to cover the data's range of
#   intensities faster.
# * **Leaky ReLU with slope 0.2 in the discriminator.** A plain ReLU passes no
#   gradient for negative inputs. The generator learns only through the
#   discriminator's gradient, so the discriminator should pass some gradient
#   back for every pixel.
# * **Adam with learning rate $2 \times 10^{-4}$ and $\beta_1 = 0.5$, weights
#   from $\mathcal{N}(0, 0.02^2)$.** The paper found Adam's default
#   $\beta_1 = 0.9$ made training oscillate.
#
# ## The training step
#
# One step updates the discriminator on a real batch $x_1, \dots, x_B$ and a
# generated batch $G(z_1), \dots, G(z_B)$, then the generator. With
# $D = \sigma(\text{logit})$, the two losses of lesson 2 are
#
# $$L_D = -\frac{1}{B}\sum_{i=1}^{B} \log D(x_i)
#         - \frac{1}{B}\sum_{i=1}^{B} \log\bigl(1 - D(G(z_i))\bigr),
# \qquad
# L_G = -\frac{1}{B}\sum_{i=1}^{B} \log D(G(z_i)),$$
#
# the second being the non-saturating generator loss. Each network has its own
# Adam optimiser, and each update uses only the gradient with respect to its
# own parameters:
# $\theta_D \leftarrow \mathrm{Adam}(\nabla_{\theta_D} L_D)$, then
# $\theta_G \leftarrow \mathrm{Adam}(\nabla_{\theta_G} L_G)$, where $L_G$ is
# computed with the discriminator that was just updated. Here is the code,
# `train.GAN._step`:

# %%
print(inspect.getsource(train.GAN._step))

# %% [markdown]
# Read it in order:
#
# * **Keys.** `state.key` is a base key that never changes. Step $s$ draws its
#   randomness from `fold_in(key, s)`, so the latent vectors of a step depend
#   only on the seed and the step number. A run resumed at step $s$ therefore
#   draws exactly the vectors of a run that never stopped. `split` turns that
#   key into one key per generator update (one for `dcgan`).
# * **Generate once.** `jax.vjp` runs the generator forward and keeps what it
#   needs to backpropagate through it later (`pullback`). The discriminator
#   trains on these images and the generator's update reuses them, so the
#   generator runs forward once per step.
# * **Discriminator update.** `discriminator_objective` takes only `d_params`,
#   and `jax.value_and_grad` differentiates it with respect to them alone. The
#   images go through `jax.lax.stop_gradient`, which makes them constants for
#   differentiation. Here it states the intent: the images were computed
#   outside the function, so no gradient could reach the generator anyway. In
#   a function that generated the images inside it, from `g_params`, the
#   `stop_gradient` would be what keeps the discriminator's loss from
#   changing the generator (exercise 3).
# * **Two optimisers.** `discriminator_optimizer.update` turns the gradient
#   into an Adam update, using and returning the discriminator's optimiser state
#   (its moment estimates), and `optax.apply_updates` adds it to the
#   parameters. The generator's optimiser below has its own state.
# * **Generator update.** `generator_objective` scores the generated images
#   with the *updated* discriminator and returns $L_G$. Its gradient with respect
#   to the images goes through `pullback`, the chain rule by hand, to give the
#   gradient with respect to the generator's parameters.
# * **Batch norm.** Every call here has `train=True`: batch norm normalises with
#   the current batch's own mean and variance, and returns updated running
#   averages (`g_stats`, `d_stats`), which the new state keeps. The real and the
#   generated batch are normalised separately, each with its own statistics.
#   The discriminator pass inside the generator's update uses batch statistics
#   too, but its running averages are thrown away, since they describe
#   generated images only. Sampling with `GAN.generate` uses `train=False`, the
#   running averages, so an image depends only on its own latent vector and
#   never on the rest of its batch.
# * **Pure function.** The step takes the state and a batch and returns a new
#   state and a dict of metrics, and changes nothing else. That is what lets
#   `jax.jit` compile it.
#
# ## Data, and a training session
#
# `data.load_mnist("auto")` uses the full MNIST from tensorflow-datasets when it
# is prepared on this machine and otherwise the 9,000 training digits that ship
# with the package. `session.TrainingSession` holds everything a notebook needs
# to train: the `train.GAN`, the state, the batches (`data.BatchStream`), the
# metric history, a fixed batch of 64 latent vectors to draw, and a checkpoint
# folder (`checkpoint.Checkpointer`, which writes with Orbax).
#
# The folder is `~/.cache/gan_lessons/lessons/03_dcgan` in a full run. It does
# not depend on the folder Jupyter was started in, so a restarted kernel finds
# the saved run and the session restores it when it is created. Quick mode
# writes to a new temporary folder instead, deleted when the kernel exits, so a
# quick run never replaces a full run or skips its own training. Pass another
# `directory` to keep runs elsewhere.
#
# Creating the session builds and initialises both networks in one compiled
# program, which takes a while on a CPU the first time.

# %%
WIDTH = 8 if QUICK else None  # None keeps the preset's width, 32
TOTAL_STEPS = 40 if QUICK else 3000
SAMPLE_EVERY = 10 if QUICK else 100
EXTRA_STEPS = 10 if QUICK else 100
COLOUR_STEPS = 20 if QUICK else 2000

mnist = data.load_mnist("auto", "train")
print(mnist)
grey_config = config.model_preset("dcgan", width=WIDTH)
train_config = config.train_preset("dcgan", steps=TOTAL_STEPS)
RUN_DIR = session.lesson_run_directory("03_dcgan", quick=QUICK)
grey = session.TrainingSession(
    grey_config,
    train_config,
    mnist,
    directory=RUN_DIR,
    sample_every=SAMPLE_EVERY,
    checkpoint_every=None if QUICK else 500,
)
print(f"Built the networks in {grey.init_seconds:.1f} s; at step {grey.step}.")

# %% [markdown]
# ### What `jit` compiles, and when
#
# `train.GAN` wraps `_step` in `jax.jit`. On the first call with a batch of a
# given shape and dtype, JAX *traces* the Python function: it runs it once with
# abstract values that record every operation, which also unrolls Python loops
# such as the one over extra generator updates. XLA then compiles the recorded
# program for the device. Later calls with the same shapes skip both and run
# the compiled program. Calls also return before the device has finished
# (asynchronous dispatch), so the next cell waits with `jax.block_until_ready`
# before it reads the clock.
#
# The cell calls the step four times on one batch and throws the results away,
# so the session stays where it is.

# %%
batch = grey.stream.batch_at(0)
started = time.perf_counter()
state, metrics = grey.gan.train_step(grey.state, batch)
jax.block_until_ready(state)
first_call = time.perf_counter() - started

later_calls = []
for _ in range(3):
    started = time.perf_counter()
    state, metrics = grey.gan.train_step(state, batch)
    jax.block_until_ready(state)
    later_calls.append(time.perf_counter() - started)
print(f"first call: {first_call:.2f} s")
print("later calls:", ", ".join(f"{seconds * 1000:.0f} ms" for seconds in later_calls))

# %% [markdown]
# The first call is the slow one: tracing and compiling, then one step. The
# later calls run the compiled program only. If this kernel, or an earlier one
# on this machine, compiled the same program before, the first call loads it
# from the compilation cache and is much faster. A new shape, such as another batch
# size, compiles again.
#
# ## Training
#
# The next cell trains until the session reaches `TOTAL_STEPS`. While it runs,
# the progress bar shows the newest losses and mean discriminator outputs, and
# the figure below it is redrawn in place every `SAMPLE_EVERY` steps: the 64
# images of the fixed latent batch, both losses, and the mean of $D(x)$ on real
# images against $D(G(z))$ on generated ones. When the session was restored from
# a trained checkpoint, the cell skips training and says so.

# %%
grey.train_to(TOTAL_STEPS)

# %% [markdown]
# ### Reading the curves
#
# Each curve is drawn faintly step by step, and solid as a running mean once
# there are enough steps. At the first step the discriminator outputs about
# $1/2$ for everything, so $L_D \approx 2 \log 2 \approx 1.39$. The recorded
# generator loss of a step is computed after that step's discriminator update,
# so it can start above $\log 2 \approx 0.69$: it was 1.1 in the full run.
#
# The full run of this lesson (width 32, 3,000 steps on the bundled digits,
# seed 0) went through two phases:
#
# * **The first few hundred steps: the discriminator is ahead.** Real and
#   generated images are easy to tell apart. Over steps 1 to 200 the means
#   were $D(x) \approx 0.93$, $D(G(z)) \approx 0.07$ and $L_G \approx 4.8$, with
#   single steps above 15. The samples turn from noise into blobs and strokes.
# * **From about step 1,000: a noisy balance.** Over steps 2,000 to 3,000 the
#   means were $L_D \approx 0.6$, $L_G \approx 2.1$, $D(x) \approx 0.78$ and
#   $D(G(z)) \approx 0.22$. Single steps spread widely around them: $D(G(z))$
#   was between 0.07 and 0.40 in 80% of the steps.
#
# That is what a healthy run looks like. Neither network wins for good.
# $D(x)$ stays above $D(G(z))$, with a gap that neither closes to 0 nor opens
# to 1. The running means change slowly. The samples change smoothly from blobs
# to strokes to digits, and stay varied: no part of the grid turns into copies
# of one digit. Single steps are noisy because each comes from one batch of 64
# images, so read the running means. In quick mode the run is too short to
# leave the first phase.
#
# Warning signs are a discriminator loss that falls towards 0 and stays there
# with $D(G(z))$ near 0 (the discriminator wins, and the generator gets little
# to learn from), a generator loss that climbs without stopping, samples that
# collapse to a few shapes, and `nan` values, which stop the session with an
# error. The lesson on failure modes covers them.
#
# The next cell draws the whole history.

# %%
widgets.show_figure(grey.plot_history())

# %% [markdown]
# ### Continue, stop, continue
#
# `train(steps)` always continues from the current step. Run the next cell
# again and the counter goes on from where it stopped, the curves grow, and
# the session saves again. Because batch $s$ and the latent vectors of step
# $s$ depend only on $s$ and the seed, `train(5)` twice gives exactly the state
# of `train(10)`; the package's tests check that bit for bit on a CPU.

# %%
steps_before = grey.step
grey.train(EXTRA_STEPS)
assert grey.step == steps_before + EXTRA_STEPS

# %% [markdown]
# The notebook's stop button raises `KeyboardInterrupt` inside the running
# cell. The session replaces its state only once a step has returned, so after
# an interrupt it keeps the state of the last finished step. It saves that
# state to the folder, prints where, and raises the interrupt again so that
# "run all" stops. The next cell presses the button from the `callback` that
# `train` calls after every step, and catches the interrupt.

# %%
stop_at = grey.step + 3


def press_stop(step):
    if step == stop_at:
        raise KeyboardInterrupt


try:
    grey.train(10, callback=press_stop)
except KeyboardInterrupt:
    print("caught the interrupt")
assert grey.step == stop_at
assert grey.checkpointer.latest_step() == stop_at

# %% [markdown]
# ## Checkpoints: restore instead of retraining
#
# `save()` writes the state with Orbax to `RUN_DIR/checkpoints/STEP/` (both
# networks, both optimiser states, the batch-norm statistics, the step and the
# key), and the metric history and GIF frames to `RUN_DIR/history.npz`. The
# session has saved after every `train` call already; the next cell saves once
# more explicitly, then does what a new kernel would do:
# `TrainingSession.from_directory` reads the configurations saved with the
# checkpoint and restores the newest step. `train_to(TOTAL_STEPS)` then has
# nothing to do.

# %%
grey.save()
reloaded = session.TrainingSession.from_directory(
    RUN_DIR, mnist, sample_every=SAMPLE_EVERY
)
reloaded.train_to(TOTAL_STEPS)

assert reloaded.step == grey.step
assert reloaded.history_steps == grey.history_steps
same = jax.tree.map(
    lambda a, b: bool(jnp.array_equal(a, b)), reloaded.state, grey.state
)
assert all(jax.tree.leaves(same))
print("the restored state equals the trained one")

# %% [markdown]
# ## The generator over time
#
# Every `SAMPLE_EVERY` steps the session kept the grid of the fixed latent
# batch as a frame. `save_gif` writes them to an animated GIF with Pillow: each
# of the 64 positions follows one latent vector from noise to a digit.

# %%
gif_path = grey.save_gif()
print(
    f"{len(grey.frames)} frames, steps {grey.frame_steps[0]} to "
    f"{grey.frame_steps[-1]}, in {gif_path}"
)
display(Image(filename=str(gif_path)))

assert grey.frame_steps == list(range(0, grey.step + 1, SAMPLE_EVERY))
with PILImage.open(gif_path) as gif:
    assert gif.n_frames == len(grey.frames)

# %% [markdown]
# ## Real against generated, and a first number
#
# The left grid shows real training digits, the right one the fixed latent
# batch after training.

# %%
real_digits = data.to_float(mnist.images[:64])
widgets.show_figure(plotting.show_real_and_generated(real_digits, grey.samples()))

# %% [markdown]
# Looking is the first test. A number helps to compare runs: the package ships
# a small digit classifier (98% accurate on the bundled test digits), and
# `classifier.judge_samples` reports how many images it recognises with
# confidence of at least 0.9 and how many of the 10 classes it finds among them.
# Real test digits give the scale.

# %%
test_digits = data.to_float(data.load_mnist("bundled", "test").images[:256])
for name, images in (("real", test_digits), ("generated", grey.generate(256))):
    verdict = classifier.judge_samples(images)
    print(
        f"{name:9}: {verdict['confident_fraction']:4.0%} recognised with "
        f"confidence >= 0.9, {verdict['num_confident_classes']} of 10 classes"
    )

# %% [markdown]
# After the full run, 58% of 256 generated digits were recognised with
# confidence of at least 0.9, and all 10 classes were among them, against 95%
# for real test digits. `python -m gan_lessons train`, the same training
# without this notebook, reached 63% at step 3,000. After the few steps of
# quick mode the classifier recognises almost none. This is a first number,
# not a full evaluation: it rewards recognisable digits, and it says little
# about whether the generator covers all the ways people write each digit. The lesson on evaluation measures that.
#
# ## Colour: change one number
#
# Colour images have three channels: red, green and blue.
# `data.load_coloured_digits` builds a colour dataset without any download: it paints every MNIST digit in
# one random bright colour on one random dark background, deterministically
# from a seed. The strokes are lightened and the backgrounds darkened where
# needed, so that every digit stands out however the two hues combine.

# %%
colour_digits = data.load_coloured_digits("train", seed=0)
print(colour_digits)
coloured_grid = data.to_float(colour_digits.images[:64])
widgets.show_figure(plotting.show_images(coloured_grid, title="coloured digits"))

# %% [markdown]
# The model needs one change: `channels=3`. The generator's last transposed
# convolution then outputs 3 channels, and the discriminator's first
# convolution reads 3. Every other layer, the training step and the session
# stay the same.

# %%
colour_config = config.model_preset("dcgan", width=WIDTH, channels=3)
changed = {
    name: (value, getattr(colour_config, name))
    for name, value in grey_config.to_dict().items()
    if getattr(colour_config, name) != getattr(grey_config, name)
}
print("changed fields (grey, colour):", changed)
assert set(changed) == {"channels"}

# %% [markdown]
# The colour run has its own folder, so it restores separately. In quick mode
# it trains only a few steps, which shows that it runs but not what it learns.
# In the full run the samples were grey, light blobs on dark backgrounds, for
# the first 200 steps. Around step 300 they all took on one shared tint, by
# step 500 the colours varied from sample to sample, and after 2,000 steps most
# samples were digit-like strokes in one colour on a background of another.

# %%
COLOUR_DIR = session.lesson_run_directory("03_dcgan_colour", quick=QUICK)
colour = session.TrainingSession(
    colour_config,
    config.train_preset("dcgan", steps=COLOUR_STEPS),
    colour_digits,
    directory=COLOUR_DIR,
    sample_every=SAMPLE_EVERY,
)
colour.train_to(COLOUR_STEPS)

# %%
colour_samples = colour.samples()
assert colour_samples.shape == (64, 32, 32, 3)
widgets.show_figure(plotting.show_real_and_generated(coloured_grid, colour_samples))

# %% [markdown]
# ### CIFAR-10, when it is on this machine
#
# CIFAR-10 holds 60,000 colour photographs of 32x32 pixels in 10 classes, such
# as aeroplanes, cats and ships, so the same colour model can train on it.
# `data.load_tfds_colour("cifar10")` reads it from tensorflow-datasets, but only
# when it is already prepared on this machine: like the MNIST loader, it never
# downloads, and it fails within seconds with instructions otherwise. The next
# cell trains on the first 10,000 images when they are there, and prints what
# to do when they are not. Photographs vary far more than digits, so expect
# `COLOUR_STEPS` steps to give blurry, colourful scenes rather than
# recognisable objects. This project has not run this cell with CIFAR-10
# prepared, so that is an expectation, not an observation.

# %%
try:
    cifar = data.load_tfds_colour("cifar10", "train", max_examples=10_000)
except FileNotFoundError as error:
    cifar = None
    print("CIFAR-10 is not prepared here, so this lesson skips it.")
    print(error)

if cifar is not None:
    cifar_run = session.TrainingSession(
        colour_config,
        config.train_preset("dcgan", steps=COLOUR_STEPS),
        cifar,
        directory=session.lesson_run_directory("03_dcgan_cifar10", quick=QUICK),
        sample_every=SAMPLE_EVERY,
    )
    cifar_run.train_to(COLOUR_STEPS)
    real_photos = data.to_float(cifar.images[:64])
    widgets.show_figure(
        plotting.show_real_and_generated(real_photos, cifar_run.samples())
    )


# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong and never gives the answer
# away. An answer left at `None` is reported as not answered yet. The solutions
# are folded below each exercise.
#
# **Exercise 1.** `lax.conv_transpose` dilates its input: it puts
# `stride - 1` zeros between neighbouring pixels, adds `pad` pixels at both
# ends, and runs an ordinary stride-1 convolution with the `kernel`-pixel
# kernel over the result. Write `output_size(size, kernel, stride, pad)`, the
# number of output pixels along one axis in that convention. The check
# compares it with the right answer on random sizes, kernels, strides and pads.

# %%
def output_size(size, kernel, stride, pad):
    # Your answer: the output length along one axis.
    return None


exercise_1_passed = session.check_dilated_transpose_size(output_size)

# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# The dilated input has the $n$ pixels plus $s - 1$ zeros in each of the
# $n - 1$ gaps, $(n - 1)s + 1$ pixels, and the padding adds $2q$. A stride-1
# convolution with a $k$-pixel kernel fits at $m - k + 1$ positions of $m$
# pixels:
#
# ```python
# def output_size(size, kernel, stride, pad):
#     dilated = (size - 1) * stride + 1
#     return dilated + 2 * pad - kernel + 1
# ```
#
# Comparing with $(n - 1)s - 2p + k$ shows that trimming $p$ pixels is the same
# as padding the dilated input with $q = k - 1 - p$. For the DCGAN layers,
# $k = 4$ and $p = 1$ give $q = 2$, which is what `'SAME'` picks.
# </details>

# %% [markdown]
# **Exercise 2.** Without running code, give the shape of one image after each
# of the three convolutions of the discriminator of
# `config.model_preset("dcgan", channels=3, width=16)`, as
# `(height, width, channels)`. Its discriminator features are
# `(16, 32, 64)`, and it reads 32x32x3 images.

# %%
shapes = None  # your answer: a list of three (height, width, channels) tuples

exercise_2_passed = session.check_discriminator_shapes(shapes)

# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# Each stride-2 convolution with `'SAME'` padding halves the height and width,
# and outputs as many channels as it has filters. The input's 3 channels only
# change the size of the first kernel, `(4, 4, 3, 16)`:
#
# ```python
# shapes = [(16, 16, 16), (8, 8, 32), (4, 4, 64)]
# ```
# </details>

# %% [markdown]
# **Exercise 3.** Suppose the discriminator's loss were written as one function
# of both networks' parameters,
#
# ```python
# def loss(g_params, d_params):
#     fake = generate(g_params, z)  # images made from g_params
#     fake = jax.lax.stop_gradient(fake)  # the line in question
#     real_logits = discriminate(d_params, real)
#     fake_logits = discriminate(d_params, fake)
#     return discriminator_loss(real_logits, fake_logits)
# ```
#
# and differentiated with `jax.grad(loss, argnums=(0, 1))`. Which networks get
# a non-zero gradient with the `stop_gradient` line, and which without it? Give
# each answer as a set of `"generator"` and `"discriminator"`.

# %%
with_stop_gradient = None  # for example {"generator"}
without_stop_gradient = None

exercise_3_passed = session.check_gradient_flow(
    with_stop_gradient, without_stop_gradient
)

# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# ```python
# with_stop_gradient = {"discriminator"}
# without_stop_gradient = {"generator", "discriminator"}
# ```
#
# The loss depends on `d_params` through both batches' logits in either case.
# `stop_gradient` makes `fake` a constant for differentiation, so no path is
# left back to `g_params`. Without it, the gradient flows through `fake` into
# the generator, and a step along it would make the generated images *easier*
# to reject: the opposite of what the generator wants. `train.GAN._step` avoids
# the question by differentiating `discriminator_objective` with respect to
# `d_params` only, and keeps `stop_gradient` to state the intent.
# </details>

# %% [markdown]
# ## Summary
#
# * The `dcgan` generator projects $z \in \mathbb{R}^{100}$ to a 4x4x128 map
#   and doubles it three times with 4x4, stride-2 transposed convolutions to
#   32x32x1. The discriminator mirrors it down to 4x4x128 and one logit. Batch
#   norm sits everywhere except the generator's output and the discriminator's
#   input, with ReLU and tanh in the generator and leaky ReLU in the
#   discriminator (Radford et al., 2016).
# * A transposed convolution outputs $(n - 1)s - 2p + k$ pixels per axis when
#   $p$ pixels are trimmed from each end, and `'SAME'` gives $n \cdot s$.
# * One jit-compiled step updates the discriminator on a real and a generated
#   batch, then the generator through the updated discriminator, each with its
#   own Adam optimiser. Step $s$ draws its keys from `fold_in(key, s)`, so
#   training resumes exactly. The first call traces and compiles, and later
#   calls reuse the program.
# * `session.TrainingSession` trains in a notebook: it continues where it
#   stopped, keeps the last finished step on an interrupt, saves and restores
#   with Orbax, skips training when its checkpoint is trained, and records a
#   GIF of the fixed latent batch.
# * The same model trains on colour images with `channels=3`.
#
# **Limitations**
#
# * The bundled subset has 9,000 training digits, and the full lesson trains
#   3,000 steps of 64 images, about 21 passes over them. The samples are
#   recognisable but not perfect. A wider model (`width=64` suits a GPU),
#   trained longer on the full MNIST, is the next thing to try. This lesson has
#   not measured how much it helps.
# * The classifier's verdict measures recognisability, not how well the
#   generator covers the data.
# * The coloured digits are a toy colour dataset: each image has only two
#   colours, so the model mostly learns to pick a pair of colours and draw a
#   digit with them.
# * The times in this lesson come from 2-core CPUs. They vary with the load on
#   the machine, and GPU and TPU times were not measured.
