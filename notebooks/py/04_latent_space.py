# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/04_latent_space.ipynb)

# %% [markdown]
# # 4. Exploring the latent space
#
# **Goal:** find out what a trained generator does with its input, the latent
# vector $z$. You will walk between two latent vectors without leaving the
# region the generator was trained on, find the few directions that change a
# digit most, add and subtract averaged latent vectors, and check that the
# generated digits are new rather than copies of training digits.
#
# After this lesson you can:
#
# * explain why vectors drawn from $\mathcal{N}(0, I)$ in 100 dimensions all
#   have nearly the same length, and why the straight line between two of them
#   leaves that region;
# * interpolate with slerp and compare it with linear interpolation;
# * compute the latent directions that change the image most from the
#   generator's Jacobian, and move along them with sliders;
# * build an attribute vector (more ink) and class vectors, and say where latent
#   arithmetic works on MNIST and where it does not;
# * find the nearest training digits of generated digits and compare their
#   distances with those of held-out real digits.
#
# **Run time:** nothing is trained, because the lesson loads a generator that
# ships with the package. On a 2-core CPU shared with other jobs the notebook
# took about 90 seconds, most of it computing Jacobians and compiling the
# generator for new batch sizes. Quick mode (`GAN_LESSONS_QUICK=1`, used by the
# tests) uses fewer samples and took 50 to 80 seconds, depending on the other
# load.
#
# **Widgets:** the sliders need a front end with ipywidgets (JupyterLab, Jupyter
# Notebook, VS Code, Colab). The output of each explorer cell also holds a
# picture of its starting state, which a notebook rendered without widgets
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
import jax
import numpy as np

from gan_lessons import (
    classifier,
    data,
    latent,
    notebook,
    plotting,
    pretrained,
    runtime,
)

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## The shipped generator
#
# The package ships the generator of the README's default run: the `dcgan`
# preset at width 32, trained for 3,000 steps on the bundled MNIST subset, then
# exported with
#
# ```bash
# python -m gan_lessons train --out runs/shipped
# python -m gan_lessons export --checkpoint runs/shipped --out gan_lessons/assets/generator_mnist.npz
# ```
#
# The export keeps only what sampling needs: the generator's parameters, its
# batch-norm running averages and the model configuration, 1.4 MB in one `.npz`
# file that loads without pickle. `generator.generate(z)` maps latent vectors
# `(n, 100)` to images `(n, 32, 32, 1)` in $[-1, 1]$. It uses the running
# averages of batch norm, so each image depends only on its own vector: a vector
# gives the same digit alone or in a batch.
#
# To explore your own run instead, export it and pass the file to
# `pretrained.load_generator("runs/default/generator.npz")`:
#
# ```bash
# python -m gan_lessons export --checkpoint runs/default --out runs/default/generator.npz
# ```

# %%
generator = pretrained.load_generator()
print(generator)

z = generator.sample_latent(jax.random.key(0), 32)
images = generator.generate(z)
print("latents:", z.shape, " images:", images.shape)
print(f"pixel values in [{float(images.min()):.2f}, {float(images.max()):.2f}]")
plotting.show_images(images, columns=8, title="32 digits from 32 latent vectors")

# %% [markdown]
# ## Where latent vectors live
#
# The generator was trained on $z \sim \mathcal{N}(0, I_d)$ with $d = 100$. The
# density of this distribution is highest at the origin, yet almost no draw lies
# near it. The squared norm is a sum of $d$ independent terms,
#
# $$\|z\|^2 = \sum_{i=1}^{d} z_i^2, \qquad
# \mathbb{E}\|z\|^2 = d, \qquad \operatorname{Var}\|z\|^2 = 2d,$$
#
# because each $z_i^2$ has mean 1 and variance 2. The relative spread of
# $\|z\|^2$ is $\sqrt{2d}/d = \sqrt{2/d}$, which shrinks as $d$ grows, so the
# norm concentrates near $\sqrt{d} = 10$. A first-order expansion of the square
# root gives its spread: $\operatorname{sd}\|z\| \approx
# \sqrt{2d} / (2\sqrt{d}) = 1/\sqrt{2} \approx 0.71$, whatever $d$ is. The draws
# fill a thin shell, and the generator saw inputs from that shell only.
#
# The next cell measures the norms of 10,000 draws.

