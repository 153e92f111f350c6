# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/02_minimax.ipynb)

# %% [markdown]
# # 2. The minimax game
#
# **Goal:** write the contest between the bouncer (the discriminator) and the
# imitator (the generator) as one formula, the value function $V(D, G)$ of
# Goodfellow et al. (2014), "Generative Adversarial Nets", and check what the
# paper proves about it on one-dimensional toys whose densities are known.
#
# After this lesson you can:
#
# * state $V(D, G)$, say what each of its terms rewards, and say which
#   parameters each player's gradient updates;
# * derive the optimal discriminator $D^*$ and check that a trained
#   discriminator lands on it;
# * show that against $D^*$ the generator minimises the Jensen-Shannon
#   divergence, $C(G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g)$;
# * explain why the generator loss $\log(1 - D(G(z)))$ stalls when the
#   discriminator wins early, and why $-\log D(G(z))$ does not;
# * read a training run drawn like Figure 1 of the paper.
#
# **Run time:** about 40 seconds of CPU time on a 2-core machine, most of it
# compiling the small training programs. A second run reads them from the
# compilation cache that the first cell enables and takes about 20 seconds.
# Quick mode (`GAN_LESSONS_QUICK=1`, used by the tests) trains about half as
# many steps, which saves little because compilation dominates. Every random
# number comes from a fixed seed, so a re-run on the same machine prints the
# same numbers.

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
import math

import jax
import numpy as np

from gan_lessons import minimax, notebook, runtime, toy

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## The value function
#
# The discriminator $D$ maps a point $x$ to $D(x) \in (0, 1)$, the probability
# that $x$ came from the data rather than from the generator. The generator $G$
# maps a latent vector $z$, drawn from a prior $p_z$, to a point $G(z)$; $p_g$
# is the distribution of these points. Goodfellow et al. (2014) make the two
# play one game,
#
# $$\min_G \max_D V(D, G), \qquad
# V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]
# + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
#
# * The first term rewards $D$ for giving real points a high probability. It is
#   at most 0, reached when $D(x) = 1$ on every real point, and $G$ does not
#   appear in it.
# * The second term rewards $D$ for giving generated points a low probability.
#   It is the only term that contains $G$, and the generator lowers it by
#   raising $D(G(z))$, that is, by making its points look real.
#
# $-V$ is the binary cross-entropy of a classifier that labels real points 1
# and generated points 0. `losses.discriminator_loss` computes it from the
# discriminator's logits $a$, with $D = \sigma(a)$.
#
# ## Two players, two gradients
#
# Algorithm 1 of the paper alternates $k$ discriminator updates with one
# generator update; the paper's experiments used $k = 1$ and gradient descent
# with momentum. With parameters $\theta_d$ and $\theta_g$ and a learning rate
# $\eta$, plain gradient steps read
#
# $$\theta_d \leftarrow \theta_d + \eta\, \nabla_{\theta_d} V, \qquad
# \theta_g \leftarrow \theta_g - \eta\, \nabla_{\theta_g} V.$$
#
# The discriminator *ascends* $V$ and the generator *descends* it, each on its
# own parameters. Each loss depends on both networks, so it has a gradient with
# respect to the other player's parameters too, but an update ignores that
# gradient and holds the other player fixed.
#
# The first half of this lesson uses one toy: the data is a mixture of
# $\mathcal{N}(-2, 0.5^2)$ and $\mathcal{N}(2, 0.5^2)$ with equal weights; the
# generator is affine, $G(z) = 0.5 + z$ with $z \sim \mathcal{N}(0, 1)$, so
# $p_g = \mathcal{N}(0.5, 1)$ exactly; the discriminator is an MLP with two
# hidden layers of 32 units. The next cell builds it and differentiates both
# losses with respect to both networks' parameters with `jax.grad`.

