# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/01_bouncer.ipynb)

# %% [markdown]
# # 1. The bouncer and the imitator
#
# **Goal:** see what the two networks of a GAN do to each other, in a world
# small enough to draw. A club's bouncer (the discriminator) learns to tell real
# tough guys (the data) from the people an imitator sends (the generator), and
# the imitator learns from the bouncer's verdicts until his people pass.
#
# After this lesson you can:
#
# * name the parts of a GAN and say what each one learns from;
# * compute the best possible discriminator $D^*(x)$ for a given generator;
# * write the discriminator's loss and the generator's non-saturating loss from
#   logits;
# * train a small GAN step by step and read its curves: the losses, $D(x)$,
#   $D(G(z))$ and the direction in which each generated point is pushed;
# * explain why a discriminator uses the most obvious difference first and a
#   subtle one later.
#
# **Run time:** under a minute on a 2-core CPU the first time, most of it
# compiling the small networks' training steps, and about 20 seconds once the
# compiled programs are cached. Quick mode (`GAN_LESSONS_QUICK=1`, used by the
# tests) records 60 nights of training instead of 150 and runs 10 nights in the
# training playground instead of 30.
#
# The playgrounds need a front end that runs ipywidgets, such as JupyterLab,
# Notebook 7, VS Code or Colab. Each playground first shows a still picture of
# its start, so that a rendered copy of the notebook keeps a figure, and below
# it the controls with a figure that changes as you use them.

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
import numpy as np

from gan_lessons import checking, losses, notebook, runtime, toy, widgets

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## The story
#
# A club lets in tough guys only, and a bouncer at the door decides who they
# are. Each night a crowd queues outside: real tough guys, and people sent by an
# imitator who wants his own crowd inside. The bouncer cannot ask anyone; he
# looks at each guest and judges. After each night both learn something. The
# bouncer finds out whom he judged wrongly and sharpens his eye. The imitator
# never gets to see a real tough guy. All he learns is how the bouncer judged
# his people, and from that he works out how to change them so that more get
# in next time.
#
# Every part of the story is a part of a GAN:
#
# | story | GAN | in this package |
# |---|---|---|
# | the real tough guys | training data, drawn from $p_\text{data}$ | `toy.tough_guys()` |
# | the imitator's crowd | generated samples $G(z)$ of noise $z$, distributed as $p_g$ | `ToyGAN.generate` |
# | the bouncer's verdict on a guest | $D(x) \in (0, 1)$, the probability that $x$ is real | `ToyGAN.discriminator_probability` |
# | a night at the door | a round: some discriminator updates, then some generator updates | `ToyGAN.train_round` |
# | what the imitator learns from the verdicts | the gradient of the generator's loss through $D$ | `ToyGAN.generator_direction` |
#
# The last line is the heart of a GAN: the generator never sees the data. It
# learns only through the discriminator's gradient.

# %% [markdown]
# ## The real tough guys
#
# Each guest has two features, in arbitrary units: **strength** and **fighting**
# skill. Real tough guys follow a normal distribution with strength mean 4
# (spread 0.5) and fighting mean 1 (spread 0.25). A fresh, untrained imitator
# sends people with both features near 0. So strength is the *obvious*
# difference, far from where the imitator starts, and fighting is the *subtle*
# one: its mean is close to the imitator's start and its spread is narrow.

# %%
data = toy.tough_guys()
real = np.asarray(data.sample(jax.random.key(0), 1000))
print("features:", toy.FEATURES, "| sample shape:", real.shape)
for index, feature in enumerate(toy.FEATURES):
    column = real[:, index]
    print(f"{feature:>8}: mean {column.mean():.2f}, spread {column.std():.2f}")

# %% [markdown]
# ## Exercise 1: predict first
#
# Each check in this lesson prints a hint when an answer is wrong and never
# gives the answer away. The solutions are folded below the exercises.
#
# Before any training: **which feature will a freshly trained bouncer rely on
# first, and why?** Set `first_feature` to the letter of your choice.
#
# * **a.** Strength, because fresh imitators sit far below the real mean of 4,
#   measured in real spreads.
# * **b.** Fighting, because its narrow spread makes it the most precise feature.
# * **c.** Both equally, because a network weighs all its inputs alike.
# * **d.** Neither: a fresh bouncer judges at random and stays that way until
#   the imitator improves.

# %%
first_feature = None  # your answer: "a", "b", "c" or "d"