# %%
dim = generator.latent_dim
prior = np.asarray(generator.sample_latent(jax.random.key(1), 10_000))
norms = np.linalg.norm(prior, axis=1)

print(f"sqrt(d) = {np.sqrt(dim):.2f}")
print(f"norms of {len(prior):,} draws: mean {norms.mean():.2f}, std {norms.std():.2f}")
low, high = np.percentile(norms, [1, 99])
print(f"1st and 99th percentiles: {low:.2f} and {high:.2f}")
print(f"shortest and longest draw: {norms.min():.2f} and {norms.max():.2f}")

# %% [markdown]
# The mean is just below 10 (the exact mean of $\|z\|$ for $d = 100$ is 9.975)
# and the standard deviation is close to 0.71. Ninety-eight in a hundred draws
# have a norm between about 8.4 and 11.7.
#
# ## Linear against spherical interpolation
#
# The straight line between two latent vectors is
# $\operatorname{lerp}(a, b; t) = (1 - t)\,a + t\,b$ for $t \in [0, 1]$. For
# independent $a, b \sim \mathcal{N}(0, I_d)$ the midpoint
# $m = (a + b)/2$ is again Gaussian, and each of its coordinates has variance
# $(1 + 1)/4 = 1/2$. So
#
# $$\|m\| \approx \sqrt{d/2} \approx 7.07 \quad \text{for } d = 100,$$
#
# about 4 standard deviations below the shell. Two independent vectors in 100
# dimensions are almost orthogonal, and the straight line between them cuts
# deep inside the sphere.
#
# Spherical linear interpolation (slerp) instead turns the direction along the
# great circle, through the angle
# $\Omega = \arccos\frac{a \cdot b}{\|a\|\,\|b\|}$ between the vectors:
#
# $$\operatorname{slerp}(a, b; t) =
# \frac{\sin((1 - t)\Omega)}{\sin \Omega}\, a + \frac{\sin(t\Omega)}{\sin \Omega}\, b.$$
#
# For $\|a\| = \|b\|$ every point of this path has that norm. `latent.slerp`
# applies the formula to the unit directions and moves the norm linearly from
# $\|a\|$ to $\|b\|$, so the path stays in the shell when the endpoints differ
# slightly in norm. It also handles the cases where the formula divides by
# zero: a zero vector, and parallel or antiparallel vectors. White (2016,
# "Sampling Generative Networks") recommended slerp over linear interpolation
# for GAN latents because the linear path diverges from the prior.
#
# The next cell compares the norms along both paths between two draws, then
# the norms of 5,000 midpoints of each kind with the prior's norms.

# %%
start, end = prior[0], prior[1]
fractions = np.linspace(0.0, 1.0, 5)
for name, interpolate in (("linear", latent.lerp), ("spherical", latent.slerp)):
    path_norms = np.linalg.norm(interpolate(start, end, fractions), axis=1)
    print(f"{name:9s} |z| at t = {fractions}: {np.round(path_norms, 2)}")

first, second = prior[:5000], prior[5000:]
lerp_norms = np.linalg.norm((first + second) / 2, axis=1)
slerp_midpoints = np.stack(
    [latent.slerp(a, b, 0.5) for a, b in zip(first, second, strict=True)]
)
slerp_norms = np.linalg.norm(slerp_midpoints, axis=1)
print(f"\nsqrt(d/2) = {np.sqrt(dim / 2):.2f}")
print(f"linear midpoints: mean norm {lerp_norms.mean():.2f}")
print(f"spherical midpoints: mean norm {slerp_norms.mean():.2f}")
shorter = np.mean(norms < lerp_norms.mean())
print(f"prior draws shorter than the mean linear midpoint: {shorter:.2%}")
shortest = np.mean(lerp_norms < norms.min())
print(f"linear midpoints shorter than the shortest prior draw: {shortest:.0%}")

# %% [markdown]
# The linear midpoints average 7.05, as predicted, and about three in four of
# them are shorter than the shortest of the 10,000 prior draws. The generator
# never trained on inputs like them. Slerp's midpoints keep the norm of their
# endpoints.
#
# The next cell turns these claims into checks: the linear midpoints are within
# 5% of $\sqrt{d/2}$, and the norm along each spherical path is the linear
# interpolation of the endpoint norms.

