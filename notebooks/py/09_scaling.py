# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/09_scaling.ipynb)

# %% [markdown]
# # 9. Training on several devices
#
# **Goal:** split every training batch over several devices, so that a batch
# $K$ times larger takes about as long per step on $K$ devices as the original
# batch takes on one, and check that the split changes nothing but the speed.
#
# After this lesson you can:
#
# * explain why the mean of the per-device gradients is the gradient of the whole
#   batch, and why batch norm needs care;
# * place a batch on a device mesh with `NamedSharding` and `PartitionSpec("data")`
#   and read where each row went;
# * compare a one-device run of the GAN with a four-device run of it;
# * start `python -m gan_lessons train` on several GPUs, a TPU or several hosts.
#
# **Run time:** about a minute on a 2-core CPU, almost all of it in the cell
# that compiles the training step for one and for four devices. Quick mode
# (`GAN_LESSONS_QUICK=1`, used by the tests) trains 2 steps there instead of 10,
# which saves only a few seconds because compilation dominates.

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
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from gan_lessons import losses, notebook, runtime, train

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# JAX counts **devices**, not cores, and the line above reports how many it found.
#
# * On a CPU, XLA treats the whole processor as one device and spreads each
#   operation over its cores with threads. A CPU machine therefore reports one
#   device however many cores it has, and data parallelism has nothing to split
#   over: the four devices later in this lesson are simulated.
# * Each GPU is one device. A TPU shows one device per chip on TPU v4 and
#   later, and one per core on TPU v2 and v3, which have two cores per chip, so a
#   TPU v2-8 shows 8 devices. On a Colab TPU runtime, check `jax.device_count()`
#   before choosing a batch size.
#
# With $K$ devices a step on a batch of $K \cdot B$ images takes roughly as long
# as a step on $B$ images on one device. That estimate holds while each device
# has enough rows to stay busy and averaging the gradients across devices is
# cheap next to the step itself. It is an estimate, not a measurement of this
# package.

# %% [markdown]
# ## The idea: replicate the parameters, split the batch
#
# Data parallelism keeps a full copy of the parameters on every device and
# splits each batch along its first axis. Take a batch of $N$ images and $K$
# devices, with $N$ divisible by $K$. Device $k$ holds a shard $S_k$ of
# $n = N / K$ rows and computes the gradient of the loss on its rows. The
# devices then average their gradients (an *all-reduce*), and each applies the
# same update to its copy, so the copies stay identical.
#
# Averaging is exact because the GAN losses are means over the batch:
#
# $$L(\theta) = \frac{1}{N} \sum_{i=1}^{N} \ell(\theta; x_i).$$
#
# Write $L_k(\theta) = \frac{1}{n} \sum_{i \in S_k} \ell(\theta; x_i)$ for the
# mean loss on shard $k$ and group the terms of $L$ by shard:
#
# $$L(\theta) = \frac{1}{N} \sum_{k=1}^{K} \sum_{i \in S_k} \ell(\theta; x_i)
# = \frac{n}{N} \sum_{k=1}^{K} L_k(\theta)
# = \frac{1}{K} \sum_{k=1}^{K} L_k(\theta).$$
#
# The gradient is linear, so
#
# $$\nabla L(\theta) = \frac{1}{K} \sum_{k=1}^{K} \nabla L_k(\theta).$$
#
# The mean of the shard gradients is the full-batch gradient, up to rounding.
# Each device needs only its own rows to compute $\nabla L_k$, and what crosses
# between devices is $K$ gradients the size of the parameters, not images.
#
# The next cell checks the identity on a linear discriminator: one weight per
# pixel, trained with the package's `losses.discriminator_loss` on 8 real and 8
# generated images (random here), split into 4 shards.

# %%
rng = np.random.default_rng(0)
num_shards = 4
real = jnp.asarray(rng.uniform(-1, 1, (8, 32, 32, 1)), jnp.float32)
fake = jnp.asarray(rng.uniform(-1, 1, (8, 32, 32, 1)), jnp.float32)
weights = jnp.asarray(rng.normal(0.0, 0.02, 32 * 32), jnp.float32)