exercise_1_passed = checking.check_first_feature(first_feature)

# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# ```python
# first_feature = "a"
# ```
#
# Fresh imitators have strength near 0, eight real spreads ($4 / 0.5$) below the
# real mean; their fighting is about four real spreads ($1 / 0.25$) off. A
# bouncer trained by gradient descent picks up the largest, easiest difference
# first. The last part of this lesson measures it.
# </details>

# %% [markdown]
# ## Part A: you are the imitator
#
# Which bouncer should judge your crowd? The strongest opponent is the *best
# possible* bouncer for it. Lesson 2 derives him: when the imitator's crowd has
# density $p_g$, the verdict that maximises the bouncer's objective is
#
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}.$$
#
# It reads like a head count of two equally large crowds. If real tough guys
# are three times as common as imitators at some point $x$, then three out of
# four guests standing there are real, and $D^*(x) = 3/4$. Where only real guests go, $D^*(x) = 1$; where only
# imitators go, $D^*(x) = 0$.
#
# Both crowds here are normal distributions with independent features, so each
# density is a product over the features $i$:
#
# $$p(x) = \prod_i \frac{1}{\sqrt{2\pi}\,\sigma_i}
# \exp\!\left(-\frac{(x_i - \mu_i)^2}{2\sigma_i^2}\right).$$
#
# `widgets.optimal_discriminator` computes $D^*$ from the densities of two
# `toy.Gaussian`s. It uses the equal form
# $D^* = \operatorname{sigmoid}(\log p_\text{data} - \log p_g)$, which stays
# finite far from both crowds, where both densities round to 0.

# %%
fresh_crowd = toy.Gaussian(mean=(0.0, 0.0), std=(0.5, 0.5))
points = np.array([[4.0, 1.0], [0.0, 0.0], [2.0, 0.5]])
print(
    "D* at",
    points.tolist(),
    "=",
    widgets.optimal_discriminator(data, fresh_crowd, points).round(3),
)

# A perfect imitation: the crowds are the same and D* is 1/2 everywhere.
perfect = widgets.optimal_discriminator(data, data, points)
assert np.allclose(perfect, 0.5), perfect
print("D* against a perfect imitation:", perfect.round(3))

# %% [markdown]
# Against the fresh crowd, the best bouncer is sure about a guest at the real
# mean $(4, 1)$ and about one at the imitators' mean $(0, 0)$. Halfway, at
# $(2, 0.5)$, he says 0.31, because the narrow real spread of fighting makes a
# real tough guy with fighting 0.5 rarer than such an imitator. Against a
# perfect imitation he can only guess: $D^* = 1/2$ everywhere.
#
# **The playground.** The sliders set your crowd: the mean and the spread of
# each feature. The heatmap shows $D^*(x)$ over feature space (blue: let in,
# red: turned away), with real tough guys as blue dots and your people as
# orange ones. The score is the share of your people let in if the bouncer lets
# each guest in with probability $D^*(x)$, that is the mean of $D^*$ over your
# crowd.
#
# Push the score up. Try moving only the mean strength to 4 first: how much does
# that gain while fighting is still wrong? What does a crowd with too narrow a
# spread do? The best possible score is 50%, because for any two densities
# $p_\text{data}\, p_g / (p_\text{data} + p_g) \le (p_\text{data} + p_g) / 4$,
# so $\int p_g D^* \le 1/2$, with equality only for a perfect imitation.

# %%
crowd_playground = widgets.OptimalDiscriminatorPlayground(data)
crowd_playground.show()

# %% [markdown]
# The sliders are ordinary Python objects, so code can move them too. The next
# cell copies the real crowd into the sliders, which redraws the figure above,
# and checks that the best bouncer then lets in half of the imitators. Run it
# after you have tried yourself.

# %%
real_crowd = {
    "strength_mean": 4.0,
    "fighting_mean": 1.0,
    "strength_std": 0.5,
    "fighting_std": 0.25,
}
for name, value in real_crowd.items():
    crowd_playground.sliders[name].value = value
print(f"share of imitators let in: {crowd_playground.score():.1%}")
assert abs(crowd_playground.score() - 0.5) < 1e-6

# %% [markdown]
# ## Exercise 2: a verdict by hand
#
# An imitator's crowd has the real spreads (0.5 for strength, 0.25 for
# fighting) but strength mean 4.5 instead of 4, and fighting mean 1. **What is
# $D^*(x)$ at the real mean, $x = (4, 1)$?** Work it out from the formulas above,
# with pen and paper or plain arithmetic in Python, and give it to two decimal
# places.