# %%
predicted = np.sqrt(dim / 2)
assert abs(lerp_norms.mean() - predicted) < 0.05 * predicted, lerp_norms.mean()
expected_norms = (np.linalg.norm(first, axis=1) + np.linalg.norm(second, axis=1)) / 2
assert np.allclose(slerp_norms, expected_norms, rtol=1e-4)
assert np.allclose(latent.slerp(start, end, [0.0, 1.0]), [start, end], atol=1e-5)
print("The linear midpoints shrink by sqrt(2), and slerp keeps the norms.")

# %% [markdown]
# What does the generator make of the short vectors? The explorer below shows
# nine images along each path between two draws, with the norm under each
# image, and a slider that moves along both paths at once. Move `t` to the
# middle and compare.
#
# The cell after it measures the same thing on many pairs: the ink of the
# midpoint images (the mean brightness, see `latent.ink_fraction`) and how
# confidently the bundled digit classifier recognises them.

# %%
path_explorer = latent.PathExplorer(generator, prior[2], prior[3], num=9)
path_explorer.show()

# %%
digit_classifier = classifier.load_classifier()
num_pairs = 64 if QUICK else 256
pairs = {
    "endpoints": first[:num_pairs],
    "linear midpoints": (first[:num_pairs] + second[:num_pairs]) / 2,
    "spherical midpoints": slerp_midpoints[:num_pairs],
}
for name, latents in pairs.items():
    pictures = np.asarray(generator.generate(latents))
    confidence = classifier.predict_proba(digit_classifier, pictures).max(axis=1)
    print(
        f"{name:20s} mean ink {latent.ink_fraction(pictures).mean():.3f}, "
        f"mean classifier confidence {confidence.mean():.3f}"
    )

# %% [markdown]
# On this generator the difference is real but small. The linear midpoints have
# about 5% less ink than the spherical ones, so their strokes are a little
# fainter or thinner, and the classifier is slightly less sure of them. The
# spherical midpoints look like the endpoints. A shorter input does not break
# this generator: its first layer is linear, and the batch norm after it uses
# fixed running averages, so a shorter $z$ mostly gives a weaker version of a
# digit. Larger generators trained on faces showed blurrier linear midpoints,
# which is what led White to recommend slerp. Slerp costs nothing and keeps the
# inputs where the generator was trained, so it is the safer default.
#
# ## The directions that change the image most
#
# A latent vector has 100 coordinates, but does the image depend on all of them
# equally? Near a point $z$ the generator is approximately linear,
#
# $$G(z + \varepsilon v) \approx G(z) + \varepsilon\, J(z)\, v,$$
#
# where $J(z) = \partial G / \partial z$ is the Jacobian, a $1024 \times 100$
# matrix for $32 \times 32$ images. A step of length $\varepsilon$ along a unit
# direction $v$ changes the image by $\varepsilon^2\, v^\top J(z)^\top J(z)\, v$
# in squared pixel distance. Averaged over $n$ latent vectors,
#
# $$M = \frac{1}{n} \sum_{i=1}^{n} J(z_i)^\top J(z_i), \qquad
# \text{mean squared change} = \varepsilon^2\, v^\top M v.$$
#
# $M$ is symmetric and positive semi-definite. Its eigenvectors are orthonormal
# directions, and its eigenvalues are the mean squared change per unit step
# along each, so the top eigenvector is the direction along which the image
# changes most on average.
#
# Why not principal component analysis of latent vectors? The prior has the
# identity as its covariance, so the variance of the latent vectors is the same
# in every direction and PCA finds no order. The order has to come from the
# generator, here through its Jacobian.
#
# `latent.principal_directions` computes $J(z_i)\,e_j$ for every coordinate $j$
# with forward-mode differentiation (`jax.jvp`), 100 renders of each latent
# vector, then $M$ and its eigenvectors.

# %%
num_directions_latents = 16 if QUICK else 64
direction_latents = prior[-num_directions_latents:]
directions = latent.principal_directions(generator.generate, direction_latents)

print(f"averaged over {directions.num_latents} latent vectors")
print("largest eigenvalues:", np.round(directions.eigenvalues[:5], 1))
print(f"mean eigenvalue (a random direction): {directions.eigenvalues.mean():.1f}")
for count in (1, 3, 10, 20):
    share = directions.explained_fraction(count)
    print(f"top {count:2d} directions carry {share:.0%} of the change")
