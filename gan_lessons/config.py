"""Model and training configurations, and the named presets.

Two presets are defined:

* ``seed`` reproduces the TensorFlow DCGAN of the classic bouncer-and-imitator
  tutorial, layer for layer, so that lessons can compare against it.
* ``dcgan`` follows the architecture guidelines of Radford, Metz and Chintala,
  "Unsupervised Representation Learning with Deep Convolutional Generative
  Adversarial Networks" (ICLR 2016): strided convolutions instead of pooling,
  batch norm in both networks except the generator's output and the
  discriminator's input, ReLU in the generator with a tanh output, leaky ReLU
  0.2 in the discriminator, no hidden dense layers, weights from N(0, 0.02) and
  Adam with learning rate 2e-4 and beta1 0.5. It uses 4x4 kernels for every
  stride-2 layer, so each output pixel of a transposed convolution receives the
  same number of kernel taps (a 5x5 kernel with stride 2 overlaps unevenly and
  leaves a checkerboard pattern), and it drops the seed preset's 32x32-kernel
  output layer, which alone holds more weights than the rest of the generator's
  upsampling path at its width. It is the default because it reaches
  recognisable digits in fewer steps on a CPU.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

PRESETS = ("dcgan", "seed")
LATENT_DISTRIBUTIONS = ("normal", "uniform")
GENERATOR_LOSSES = ("non_saturating", "minimax")
IMAGE_SIZES = (32, 64)
# Choices of the generator's upsampling layers: a stride-2 transposed
# convolution, or nearest-neighbour upsampling then a stride-1 convolution.
UPSAMPLINGS = ("transposed", "resize")
CHANNELS = (1, 3)
COMPUTE_DTYPES = ("float32", "bfloat16")
DISCRIMINATOR_NORMS = ("batch", "layer", "none")
OBJECTIVES = ("cross_entropy", "hinge", "wasserstein_gp")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of a generator and discriminator pair.

    Attributes:
        preset: Name of the preset the configuration was built from.
        image_size: Height and width of the images, 32 or 64.
        channels: Image channels, 1 (grey) or 3 (colour).
        latent_dim: Length of the latent vector ``z``.
        latent_distribution: ``"normal"`` for N(0, 1) or ``"uniform"`` for
            U(-1, 1) latent entries.
        generator_features: Channels of the 4x4 map that the dense layer
            projects to, then of each hidden upsampling layer's output. The
            image layer's ``channels`` are not listed. Without an output
            kernel there are ``log2(image_size / 4)`` entries, the last
            stride-2 layer producing the image; with one there is one more.
        generator_kernel: Kernel size of the stride-2 transposed convolutions,
            or of the stride-1 convolutions with ``upsampling="resize"``.
        upsampling: ``"transposed"`` for stride-2 transposed convolutions,
            or ``"resize"`` for nearest-neighbour upsampling by 2 followed by
            a stride-1 convolution with the same kernel shape, which has the
            same parameters and no uneven overlap (the resize-convolution of
            Odena, Dumoulin and Olah, "Deconvolution and Checkerboard
            Artifacts", Distill, 2016). It costs about 4 times the
            multiplications of those layers, because every output pixel
            reads the whole kernel.
        output_kernel: Kernel size of a final stride-1 transposed convolution
            to ``channels``, or ``None`` when the last upsampling layer outputs
            ``channels`` itself.
        discriminator_features: Output channels of each stride-2 convolution;
            there are ``log2(image_size / 4)`` of them, ending at 4x4.
        discriminator_kernel: Kernel size of the stride-2 convolutions.
        discriminator_norm: Normalisation after each of the discriminator's
            convolutions but the first: ``"batch"``, ``"layer"`` (over height,
            width and channels of each image) or ``"none"``. The gradient
            penalty needs ``"layer"`` or ``"none"``, because batch norm makes
            each image's score depend on the rest of its batch.
        spectral_norm: Divide each weight matrix of the discriminator by an
            estimate of its largest singular value, kept up to date by one
            step of power iteration per training call (Miyato et al., 2018).
        leaky_relu_slope: Negative slope of the discriminator's leaky ReLU.
        init_stddev: Standard deviation of the normal weight initialiser.
        compute_dtype: ``"float32"``, or ``"bfloat16"`` for mixed precision:
            activations, matrix products and convolutions run in bfloat16,
            while parameters, optimiser state, batch-norm statistics, logits,
            losses and generated images stay float32. bfloat16 speeds up
            training on GPUs and TPUs but is usually slower on CPUs.
    """

    preset: str = "dcgan"
    image_size: int = 32
    channels: int = 1
    latent_dim: int = 100
    latent_distribution: str = "normal"
    generator_features: tuple[int, ...] = (128, 64, 32)
    generator_kernel: int = 4
    upsampling: str = "transposed"
    output_kernel: int | None = None
    discriminator_features: tuple[int, ...] = (32, 64, 128)
    discriminator_kernel: int = 4
    discriminator_norm: str = "batch"
    spectral_norm: bool = False
    leaky_relu_slope: float = 0.2
    init_stddev: float = 0.02
    compute_dtype: str = "float32"

    def __post_init__(self) -> None:
        _check_choice("preset", self.preset, PRESETS)
        _check_choice("image_size", self.image_size, IMAGE_SIZES)
        _check_choice("channels", self.channels, CHANNELS)
        _check_choice(
            "latent_distribution", self.latent_distribution, LATENT_DISTRIBUTIONS
        )
        _check_choice("upsampling", self.upsampling, UPSAMPLINGS)
        _check_choice("compute_dtype", self.compute_dtype, COMPUTE_DTYPES)
        _check_choice(
            "discriminator_norm", self.discriminator_norm, DISCRIMINATOR_NORMS
        )
        if not isinstance(self.spectral_norm, bool):
            raise ValueError(
                f"spectral_norm={self.spectral_norm!r} must be True or False."
            )
        _check_positive_int("latent_dim", self.latent_dim)
        _check_positive("init_stddev", self.init_stddev)
        if not (
            isinstance(self.leaky_relu_slope, (int, float))
            and 0.0 <= self.leaky_relu_slope < 1.0
        ):
            raise ValueError(
                f"leaky_relu_slope={self.leaky_relu_slope!r} must be in [0, 1); "
                "DCGAN uses 0.2."
            )
        n = self.num_upsamplings
        expected = n + 1 if self.output_kernel is not None else n
        if len(self.generator_features) != expected:
            raise ValueError(
                f"generator_features={self.generator_features} has "
                f"{len(self.generator_features)} entries, but image_size="
                f"{self.image_size} with output_kernel={self.output_kernel} "
                f"needs {expected}: the 4x4 map, then each hidden upsampling "
                "layer's output channels."
            )
        if self.output_kernel is not None:
            _check_positive_int("output_kernel", self.output_kernel)
        _check_positive_int("generator_kernel", self.generator_kernel)
        _check_positive_int("discriminator_kernel", self.discriminator_kernel)
        if len(self.discriminator_features) != n:
            raise ValueError(
                f"discriminator_features={self.discriminator_features} has "
                f"{len(self.discriminator_features)} entries; image_size="
                f"{self.image_size} needs {n}, one per stride-2 convolution."
            )
        for name in ("generator_features", "discriminator_features"):
            for value in getattr(self, name):
                _check_positive_int(name, value)

    @property
    def num_upsamplings(self) -> int:
        """Number of stride-2 layers between 4x4 and the image size."""
        return int(math.log2(self.image_size // 4))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of one image, ``(height, width, channels)``."""
        return (self.image_size, self.image_size, self.channels)

    def to_dict(self) -> dict[str, Any]:
        """Returns the configuration as JSON-compatible values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Builds a configuration from the output of ``to_dict``.

        Fields missing from ``values`` take their defaults, so records saved
        before ``compute_dtype`` existed load as float32.
        """
        values = dict(values)
        for name in ("generator_features", "discriminator_features"):
            values[name] = tuple(values[name])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        steps: Total number of training steps (discriminator updates).
        batch_size: Real images per step; the generated batch has the same size.
        seed: Seed of all randomness: initial weights, latent vectors, shuffling.
        generator_learning_rate: Adam learning rate of the generator.
        discriminator_learning_rate: Adam learning rate of the discriminator.
        beta1: Adam's first-moment decay for both optimisers.
        beta2: Adam's second-moment decay for both optimisers.
        generator_steps: Generator updates per discriminator update.
        generator_loss: ``"non_saturating"`` (maximise log D(G(z))) or
            ``"minimax"`` (minimise log(1 - D(G(z))), the saturating form).
        label_smoothing: Amount by which the real label 1 is lowered in the
            discriminator loss; 0 disables it.
        objective: ``"cross_entropy"`` (the original GAN, with
            ``generator_loss`` choosing the generator's form), ``"hinge"`` or
            ``"wasserstein_gp"``; see ``gan_lessons.losses``.
        gradient_penalty_weight: Weight lambda of the gradient penalty of
            ``"wasserstein_gp"``; Gulrajani et al. (2017) use 10.
        discriminator_steps: Discriminator updates per generator update. With
            more than 1, the generator is updated after every
            ``discriminator_steps``-th step only; Gulrajani et al. use 5.
    """

    steps: int = 3000
    batch_size: int = 64
    seed: int = 0
    generator_learning_rate: float = 2e-4
    discriminator_learning_rate: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    generator_steps: int = 1
    generator_loss: str = "non_saturating"
    label_smoothing: float = 0.0
    objective: str = "cross_entropy"
    gradient_penalty_weight: float = 10.0
    discriminator_steps: int = 1

    def __post_init__(self) -> None:
        _check_positive_int("steps", self.steps)
        _check_positive_int("batch_size", self.batch_size)
        _check_positive_int("generator_steps", self.generator_steps)
        _check_positive("generator_learning_rate", self.generator_learning_rate)
        _check_positive("discriminator_learning_rate", self.discriminator_learning_rate)
        _check_choice("generator_loss", self.generator_loss, GENERATOR_LOSSES)
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name}={value!r} must be in [0, 1).")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing={self.label_smoothing!r} must be in [0, 1); "
                "0.1 is a common choice."
            )
        _check_choice("objective", self.objective, OBJECTIVES)
        _check_positive("gradient_penalty_weight", self.gradient_penalty_weight)
        _check_positive_int("discriminator_steps", self.discriminator_steps)
        self._check_objective_options()
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed={self.seed!r} must be an integer.")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed={self.seed!r} must be in [0, 2**32).")

    def _check_objective_options(self) -> None:
        if self.objective != "cross_entropy":
            if self.generator_loss != "non_saturating":
                raise ValueError(
                    f"generator_loss={self.generator_loss!r} applies to the "
                    f"cross_entropy objective only; objective={self.objective!r} "
                    "uses -E[D(G(z))]. Keep generator_loss='non_saturating'."
                )
            if self.label_smoothing != 0.0:
                raise ValueError(
                    f"label_smoothing={self.label_smoothing!r} applies to the "
                    f"cross_entropy objective only; set it to 0 for "
                    f"objective={self.objective!r}."
                )
        if self.discriminator_steps > 1 and self.generator_steps > 1:
            raise ValueError(
                f"discriminator_steps={self.discriminator_steps} and "
                f"generator_steps={self.generator_steps} are both above 1; "
                "set one of them to 1."
            )

    def to_dict(self) -> dict[str, Any]:
        """Returns the configuration as JSON-compatible values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Builds a configuration from the output of ``to_dict``.

        Fields missing from ``values`` take their defaults, so records saved
        before ``objective`` existed load as the cross-entropy objective.
        """
        return cls(**values)


def model_preset(
    name: str = "dcgan",
    *,
    image_size: int = 32,
    channels: int = 1,
    latent_dim: int | None = None,
    width: int | None = None,
) -> ModelConfig:
    """Builds the architecture of a named preset.

    Args:
        name: ``"dcgan"`` or ``"seed"``; see the module docstring.
        image_size: 32 or 64.
        channels: 1 or 3.
        latent_dim: Latent length; ``None`` keeps the preset's 100.
        width: Channels of the generator's last hidden layer. Every layer
            further from the image doubles it, and the discriminator mirrors
            the generator. ``None`` keeps the preset's width: 32 for ``dcgan``,
            which reaches recognisable digits in about 3,000 steps and 4
            minutes on 2 CPU cores, and 16 for ``seed``. The DCGAN paper's
            generator is wider (``width=128`` at 64x64); ``width=64`` suits a
            GPU.

    Returns:
        The model configuration.
    """
    _check_choice("preset", name, PRESETS)
    _check_choice("image_size", image_size, IMAGE_SIZES)
    if width is not None:
        _check_positive_int("width", width)
    n = int(math.log2(image_size // 4))
    if name == "dcgan":
        w = 32 if width is None else width
        # Generator 4x4x(w*2^(n-1)) -> ... -> (image_size/2)^2 x w -> image.
        hidden = tuple(w * 2 ** (n - 1 - i) for i in range(n))
        return ModelConfig(
            preset="dcgan",
            image_size=image_size,
            channels=channels,
            latent_dim=100 if latent_dim is None else latent_dim,
            latent_distribution="normal",
            generator_features=hidden,
            generator_kernel=4,
            output_kernel=None,
            discriminator_features=tuple(reversed(hidden)),
            discriminator_kernel=4,
        )
    # The classic tutorial at 32x32: dense to 4x4x256, then 8x8x64, 16x16x32,
    # 32x32x16, then a stride-1 transposed convolution with a 32x32 kernel.
    # Its discriminator has 16, 32 and 64 channels. For 64x64 one more layer
    # is added at each end; ``width`` scales all hidden layers together.
    w = 16 if width is None else width
    upsampling = tuple(w * 2 ** (n - 1 - i) for i in range(n))
    return ModelConfig(
        preset="seed",
        image_size=image_size,
        channels=channels,
        latent_dim=100 if latent_dim is None else latent_dim,
        latent_distribution="uniform",
        generator_features=(w * 16,) + upsampling,
        generator_kernel=5,
        output_kernel=image_size,
        discriminator_features=tuple(reversed(upsampling)),
        discriminator_kernel=4,
    )


def train_preset(name: str = "dcgan", **overrides: Any) -> TrainConfig:
    """Builds the optimisation settings of a named preset.

    The ``seed`` preset trains at batch 128 with two generator updates per
    discriminator update, as the classic tutorial's code does. ``dcgan`` uses
    batch 64 and one update each.

    Args:
        name: ``"dcgan"`` or ``"seed"``.
        **overrides: Fields of ``TrainConfig`` to replace.

    Returns:
        The training configuration.
    """
    _check_choice("preset", name, PRESETS)
    if name == "seed":
        base = TrainConfig(batch_size=128, generator_steps=2)
    else:
        base = TrainConfig()
    fields = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(
            f"Unknown TrainConfig fields {unknown}; expected some of {sorted(fields)}."
        )
    return dataclasses.replace(base, **overrides)


def _check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Unknown {name}={value!r}; expected one of {options}.")


def _check_positive(name: str, value: Any) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive, finite number.")


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a positive integer.")
