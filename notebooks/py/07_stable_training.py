# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/07_stable_training.ipynb)

# %% [markdown]
# # 7. Stable training: hinge loss, Wasserstein loss with gradient penalty, spectral norm
#
# **Goal:** understand three changes to the GAN objective and the discriminator
# that make training less fragile, implement their key parts, and compare them
# over several seeds on the ring of eight Gaussians and on MNIST.
#
# After this lesson you can:
#
# * write the hinge loss and say what its margins change;
# * explain the Wasserstein distance, why its critic must be 1-Lipschitz, and
#   how the gradient penalty enforces that on points between real and generated
#   samples;
# * compute the gradient penalty with a norm whose gradient stays finite at 0;
# * estimate a weight matrix's largest singular value by power iteration, the
#   core of spectral normalisation;
# * train the DCGAN with any of the three recipes (`TrainConfig.objective`,
#   `ModelConfig.spectral_norm`, `ModelConfig.discriminator_norm`) and judge a
#   comparison over seeds honestly.
#
# **Run time:** about 1 minute on 2 CPU cores shared with other jobs (55
# seconds measured), most of it in the ring comparison, which trains 3 recipes
# on 3 seeds. Quick mode (`GAN_LESSONS_QUICK=1`, used by the tests) trains one
# seed for 300 generator updates and adds a tiny live MNIST run. The MNIST
# tables come from two recorded runs of `benchmarks/stable_mnist.py`, which
# took 15 and 17 minutes.

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
import jax.numpy as jnp
import numpy as np
from flax import nnx

from gan_lessons import losses, models, notebook, runtime, stable

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## What goes wrong, and three remedies
#
# Lessons 2 and 5 showed the cross-entropy GAN failing in three ways: the
# generator's gradient vanishes once the discriminator wins, the generator
# collapses onto a few modes, and the two networks chase each other in circles.
# All three come from a discriminator whose outputs can grow without limit and
# change abruptly between nearby inputs. Each recipe below limits that:
#
# | recipe | discriminator loss | generator loss | constraint on D |
# |---|---|---|---|
# | `cross_entropy` | $-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]$ | $-\mathbb{E}[\log D(G(z))]$ | none (batch norm) |
# | `hinge` | $\mathbb{E}[\max(0, 1 - D(x))] + \mathbb{E}[\max(0, 1 + D(G(z)))]$ | $-\mathbb{E}[D(G(z))]$ | spectral norm |
# | `wasserstein_gp` | $\mathbb{E}[D(G(z))] - \mathbb{E}[D(x)] + \lambda\, \mathbb{E}[(\lVert \nabla D(\hat x) \rVert - 1)^2]$ | $-\mathbb{E}[D(G(z))]$ | gradient penalty |
#
# For the cross-entropy GAN, $D(x)$ is the sigmoid of a logit. For the other
# two, $D(x)$ is the raw output, an unbounded score. The package's losses live
# in `gan_lessons/losses.py`.

# %% [markdown]
# ## The hinge loss
#
# The hinge loss (Lim and Ye, "Geometric GAN", 2017; used by Miyato et al.,
# "Spectral Normalization for Generative Adversarial Networks", ICLR 2018)
# asks for real scores of at least $+1$ and generated scores of at most $-1$:
#
# $$L_D = \mathbb{E}_x[\max(0, 1 - D(x))] + \mathbb{E}_z[\max(0, 1 + D(G(z)))].$$
#
# A sample beyond its margin costs nothing and gives no gradient, so the
# discriminator stops pushing scores it already gets right and spends its
# capacity on the samples it gets wrong. The cross-entropy loss keeps rewarding
# ever larger logits, by less and less, but never nothing. The generator
# minimises $-\mathbb{E}_z[D(G(z))]$: it raises the score of its samples, with a
# gradient that does not shrink as the discriminator grows more confident.
#
# The plot draws each loss for one sample as a function of the discriminator's
# output (logit or score):

# %%
stable.plot_losses_per_score()

# %% [markdown]
# Left, a real sample: the cross-entropy loss (blue) flattens towards 0 but
# never reaches it; the hinge (orange) is exactly 0 beyond $+1$; the Wasserstein
# loss (green) falls without end, which is why its critic needs a constraint.
# Right, a generated sample: the same curves, mirrored.
#
# A check of `losses.hinge_discriminator_loss` on hand values: real scores 2
# and 0.5 cost 0 and 0.5, generated scores $-3$ and 0.5 cost 0 and 1.5, so the
# loss is $0.25 + 0.75 = 1$.