variances = np.linalg.eigvalsh(np.cov(prior.T))
print(f"PCA of the prior: variances {variances.min():.2f} to {variances.max():.2f}")
latent.plot_eigenvalues(directions)

# %% [markdown]
# The spectrum falls steeply. One step along the strongest direction changes
# the image more than 20 times as much as a step along a random direction, and the
# top 10 of 100 directions carry most of the change. PCA of the prior draws
# finds variances between about 0.8 and 1.2, sampling noise around 1. The
# generator uses its 100 inputs very unevenly.
#
# The next cell checks the claim that a few directions dominate, and then walks
# one latent vector along each of the three strongest directions, from $-4$ to
# $+4$ units.

# %%
assert directions.explained_fraction(10) > 0.5, directions.explained_fraction(10)
steps = np.linspace(-4.0, 4.0, 9)
walks = [
    generator.generate(latent.along_direction(prior[5], vector, steps))
    for vector in directions.top(3)
]
plotting.show_images(np.concatenate(walks), columns=9, title="rows: directions 1 to 3")

# %% [markdown]
# The middle column of every row is the same starting digit. The strongest
# directions change the digit's class, not only its style: along each row the
# digit turns into two or three other digits. The directions are averages, so
# the change differs from one starting vector to another. Directions 2 and 3 have close
# eigenvalues, and with another sample of latent vectors they can swap or mix,
# while the plane they span stays the same.
#
# ## The latent explorer
#
# The explorer puts one slider on each of the three strongest directions. The
# image shows $G(z_{\text{seed}} + c_1 v_1 + c_2 v_2 + c_3 v_3)$, where
# $z_{\text{seed}}$ is drawn with the seed in the box. "New random vector" moves
# to the next seed, and typing a seed brings back a vector you liked. The label
# under the sliders shows the seed and $\|z\|$: large slider values push the
# vector out of the shell, where the digits degrade.

# %%
explorer = latent.LatentExplorer(generator, directions.top(3), seed=0)
explorer.show()

# %% [markdown]
# ## Latent arithmetic
#
# Radford et al. (2016), who introduced DCGAN, showed that averaged latent
# vectors of a face generator support arithmetic: smiling woman minus neutral
# woman plus neutral man gave a smiling man. On MNIST two properties are easy to
# measure, so the arithmetic can be checked: the amount of ink and the class.
#
# **Ink.** Let $\operatorname{ink}(x)$ be the mean of $(x + 1)/2$ over the
# pixels, 0 for a black image. Draw $n$ vectors, generate their digits, and let
# $H$ and $L$ be the quarter of vectors with the most and the least ink. The
# attribute vector is the difference of their means,
#
# $$v_{\text{ink}} = \frac{1}{|H|} \sum_{i \in H} z_i
# - \frac{1}{|L|} \sum_{i \in L} z_i.$$
#
# Averaging cancels what the vectors at each end do not share. If ink were
# independent of everything else, adding $\alpha\, v_{\text{ink}}$ to new
# vectors would add ink and change nothing else. The next cell builds the
# vector from 2,048 digits (512 in quick mode) and labels the digits with the
# classifier, which the rest of this section needs.

# %%
num_samples = 512 if QUICK else 2048
arithmetic_latents = np.asarray(generator.sample_latent(jax.random.key(2), num_samples))
arithmetic_images = np.asarray(generator.generate(arithmetic_latents))
ink = latent.ink_fraction(arithmetic_images)
probabilities = classifier.predict_proba(digit_classifier, arithmetic_images)
labels = probabilities.argmax(axis=1)

ink_vector = latent.attribute_vector(arithmetic_latents, ink)
print(f"|v_ink| = {np.linalg.norm(ink_vector):.2f}")
class_ink = [ink[labels == digit].mean() for digit in range(10)]
print("mean ink of the digits labelled 0 to 9:", np.round(class_ink, 3))


# %% [markdown]
# The classes differ in ink: the classifier's 1s have about half the ink of its
# 0s. So the thinnest quarter of the digits holds many 1s and the thickest many
# 0s, and $v_{\text{ink}}$ also points from 1 towards 0. The next cell adds
# $\alpha\, v_{\text{ink}}$ to 256 new vectors and measures the mean ink and the
# share of digits whose label stays the same.

# %%
def classify(images):
    return classifier.predict_proba(digit_classifier, images).argmax(axis=1)


