# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/gan-lessons/gan_lessons/blob/main/notebooks/06_conditional.ipynb)

# %% [markdown]
# # 6. Choose the digit: a conditional GAN
#
# **Goal:** give the generator a second input, the class label $y$, so that you
# decide which digit it draws. You will build a generator and a discriminator
# that both read the label, train them with checkpoints that survive an
# interruption, see why the first version drew one digit per label whatever the
# latent vector, fix that, and measure whether each label really produces its
# digit.
#
# After this lesson you can:
#
# * write the conditional value function and say what changes in each network;
# * condition a generator by concatenating a label embedding to $z$, and a
#   discriminator with a projection term $\langle V_y, \phi(x)\rangle$;
# * train a conditional GAN that resumes from its last checkpoint and reaches
#   the same weights as an uninterrupted run;
# * recognise intra-class mode collapse, where the generator ignores $z$, and
#   remove it with a mode seeking term;
# * judge a conditional generator per class: classifier accuracy by requested
#   label, a confusion matrix, the spread of digits within a class and a
#   Fréchet distance per class, each beside the value real digits get.
#
# **Run time:** the lesson loads a conditional generator that ships with the
# package, so the only training is a short demonstration of checkpoints. On a 2-core CPU shared with other jobs (load average 5 to 7), one pass in quick mode (`GAN_LESSONS_QUICK=1`, used by the tests) took 68 seconds, most of it compiling, and full mode took 34 seconds right after it, with the compiled programs in the disk cache.
#
# **Widgets:** the digit explorer needs a front end with ipywidgets (JupyterLab,
# Jupyter Notebook, VS Code, Colab). Its cell's output also holds a picture of the
# starting state, which a notebook rendered without widgets shows in place of
# the widgets.

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
from flax import nnx

from gan_lessons import (
    classifier,
    conditional,
    conditional_lesson,
    notebook,
    plotting,
    runtime,
    widgets,
)
from gan_lessons.config import model_preset

runtime.enable_compilation_cache()
QUICK = notebook.quick_mode()
print(runtime.describe_devices())

# %% [markdown]
# ## The conditional game
#
# An unconditional GAN learns $p(x)$: it draws digits, but which digit comes out
# depends on $z$ in a way nobody chose. Mirza and Osindero ("Conditional
# Generative Adversarial Nets", 2014) give both players the label. The
# generator draws $G(z, y)$ and the discriminator judges pairs: is $x$ a real
# example *of class $y$*? The value function becomes
#
# $$V(D, G) = \mathbb{E}_{(x, y) \sim p_\text{data}}\left[\log D(x, y)\right]
# + \mathbb{E}_{z \sim \mathcal{N}(0, I),\, y \sim p(y)}\left[\log\left(1 - D(G(z, y), y)\right)\right].$$
#
# A real 7 labelled 7 is real. A perfect 3 labelled 7 is fake, because no real
# pair looks like that. So the generator can only win by drawing the digit it
# was asked for, and $z$ is left with everything the label does not fix: the
# slant, the stroke width, the shape of the loop. The losses are the same as in
# lesson 3 (`gan_lessons/losses.py`); only the inputs change.
#
# ## The generator: the label joins the latent vector
#
# `conditional.ConditionalGenerator` looks up a learned embedding $e(y)$ of 16
# numbers and feeds the concatenation $[z; e(y)]$ to the unchanged DCGAN
# generator of lesson 3, whose latent length becomes $100 + 16 = 116$:
#
# ```
# z (100,), y -> e(y) (16,) -> concat (116,) -> dense -> 4x4x128 -> 8x8x64 -> 16x16x32 -> 32x32x1
# ```
#
# The first layer is linear, so the label adds a class-dependent offset
# $W_e\, e(y)$ to the 4x4 feature map, and the rest of the network turns that
# offset into a digit. A one-hot code in place of $e(y)$ would do the same job
# with 10 numbers (exercise 1 builds it).

# %%
generator = conditional.load_generator()
module = generator.module()
print(generator)
print("label embedding table:", module.embed.embedding.get_value().shape)
print("latent length of the DCGAN generator inside:", module.body.config.latent_dim)