# %%
hinge = losses.hinge_discriminator_loss(jnp.array([2.0, 0.5]), jnp.array([-3.0, 0.5]))
print(f"hinge loss: {float(hinge):.3f}")
assert abs(float(hinge) - 1.0) < 1e-6

# %% [markdown]
# ## The Wasserstein distance and the 1-Lipschitz critic
#
# Arjovsky, Chintala and Bottou ("Wasserstein Generative Adversarial Networks",
# ICML 2017) measure the gap between the real distribution $p$ and the
# generated one $q$ with the Wasserstein-1 (earth mover's) distance: the least
# average distance that mass must move to turn $q$ into $p$. Unlike the
# Jensen-Shannon divergence of lesson 2, it shrinks smoothly as $q$ slides
# towards $p$, even when the two do not overlap, so the generator always gets a
# useful gradient. By the Kantorovich-Rubinstein duality,
#
# $$W(p, q) = \sup_{\lVert f \rVert_L \le 1} \mathbb{E}_{x \sim p}[f(x)] - \mathbb{E}_{x \sim q}[f(x)],$$
#
# where the supremum runs over **1-Lipschitz** functions:
# $|f(a) - f(b)| \le \lVert a - b \rVert$ for all $a, b$. The discriminator,
# now called the *critic*, plays $f$: it maximises
# $\mathbb{E}[D(x)] - \mathbb{E}[D(G(z))]$, so its loss is
# $\mathbb{E}[D(G(z))] - \mathbb{E}[D(x)]$. Without the Lipschitz constraint
# the critic could raise that gap without limit by scaling its outputs.
#
# Arjovsky et al. enforced the constraint by clipping every weight to a small
# interval. Gulrajani et al. ("Improved Training of Wasserstein GANs", NeurIPS
# 2017) found that clipping pushes the critic towards overly simple functions
# and makes training sensitive to the clipping bound, and replaced it with a
# **gradient penalty**. A differentiable function is 1-Lipschitz exactly when
# its gradient has norm at most 1 everywhere, and the optimal critic has
# gradient norm 1 almost everywhere on the lines between coupled real and
# generated points. So they penalise the deviation from 1:
#
# $$L_D = \mathbb{E}[D(G(z))] - \mathbb{E}[D(x)] + \lambda\, \mathbb{E}_{\hat x}\big[(\lVert \nabla_{\hat x} D(\hat x) \rVert_2 - 1)^2\big], \qquad \lambda = 10.$$
#
# **Why interpolates.** The constraint cannot be checked everywhere in image
# space. The points that matter are those the generator's samples must travel
# through on their way to the data, so the penalty samples
# $\hat x = \epsilon x + (1 - \epsilon) G(z)$ with $\epsilon \sim U(0, 1)$, one
# $\epsilon$ per pair, on straight lines between a real and a generated sample
# (`losses.interpolate`).
#
# Their recipe also uses 5 critic updates per generator update, Adam with
# learning rate $10^{-4}$, $\beta_1 = 0$ and $\beta_2 = 0.9$, and **no batch
# norm in the critic**: batch norm makes each sample's score depend on the rest
# of its batch, so the gradient of one score with respect to one input is no
# longer that sample's own. They use layer norm instead. The package rejects
# the gradient penalty with batch norm and names the fix:

# %%
from gan_lessons import config, train

try:
    train.GAN(
        config.model_preset("dcgan", width=8),
        config.TrainConfig(objective="wasserstein_gp"),
    )
except ValueError as error:
    print(error)

# %% [markdown]
# **A numerical trap.** The gradient of $\lVert g \rVert$ is $g / \lVert g
# \rVert$, which is $0/0$ at $g = 0$: `jnp.linalg.norm` then gives a NaN
# gradient, and one NaN ruins every weight after the next update. A critic
# with a flat region (say, a dead ReLU layer) has exactly zero input gradient
# there. `losses.safe_norm` selects the value 0 and the gradient 0 at $g = 0$
# with `jnp.where`, where both branches stay finite, and divides by the largest
# entry before squaring so that huge gradients do not overflow:

# %%
zero_gradients = jnp.zeros((2, 3))


def plain_penalty(g):
    return jnp.mean((jnp.linalg.norm(g, axis=1) - 1.0) ** 2)


print("plain norm, gradient at 0:", jax.grad(plain_penalty)(zero_gradients)[0])
print(
    "safe norm, gradient at 0: ", jax.grad(losses.gradient_penalty)(zero_gradients)[0]
)
print(
    "penalty of norms 0 and 5:",
    float(losses.gradient_penalty(jnp.array([[0.0, 0.0], [3.0, 4.0]]))),
)