# %%
data = toy.GaussianMixture(
    means=((-2.0,), (2.0,)), stds=((0.5,), (0.5,)), weights=(1.0, 1.0)
)
generator_distribution = toy.Gaussian(mean=(0.5,), std=(1.0,))
config = toy.ToyConfig(
    data_dim=1,
    latent_dim=1,
    generator_hidden=(),
    discriminator_hidden=(32, 32),
    batch_size=512,
)
gan = toy.ToyGAN(data, config)
state = minimax.with_affine_generator(gan, gan.init(seed=0), mean=0.5, std=1.0)

norms = minimax.loss_gradient_norms(gan, state, jax.random.key(1))
print(f"{'gradient norm':<20}{'w.r.t. generator':>18}{'w.r.t. discriminator':>22}")
for name, (generator_norm, discriminator_norm) in norms.items():
    print(f"{name:<20}{generator_norm:18.4f}{discriminator_norm:22.4f}")

# %% [markdown]
# All four gradients are nonzero. The discriminator's loss reaches the
# generator's parameters through $D(G(z))$, and the generator's loss reaches the
# discriminator's parameters through $D$ itself. `ToyGAN` differentiates each
# update's loss only with respect to the updating network's parameters (and
# stops the gradient at the generated points in a discriminator update). The
# next cell checks the result: it runs 500 discriminator updates, and separately
# one generator update, from the same state and measures how far each network's
# parameters moved.

# %%
after_discriminator, _ = gan.discriminator_steps(state, 500)
after_generator, _ = gan.generator_steps(state, 1)
moves = {}
for name, after in (
    ("500 discriminator updates", after_discriminator),
    ("1 generator update", after_generator),
):
    moves[name] = (
        minimax.max_parameter_change(state.generator_params, after.generator_params),
        minimax.max_parameter_change(
            state.discriminator_params, after.discriminator_params
        ),
    )
    print(f"{name}: generator moved {moves[name][0]:.3g}, ", end="")
    print(f"discriminator moved {moves[name][1]:.3g}")

assert moves["500 discriminator updates"][0] == 0.0, "D updates moved G"
assert moves["1 generator update"][1] == 0.0, "a G update moved D"

# %% [markdown]
# ## The optimal discriminator
#
# Fix $G$. The points $G(z)$ with $z \sim p_z$ have density $p_g$, so the second
# expectation can be taken over $x$, and
#
# $$V(D, G) = \int p_\text{data}(x) \log D(x) + p_g(x) \log(1 - D(x))\, dx.$$
#
# $D$ chooses its value at every $x$ separately, so it maximises the integrand
# point by point. Write $a = p_\text{data}(x)$, $b = p_g(x)$ and $y = D(x)$. For
# $a + b > 0$ the function $f(y) = a \log y + b \log(1 - y)$ has
#
# $$f'(y) = \frac{a}{y} - \frac{b}{1 - y} = 0 \iff y = \frac{a}{a + b},
# \qquad f''(y) = -\frac{a}{y^2} - \frac{b}{(1 - y)^2} < 0,$$
#
# so that point is the maximum on $[0, 1]$. This is Proposition 1 of the paper:
#
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}.$$
#
# $D^*$ is $1/2$ where the two densities are equal, near 1 where only data
# lies, and near 0 where only generated points lie. Where both densities are 0
# every value is optimal, and `minimax.optimal_discriminator` returns $1/2$
# there. The next cell evaluates $D^*$ of the toy on a grid.

# %%
grid = np.linspace(-5.0, 5.0, 401)
data_density = minimax.density_on_grid(data, grid)
generator_density = minimax.density_on_grid(generator_distribution, grid)
optimal = minimax.optimal_discriminator(data_density, generator_density)
for x in (-2.0, 0.0, 2.0, 4.0):
    i = int(np.argmin(np.abs(grid - x)))
    print(
        f"x = {x:4.1f}: p_data = {data_density[i]:.3f}, "
        f"p_g = {generator_density[i]:.3f}, D* = {optimal[i]:.3f}"
    )

