# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/05_failure_modes.ipynb)

# %% [markdown]
# # 5. When GANs fail
#
# **Goal:** recognise the usual ways GAN training fails (mode collapse, a
# discriminator that wins and starves the generator of gradient, oscillation,
# divergence) from the numbers that a training loop already logs, detect each one
# automatically while training runs, and fix it.
#
# After this lesson you can:
#
# * count how many modes of a toy distribution a generator covers, and explain
#   why the losses cannot show a collapse;
# * provoke mode collapse on the ring of eight Gaussians and on MNIST, and undo
#   it by letting the discriminator keep up with the generator;
# * explain why the minimax generator loss stops learning once the discriminator
#   wins, and watch the generator's gradient norm fall a hundredfold;
# * read oscillation from snapshots of the discriminator;
# * run `diagnostics.FailureDetector` alongside training and act on its alerts.
#
# **Run time:** about 2 minutes on a 2-core CPU, half of it in the cells that
# train the MNIST GANs, compilation included. Quick mode (`GAN_LESSONS_QUICK=1`,
# used by the tests) trains them for 100 steps instead of 400 and takes about
# 1.5 minutes. The toy runs are the same in both modes and take a few seconds
# each.

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
import jax
import numpy as np

from gan_lessons import (
    config,
    data,
    diagnostics,
    metrics,
    notebook,
    runtime,
    toy,
    train,
)

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## The ring of eight Gaussians
#
# The standard test bed for mode collapse is a mixture of eight Gaussians spaced
# evenly on a circle (Metz et al., 2017, "Unrolled Generative Adversarial
# Networks"). Here the circle has radius 2 and each mode has the standard
# deviation $\sigma = 0.1$ in both coordinates, so neighbouring modes sit
# 15 $\sigma$ apart. A generator that puts all its samples on one or two modes
# has *collapsed*. On this data we can count exactly how many modes it covers.
#
# Take $N$ generated points $x_1, \dots, x_N$ and modes with means $\mu_k$ and
# weights $w_k$ (here $1/8$ each). A point is *near* mode $k$ when
#
# $$\frac{\lVert x_i - \mu_k \rVert}{\sigma} \le 3,$$
#
# which holds for 98.9% of the mode's own samples: for a 2D Gaussian,
# $P(r \le 3\sigma) = 1 - e^{-9/2}$. Mode $k$ is *covered* when at least a fifth
# of its fair share of the points is near it:
#
# $$n_k = \#\{\, i : x_i \text{ near mode } k \,\} \;\ge\; \max\bigl(1, \lceil 0.2\, w_k N \rceil\bigr).$$
#
# The number of covered modes measures variety, and the share of points near
# some mode measures quality. `diagnostics.modes_covered` computes both. On
# 1,000 real samples it must find all eight modes.

# %%
ring = diagnostics.lesson_ring()
real_points = ring.sample(jax.random.key(0), 1000)
real_coverage = diagnostics.modes_covered(real_points, ring)
print(f"modes covered: {real_coverage.covered} of {real_coverage.num_modes}")
print(f"points near each mode: {real_coverage.counts}")
print(f"share of points near a mode: {real_coverage.high_quality_fraction:.3f}")
assert real_coverage.covered == 8

# %% [markdown]
# ## Mode collapse: a discriminator that learns too slowly
#
# `toy.ToyGAN` trains a small MLP generator, which maps 2D normal noise to 2D
# points, against an MLP discriminator, both with Adam at learning rate
# $2 \times 10^{-3}$. A *round* is one discriminator update followed by one
# generator update.
#
# The healthy run uses these settings. The collapsing run changes one thing: the
# discriminator's learning rate drops tenfold, to $2 \times 10^{-4}$. The
# generator then moves faster than the discriminator can follow. At each moment
# it finds the region that the slow discriminator rates most real and moves
# *all* its points there. Nothing in the generator's loss rewards spreading out.
# Only the discriminator can punish a crowd on one spot, and this one reacts too
# slowly.
#
# The learning rates live in the optimiser states, so `gan.set_learning_rates`
# changes them without compiling anything. `diagnostics.record_toy_run` trains
# 1,500 rounds, measures the coverage every 50 rounds on the same 1,000 latent
# vectors, and keeps every round's metrics. It also feeds a `FailureDetector`,
# whose alerts this lesson reads further down. Each run takes a few seconds.