z = generator.sample_latent(jax.random.key(0), 10)
labels = np.arange(10, dtype=np.int32)
images = generator.generate(z, labels)
print("z:", z.shape, " labels:", labels.shape, " images:", images.shape)
plotting.show_images(images, columns=10, title="labels 0 to 9, ten latent vectors")

# %% [markdown]
# The generator above is the one that ships with the package, trained as
# described below. Ten latent vectors with labels 0 to 9 give the digits 0 to 9.

# %% [markdown]
# ## The discriminator: a projection term
#
# The classic way to give the discriminator the label is to append it as extra
# input channels, ten planes of which one is all ones. Miyato and Koyama ("cGANs
# with Projection Discriminator", ICLR 2018) argue for another form, which
# follows from writing the optimal discriminator's logit as a log density ratio,
# $\log p_\text{data}(x, y) / p_G(x, y)$. If the class probabilities
# $p(y \mid x)$ of both distributions are log-linear in some features
# $\phi(x)$, that ratio splits into a part that ignores the label and an inner
# product with a class vector:
#
# $$\operatorname{logit}(x, y) = \underbrace{w^\top \phi(x) + b}_{\text{real at all?}}
# + \underbrace{V_y^\top \phi(x)}_{\text{real as a } y\text{?}}$$
#
# `conditional.ProjectionDiscriminator` takes the DCGAN discriminator of
# lesson 3 as it is, uses its flattened 4x4x128 features as $\phi(x)$ (2,048
# numbers), keeps its dense layer as $w^\top \phi(x) + b$ and adds a learned
# table $V$ of shape (10, 2048). The image never passes through the label; the
# label only chooses which direction in feature space counts as "this class".
# We chose it over extra channels because it keeps the discriminator's layers
# unchanged and puts the label where the decision is made. The next cell
# rebuilds the logit from its two parts.

# %%
config = model_preset("dcgan", width=32)


# Each function runs as one compiled program instead of many small eager ones.
@nnx.jit
def new_discriminator():
    return conditional.ProjectionDiscriminator(config, rngs=nnx.Rngs(1))


@nnx.jit
def logit_and_parts(model, images, labels):
    phi = model.features(images, train=False)
    return model(images, labels, train=False), phi, model.classify(phi)[:, 0]


discriminator_module = new_discriminator()
images = jax.random.uniform(jax.random.key(1), (4, 32, 32, 1), minval=-1.0)
labels = np.array([3, 1, 4, 1], dtype=np.int32)
logits, phi, unconditional = logit_and_parts(discriminator_module, images, labels)
table = discriminator_module.embed.embedding.get_value()
rebuilt = unconditional + (table[labels] * phi).sum(axis=1)

print("phi(x):", phi.shape, " V:", table.shape, " logits:", logits.shape)
print("largest difference from the two parts:", float(abs(logits - rebuilt).max()))
assert np.allclose(logits, rebuilt, atol=1e-5)

# %% [markdown]
# ## A training step and checkpoints that keep the work
#
# `conditional.ConditionalGAN` has the same jit-compiled step as lesson 3's
# `train.GAN`: update the discriminator on a real batch with its labels and on a
# generated batch with the labels it was asked for, then update the generator
# through the new discriminator. The labels of the generated batch are drawn
# uniformly from the step's key, `fold_in(key, step)`, and the real batch of
# step $s$ is always the same (`data.BatchStream`), so the run is a pure function
# of the seed.
#
# `conditional.train(out, steps=...)` saves a checkpoint with lesson 3's
# `checkpoint.Checkpointer` every `checkpoint_every` steps, after the last step
# and on Ctrl-C. Called again on the same folder, it resumes from the newest
# readable checkpoint. The next cell trains a small model (width 8) straight to
# step $2n$ in one folder, and in a second folder first to step $n$, as if the
# run had been interrupted there, and then to $2n$. Running the cell again
# trains nothing, because both folders are finished.

# %%
half = 10 if QUICK else 100
small = dict(width=8, batch_size=16, checkpoint_every=half, progress=False)

straight = conditional.train("runs/lesson06/straight", steps=2 * half, **small)
first_part = conditional.train("runs/lesson06/resumed", steps=half, **small)
resumed = conditional.train("runs/lesson06/resumed", steps=2 * half, **small)