# %% [markdown]
# ### A trained discriminator lands on $D^*$
#
# The density of a trained generator has no closed form in general, which is
# why this toy's generator is affine: $p_g = \mathcal{N}(0.5, 1)$ exactly. The
# generator stays frozen while the discriminator trains alone, on fresh batches
# of 512 real and 512 generated points. Its Adam learning rate drops from
# $10^{-2}$ to $10^{-3}$ and then $3 \times 10^{-4}$ so that the noise of the
# batches settles. The comparison covers the interval that holds the central
# 98% of the points the discriminator sees, whose density is
# $(p_\text{data} + p_g) / 2$. Far outside it the discriminator sees almost no
# points, and its output there is an extrapolation.
#
# The cell trains 5,000 updates (2,500 in quick mode) and takes a few seconds.

# %%
if QUICK:
    schedule = ((1e-2, 1000), (1e-3, 1000), (3e-4, 500))
else:
    schedule = ((1e-2, 2000), (1e-3, 2000), (3e-4, 1000))
_, fit = minimax.fit_discriminator(
    gan, state, generator_distribution, grid, schedule=schedule
)
print(
    f"max |D - D*| on [{fit.bulk[0]:.2f}, {fit.bulk[1]:.2f}]: {fit.max_difference:.4f}"
)
print(f"V(D, G) of the trained discriminator: {fit.value_trained:.5f}")
print(f"V(D*, G) = C(G):                      {fit.value_optimal:.5f}")
minimax.plot_discriminator_fit(fit)

# %% [markdown]
# The trained $D$ (blue, dashed) follows the formula (orange). It is high on
# the two data modes and low between them, where the generator puts most of
# its points. It is lower on the right mode than on the left, because the
# generator, centred at 0.5, overlaps the right mode more. The trained
# discriminator's value stays just below $V(D^*, G)$, as it must, since $D^*$
# maximises $V$. The next cell checks both claims.

# %%
assert fit.max_difference < 0.05, f"trained D is {fit.max_difference:.3f} from D*"
assert fit.value_trained <= fit.value_optimal + 1e-9, "a D beat D*"
print("The trained discriminator is within 0.05 of D* and does not beat it.")

# %% [markdown]
# ## What the generator minimises against $D^*$
#
# Put $D^*$ into $V$ and write $m = (p_\text{data} + p_g) / 2$ for the mixture
# of the two densities:
#
# $$C(G) = V(D^*, G) = \int p_\text{data} \log \frac{p_\text{data}}{p_\text{data} + p_g}
# + p_g \log \frac{p_g}{p_\text{data} + p_g}\, dx.$$
#
# Because $p_\text{data} + p_g = 2m$, each logarithm splits into
# $\log(p / m) - \log 2$. Both densities integrate to 1, so the two $-\log 2$
# terms add up to $-\log 4$ and
#
# $$C(G) = -\log 4 + \mathrm{KL}(p_\text{data} \,\|\, m) + \mathrm{KL}(p_g \,\|\, m)
# = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g).$$
#
# The Jensen-Shannon divergence is 0 only when $p_g = p_\text{data}$ and is at
# most $\log 2$, which it reaches when the two densities do not overlap. So
# against an optimal discriminator the generator minimises the JSD, and the
# minimum of $C$, $-\log 4 \approx -1.386$, is reached only at
# $p_g = p_\text{data}$, where $D^* = 1/2$ everywhere (Theorem 1 of the paper).
#
# The next cell computes both sides for five generator distributions against
# the same data, by the trapezoidal rule on 30,001 points of $[-15, 15]$. A
# third column estimates $C(G)$ from samples of both distributions (20,000 in
# quick mode, 100,000 otherwise), as a check that does not use the grid.