# %%
seed = 0
toy_config = toy.ToyConfig(
    generator_learning_rate=2e-3, discriminator_learning_rate=2e-3
)
gan = toy.ToyGAN(ring, toy_config)
slow_start = gan.set_learning_rates(gan.init(seed), discriminator=2e-4)
starts = {"healthy": gan.init(seed), "slow discriminator": slow_start}

toy_runs, toy_detectors = {}, {}
for label, start in starts.items():
    toy_detectors[label] = diagnostics.FailureDetector(warmup_steps=1000)
    toy_runs[label] = diagnostics.record_toy_run(
        gan, start, rounds=1500, detector=toy_detectors[label]
    )
    modes = toy_runs[label].modes[4::5].tolist()
    print(f"{label:>18}: modes covered every 250 rounds {modes}")

# %% [markdown]
# Where each generator puts its points after 1,500 rounds (orange), over real
# samples (blue):

# %%
diagnostics.plot_toy_samples(toy_runs, ring)

# %% [markdown]
# And over the rounds: the modes covered at each check, and the discriminator's
# mean output on real points, D(x), and on generated points, D(G(z)), each
# averaged over 25 rounds:

# %%
diagnostics.plot_toy_curves(toy_runs)

# %% [markdown]
# **Reading the curves.** The healthy generator first spreads over the plane,
# then gathers on the ring and covers all eight modes from about round 750 on.
# The generator against the slow discriminator never covers more than two modes
# at a time: its points form a streak or a blob that wanders around the ring.
#
# Now look at the discriminator's outputs. In the collapsing run D(x) and
# D(G(z)) both sit near 1/2, which is also where they sit at the equilibrium of
# a perfect generator. **The losses do not show mode collapse.** A
# discriminator that cannot tell real from generated outputs 1/2 when the
# generator is perfect, and also when the discriminator is too slow to notice a
# collapse. What detects the collapse is the coverage, and measuring it needs
# knowledge of the data: the modes here, digit classes for MNIST.

# %% [markdown]
# ### Remedy: let the discriminator keep up
#
# The discriminator has to change at least as fast as the generator. Two common
# ways:
#
# * more discriminator updates per generator update. Gulrajani et al. (2017),
#   "Improved Training of Wasserstein GANs", update their critic 5 times per
#   generator update;
# * a discriminator learning rate at least as large as the generator's. Heusel
#   et al. (2017) train the two networks with separate learning rates, on two
#   time scales.
#
# The healthy run above is the second remedy. The next cell keeps the slow
# learning rate and gives the discriminator 5 updates per round instead.

# %%
remedy_label = "slow discriminator, 5 steps"
toy_runs[remedy_label] = diagnostics.record_toy_run(
    gan, slow_start, rounds=1500, discriminator_steps=5
)
print("modes covered every 250 rounds:", toy_runs[remedy_label].modes[4::5].tolist())
diagnostics.plot_toy_curves(toy_runs)

# %% [markdown]
# With 5 updates per round, the slow discriminator keeps up: the generator
# covers all eight modes by the end. It gets there later than the healthy run,
# because five Adam updates at a tenth of the learning rate move the
# discriminator about half as far per round as one update at the full rate.
#
# The next cell checks these claims. The thresholds leave room for other seeds:
# `tests/test_diagnostics.py` repeats the healthy and the collapsing run for
# seeds 0, 1 and 2.

# %%
healthy = toy_runs["healthy"]
collapsed = toy_runs["slow discriminator"]
remedied = toy_runs[remedy_label]
assert collapsed.modes_after(1000).max() <= 3, collapsed.modes
assert healthy.modes_after(1000).min() >= 6, healthy.modes
assert remedied.modes[-1] >= 7, remedied.modes
print(
    f"After round 1000: healthy {healthy.modes_after(1000).min()} to 8 modes, "
    f"collapsed at most {collapsed.modes_after(1000).max()}; "
    f"the remedy ends with {remedied.modes[-1]}."
)