print(f"straight run: steps {straight.start_step} to {int(straight.state.step)}")
print(f"resumed run, second call: steps {resumed.start_step} to {resumed.state.step}")
difference = max(
    float(np.max(np.abs(a - b)))
    for a, b in zip(
        jax.tree.leaves(straight.state), jax.tree.leaves(resumed.state), strict=True
    )
)
print("largest difference between the two final states:", difference)
# Bit-identical on a CPU; GPU reductions may differ in the last bits.
assert difference <= (0.0 if jax.default_backend() == "cpu" else 1e-3)

# %% [markdown]
# The two runs end with bit-identical weights, optimiser states and batch-norm
# statistics: a crash or a Ctrl-C costs at most the steps since the last
# checkpoint. On a GPU some XLA reductions are not bit-reproducible, so there
# the difference can be tiny but non-zero, and the check allows up to 0.001.
#
# The same function trains the shipped generator from the command line, and
# `export` writes its generator (no discriminator, no optimiser state) to a
# plain `.npz` file that loads without pickle:
#
# ```bash
# python -m gan_lessons.conditional train --out runs/conditional
# python -m gan_lessons.conditional export --checkpoint runs/conditional --out gan_lessons/assets/generator_conditional_mnist.npz
# ```
#
# That run trains the `dcgan` preset at width 32 for 3,000 steps of 64 digits
# from the bundled MNIST subset. It took 18.5 minutes (1,107 s) on 2 CPU cores shared with other jobs, and the generator file is 1.5 MB.
#
# ## The first run drew one digit per label
#
# The first version of this lesson trained exactly what the sections above
# describe. Its digits were clean, and the classifier read 89.7% of them
# as the requested label. But every latent vector gave the *same* digit for a label. The mean pixel distance between two generated digits of one label was between 2.0 and 3.1,
# depending on the label, against about 17 for two real digits of one class. The numbers come
# from `conditional_lesson.class_accuracy` (100 digits per label) and
# `conditional_lesson.class_diversity` (50 per label) on the final checkpoint of that
# run, 3,000 steps at width 32 with seed 0. It was made before the mode seeking
# term below existed. The closest command today is
#
# ```bash
# python -m gan_lessons.conditional train --out runs/conditional_plain --mode-seeking-weight 0
# ```
#
# which also draws the labels of each generated batch in pairs; that command
# was not run for this lesson.
#
# This is intra-class mode collapse. Mao et al. ("Mode Seeking Generative
# Adversarial Networks for Diverse Image Synthesis", CVPR 2019) describe it as
# typical of conditional GANs: the label carries enough information to fool the
# discriminator, so the generator learns to ignore $z$. The discriminator sees
# a generated batch with all ten classes in it, so its batch statistics look
# normal, and a per-class template is easy to chase from one step to the next.
#
# Their remedy is a mode seeking term. Pair images that share a label,
# $x_a = G(z_a, y)$ and $x_b = G(z_b, y)$, and measure how far the images move
# per unit of latent change:
#
# $$r = \frac{\operatorname{mean} |x_a - x_b|}{\operatorname{mean} |z_a - z_b|},
# \qquad \mathcal{L}_\text{ms} = \frac{1}{r + 10^{-5}}.$$
#
# The generator minimises its adversarial loss plus $\lambda\,\mathcal{L}_\text{ms}$
# with $\lambda = 1$ (`conditional.MODE_SEEKING_WEIGHT`). The training step draws
# its labels so that the two ends of every generated batch repeat each other,
# which gives 32 pairs per step at no extra cost. The term cannot make the images
# unrealistic on its own, because the discriminator still judges every one of
# them; it only removes the cheap way out.

# %% [markdown]
# ## The shipped generator
#
# The package ships the generator of the run with the mode seeking term, the
# one loaded at the start. Each row below is one latent vector, the style, and
# each column one label.

# %%
rows = conditional_lesson.digit_rows(generator, 6, seed=0)
plotting.show_images(rows, columns=10, title="rows: latent vectors, columns: labels")