# %% [markdown]
# The plain norm's gradient is NaN; the safe one is 0. Norms 0 and 5 cost
# $(0 - 1)^2 = 1$ and $(5 - 1)^2 = 16$, mean 8.5.

# %% [markdown]
# ## Spectral normalisation and power iteration
#
# Spectral normalisation (Miyato et al., 2018) bounds the Lipschitz constant of
# the discriminator by construction. A linear layer $x \mapsto Wx$ is
# Lipschitz with constant $\sigma(W)$, its largest singular value; leaky ReLU
# is 1-Lipschitz, and a composition multiplies the constants. Dividing every
# weight matrix by its $\sigma(W)$ makes each layer 1-Lipschitz and so the
# whole network too (layer norm and batch norm can break this, so the `hinge`
# recipe uses neither).
#
# Computing $\sigma(W)$ exactly needs a singular value decomposition per layer
# per step. **Power iteration** estimates it from a vector $u$:
#
# $$v \leftarrow \frac{W u}{\lVert W u \rVert}, \qquad u \leftarrow \frac{W^\top v}{\lVert W^\top v \rVert}, \qquad \sigma \approx v^\top W u.$$
#
# Each step turns $u$ towards the top right singular vector. Because $W$
# changes little from one training step to the next, Miyato et al. keep $u$
# between steps and run **one** iteration per step. `models.SpectralNorm`
# stores $u$ as an `nnx.BatchStat`, updates it when called with
# `update_stats=True` (the discriminator passes `train`), and treats $u$ and $v$
# as constants under differentiation. A convolution kernel
# $(k_h, k_w, c_{in}, c_{out})$ is read as a matrix with $c_{out}$ columns.
#
# (`flax.nnx.SpectralNorm` of flax 0.12.8 writes the normalised kernel back into the wrapped layer's parameter, so calling the same module twice normalises twice.
# The package's version leaves the parameter alone.)
#
# Watch the estimate converge on a random dense layer:

# %%
layer = nnx.Linear(64, 32, rngs=nnx.Rngs(0))
normalised = models.SpectralNorm(layer, rngs=nnx.Rngs(1))
inputs = jnp.ones((1, 64))
estimates = []
for _ in range(8):
    normalised(inputs, update_stats=True)
    estimates.append(float(normalised.sigma()))
exact = np.linalg.svd(np.asarray(layer.kernel[...]), compute_uv=False)[0]
print("estimates:", np.round(estimates, 4))
print(f"exact largest singular value: {exact:.4f}")

# %% [markdown]
# The first estimates are below the exact value, because a random $u$ mixes
# all singular directions, and they rise towards it: after 8 iterations the
# estimate was within 1% of the exact value (1.640 against 1.651 on 2 CPU
# cores; other machines may differ in the last digit). In
# training, each step adds one iteration, so after a few dozen steps the
# estimate tracks the slowly changing weights closely.

# %% [markdown]
# ## Comparison on the ring of eight Gaussians
#
# `stable.compare_ring` trains lesson 5's toy GAN (MLPs with two hidden layers
# of 32, Adam learning rate $2 \cdot 10^{-3}$) with each recipe's loss and Adam
# betas, for the same number of generator updates. The `wasserstein_gp` critic makes 5 updates per generator update. The toy GAN has no batch norm, and
# spectral norm is not applied to the toy networks, so `hinge` differs from
# `cross_entropy` by its loss only. At the end, 1,000 samples are checked for
# coverage as in lesson 5: modes covered (of 8), and the share of samples
# within $3\sigma$ of some mode.

# %%
ring_seeds = (0,) if QUICK else (0, 1, 2)
ring_updates = 300 if QUICK else 1500
ring_results = stable.compare_ring(
    seeds=ring_seeds, generator_updates=ring_updates, check_every=100
)
print(f"{ring_updates} generator updates per run")
print(stable.ring_table(ring_results))

# %%
stable.plot_ring_samples(ring_results, seed=0)