# %% [markdown]
# ## A detector for failing runs
#
# `diagnostics.FailureDetector` reads the metrics dict of every training step,
# the one that `train.GAN.train_step` and `toy.ToyGAN.train_round` return, and a
# coverage figure $c \in [0, 1]$ when one is measured. Each rule compares a
# metric with a threshold, a named constant of `gan_lessons/diagnostics.py`. A
# step is one training step of the image GAN or one round of the toy GAN.
#
# | failure | metric | rule |
# |---|---|---|
# | `non_finite` | every metric | a value is NaN or infinite |
# | `discriminator_saturation` | D(x), D(G(z)) | D(x) $\ge$ 0.9 and D(G(z)) $\le$ 0.1 at 20 steps in a row |
# | `vanishing_gradient` | $\lVert \nabla_\theta L_G \rVert$ | its median over 10 steps is below 0.1 times its largest median so far, while the mean D(G(z)) is $\le$ 0.1 |
# | `weak_discriminator` | D(x), D(G(z)) | over 20 steps the mean D(G(z)) exceeds the mean D(x) by more than 0.1 |
# | `mode_collapse` | coverage $c$ | $c < 0.5$ at 3 checks in a row, or $c$ below half its best value once that value reached 0.5 |
# | `oscillation` | D(G(z)) | see the oscillation section |
#
# Why these rules:
#
# * At the equilibrium both D(x) and D(G(z)) are 1/2. A discriminator that
#   separates them with 90% confidence for many steps has won, and the generator
#   learns only if its loss still gives it gradient.
# * A small generator gradient is normal near the equilibrium, where the
#   discriminator has nothing left to teach. It is a failure when the
#   discriminator is winning at the same time.
# * A discriminator that rates generated samples *more* real than real ones
#   lags behind the generator, which can then collapse unpunished, as above.
# * Early training covers few modes and moves fast, so the coverage and
#   oscillation rules wait for `warmup_steps`, here 1,000 rounds. The other
#   rules apply from the first step.
#
# An alert repeats only after its condition has cleared and 200 steps have
# passed. With `verbose=True` it is printed the moment it fires. The next cell
# trains the collapsing run again with a verbose detector, to watch the alerts
# arrive during training.

# %%
live_detector = diagnostics.FailureDetector(warmup_steps=1000, verbose=True)
_ = diagnostics.record_toy_run(gan, slow_start, rounds=1500, detector=live_detector)

# %% [markdown]
# The first alert comes within a few dozen rounds, long before any coverage
# could be judged: the slow discriminator rates the generated points more real
# than the real ones (`weak_discriminator`). The coverage alert follows three
# checks after the warm-up ends. Each alert names the metric, its value and a
# remedy.
#
# The detectors that watched the first two runs give the comparison: the
# collapsing run raised `mode_collapse`, and the healthy run raised nothing.

# %%
for label, detector in toy_detectors.items():
    print(f"{label}:\n{detector.report()}\n")
assert toy_detectors["healthy"].alerts == [], toy_detectors["healthy"].report()
assert diagnostics.MODE_COLLAPSE in toy_detectors["slow discriminator"].failures
assert diagnostics.MODE_COLLAPSE in live_detector.failures

# %% [markdown]
# ## Mode collapse on MNIST
#
# The same experiment on the DCGAN of lesson 3: the `dcgan` preset at width 16,
# batch 64, Adam at $2 \times 10^{-4}$ for both networks, then with the
# discriminator at $2 \times 10^{-5}$. Both runs share one compiled step.
# Each trains 400 steps (100 in quick mode), and the first run includes the
# compilation.
#
# Counting digit classes with the bundled classifier is the MNIST analogue of
# counting modes. But the default run needs about 3,000 steps at width 32 to
# draw recognisable digits, so after a few hundred steps neither run draws
# digits, and the classifier's verdict on blobs says little. A figure that works
# before digits appear is the **sample diversity**: the median pixel distance
# between two generated images,
#
# $$\operatorname{median}_{i < j} \lVert G(z_i) - G(z_j) \rVert_2,$$
#
# over 128 fixed latent vectors. A collapsed generator draws nearly the same
# image for every $z$, and its diversity is near 0.
# `diagnostics.record_image_run` measures it every 20 steps and feeds a
# detector every step.

# %%
image_steps = 100 if QUICK else 400
digits = data.load_mnist("bundled", "train")
stream = data.BatchStream(digits, 64, seed=seed)
model_config = config.model_preset("dcgan", width=16)
image_gan = train.GAN(model_config, config.train_preset("dcgan", batch_size=64))
image_starts = {
    "healthy": image_gan.init(seed),
    "slow discriminator": image_gan.set_learning_rates(
        image_gan.init(seed), discriminator=2e-5
    ),
}
image_runs, image_detectors = {}, {}
for label, start in image_starts.items():
    image_detectors[label] = diagnostics.FailureDetector()
    image_runs[label] = diagnostics.record_image_run(
        image_gan, start, stream, steps=image_steps, detector=image_detectors[label]
    )
    print(f"{label}: diversity {image_runs[label].diversity[-1]:.2f}")