# %% [markdown]
# Within a column the digits differ, and along a row they share a style: the bold row stays bold for all ten digits and the slanted row stays slanted. The label chose the digit and $z$ the handwriting. In the first run each label gave one fixed image, and its label 8 always drew a digit that the classifier read as 3.
#
# ## The digit explorer
#
# Choose a digit with the buttons and move the sliders, which set the first
# four coordinates of $z$. The large image is $G(z, y)$ for the chosen digit and
# the row below keeps the same $z$ for all ten labels, with a frame around the
# chosen one. Typing a seed draws a new $z$. The coordinates were not chosen to mean anything, so one slider may change the slant for some digits and the width for others.
# Lesson 4 finds the directions that change an image most.

# %%
explorer = conditional_lesson.DigitExplorer(generator, num_sliders=4, seed=0, digit=7)
explorer.show()

# %% [markdown]
# ## Does each label produce its digit?
#
# The metrics of lesson 5, taken per class. First the bundled classifier reads
# generated digits, the same number for each requested label, and the
# confusion matrix counts them by requested label (rows) and predicted class
# (columns). Its diagonal is the accuracy by label. The classifier itself is
# not perfect, so the same figures for the 1,000 real test digits are the
# ceiling.

# %%
digit_classifier = classifier.default_classifier()
num_per_class = 20 if QUICK else 100
accuracy = conditional_lesson.class_accuracy(
    generator, num_per_class=num_per_class, seed=0, model=digit_classifier
)
real_accuracy = conditional_lesson.real_class_accuracy(model=digit_classifier)
print("generated:", accuracy.report())
print("real:     ", real_accuracy.report())
widgets.show_figure(
    conditional_lesson.plot_confusion_matrix(
        accuracy, title=f"{num_per_class} generated digits per label"
    )
)

# %% [markdown]
# With 100 digits per label the shipped generator reached an accuracy of 97.5%, and at least 94% for every label; the same classifier reads 98.0% of the real test digits right (full mode, seed 0). The errors sit in the places a person would expect: a few 3s read as 5, 4s as 9, 9s as 7. Quick mode uses 20 digits per label, so its percentages move in steps of 5.
#
# Accuracy alone would have passed the collapsed generator of the first run.
# Two more figures look inside each class. `class_diversity` is the mean pixel
# distance between two digits of the same class, near 0 when the generator
# ignores $z$. `class_frechet` is the Fréchet distance of lesson 5 between the
# classifier features of generated and held-out real digits of one class,
# beside the distance between training and held-out digits of that class, with
# the same number of digits in every set. With at most 100 digits per set and
# 128 features the covariances are singular, so these distances are larger than
# the 1,000-digit figures of lesson 5 and compare only with each other.

# %%
diversity = conditional_lesson.class_diversity(
    generator, num_per_class=20 if QUICK else 50, seed=0
)
frechet = conditional_lesson.class_frechet(
    generator, num_per_class=50 if QUICK else 100, seed=0, model=digit_classifier
)
table_rows = {
    "spread, generated": diversity.generated,
    "spread, real": diversity.real,
    "Fréchet, generated": frechet.generated,
    "Fréchet, real vs real": frechet.real,
}
print(f"{'class':22s}" + "".join(f"{digit:6d}" for digit in range(10)))
for name, values in table_rows.items():
    print(f"{name:22s}" + "".join(f"{value:6.1f}" for value in values))
widgets.show_figure(conditional_lesson.plot_class_frechet(frechet))


# %% [markdown]
# In full mode the generated digits of one label were between 12.9 and 19.8 pixels apart on average, close to the 13.0 to 19.7 of real digits of the same class, and the 1s are the least varied in both. The collapsed first run measured 2.0 to 3.1. The Fréchet distance per class was 1.3 to 2.1 times the real-against-real value, from 6.4 for the 1s (real: 4.8) to 23.6 for the 7s (real: 13.2): recognisable digits whose features are not yet distributed like real ones.
#
# ## Exercises
#
# Each check prints a hint when an answer is wrong and never gives the answer
# away. The solutions are folded below each exercise.
#
# **Exercise 1.** Write `condition_latent(z, labels, num_classes)` that returns
# the input of a one-hot conditioned generator: the rows of `z`, shape
# `(batch, latent_dim)`, followed by a one-hot code of each integer label,
# shape `(batch, num_classes)`. Work in NumPy.