# %%
verdict = None  # your answer: a number between 0 and 1

exercise_2_passed = checking.check_optimal_verdict(verdict)

# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# The two densities share their spreads, so their normalising factors cancel,
# and so do the fighting terms, because both fighting means are 1. Only the
# strength exponents remain: $0$ for the real crowd, whose mean is 4, and
# $-(4 - 4.5)^2 / (2 \cdot 0.5^2) = -1/2$ for the imitators. Dividing by
# $p_\text{data}$:
#
# $$D^*(x) = \frac{1}{1 + p_g(x) / p_\text{data}(x)} = \frac{1}{1 + e^{-1/2}}
# \approx 0.62.$$
#
# ```python
# verdict = 1 / (1 + np.exp(-0.5))
# ```
#
# Even at the very centre of the real crowd, the best bouncer lets guests in
# only 62% of the time, because the imitators stand close by.
# </details>

# %% [markdown]
# ## Part B: training
#
# Now both sides are small neural networks, an MLP generator $G$ and an MLP
# discriminator whose output is a *logit* $a(x)$, with $D(x) = \sigma(a(x))$ and
# $\sigma$ the sigmoid. They play for the value
#
# $$V(D, G) = \mathbb{E}_{x \sim p_\text{data}}\left[\log D(x)\right]
# + \mathbb{E}_{z}\left[\log\left(1 - D(G(z))\right)\right].$$
#
# The bouncer raises $V$ by saying "real" to real guests and "fake" to
# imitators, so his loss is $-V$. Written with logits, using
# $\log \sigma(a) = -\operatorname{softplus}(-a)$ and
# $\log(1 - \sigma(a)) = -\operatorname{softplus}(a)$, which stay finite for any
# logit:
#
# $$L_D = \mathbb{E}_x\left[\operatorname{softplus}(-a(x))\right]
# + \mathbb{E}_z\left[\operatorname{softplus}(a(G(z)))\right].$$
#
# The imitator could lower $V$ directly, minimising
# $\mathbb{E}_z[\log(1 - D(G(z)))]$, but while the bouncer turns his people away
# with $D(G(z)) \approx 0$ that term is flat and its gradient nearly vanishes.
# So the imitator instead raises $\log D(G(z))$, the *non-saturating* loss
#
# $$L_G = -\mathbb{E}_z\left[\log D(G(z))\right]
# = \mathbb{E}_z\left[\operatorname{softplus}(-a(G(z)))\right].$$
#
# `losses.discriminator_loss` and `losses.generator_loss` implement these two
# formulas, averaging each expectation over its batch. The next cell builds
# the toy GAN of this lesson, two hidden layers of 32 units on each side and
# Adam with learning rate $3 \times 10^{-3}$, and evaluates both losses at its
# start.

# %%
config = toy.ToyConfig(generator_learning_rate=3e-3, discriminator_learning_rate=3e-3)
gan = toy.ToyGAN(data, config)
state = gan.init(seed=0)

real_key, latent_key = jax.random.split(jax.random.key(1))
real_batch = data.sample(real_key, config.batch_size)
fake_batch = gan.sample(state, latent_key, config.batch_size)
real_logits = gan.discriminator_logits(state, real_batch)
fake_logits = gan.discriminator_logits(state, fake_batch)
discriminator_start = float(losses.discriminator_loss(real_logits, fake_logits))
generator_start = float(losses.generator_loss(fake_logits))
print("batches:", real_batch.shape, fake_batch.shape, "| logits:", real_logits.shape)
print(f"mean D(x) on real points {float(jax.nn.sigmoid(real_logits).mean()):.2f}")
print(f"mean D(G(z)) on generated {float(jax.nn.sigmoid(fake_logits).mean()):.2f}")
print(f"discriminator loss {discriminator_start:.3f}, log 4 = {np.log(4):.3f}")
print(f"generator loss     {generator_start:.3f}, log 2 = {np.log(2):.3f}")


# %% [markdown]
# The untrained bouncer's verdicts come from random weights, not from any
# judgement, so his loss can start anywhere. Two values serve as landmarks on
# the loss curves below. A bouncer who says 1/2 to every guest, because he
# cannot tell the crowds apart, has $L_D = 2 \log 2 = \log 4 \approx 1.39$,
# and the imitator's loss is then $\log 2 \approx 0.69$. A discriminator loss
# well below $\log 4$ means the bouncer is winning.