# %% [markdown]
# The dashed line is the diversity of real digits. The panels show D(x),
# D(G(z)), the generator's gradient norm and the diversity at each step:

# %%
reference = metrics.real_reference(256 if QUICK else 500)
real_diversity = diagnostics.sample_diversity(reference.heldout_images)
diagnostics.plot_image_runs(image_runs, real_diversity=real_diversity)

# %% [markdown]
# Samples of both generators from the same latent vectors, and the bundled
# classifier's histogram of their predicted digits (`metrics.evaluate`):

# %%
latent = image_gan.sample_latent(jax.random.key(7), reference.num_samples)
samples = {
    label: np.asarray(image_gan.generate(run.state, latent))
    for label, run in image_runs.items()
}
diagnostics.plot_sample_grids({label: images[:32] for label, images in samples.items()})

# %%
evaluations = {
    label: metrics.evaluate(images, reference) for label, images in samples.items()
}
for label, evaluation in evaluations.items():
    print(f"{label}:\n{evaluation.report()}\n")
diagnostics.plot_class_histograms(evaluations)

# %% [markdown]
# **What this shows, and what it does not.** Neither generator draws digits
# after this many steps. Both score a recall near 0 and a Fréchet distance far
# above the real baseline, so the class histograms are no evidence of variety
# in either run: their classes come from blobs. The healthy generator's samples
# also look alike at this stage, with a diversity around 5 against about 20 for
# real digits, which is common early in DCGAN training.
#
# The difference lies in the curves. With the slow discriminator, D(G(z))
# climbs above D(x) within 20 steps and stays there, which the detector reports
# as `weak_discriminator`. The generator has found an image that the slow
# discriminator rates real, and nothing pushes it away: it draws nearly the same
# grey texture for every latent vector. Its diversity falls while the healthy
# run's grows, and its class histogram is the narrower one. That is a collapse,
# seen early. Whether the healthy run goes on to cover all ten classes takes
# thousands of steps to tell. The default run of the README, 3,000 steps at
# width 32, finds all ten.
#
# The detector's reports follow. The healthy run also raises
# `discriminator_saturation`. That alert is true: early in DCGAN training the
# discriminator wins. The next section shows why the healthy run survives it.

# %%
for label, detector in image_detectors.items():
    print(f"{label}:\n{detector.report()}\n")
slow_run, healthy_run = image_runs["slow discriminator"], image_runs["healthy"]
weak = diagnostics.WEAK_DISCRIMINATOR
assert weak in image_detectors["slow discriminator"].failures
assert weak not in image_detectors["healthy"].failures
assert slow_run.diversity[-1] < 0.75 * healthy_run.diversity[-1]

# %% [markdown]
# ## Vanishing gradients: the minimax loss against a winning discriminator
#
# With $D = \sigma(a)$ for the discriminator's logit $a$ on a generated image,
# the two generator losses of `losses.generator_loss` and their slopes in the
# logit are (lesson 2 derives them):
#
# $$L_G^{\text{minimax}} = \mathbb{E}_z\bigl[\log(1 - D(G(z)))\bigr], \qquad
# \frac{\partial}{\partial a} \log\bigl(1 - \sigma(a)\bigr) = -\sigma(a) = -D(G(z)),$$
#
# $$L_G^{\text{non-sat}} = -\mathbb{E}_z\bigl[\log D(G(z))\bigr], \qquad
# \frac{\partial}{\partial a} \bigl(-\log \sigma(a)\bigr) = -\bigl(1 - D(G(z))\bigr).$$
#
# The generator's gradient is this slope times $\partial a / \partial \theta$.
# When the discriminator rejects the generated images with confidence,
# $D(G(z)) \approx 0$: the minimax slope vanishes with it, while the
# non-saturating slope is close to $-1$. The healthy MNIST run above reached
# D(G(z)) < 0.1 within about 50 steps, so the minimax loss should starve its
# generator. The next cell trains the same GAN with `generator_loss="minimax"`.
# The loss changes the compiled step, so the cell first compiles a second one.