# %%
generators = {
    "N(0.5, 1), as above": generator_distribution,
    "N(-2, 0.5), one mode": toy.Gaussian(mean=(-2.0,), std=(0.5,)),
    "N(0, 2), wide": toy.Gaussian(mean=(0.0,), std=(2.0,)),
    "N(10, 0.5), far away": toy.Gaussian(mean=(10.0,), std=(0.5,)),
    "p_data itself": data,
}
wide_grid = np.linspace(-15.0, 15.0, 30_001)
rows = minimax.criterion_table(
    data,
    generators,
    wide_grid,
    key=jax.random.key(2),
    num_samples=20_000 if QUICK else 100_000,
)
print(minimax.format_criterion_table(rows))

# %% [markdown]
# * The grid columns $C(G)$ and $-\log 4 + 2\,\mathrm{JSD}$ agree to the sixth
#   decimal for every generator, and the sample estimate agrees with them to
#   about $1/\sqrt{n}$.
# * Covering one of the two modes exactly scores better (lower JSD) than
#   sitting between them with the wrong shape, although it ignores half of the
#   data.
# * The far-away generator has $\mathrm{JSD} = \log 2$ and $C(G) = 0$, and
#   moving it a little leaves both where they are. Against $D^*$, a generator
#   whose points do not overlap the data gets almost no signal about which way
#   to move. The lesson on failure modes comes back to this.

# %%
for row in rows:
    assert abs(row.criterion - row.identity) < 1e-6, row
    assert abs(row.criterion - row.monte_carlo) < 0.02, row
    assert row.criterion >= -math.log(4.0) - 1e-6, row
assert abs(rows[-1].criterion + math.log(4.0)) < 1e-6, rows[-1]
print("C(G) = -log 4 + 2 JSD for every generator, with the minimum at p_data.")

# %% [markdown]
# ## Saturating and non-saturating generator losses
#
# In the game as written, the generator minimises
# $\mathbb{E}_z[\log(1 - D(G(z)))]$. Goodfellow et al. (2014) point out that
# early in training, when $G$ is poor, $D$ rejects its points with high
# confidence and this loss *saturates*: it gives $G$ too little gradient. They
# suggest that $G$ maximise $\log D(G(z))$ instead, which has the same fixed
# point but much stronger gradients early on. `losses.generator_loss` computes
# both: `kind="minimax"` is the saturating $\log(1 - D(G(z)))$ and
# `kind="non_saturating"` is $-\log D(G(z))$.
#
# The gradient reaches the generator's parameters through the discriminator's
# logit $a$ of each generated point, with $D = \sigma(a)$ and
# $\sigma'(a) = \sigma(a)(1 - \sigma(a))$:
#
# $$\frac{d}{da} \log(1 - \sigma(a)) = -\sigma(a) = -D,
# \qquad \frac{d}{da}\bigl[-\log \sigma(a)\bigr] = -(1 - \sigma(a)) = -(1 - D).$$
#
# As $D(G(z)) \to 0$, the saturating slope goes to 0 and the non-saturating one
# to $-1$. With respect to $D$ itself, the saturating loss has slope
# $-1/(1 - D)$, which does not vanish: the saturation comes from the sigmoid's
# flat tail, and the factor $1/D$ of the non-saturating loss cancels it. The
# next cell computes the slopes with `jax.grad` of `losses.generator_loss`,
# checks them against the formulas and plots both losses.

# %%
d_fake = np.array([1e-4, 0.1, 0.5, 0.9])
slopes = {
    kind: minimax.generator_loss_slope(d_fake, kind)
    for kind in minimax.GENERATOR_LOSSES
}
for kind, slope in slopes.items():
    print(f"{kind:>15}: d loss / d logit at D(G(z)) = {d_fake} is {slope.round(4)}")
assert np.allclose(slopes["minimax"], -d_fake, rtol=1e-3)
assert np.allclose(slopes["non_saturating"], -(1 - d_fake), rtol=1e-3)
minimax.plot_generator_loss_slopes()