test_latents = np.asarray(generator.sample_latent(jax.random.key(3), 256))
alphas = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
plain_sweep = latent.attribute_sweep(
    generator.generate, test_latents, ink_vector, alphas, classify=classify
)
for alpha, mean_ink, kept in zip(
    alphas, plain_sweep.mean_ink, plain_sweep.same_class, strict=True
):
    print(f"alpha = {alpha:+.1f}: mean ink {mean_ink:.3f}, same label {kept:4.0%}")
rows = [generator.generate(test_latents[:8] + a * ink_vector) for a in alphas]
plotting.show_images(np.concatenate(rows), columns=8, title="rows: alpha = -1 to +1")

# %% [markdown]
# The ink grows with $\alpha$, but about half of the digits change class already
# at $\alpha = \pm 0.5$: towards thin 1s on one side, towards thick 0s and 8s on
# the other. The vector learned "which class has more ink" as much as "thicker
# strokes".
#
# A remedy is to compare thick and thin digits within each class. With $H_c$
# and $L_c$ the thickest and thinnest quarter of the digits labelled $c$, and
# $n_c$ the number of such digits,
#
# $$v_{\text{ink}}^{\text{within}} = \sum_{c} \frac{n_c}{n}
# \left( \frac{1}{|H_c|} \sum_{i \in H_c} z_i
# - \frac{1}{|L_c|} \sum_{i \in L_c} z_i \right).$$
#
# `latent.attribute_vector(..., groups=labels)` computes it.

# %%
within_vector = latent.attribute_vector(arithmetic_latents, ink, groups=labels)
norms_product = np.linalg.norm(within_vector) * np.linalg.norm(ink_vector)
cosine = within_vector @ ink_vector / norms_product
print(f"|v_within| = {np.linalg.norm(within_vector):.2f}")
print(f"cosine between v_within and v_ink: {cosine:.2f}")
within_sweep = latent.attribute_sweep(
    generator.generate, test_latents, within_vector, alphas, classify=classify
)
for alpha, mean_ink, kept in zip(
    alphas, within_sweep.mean_ink, within_sweep.same_class, strict=True
):
    print(f"alpha = {alpha:+.1f}: mean ink {mean_ink:.3f}, same label {kept:4.0%}")
rows = [generator.generate(test_latents[:8] + a * within_vector) for a in alphas]
plotting.show_images(np.concatenate(rows), columns=8, title="rows: alpha = -1 to +1")

# %% [markdown]
# The within-class vector changes the ink about as much while more digits keep
# their class, and the rows show the same digits with thinner or bolder
# strokes. It is not clean either: at $\alpha = \pm 1$ many digits still change
# class, because on this generator thickness and shape share directions. The
# next cell checks the two claims: both vectors add ink at every step, and the
# within-class vector keeps more labels at $\alpha = \pm 0.5$.

# %%
half_steps = np.isin(alphas, [-0.5, 0.5])
assert np.all(np.diff(plain_sweep.mean_ink) > 0), plain_sweep.mean_ink
assert np.all(np.diff(within_sweep.mean_ink) > 0), within_sweep.mean_ink
kept_plain = plain_sweep.same_class[half_steps].mean()
kept_within = within_sweep.same_class[half_steps].mean()
assert kept_within > kept_plain, (kept_within, kept_plain)
print(f"labels kept at alpha = +-0.5: {kept_plain:.0%} plain, {kept_within:.0%} within")

# %% [markdown]
# **Classes.** Keeping the digits that the classifier labels with probability
# at least 0.9, the mean latent of class $c$ is $\mu_c$. Two experiments
# follow.
#
# 1. Render $\mu_c$ itself. An average of many vectors is short, with a norm
#    of 2 or 3 here, far inside the shell, so each mean is first rescaled to
#    norm $\sqrt{d}$.
# 2. Move a vector of class $a$ towards class $b$: $z' = z - \mu_a + \mu_b$,
#    and count how often the classifier then says $b$.

# %%
confident = probabilities.max(axis=1) >= 0.9
means, counts = latent.class_means(arithmetic_latents[confident], labels[confident])
print("confident digits per class:", counts)
print("norms of the class means:  ", np.round(np.linalg.norm(means, axis=1), 1))