# %%
minimax_config = config.train_preset("dcgan", batch_size=64, generator_loss="minimax")
minimax_gan = train.GAN(model_config, minimax_config)
minimax_detector = diagnostics.FailureDetector(verbose=True)
minimax_run = diagnostics.record_image_run(
    minimax_gan,
    minimax_gan.init(seed),
    stream,
    steps=image_steps,
    detector=minimax_detector,
)
gradient_runs = {"non-saturating (healthy)": healthy_run, "minimax": minimax_run}
diagnostics.plot_image_runs(gradient_runs, real_diversity=real_diversity)

# %%
minimax_samples = np.asarray(minimax_gan.generate(minimax_run.state, latent))
diagnostics.plot_sample_grids(
    {"non-saturating": samples["healthy"][:32], "minimax": minimax_samples[:32]}
)

# %% [markdown]
# **Reading the curves.** Both discriminators win within the first 50 steps. The
# non-saturating generator's gradient norm grows to about 25 and stays there,
# and its images acquire a black background and strokes. The minimax generator's
# gradient norm falls from about 6 to about 0.2 by step 100 (0.02 by step 400)
# while D(G(z)) keeps falling. Its images stay grey noise, and the detector
# raises `vanishing_gradient` around step 60. The diversity does not help here:
# noise images all differ from each other.
#
# Adam divides each step by a running root mean square of past gradients, so it
# partly undoes a small gradient. That average covers about the last
# $1/(1 - \beta_2) = 1{,}000$ steps, though, so it still remembers the large
# gradients of the first steps, and the updates shrink with the gradient. How
# hard the failure hits depends on the optimiser and on how far the
# discriminator gets ahead. In a run outside this notebook on the toy ring, the
# discriminator first trained alone for 1,000 updates, to a mean D(G(z)) between
# 0.002 and 0.07 for seeds 0 to 2. Trained on with the minimax loss and 5
# discriminator updates per round, the generator still recovered: by round 100,
# D(G(z)) was back above 0.25 for each seed.
#
# **Remedies:** the non-saturating loss, which the healthy run uses and which
# `train.GAN` uses by default. One-sided label smoothing (Salimans et al., 2016,
# "Improved Techniques for Training GANs") lowers the real target from 1 to 0.9
# (`TrainConfig(label_smoothing=0.1)`), which keeps the discriminator from
# becoming overconfident. A slower discriminator also helps, though the first
# section showed that too slow a discriminator causes collapse.

# %%
late = image_steps * 3 // 4
minimax_norm = np.median(minimax_run.history["generator_grad_norm"][late:])
healthy_norm = np.median(healthy_run.history["generator_grad_norm"][late:])
minimax_d_fake = minimax_run.history["d_fake"][late:].mean()
print("median generator gradient norm over the last quarter of the steps:")
print(f"  minimax {minimax_norm:.3g}, non-saturating {healthy_norm:.3g}")
print(f"mean D(G(z)) of the minimax run there: {minimax_d_fake:.3g}")
assert minimax_d_fake < 0.1, "the discriminator should win against minimax"
assert minimax_norm < 0.05 * healthy_norm
assert diagnostics.VANISHING_GRADIENT in minimax_detector.failures
assert diagnostics.VANISHING_GRADIENT not in image_detectors["healthy"].failures

# %% [markdown]
# ## Oscillation: ten generator steps per discriminator step
#
# When the generator updates many times for each discriminator update, it
# overshoots. It moves all its points to where the current discriminator is
# most fooled, the discriminator learns that this region is fake, and the
# generator jumps to another. Metz et al. (2017) describe this cycle on the
# ring. The next run uses the healthy learning rates with 10 generator updates
# per round, and takes a snapshot every 50 rounds: D(x) on a 60 x 60 grid and
# 500 generated points.
#
# The detector's oscillation rule reads D(G(z)) per round. Let $\bar d_t$ be its
# mean over rounds $t - 9, \dots, t$, and take the last 200 rounds of $\bar d$,
# with mean $m$. The amplitude is $A = \max \bar d - \min \bar d$. A *swing* is a
# move of $\bar d$ from below $m - 0.025$ to above $m + 0.025$, or back. The rule
# fires when $A > 0.1$ and there are at least 3 swings. A trend, such as D(G(z))
# falling while a discriminator learns, makes one swing and does not count.