# %% [markdown]
# ### A discriminator that wins early
#
# Now train both losses. The data is $\mathcal{N}(4, 0.5^2)$, the strength of
# the tough guys in lesson 1, and the generator is an MLP with two hidden layers
# of 16 units and $z$ uniform on $[-1, 1]$, whose first points land near 0. The
# discriminator first trains alone for 1,000 updates, until it rejects the
# generator's points with $D(G(z))$ around $10^{-5}$. From that state two
# generators train, identical but for the loss, alternating one discriminator
# and one generator update per round ($k = 1$).
#
# The generator's optimiser matters here. The paper used gradient descent with
# momentum, whose step grows with the gradient. `ToyGAN` uses Adam, which
# divides each step by a running root mean square of the gradient plus a small
# $\epsilon = 10^{-8}$, so a uniformly small gradient still moves the parameters
# by about the learning rate. `SaturationExperiment` therefore runs each loss
# twice: with Adam, and with Adam's $\epsilon$ raised to 1
# (`minimax.set_generator_adam_epsilon`). Gradient components far below 1 then
# get the step of gradient descent with momentum; larger components are damped.
#
# The table lists, for each run, $D(G(z))$ and the generator's gradient norm at
# the start, and the 1-Wasserstein distance W1 between 2,048 generated and
# 2,048 data points after some rounds. W1 is the mean distance each point must
# move to turn one sample into the other, about 4 at the start. The cell runs
# 400 rounds per run (200 in quick mode) and takes about 15 seconds, mostly
# compiling the two GANs' programs.

# %%
strength = toy.Gaussian(mean=(4.0,), std=(0.5,))
experiment = minimax.SaturationExperiment(strength, seed=0, warmup_steps=1000)
runs = experiment.run(200 if QUICK else 400)
print(minimax.format_saturation_table(runs))

# %% [markdown]
# The next cell plots the two momentum runs round by round: the generator's
# gradient norm on a logarithmic axis, and its distance to the data.

# %%
minimax.plot_saturation([run for run in runs if run.optimizer == "momentum"])

# %% [markdown]
# * At the start the same discriminator gives the saturating loss a gradient
#   more than a thousand times smaller than the non-saturating one. Each generated
#   point contributes in proportion to its slope, $D$ against $1 - D$, and the
#   points' $D(G(z))$ are around $10^{-5}$.
# * With momentum, the saturating generator does not move: its distance to the
#   data stays where it started, and $D(G(z))$ stays around $10^{-5}$. The
#   non-saturating generator reaches the data within about 200 rounds.
# * With Adam, the saturating run gets going too, because Adam scales the tiny
#   gradient up to steps of about the learning rate. The paper's remark is
#   about the size of the gradient, so it bites fully with optimisers whose
#   step follows that size. Adam hides most of the gap on this toy.

# %%
by_run = {(run.generator_loss, run.optimizer): run for run in runs}
saturating = by_run["minimax", "momentum"]
non_saturating = by_run["non_saturating", "momentum"]
assert saturating.start_d_fake < 1e-3, "the discriminator should win at the start"
assert non_saturating.start_grad_norm > 100 * saturating.start_grad_norm
assert saturating.distance[-1] > 2.0, "the saturating generator should stall"
assert non_saturating.distance[-1] < 0.5, "the non-saturating one should arrive"
print("With momentum, the saturating generator stalled and the other one arrived.")

# %% [markdown]
# ## Watching the game
#
# Figure 1 of Goodfellow et al. (2014) draws one-dimensional training this way:
# the data density as a black dotted line, the generator's density $p_g$ as a
# green solid line, and the discriminator's $D(x)$ as a blue dashed line.
# Below them, a horizontal line is the domain from which $z$ is drawn
# (uniformly), and arrows lead from $z$ to $x = G(z)$ on the line above. Where
# the arrows crowd together, $G$ contracts the latent line and $p_g$ is high.
#
# The next cell replays the non-saturating momentum run from the same start and
# records a snapshot every 10 rounds: $D$ on a grid, $G(z)$ for 25 evenly
# spaced $z$, and an estimate of $p_g$. An MLP generator's density has no closed
# form, so the estimate is a kernel density estimate from 2,048 generated
# points (Gaussian kernels, with the bandwidth of Scott's rule). The replay
# reuses the run's compiled program and takes a few seconds.