rescaled = means / np.linalg.norm(means, axis=1, keepdims=True) * np.sqrt(dim)
mean_images = np.asarray(generator.generate(rescaled))
print("classifier on G(rescaled mean of class 0 to 9):", classify(mean_images))
plotting.show_images(mean_images, columns=10, title="G(mean latent of class 0 to 9)")

# %%
for source, target in ((1, 7), (7, 1), (0, 6), (3, 8), (4, 9)):
    chosen = arithmetic_latents[confident & (labels == source)]
    moved = np.asarray(generator.generate(chosen - means[source] + means[target]))
    predicted = classify(moved)
    print(
        f"{source} -> {target}: {np.mean(predicted == target):4.0%} become {target}, "
        f"{np.mean(predicted == source):4.0%} stay {source} ({len(chosen)} digits)"
    )

# %% [markdown]
# **Where arithmetic works, and where it does not.**
#
# * The rescaled class means are some of the clearest digits of the lesson, and
#   the classifier names the right class for each of them. Averaging keeps
#   what the vectors of a class share.
# * Moving a digit from one class to another by adding a difference of means
#   works for roughly 40% to 80% of the digits, depending on the pair.
#   The rest end as a third class or a blend. The class is not a linear
#   function of $z$: the generator was never told about classes, and one mean
#   difference cannot follow how the region of each class curves through the
#   latent space.
# * An attribute vector carries everything that differs between its two ends.
#   Ink and class are tied on MNIST, so a plain ink vector changes the class.
#   Comparing within classes removes most of that, not all.
# * Every number here comes from one generator and from a classifier that makes
#   its own mistakes on generated digits. A different training run would give
#   other vectors and other rates.
#
# ## Is the generator copying its training set?
#
# A generator that memorised training digits would produce digits at distance
# close to 0 from a training image. For a generated image $x$, the distance to
# the training set $X$ is
#
# $$d(x, X) = \min_{x' \in X} \|x - x'\|_2,$$
#
# over the $32 \times 32$ pixels in $[-1, 1]$. What counts as small? Real
# digits that were held out of training give the scale: their distances to the
# training set say how far a new real digit typically lies from it.
# `latent.nearest_neighbours` searches the 9,000 bundled training digits.

# %%
train = data.load_mnist(source="bundled", split="train")
test = data.load_mnist(source="bundled", split="test")
train_images = data.to_float(train.images)
num_generated = 64 if QUICK else 256
num_held_out = 200 if QUICK else 1000
generated = np.asarray(generator.generate(prior[:num_generated]))
held_out = data.to_float(test.images[:num_held_out])

generated_index, generated_distance = latent.nearest_neighbours(generated, train_images)
_, held_out_distance = latent.nearest_neighbours(held_out, train_images)
print("distances of the first 8 generated digits:")
print(np.round(generated_distance[:8, 0], 1))
neighbours = train_images[generated_index[:8, 0]]
plotting.show_images(
    np.concatenate([generated[:8], neighbours]),
    columns=8,
    title="top: generated, bottom: nearest training digit",
)

# %%
distance_sets = {"generated": generated_distance, "held-out real": held_out_distance}
for name, distances in distance_sets.items():
    print(
        f"{name:14s} median {np.median(distances):5.2f}, 10th percentile "
        f"{np.percentile(distances, 10):5.2f}, min {distances.min():5.2f}"
    )
latent.plot_distance_histograms(
    distance_sets, xlabel="pixel distance to the nearest training digit"
)

# %% [markdown]
# The generated digits are farther from the training set than held-out real
# digits: their median distance is about 2 larger, and even the closest
# generated digit is far from a copy. The nearest neighbours above share the
# class and the slant but differ in the details. The generator makes new
# digits.
#
# Distance to the training set is not quality, though. Pure noise would be
# farther still. The larger distances partly come from the generator's
# artifacts, such as broken or smudged strokes, which no real digit has. Pixel
# distance also punishes a digit that is shifted by one pixel. The classifier's
# features (`classifier.features`) compare what the classifier sees instead;
# try `latent.nearest_neighbours` on them.
#
# The next cell checks the claim: the median distance of generated digits is at
# least that of held-out real digits, and no generated digit is within distance
# 1 of a training digit (an exact copy has distance 0).

# %%
assert np.median(generated_distance) >= np.median(held_out_distance)
assert generated_distance.min() > 1.0, generated_distance.min()
print("No generated digit is a copy of a training digit.")