# %%
oscillation_detector = diagnostics.FailureDetector(warmup_steps=1000, verbose=True)
oscillating = diagnostics.record_toy_run(
    gan,
    gan.init(seed),
    rounds=1200,
    generator_steps=10,
    snapshot_every=50,
    detector=oscillation_detector,
)
print(f"{len(oscillating.snapshot_rounds)} snapshots, rounds 0 to 1200")

# %% [markdown]
# Blue regions are judged real, red ones generated. The colours span D(x) from
# 0.2 to 0.8, because this discriminator rarely leaves that range, and values
# beyond take the end colours. The crosses are the real modes and the orange
# points the generator's. Points outside the square are not drawn. The static
# row below shows six moments. In a live notebook (JupyterLab, Notebook 7,
# VS Code, Colab) the slider under it moves through all 25 snapshots in one
# figure, which is redrawn in place, and re-running the cell replaces the
# figure instead of adding one.

# %%
viewer = diagnostics.SnapshotViewer(oscillating, ring, name="oscillation")
viewer.show()

# %% [markdown]
# **Reading the snapshots.** The generator's points form a tight blob or streak
# that jumps from place to place, now and then far outside the ring. The
# discriminator's map flips with it: large red and blue regions trade places
# from one snapshot to the next, and the blob runs towards the blue. Nothing
# settles. The coverage stays at 0 or 1 mode, so this run has also collapsed.
# The detector raised the oscillation alert as soon as its warm-up ended, and
# the coverage alert three checks later.
#
# The statistic of the oscillation rule, for this run and the healthy one:

# %%
compared = {"healthy": toy_runs["healthy"], "10 generator steps": oscillating}
amplitudes = {}
for label, run in compared.items():
    amplitude, swings = diagnostics.oscillation_statistics(run.history["d_fake"])
    amplitudes[label] = amplitude
    print(f"{label:>18}: amplitude {amplitude:.3f}, {swings} swings")
diagnostics.plot_toy_curves(compared)

# %% [markdown]
# The healthy run, with one generator update per discriminator update, is the
# remedy: its D(G(z)) stays within a few hundredths of 1/2. Lower learning rates
# and a smaller Adam $\beta_1$ also damp the cycle. Spectral normalisation
# (Miyato et al., 2018) and a gradient penalty (Gulrajani et al., 2017) limit
# how fast the discriminator's verdict can change across the plane, and a later
# lesson covers them.

# %%
assert diagnostics.OSCILLATION in oscillation_detector.failures
assert diagnostics.OSCILLATION not in toy_detectors["healthy"].failures
assert amplitudes["10 generator steps"] > 0.1
assert amplitudes["healthy"] < 0.05
print(
    "The oscillation rule fires on the 10-step run and stays quiet on the healthy one."
)

# %% [markdown]
# ## Divergence: values that are no longer finite
#
# A loss or gradient that becomes NaN or infinite ends training, because every
# later update inherits it. Too high a learning rate is the usual cause, or a
# loss computed from probabilities instead of logits, where $\log 0$ appears.
# `python -m gan_lessons train` stops with `TrainingDivergedError` and keeps the
# last finite checkpoint. The detector reports the first step at which a metric
# is not finite:

# %%
divergence_detector = diagnostics.FailureDetector(verbose=True)
divergence_detector.update(1, {"discriminator_loss": 1.3, "generator_loss": 0.8})
alerts = divergence_detector.update(
    2, {"discriminator_loss": float("nan"), "generator_loss": 0.8}
)
assert [alert.failure for alert in alerts] == [diagnostics.NON_FINITE]

# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong, without giving the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** `diagnostics.exercise_points()` returns 600 generated points.
# By the rule of this lesson, a point is near a mode when it lies within
# $3\sigma = 0.3$ of the mode's mean, and a mode is covered when at least
# $\lceil 0.2 \cdot 600 / 8 \rceil$ points are near it. How many modes of
# `ring` do the points cover? Compute it with NumPy from `ring.means`, without
# `modes_covered`, and put the number in `covered_modes`.

# %%
exercise_points = diagnostics.exercise_points()
covered_modes = None  # Your answer: a number.

exercise_1_passed = diagnostics.check_covered_modes(covered_modes)

# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# ```python
# means = np.asarray(ring.means)
# distances = np.linalg.norm(exercise_points[:, None, :] - means[None], axis=-1)
# nearest = distances.argmin(axis=1)
# near = distances.min(axis=1) <= 3 * 0.1
# counts = np.bincount(nearest[near], minlength=len(means))
# covered_modes = int(np.sum(counts >= np.ceil(0.2 * len(exercise_points) / 8)))
# ```
#
# The counts are 200, 148 and 99 near three modes, and 10 near a fourth, which
# is fewer than the 15 needed. The 140 points in the middle of the ring are near
# no mode, and neither are a few points in the tails of the three modes. So 3
# modes are covered, and 76% of the points are near a mode.
# </details>

# %% [markdown]
# **Exercise 2.** In a run of the image GAN with `generator_loss="minimax"`,
# D(x) > 0.99 and D(G(z)) < 0.01 from step 50 on. The generator's gradient norm
# fell from 6 to 0.05 and keeps falling, and the samples are grey noise. Which
# change fixes the run?
#
# * (a) 3 generator updates per discriminator update;
# * (b) the non-saturating generator loss;
# * (c) a generator learning rate ten times smaller;
# * (d) training ten times longer.
#
# Put the letter in `remedy`.

# %%
remedy = None  # Your answer: "a", "b", "c" or "d".

exercise_2_passed = diagnostics.check_remedy(remedy)


# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# (b). The minimax loss's slope in the logit is $-D(G(z))$, which is below 0.01
# here, and the non-saturating loss's slope is $-(1 - D(G(z)))$, close to $-1$.
# More generator updates each get the same tiny gradient, a smaller learning
# rate shrinks the steps further, and training longer lets the discriminator
# win by more.
# </details>

# %% [markdown]
# **Exercise 3.** Write the detector's saturation rule.
# `is_saturated(d_real, d_fake)` receives D(x) and D(G(z)) of the last few steps
# as 1-D NumPy arrays of equal length. It returns `True` when the discriminator
# is saturated at every one of these steps, with the detector's thresholds:
# D(x) $\ge$ 0.9 and D(G(z)) $\le$ 0.1. The check tries 40 random windows.

# %%
def is_saturated(d_real, d_fake):
    # Your answer: True when every step of the window is saturated.
    return None


exercise_3_passed = diagnostics.check_saturation_rule(is_saturated)

# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# ```python
# def is_saturated(d_real, d_fake):
#     return bool(np.all(d_real >= 0.9) and np.all(d_fake <= 0.1))
# ```
#
# `FailureDetector` applies this rule to the last 20 steps. A rule on the
# window's means would let one hesitant step hide among confident ones.
# </details>

# %% [markdown]
# ## Summary
#
# | failure | symptom in the curves | metric that detects it | remedy |
# |---|---|---|---|
# | mode collapse | D(x) and D(G(z)) near 1/2, like a healthy run | modes covered; sample diversity | 5 discriminator steps per round, or a discriminator learning rate as large as the generator's |
# | weak discriminator | D(G(z)) above D(x) | their difference over 20 steps | the same |
# | vanishing gradient | D(G(z)) near 0 and the gradient norm falling | median gradient norm against its peak, while D wins | the non-saturating loss |
# | oscillation | D(G(z)) swinging, the blob and the discriminator chasing each other | amplitude and swings of smoothed D(G(z)) | one generator step per discriminator step |
# | divergence | NaN or infinite values | finiteness of every metric | lower learning rates, logits in the losses (not shown here) |
#
# * The losses alone hide mode collapse, but a coverage figure that knows the
#   data finds it.
# * `diagnostics.FailureDetector` applies these rules during training and
#   prints an alert with the value and a remedy.
#
# **Limitations**
#
# * Coverage needs knowledge of the data: exact modes for the ring, a digit
#   classifier for MNIST. The classifier says little before the generator draws
#   digits, and the MNIST runs here are too short for that, so their collapse is
#   measured by diversity and by the discriminator's outputs.
# * The thresholds were chosen on the toy ring and on a 16-channel DCGAN over a
#   few hundred steps. Other models and schedules may need other values. The
#   saturation alert fires on healthy DCGAN runs early in training, so read it
#   together with the gradient alert.
# * The oscillation rule reads D(G(z)) only. A cycle that leaves D(G(z)) flat
#   passes unnoticed.
# * Adam rescales its steps by the running size of the gradient and so hides
#   part of a vanishing gradient. Lesson 2 shows the minimax loss stalling a
#   generator trained with momentum instead.
# * Spectral normalisation (Miyato et al., 2018) and the gradient penalty
#   (Gulrajani et al., 2017), which make several of these failures rarer, are
#   the subject of a later lesson.