# %%
picture_grid = np.linspace(-2.0, 6.5, 300)
_, snapshots = minimax.record_training(
    experiment.gans["non_saturating"],
    experiment.start_state("non_saturating", "momentum"),
    picture_grid,
    rounds=300 if QUICK else 400,
    every=experiment.chunk,
    reference=experiment.reference,
    key=jax.random.key(3),
)
print(f"{len(snapshots)} snapshots of rounds 0 to {snapshots.rounds[-1]}")

# %% [markdown]
# `show` first draws four snapshots side by side as an ordinary picture, like
# the four panels of the paper's figure. The picture stays in a copy of the
# notebook that no kernel runs, such as the one the tests execute or a page
# rendered on GitHub. Below it come a slider, which picks a snapshot, a play
# button, which steps through them, and one figure that every change redraws
# in place. The slider needs a front end that runs ipywidgets, such as
# JupyterLab, Notebook 7, VS Code or Colab. A redraw gives the changing
# artists new data and draws only them over a saved image of the rest, which
# takes milliseconds (`benchmarks/redraw_minimax.py` measures it).
# `viewer.show("interactive")` leaves the still picture out.

# %%
viewer = minimax.SnapshotViewer(snapshots, name="figure-1")
viewer.show()

# %% [markdown]
# At round 0 the discriminator, trained alone, is a step: near 0 where the
# generator's points are and near 1 on the data. The arrows crowd together
# because the new generator maps the whole latent line to a narrow range. Over
# the rounds the arrows swing right, $p_g$ moves onto the data, and $D$
# flattens. By the last snapshot $D$ is close to $1/2$ over the data, as in
# panel (d) of the paper's figure, yet $p_g$ is not $p_\text{data}$: it has a
# sharp peak where many values of $z$ map to almost the same $x$. A
# discriminator of this size that outputs about $1/2$ can no longer tell the two
# apart, which does not make them equal. The next cell checks the distance and
# the mean of $D(x)$ over the data, weighted by $p_\text{data}$.

# %%
last = len(snapshots) - 1
real_weights = snapshots.data_density / snapshots.data_density.sum()
mean_d_on_data = float(snapshots.discriminator[last] @ real_weights)
on_data = np.abs(picture_grid - 4.0) <= 1.0
assert snapshots.distance[last] < 0.25 * snapshots.distance[0]
assert abs(mean_d_on_data - 0.5) < 0.1, mean_d_on_data
assert np.all(np.abs(snapshots.discriminator[last][on_data] - 0.5) < 0.2)
print(f"W1 fell from {snapshots.distance[0]:.2f} to {snapshots.distance[last]:.2f}")
print(f"and the mean D(x) over the data is {mean_d_on_data:.3f}.")

# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong and does not give the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** At a point $x_0$ the data density is
# $p_\text{data}(x_0) = 0.3$ and the generator's density is $p_g(x_0) = 0.1$.
# What does the optimal discriminator output at $x_0$? Set `optimal_d` to the
# number and run the cell.

# %%
optimal_d = None  # Your answer: a number.

exercise_1_passed = minimax.check_optimal_discriminator(optimal_d)


# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# $$D^*(x_0) = \frac{0.3}{0.3 + 0.1} = 0.75.$$
#
# ```python
# optimal_d = 0.75
# ```
#
# Three quarters of the density at $x_0$ belongs to the data. $V$ weights its
# real and generated expectations equally, as if real and generated points were
# equally common, so a point seen at $x_0$ is real with probability 3/4.
# </details>