# %% [markdown]
# ## Exercises
#
# Each check prints a hint when an answer is wrong and never gives the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** A larger GAN draws latent vectors $z \sim \mathcal{N}(0, I)$
# with $d = 400$ coordinates. Without sampling, predict the typical norm
# $\|z\|$. Put a number in `predicted_norm`.

# %%
predicted_norm = None  # your answer: a number

exercise_1_passed = latent.check_norm_prediction(predicted_norm, dim=400)

# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# $\mathbb{E}\|z\|^2 = \sum_i \mathbb{E} z_i^2 = d = 400$, and the norm varies
# little around the square root of that:
#
# ```python
# predicted_norm = 20.0
# ```
#
# The exact mean, $\sqrt{2}\,\Gamma(\tfrac{d+1}{2}) / \Gamma(\tfrac{d}{2})$, is
# 19.99; the check accepts anything within 5% of it.
# </details>

# %% [markdown]
# **Exercise 2.** In the same GAN with $d = 400$, take two independent latent
# vectors $a$ and $b$. Predict the norm of the linear midpoint $(a + b)/2$ and
# put it in `predicted_midpoint_norm`.

# %%
predicted_midpoint_norm = None  # your answer: a number

exercise_2_passed = latent.check_midpoint_norm(predicted_midpoint_norm, dim=400)


# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# Each coordinate of $(a + b)/2$ is normal with variance $(1 + 1)/4 = 1/2$, so
# $\mathbb{E}\|(a + b)/2\|^2 = d/2 = 200$:
#
# ```python
# predicted_midpoint_norm = 200 ** 0.5  # about 14.1
# ```
#
# The midpoint is $1/\sqrt{2}$ times as long as the endpoints, in any dimension.
# </details>

# %% [markdown]
# **Exercise 3.** Write `slerp(a, b, t)` for two vectors `a` and `b` of the same
# norm, neither parallel nor antiparallel, and a number `t` in $[0, 1]$. Use
# the formula of the interpolation section. The check compares your function
# with the great-circle path on random vectors in 2, 3 and 100 dimensions.

# %%
def slerp(a, b, t):
    # Your answer: the point at fraction t of the great circle from a to b.
    return None


exercise_3_passed = latent.check_slerp(slerp)

# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# ```python
# def slerp(a, b, t):
#     cosine = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
#     omega = np.arccos(np.clip(cosine, -1.0, 1.0))
#     return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
# ```
#
# `np.clip` guards against a cosine that rounding pushes just past 1. The
# division fails for parallel vectors, where $\sin \Omega = 0$, which is why
# `latent.slerp` treats that case separately.
# </details>

# %% [markdown]
# ## Summary
#
# * Latent vectors drawn from $\mathcal{N}(0, I_{100})$ all have norms near
#   $\sqrt{100} = 10$, within about $\pm 0.7$. The straight line between two of
#   them passes through norm $\sqrt{50} \approx 7.07$, where the generator was
#   never trained. Slerp follows the great circle and keeps the norm. On this
#   small MNIST generator the linear midpoints are only slightly fainter.
# * The eigenvectors of the averaged $J^\top J$ order the latent directions by
#   how much they change the image. A handful of the 100 directions carry most
#   of the change, and the strongest ones change the digit's class.
# * Averaged latent vectors support arithmetic, within limits. Rescaled class
#   means render as clean digits of their class. An ink vector adds ink, but
#   it also changes the class unless it is built within classes, and moving a
#   digit between classes by adding a difference of means works only part of
#   the time.
# * Generated digits are farther from their nearest training digits than
#   held-out real digits are, so the generator does not copy its training set.
#
# **Limitations**
#
# * Everything was measured on one generator from one training run of 3,000
#   steps on 9,000 digits. Another run gives other directions and other rates.
# * The directions are first-order (Jacobian) and averaged over a sample of
#   latent vectors. Far from that sample, or for large steps, they describe the
#   generator less well, and directions with close eigenvalues are not unique.
# * Class labels come from the bundled classifier, which makes mistakes, above
#   all on unusual generated digits.
# * Pixel distance is a crude similarity: a shifted copy of a training digit
#   would count as far away. Nearest-neighbour distances show that the digits
#   are not copies, not that they are realistic.
# * The sliders need a live kernel with ipywidgets. A static rendering shows
#   each explorer's starting picture only.