def linear_discriminator_loss(weights, real, fake):
    # Logits (batch,) from images flattened to (batch, 1024).
    real_logits = real.reshape(len(real), -1) @ weights
    fake_logits = fake.reshape(len(fake), -1) @ weights
    return losses.discriminator_loss(real_logits, fake_logits)


loss_gradient = jax.grad(linear_discriminator_loss)
full_gradient = loss_gradient(weights, real, fake)
shard_gradients = [
    loss_gradient(weights, real_shard, fake_shard)
    for real_shard, fake_shard in zip(
        jnp.split(real, num_shards), jnp.split(fake, num_shards), strict=True
    )
]
mean_gradient = jnp.mean(jnp.stack(shard_gradients), axis=0)

print("gradient shape:", full_gradient.shape)
print(
    "max |full - mean of shards|:",
    float(jnp.max(jnp.abs(full_gradient - mean_gradient))),
)
print(
    "max |full - shard 0 alone|: ",
    float(jnp.max(jnp.abs(full_gradient - shard_gradients[0]))),
)

# %% [markdown]
# The full-batch gradient and the mean of the four shard gradients agree to
# float32 rounding (around $10^{-8}$), while one shard's gradient alone is off by
# far more. Each shard gives a noisy estimate, and only their mean is the
# full-batch gradient.
#
# **The catch: batch norm.** The derivation needs each term
# $\ell(\theta; x_i)$ to depend on its own image only. Batch norm breaks that,
# because it normalises every image with the mean and variance of the whole
# batch. If each device normalised with the statistics of its own $n$ rows, a
# four-device run would train a different model from a one-device run.
#
# `train.GAN` avoids this without any special code. Given a mesh, it compiles the
# step with `jax.jit`, the batch split over the devices and the state
# replicated. `jit` keeps the meaning of the single-device program: `jnp.mean`
# over the batch axis is the mean over all $N$ rows, wherever they live. XLA
# inserts the cross-device reductions itself, for the batch-norm statistics, the
# losses and the gradients. You write the one-device program, and the sharding
# says where the data lives.

# %% [markdown]
# ## Sharding: meshes and partition specs
#
# * A `jax.sharding.Mesh` arranges devices in a grid with named axes.
#   `train.data_parallel_mesh()` returns a one-axis mesh named `"data"` over all
#   devices.
# * `PartitionSpec("data")` splits an array's first axis over the mesh axis
#   `"data"` and keeps the other axes whole. `PartitionSpec()` splits nothing,
#   so every device holds a full copy (the array is *replicated*).
# * `NamedSharding(mesh, spec)` binds a spec to a mesh.
#   `jax.device_put(array, sharding)` places an array that way, `array.sharding`
#   reports where it lives, and `array.addressable_shards` lists the pieces held
#   by this process.
#
# The next cell shards a batch of two rows per device over the devices this
# kernel has, and replicates the linear discriminator's weights.

# %%
mesh = train.data_parallel_mesh()
batch_sharding = NamedSharding(mesh, PartitionSpec(train.DATA_AXIS))
replicated = NamedSharding(mesh, PartitionSpec())

rows = 2 * mesh.devices.size
batch = jax.device_put(np.zeros((rows, 32, 32, 1), np.float32), batch_sharding)
weights_on_mesh = jax.device_put(weights, replicated)

print("mesh axes:", dict(mesh.shape))
print("batch:", batch.shape, batch.sharding)
print("weights replicated:", weights_on_mesh.sharding.is_fully_replicated)
for shard in batch.addressable_shards:
    start, stop, _ = shard.index[0].indices(rows)
    print(f"  {shard.device}: rows {start}:{stop}, shape {shard.data.shape}")
jax.debug.visualize_array_sharding(batch.reshape(rows, -1))