# %% [markdown]
# ## Exercise 3: the bouncer's loss
#
# Write `discriminator_loss(real_logits, fake_logits)`: it receives the
# discriminator's logits on a batch of real points and on a batch of generated
# points, both of shape `(batch,)`, and returns $L_D$ as a single number. Any
# correct formula passes, with `jax.nn.softplus` or with the logarithm of
# `jax.nn.sigmoid`. The check compares it with the package on random logits.

# %%
def discriminator_loss(real_logits, fake_logits):
    # Your answer: -V(D, G) from the logits, a single number.
    return None


exercise_3_passed = checking.check_discriminator_loss(discriminator_loss)


# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# ```python
# def discriminator_loss(real_logits, fake_logits):
#     real_term = jax.numpy.mean(jax.nn.softplus(-real_logits))
#     fake_term = jax.numpy.mean(jax.nn.softplus(fake_logits))
#     return real_term + fake_term
# ```
#
# The form with probabilities,
# `-jnp.mean(jnp.log(jax.nn.sigmoid(real_logits))) -
# jnp.mean(jnp.log(1 - jax.nn.sigmoid(fake_logits)))`, gives the same value for
# moderate logits. In float32 it loses accuracy once a generated point's logit
# passes about 10 and returns `inf` from about 17, where the sigmoid rounds to 1;
# the softplus form stays exact.
# </details>

# %% [markdown]
# ## Exercise 4: the imitator's loss
#
# Write `generator_loss(fake_logits)`, the non-saturating loss $L_G$ of the
# discriminator's logits on a batch of generated points, shape `(batch,)`.

# %%
def generator_loss(fake_logits):
    # Your answer: the non-saturating generator loss, a single number.
    return None


exercise_4_passed = checking.check_generator_loss(generator_loss)

# %% [markdown]
# <details>
# <summary>Solution to exercise 4 (click to open)</summary>
#
# ```python
# def generator_loss(fake_logits):
#     return jax.numpy.mean(jax.nn.softplus(-fake_logits))
# ```
#
# It is the bouncer's loss on the generated batch with the labels flipped: the
# imitator wants his people judged real.
# </details>

# %% [markdown]
# ## The training playground
#
# The buttons run the same jit-compiled updates as `ToyGAN.train_round`:
#
# * **Bouncer trains** and **Imitator trains** run one update of one network on
#   a fresh batch of 256 real and 256 generated points;
# * **One night** runs a round: the bouncer's steps, then the imitator's steps,
#   as many as the sliders say;
# * the play button runs one night after another, and **Reset** starts again
#   from the same random seed.
#
# The learning-rate sliders change Adam's step size inside the optimiser state,
# so nothing recompiles; a new pair of step counts compiles its round once,
# which takes a second or two.
#
# The left panel shows the bouncer's verdict $D(x)$ over feature space, the real
# and the generated points, and on 40 of the generated points an arrow: the
# direction in which the imitator's next update pushes that point,
# $-\partial L_G / \partial x$, scaled so that the longest arrow is one unit
# long. The panels on the right follow the losses, the mean verdicts $D(x)$ on
# real and $D(G(z))$ on generated points, the bouncer's reliance on each
# feature (how much his loss rises when the feature is hidden from him by
# shuffling it) and the imitators' mean.
#
# Things to try:
#
# 1. Press **One night** twenty times and watch where the arrows point.
# 2. Reset, then press **Bouncer trains** twenty times. The status line shows
#    the norm of the imitator's gradient. Does it vanish when the bouncer is
#    sure of himself? Part B said why it does not.
# 3. Set the imitator's learning rate to $3 \times 10^{-2}$ and play. Then set
#    the bouncer's steps a night to 0: what does the imitator do against a
#    bouncer who stopped learning?

# %%
training = widgets.TrainingPlayground(gan, seed=0)
training.show()

# %% [markdown]
# Code can press the buttons too, which is how the tests check the playground.
# The next cell runs some nights through the button and checks that the
# bouncer's heatmap changed.

# %%
heatmap_before = np.array(training.heatmap.get_array())
for _ in range(10 if QUICK else 30):
    training.buttons["round"].click()