# %%
def condition_latent(z, labels, num_classes):
    # Your answer: z followed by the one-hot codes, (batch, latent_dim + num_classes).
    return None


exercise_1_passed = conditional_lesson.check_condition_latent(condition_latent)


# %% [markdown]
# <details>
# <summary>Solution to exercise 1 (click to open)</summary>
#
# Row `y` of the identity matrix is the one-hot code of `y`:
#
# ```python
# def condition_latent(z, labels, num_classes):
#     return np.concatenate([z, np.eye(num_classes)[labels]], axis=1)
# ```
#
# Multiplying this input by the first dense layer's weights adds column block
# `y` of the weights to the feature map: the same thing the learned embedding
# does with fewer numbers per class.
# </details>

# %% [markdown]
# **Exercise 2.** Write the projection discriminator's logit,
# `projection_logit(unconditional, features, embedding, labels)`, from the
# unconditional logits $w^\top\phi(x) + b$ (shape `(batch,)`), the features
# $\phi(x)$ (shape `(batch, feature_dim)`), the class table $V$ (shape
# `(num_classes, feature_dim)`) and the integer labels (shape `(batch,)`).

# %%
def projection_logit(unconditional, features, embedding, labels):
    # Your answer: one logit per image, (batch,).
    return None


exercise_2_passed = conditional_lesson.check_projection_logit(projection_logit)

# %% [markdown]
# <details>
# <summary>Solution to exercise 2 (click to open)</summary>
#
# Pick each image's row of the table, multiply it with the image's features
# and sum over the features:
#
# ```python
# def projection_logit(unconditional, features, embedding, labels):
#     return unconditional + np.sum(embedding[labels] * features, axis=1)
# ```
#
# `features @ embedding.T` gives the inner product with every class,
# `(batch, num_classes)`; the logit needs only the column of each image's label.
# </details>

# %% [markdown]
# **Exercise 3.** A generator ignores its label: whatever $y$ it is given, it
# draws a perfect digit of a class chosen uniformly at random. The classifier
# reads every digit right. What accuracy by requested label does
# `class_accuracy` report, as a share between 0 and 1? Put a number in
# `label_blind_accuracy`.

# %%
label_blind_accuracy = None  # your answer: a number

exercise_3_passed = conditional_lesson.check_label_blind_accuracy(label_blind_accuracy)

# %% [markdown]
# <details>
# <summary>Solution to exercise 3 (click to open)</summary>
#
# Each digit matches its requested label with probability 1/10:
#
# ```python
# label_blind_accuracy = 0.1
# ```
#
# So the accuracy by label measures whether the label is obeyed, not whether
# the digits look good, and the confusion matrix of such a generator has the
# same row ten times. Its opposite, the collapsed generator of the first run,
# obeys the label perfectly and draws one digit per label: only a measure of the
# spread within each class catches it.
# </details>
#
# ## Summary
#
# * A conditional GAN gives both players the label. The generator reads
#   $[z; e(y)]$, and the projection discriminator adds $V_y^\top \phi(x)$ to
#   the unconditional logit, so a good digit of the wrong class is fake.
# * Training resumes from its checkpoints and, on a CPU, reaches bit-identical
#   weights, because every batch and every latent draw depends only on the seed
#   and the step.
# * Without help the generator ignored $z$ and drew one digit per label with
#   high accuracy. The mode seeking term of Mao et al. (2019) made the digits of
#   one label differ again.
# * Per-class figures need a baseline: the classifier's accuracy on real digits,
#   the spread of real digits within a class, and the Fréchet distance between
#   two real sets of the same size.
#
# **Limitations**
#
# * Everything was measured on one training run of 3,000 steps on the 9,000
#   bundled training digits with seed 0; another seed gives other numbers.
# * The judge is the small bundled classifier. Its own errors on real digits
#   bound the accuracy it can report, and a generator could learn to please it
#   more than a person.
# * The mode seeking weight $\lambda = 1$ was the first value tried, not a tuned
#   one; too large a weight can trade realism for variety.
# * The per-class Fréchet distances use at most 100 digits per set in 128
#   feature dimensions, so they carry a large bias that only the real-against-real
#   value of the same size puts in context.
# * The sliders set raw latent coordinates, which mix style changes in ways
#   that differ from digit to digit.