# %% [markdown]
# On a CPU kernel the mesh has one device, which holds every row, so the split
# above is trivial. On 8 GPUs each device would hold 2 of 16 rows.
#
# To see a real split without the hardware, XLA's CPU backend can present
# several devices: set `XLA_FLAGS=--xla_force_host_platform_device_count=4`, or
# call `jax.config.update("jax_num_cpu_devices", 4)` right after `import jax`.
# Both are read once, when JAX initialises its backends at the first operation
# or device query. The first cell of this notebook already did that, so in this
# kernel it is too late, as the next cell shows. Setting `os.environ["XLA_FLAGS"]`
# now would be silently ignored.

# %%
try:
    jax.config.update("jax_num_cpu_devices", 4)
except RuntimeError as error:
    print("RuntimeError:", error)
print("devices in this kernel:", jax.device_count())

# %% [markdown]
# ## One device against four
#
# `notebook.compare_data_parallel` therefore starts a fresh Python process with
# `XLA_FLAGS` set for four CPU devices (and `JAX_PLATFORMS=cpu`). There it trains
# a tiny GAN (`model_preset("dcgan", width=8)`, 2 images per device, so a batch
# of 8) twice from the same weights on the same random batches: once on one
# device, and once on the four-device mesh of `train.data_parallel_mesh()`. It
# returns the largest parameter difference between the two runs after each step,
# the sharding of the state and of a batch. When this kernel already has several
# devices, such as several GPUs or a TPU, the comparison runs here over all of
# them instead.
#
# The cell takes about 50 seconds on a 2-core CPU, nearly all of it building
# the networks and compiling the step twice. A second run reads the compiled
# programs from the cache that the first cell enabled and takes about 10
# seconds.

# %%
steps = 2 if QUICK else 10
comparison = notebook.compare_data_parallel(steps=steps)
print(comparison.report())

# %% [markdown]
# How to read the report:
#
# * **State sharding** `P()`: every device holds a full copy of the parameters,
#   batch-norm statistics and optimiser state.
# * **Batch sharding** `P('data',)`: the rows are split, 2 per device, in order,
#   as the table and the drawing show.
# * **Differences** around $10^{-6}$ are rounding. The four-device program adds
#   partial sums on each device and then across devices, an order different from
#   the one-device program's, and float32 addition is not associative. A real
#   mistake, such as batch-norm statistics per shard or gradients summed instead
#   of averaged, would change the updates themselves. Adam moves each weight by
#   up to the learning rate, $2 \times 10^{-4}$, per step, so such a mistake
#   would show differences of that order, growing with the steps. Here they
#   stay near $2 \times 10^{-6}$: on a 2-core CPU they were the same after
#   10 steps as after the first.
# * **Speed:** the four virtual devices share the same CPU cores, so the
#   four-device run is not faster. This demonstrates correctness, not speed.
#
# The next cell turns this reading into a check.

# %%
assert comparison.devices > 1, "the comparison needs at least two devices"
assert comparison.max_difference < 1e-4, (
    f"one-device and {comparison.devices}-device runs differ by "
    f"{comparison.max_difference:.2e}; expected rounding-level differences"
)
print(f"The runs agree to {comparison.max_difference:.1e} over {steps} steps.")

# %% [markdown]
# ## On real hardware
#
# The command line builds the same mesh. On one machine with several GPUs, or on
# a Colab TPU runtime:
#
# ```bash
# python -m gan_lessons train --data-parallel --batch-size 512
# ```
#
# `--data-parallel` splits each batch over every device JAX sees. The batch
# size must be a multiple of the device count: 512 gives 64 rows to each of 8
# GPUs or TPU cores, the per-device batch of the default run. The learning rate
# (`--lr`, default $2 \times 10^{-4}$) was chosen for batch 64, and a larger
# batch may need it retuned.
#
# On a multi-host GPU cluster or a TPU pod slice, start the same command once
# on every host:
#
# ```bash
# python -m gan_lessons train --distributed --batch-size 1024
# ```
#
# `--distributed` first calls `jax.distributed.initialize()`, which reads the
# coordinator address, the number of processes and each process's id from the
# cluster's environment (TPU metadata, or SLURM or Open MPI variables). The mesh
# then spans the devices of all hosts. Every process draws the same global batch
# and keeps the rows of its own devices, and only process 0 writes metrics,
# samples and checkpoints, so every host must see the same output folder.
#
# **Not yet run on a cluster:** this project has tested the multi-device path on
# virtual CPU devices only, as in this lesson and in its test suite. It has not
# run `--distributed` on a real multi-host cluster or pod slice.

# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong and does not give the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** A machine has 8 GPUs. Which of the batch sizes 32, 60, 64, 100,
# 128, 200, 256, 500, 1000 and 1024 can `--data-parallel` use? Put them in the set
# `even_sizes` and run the cell.

# %%
even_sizes = set()  # your answer: a set of batch sizes

exercise_1_passed = notebook.check_even_split(even_sizes, devices=8)


# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# A batch splits evenly when `batch_size % 8 == 0`:
#
# ```python
# even_sizes = {32, 64, 128, 200, 256, 1000, 1024}
# ```
#
# 200 and 1000 work even though they are not powers of two: each GPU gets 25 or
# 125 rows. 60, 100 and 500 leave a remainder.
# </details>

# %% [markdown]
# **Exercise 2.** The derivation above assumed shards of equal size. When
# shards differ in size, for example when a dataset's last batch is short, the
# plain mean of the shard gradients is no longer the full-batch gradient.
#
# Write `combine_shard_gradients(gradients, sizes)`. `gradients` is a list of
# $K$ arrays, each the gradient of the *mean* loss over one shard, and `sizes`
# holds the number of rows of each shard. Return the gradient of the mean loss
# over all rows. The check tries a least-squares loss with shards of sizes
# (3, 5), (4, 4, 4, 4) and (1, 6, 2).

# %%
def combine_shard_gradients(gradients, sizes):
    # Your answer: the gradient of the mean loss over all rows.
    return None


exercise_2_passed = notebook.check_combine_shard_gradients(combine_shard_gradients)

# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# With shard sizes $n_k$ and $N = \sum_k n_k$, grouping the terms of the mean
# loss by shard gives
#
# $$L = \frac{1}{N} \sum_{k} n_k L_k, \qquad
# \nabla L = \sum_{k} \frac{n_k}{N} \nabla L_k.$$
#
# ```python
# def combine_shard_gradients(gradients, sizes):
#     total = sum(sizes)
#     return sum(size / total * g for g, size in zip(gradients, sizes, strict=True))
# ```
#
# With equal sizes $n_k = N / K$ the weights are all $1 / K$, and this is the
# plain mean of the derivation above.
# </details>

# %% [markdown]
# ## Summary
#
# * Data parallelism replicates the parameters and splits each batch over $K$
#   devices. For a loss that is a mean over images, the mean of the shard
#   gradients is the full-batch gradient, so each step exchanges one gradient's
#   worth of data between devices.
# * `train.GAN(..., mesh=train.data_parallel_mesh())` compiles the ordinary
#   one-device step with shardings: the batch gets `PartitionSpec("data")`, the
#   state `PartitionSpec()`. `jit` keeps the one-device meaning, including batch
#   norm over the global batch, and the four-device run matched the one-device
#   run to rounding.
# * `python -m gan_lessons train --data-parallel` uses all devices of one
#   machine, and `--distributed` runs one process per host.
#
# **Limitations**
#
# * Virtual CPU devices show that the results are right, not that training gets
#   faster. This lesson measures no speed-up.
# * Every device holds a full copy of the parameters and optimiser state. Models
#   too large for one device need their parameters sharded as well (fully
#   sharded data parallelism or tensor parallelism), which `gan_lessons` does not
#   do.
# * The global batch size must be a multiple of the device count.
# * The multi-host path (`--distributed`) has not been run on a real cluster by
#   this project.
# * A larger global batch changes the optimisation. Learning rates and step
#   counts tuned for batch 64 may not carry over.