heatmap_after = np.array(training.heatmap.get_array())
change = float(np.max(np.abs(heatmap_after - heatmap_before)))
print(f"after {training.record.updates[-1]} updates D(x) moved by up to {change:.2f}")
assert change > 0.05, change

# %% [markdown]
# ## The story in numbers
#
# Does the bouncer really look at strength first and at fighting later? The
# next cell trains the same GAN without widgets for 150 nights (60 in quick
# mode), each night 3 bouncer updates and 1 imitator update, and records after
# every night:
#
# * the bouncer's **reliance** on each feature, from `toy.feature_reliance`:
#   shuffle one feature's column over all real and generated points, which
#   keeps its values but cuts their link to who is real, and measure how many
#   nats his loss rises;
# * each feature's **share** of that reliance;
# * the mean and the spread of the imitators' crowd.
#
# `widgets.find_story_phases` then finds the night when the imitators' mean
# strength came within 0.5 of the real 4, and the night when fighting's share
# of the reliance, averaged over the last 5 nights, passed one half.

# %%
rounds = 60 if QUICK else 150
final_state, record = widgets.record_training(
    gan, seed=0, rounds=rounds, discriminator_steps=3, generator_steps=1
)
phases = widgets.find_story_phases(record, data)
widgets.show_figure(widgets.plot_training_record(record, data, phases))

# %% [markdown]
# How to read the four panels, with the dash-dotted lines at the two nights
# that `find_story_phases` found:
#
# * **First phase, strength.** In the first nights almost all of the bouncer's
#   reliance is on strength (top left and top right, red). Hiding strength
#   from him costs him up to about 1.5 nats, hiding fighting almost nothing,
#   and the imitators' mean strength climbs towards 4 (bottom left).
# * **Strength matched.** Around night 30 the imitators' mean strength reaches
#   4, and the bouncer's old rule stops working: his reliance on strength falls
#   to about 0.
# * **Second phase, fighting.** For a while after that, the little reliance
#   the bouncer finds is mostly on fighting (top right, green above 1/2), and
#   the imitators' fighting mean starts to swing in response.
#
# The next cell turns this reading into a check: early reliance on strength
# above 60%, and strength matched no later than fighting takes over.

# %%
assert phases.early_strength_share > 0.6, phases
assert phases.in_story_order, phases
print(
    f"Strength had {phases.early_strength_share:.0%} of the reliance in the first "
    f"nights. The imitators' strength was matched in night "
    f"{phases.strength_matched_round}, and fighting took over in night "
    f"{phases.fighting_round}."
)

# %% [markdown]
# After the second phase the game does not settle. The shares swing between
# the features, the imitators overshoot strength and come back, and their
# fighting mean circles around 1: each side keeps reacting to the other's last
# move. Matching a mean is also easier than matching a spread: in this run the
# imitators' strength spread stays far wider than the real 0.5. Such
# oscillations, and how to damp them, come back in the lessons on the minimax
# game and on failure modes.

# %% [markdown]
# ## Summary
#
# * A GAN is a game between a discriminator, which learns to tell data from
#   generated samples, and a generator, which never sees the data and learns
#   only through the discriminator's gradient.
# * For a fixed generator the best discriminator is
#   $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$. Against a
#   perfect imitation it says 1/2 everywhere, and no crowd gets more than half
#   of its people past it.
# * The discriminator's loss is $-V$, written with softplus of the logits; the
#   generator usually minimises the non-saturating loss
#   $-\mathbb{E}[\log D(G(z))]$, whose gradient does not vanish while the
#   discriminator wins.
# * A discriminator uses the most obvious difference first. Once the generator
#   has removed it, the discriminator must find a subtler one, and the
#   generator follows, as the reliance on strength and then on fighting showed.
#
# **Limitations of the toy**
#
# * Two named features are not an image. A 32x32 digit has 1024 pixels, and
#   the differences a discriminator finds are combinations of pixels that no
#   one has named, so there is no column to shuffle to measure them.
# * $D^*$ needs both densities. Here they are known normal distributions; for
#   images neither is known, so real training never sees the best bouncer,
#   only a network trained for a few steps.
# * The real data is a single normal distribution with one mode. A generator
#   cannot drop some modes here (mode collapse); `toy.ring()` and a later
#   lesson show that failure.
# * The toy generator only needs to shift and stretch its noise. An image
#   generator must learn a far more complex map, takes minutes to hours
#   instead of seconds, and its training is harder to watch.