# %% [markdown]
# On 3 seeds of 1,500 generator updates (full mode; run on 2 CPU cores with
# `stable.compare_ring(seeds=(0, 1, 2), generator_updates=1500)`), all three
# recipes found all 8 modes on most seeds: the modes per seed were 8, 8, 8 for
# `cross_entropy`, 8, 7, 8 for `hinge` and 8, 6, 8 for `wasserstein_gp`.
# `cross_entropy` and `hinge` put 77% and 75% of their samples near a mode.
# `wasserstein_gp` was slower: its samples were more spread out (47% near a
# mode), even though its critic made 5 times as many updates. The gradient
# penalty asks for gradient norm 1 between the modes, so the critic is smooth
# there and pulls samples towards the modes gently. That helps stability, but
# sharpens the modes slowly. With 300 updates (quick mode) no recipe has
# converged yet.
#
# Three seeds are too few to rank recipes whose results overlap: read the
# spread across seeds before any mean. The honest conclusion at this scale is
# that on a problem the plain GAN already solves, the constraints cost speed
# and buy nothing visible. Their benefit shows on harder settings, such as
# lesson 5's slow discriminator or deeper networks, which this comparison does
# not cover.

# %% [markdown]
# ## Comparison on MNIST
#
# `benchmarks/stable_mnist.py` trains the DCGAN (`dcgan` preset at width 16,
# batch 64) with each recipe for the same number of generator updates, on two
# seeds, and evaluates 500 samples with `metrics.evaluate`: the Fréchet distance
# on the bundled classifier's features (lower is better; real digits against
# real digits score the value in the last line) and the number of digit classes
# among the samples. The recipes are `stable.image_configs`:
#
# * `cross_entropy`: the `dcgan` preset unchanged;
# * `hinge`: spectral norm on every discriminator layer, no batch norm, same
#   Adam settings;
# * `wasserstein_gp`: layer norm in the critic, $\lambda = 10$, 5 critic steps
#   per generator step, Adam $10^{-4}$, $\beta_1 = 0$, $\beta_2 = 0.9$.
#
# The same options are on the command line, for example
# `python -m gan_lessons train --objective wasserstein_gp --discriminator-norm layer --discriminator-steps 5 --lr 1e-4`
# (the CLI keeps the preset's Adam betas), or
# `python -m gan_lessons train --objective hinge --spectral-norm --discriminator-norm none`.
#
# Quick mode trains a tiny version live to exercise the code: the
# `wasserstein_gp` recipe only, because compiling each recipe's step takes
# tens of seconds on a busy CPU, at width 4 for 1 generator update (5 critic
# updates) and 50 samples. Its numbers mean nothing. The tables after it
# are recorded runs on 2 CPU cores shared with other jobs: 300 generator
# updates on seeds 0 and 1 (`python benchmarks/stable_mnist.py`), and 1,000
# generator updates on seed 0 (`python benchmarks/stable_mnist.py --seeds 0
# --generator-updates 1000 --out gan_lessons/assets/stable_mnist_1000.json`).

# %%
if QUICK:
    live = stable.compare_mnist(
        ("wasserstein_gp",), seeds=(0,), generator_updates=1, width=4, num_samples=50
    )
    print(stable.mnist_table(live))
else:
    print("Full mode reads the recorded run below; quick mode trains a tiny one.")

# %%
recorded = stable.load_mnist_results(stable.recorded_mnist_path())
print(
    f"{recorded[0].generator_updates} generator updates, width {recorded[0].width}, "
    f"{len({r.seed for r in recorded})} seeds"
)
print(stable.mnist_table(recorded))

# %% [markdown]
# After 300 generator updates no recipe draws digits yet. Every Fréchet
# distance in the recorded run is 40 to 60 times the real-against-real value of
# 7.4, and at most 3% of the samples are classified with confidence, so the
# table compares early progress only. At that point the hinge recipe with
# spectral norm had the lowest Fréchet distance on both seeds (299 and 303,
# against 345 and 376 for `cross_entropy` and 425 and 428 for
# `wasserstein_gp`). The `cross_entropy` samples fell into 2 or 3 predicted
# classes, the others into 4 to 9, but class counts mean little for samples
# that are not digits yet (lesson 5). The `wasserstein_gp` runs made 5 times
# as many critic updates, each with a second backward pass, and took 4 to 7
# times as long (rough times, because other jobs shared the 2 CPU cores).
# The longer run on one seed shows how little that early ranking means:

# %%
longer = stable.load_mnist_results(stable.recorded_mnist_path("stable_mnist_1000.json"))
print(
    f"{longer[0].generator_updates} generator updates, width {longer[0].width}, seed 0"
)
print(stable.mnist_table(longer))


# %% [markdown]
# After 1,000 generator updates the order changed. `cross_entropy` now had the lowest Fréchet distance (146), with 8 classes and 17% of its samples classified with confidence.
# `wasserstein_gp` followed (325, all 10 classes
# but no confident sample), and `hinge` had fallen behind (351, 3 classes).
# The hinge run's distance grew between 300 and 1,000 updates, while the
# others fell. With one seed per recipe, no ranking here is reliable: at 300
# updates the two seeds of `cross_entropy` already differed by 30. What the runs
# do show is the cost: at equal generator updates, `wasserstein_gp` took about
# 15 minutes against under 1 minute for the other two. Whether any recipe
# wins at 3,000 updates, where the default DCGAN draws recognisable digits,
# is not measured here.

# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong, without giving the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** Write the discriminator's hinge loss
# `hinge_loss(real_scores, fake_scores)`: both arguments are float32 arrays
# `(n,)` of raw discriminator outputs, and the result is a scalar. Use
# `jax.numpy`.

# %%
def hinge_loss(real_scores, fake_scores):
    return None  # Your answer: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))].


exercise_1_passed = stable.check_hinge_loss(hinge_loss)


# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# ```python
# def hinge_loss(real_scores, fake_scores):
#     real_term = jnp.mean(jax.nn.relu(1.0 - real_scores))
#     fake_term = jnp.mean(jax.nn.relu(1.0 + fake_scores))
#     return real_term + fake_term
# ```
#
# Each batch is averaged on its own, as in the cross-entropy loss. A real score
# above 1 and a generated score below $-1$ contribute 0.
# </details>

# %% [markdown]
# **Exercise 2.** Write `gradient_penalty(input_gradients)`: the argument holds
# one critic input gradient per sample, shape `(batch, height, width,
# channels)`, and the result is the scalar $\mathbb{E}[(\lVert g \rVert_2 -
# 1)^2]$ with one norm per sample. The check first compares values on random
# gradients, then takes `jax.grad` of your function at all-zero gradients and
# asks for a finite result, so a plain `jnp.linalg.norm` passes the first part
# only.

# %%
def gradient_penalty(input_gradients):
    return None  # Your answer: mean over samples of (norm - 1) ** 2.


exercise_2_passed = stable.check_gradient_penalty(gradient_penalty)

# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# ```python
# def gradient_penalty(input_gradients):
#     flat = input_gradients.reshape(input_gradients.shape[0], -1)
#     squares = jnp.sum(flat**2, axis=1)
#     nonzero = squares > 0
#     # sqrt only sees positive numbers, so its gradient is finite everywhere.
#     norms = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, squares, 1.0)), 0.0)
#     return jnp.mean((norms - 1.0) ** 2)
# ```
#
# The inner `where` keeps the argument of `sqrt` away from 0, so its
# derivative is finite; the outer `where` puts the right value, 0, back. A
# single `where` around `jnp.sqrt(squares)` is not enough: the gradient of the
# unused branch is multiplied by 0, and $0 \cdot \infty$ is NaN.
# `losses.gradient_penalty` also divides by the largest entry before squaring,
# which matters only for gradients near $10^{19}$ and above.
# </details>

# %% [markdown]
# ## Summary
#
# | recipe | what it fixes | cost |
# |---|---|---|
# | hinge loss | the discriminator stops pushing samples beyond a margin; the generator's gradient does not shrink with the discriminator's confidence | none |
# | spectral norm | bounds the discriminator's Lipschitz constant by construction, one power iteration per layer per step | a matrix-vector product per layer |
# | Wasserstein loss + gradient penalty | a distance that shrinks smoothly even between non-overlapping distributions; a soft 1-Lipschitz constraint on interpolates | a second backward pass per critic step, 5 critic steps per generator step, no batch norm |
#
# * In the package: `TrainConfig(objective=..., discriminator_steps=...,
#   gradient_penalty_weight=...)`, `ModelConfig(discriminator_norm=...,
#   spectral_norm=...)`, the matching `train` flags, and `ToyConfig(objective=...)`
#   for the toy GAN.
# * The gradient penalty needs a norm with a finite gradient at 0
#   (`losses.safe_norm`) and a critic without batch norm.
#
# **Limitations**
#
# * The comparisons are short: 1,500 generator updates on the ring, and 300
#   (2 seeds) and 1,000 (1 seed) on MNIST. At these lengths they show early
#   progress, not final quality, and the MNIST ranking changed between 300
#   and 1,000 updates.
# * Each recipe uses its source's settings, not settings tuned here; the toy
#   GAN uses one learning rate for all three.
# * The toy networks get no spectral norm, so the ring compares the hinge loss
#   alone, not the hinge recipe.
# * With several critic steps, the generator's metrics are logged at every
#   step, including steps where its gradient is not applied.
# * The outputs named `d_real` and `d_fake` are sigmoids of the raw scores for
#   the hinge and Wasserstein objectives, not probabilities, so lesson 5's
#   saturation rules do not apply to them.