# %% [markdown]
# **Exercise 2.** Write the discriminator's loss $-V$ from probabilities.
# `discriminator_loss(d_real, d_fake)` receives $D(x)$ on a batch of real
# points and $D(G(z))$ on a batch of generated points, as NumPy arrays whose
# lengths may differ. It returns $-V$, with each expectation estimated by the
# mean over its own batch. The check compares your function with its own on
# random batches, so any numerically equal form passes.

# %%
def discriminator_loss(d_real, d_fake):
    # Your answer: -V estimated from the two batches.
    return None


exercise_2_passed = minimax.check_discriminator_loss(discriminator_loss)

# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# ```python
# def discriminator_loss(d_real, d_fake):
#     return -np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake))
# ```
#
# `losses.discriminator_loss` computes the same quantity from logits, using
# $\log \sigma(a) = -\mathrm{softplus}(-a)$ and
# $\log(1 - \sigma(a)) = -\mathrm{softplus}(a)$. These stay finite even where a
# probability would round to 0 or 1.
# </details>

# %% [markdown]
# **Exercise 3.** The discriminator outputs $D(G(z)) = 0.01$ on a generated
# point. Which generator loss, `"minimax"` (saturating) or `"non_saturating"`,
# has the larger slope $|d\,\text{loss} / da|$ with respect to the logit $a$
# there, and how many times larger is it? Set `larger_loss` and `ratio`.

# %%
larger_loss = None  # Your answer: "minimax" or "non_saturating".
ratio = None  # Your answer: a number.

exercise_3_passed = minimax.check_larger_gradient(larger_loss, ratio)

# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# The non-saturating slope has size $1 - D = 0.99$ and the saturating one
# $D = 0.01$:
#
# ```python
# larger_loss = "non_saturating"
# ratio = 99
# ```
#
# With respect to $D$ itself the sizes are $1/D = 100$ and
# $1/(1 - D) \approx 1.0101$, again a ratio of 99: both losses reach the logit
# through the same factor $dD/da = D(1 - D)$.
# </details>

# %% [markdown]
# ## Summary
#
# * $V(D, G) = \mathbb{E}[\log D(x)] + \mathbb{E}[\log(1 - D(G(z)))]$. The
#   discriminator ascends it and the generator descends it, and each update
#   uses only the gradient with respect to the updating network's parameters.
# * For a fixed generator the best discriminator is
#   $D^* = p_\text{data} / (p_\text{data} + p_g)$. A discriminator trained
#   against a frozen Gaussian generator matched it to within 0.05 where the
#   training points lie.
# * Against $D^*$ the generator's objective is
#   $C(G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g)$, minimal only at
#   $p_g = p_\text{data}$. Grid integration confirmed the identity to $10^{-6}$
#   for five generators.
# * The saturating loss's slope is $-D(G(z))$, which vanishes when the
#   discriminator wins. With momentum the saturating generator stalled, while
#   the non-saturating one, whose slope is $-(1 - D(G(z)))$, reached the data.
# * In the replay drawn like the paper's Figure 1, $D$ flattened towards $1/2$
#   as $p_g$ moved onto the data.
#
# **Limitations**
#
# * The theory holds for an optimal discriminator and for optimisation over all
#   densities. Networks trained a step at a time get neither: the trained $D$
#   matched $D^*$ here because the generator was frozen and the data has one
#   dimension.
# * $D^*$ was checked only where the discriminator sees training points;
#   outside that interval the network extrapolates.
# * The green curve of the replay is a kernel density estimate, smoother than
#   the true $p_g$, and its bandwidth is a rule of thumb.
# * Adam with $\epsilon = 1$ stands in for gradient descent with momentum only
#   for gradient components well below 1; larger ones, as in the
#   non-saturating run's first rounds, are damped.
# * These toys have one dimension and at most about a thousand parameters per
#   network. They show the mechanisms, not how large the effects are for image
#   GANs.
