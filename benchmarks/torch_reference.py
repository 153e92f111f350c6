"""PyTorch eager version of the package's DCGAN, for speed comparisons only.

The networks have the same layers, shapes and parameter counts as
``gan_lessons.models`` for a given ``ModelConfig``, and the step does the same
work as ``GAN.train_step``: one generator forward pass, a discriminator update
on a real and a generated batch, then a generator update through the updated
discriminator. Torch is not a dependency of the package: install it with
``pip install torch==2.13.0`` to run this.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from gan_lessons.config import ModelConfig, TrainConfig


def _upsample(cin: int, cout: int, kernel: int, bias: bool) -> nn.ConvTranspose2d:
    # Doubles height and width for kernel 4 (padding 1) or 5 (padding 2 plus
    # one extra output row and column).
    padding = (kernel - 1) // 2
    output_padding = 1 if kernel % 2 else 0
    return nn.ConvTranspose2d(
        cin,
        cout,
        kernel,
        stride=2,
        padding=padding,
        output_padding=output_padding,
        bias=bias,
    )


def build_generator(config: ModelConfig) -> nn.Module:
    """Returns the generator as a ``torch.nn.Sequential`` (NCHW)."""
    features = list(config.generator_features)
    outputs = features[1:]
    last_is_image = config.output_kernel is None
    if last_is_image:
        outputs.append(config.channels)
    layers: list[nn.Module] = [
        nn.Linear(config.latent_dim, 16 * features[0], bias=False),
        nn.Unflatten(1, (features[0], 4, 4)),
        nn.BatchNorm2d(features[0], momentum=0.1),
        nn.ReLU(),
    ]
    for i, (cin, cout) in enumerate(
        zip(features[: len(outputs)], outputs, strict=True)
    ):
        is_image = last_is_image and i == len(outputs) - 1
        # Only the layer that outputs the image has a bias; batch norm
        # follows every other one.
        layers.append(_upsample(cin, cout, config.generator_kernel, bias=is_image))
        if not is_image:
            layers += [nn.BatchNorm2d(cout, momentum=0.1), nn.ReLU()]
    if not last_is_image:
        # A stride-1 convolution with 'same' padding costs the same as the
        # stride-1 transposed convolution of the seed preset.
        layers.append(
            nn.Conv2d(
                features[-1],
                config.channels,
                config.output_kernel,
                padding="same",
                bias=False,
            )
        )
    layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def build_discriminator(config: ModelConfig) -> nn.Module:
    """Returns the discriminator as a ``torch.nn.Sequential`` (NCHW)."""
    layers: list[nn.Module] = []
    cin = config.channels
    kernel = config.discriminator_kernel
    for i, cout in enumerate(config.discriminator_features):
        layers.append(
            nn.Conv2d(
                cin, cout, kernel, stride=2, padding=(kernel - 1) // 2, bias=i == 0
            )
        )
        if i > 0:
            layers.append(nn.BatchNorm2d(cout, momentum=0.1))
        layers.append(nn.LeakyReLU(config.leaky_relu_slope))
        cin = cout
    layers += [nn.Flatten(), nn.Linear(16 * cin, 1)]
    return nn.Sequential(*layers)


def make_torch_step(
    model_config: ModelConfig, train_config: TrainConfig
) -> Callable[[], None]:
    """Returns a function that runs one PyTorch eager training step."""
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    generator = build_generator(model_config)
    discriminator = build_discriminator(model_config)
    g_opt = torch.optim.Adam(
        generator.parameters(),
        lr=train_config.generator_learning_rate,
        betas=(train_config.beta1, train_config.beta2),
    )
    d_opt = torch.optim.Adam(
        discriminator.parameters(),
        lr=train_config.discriminator_learning_rate,
        betas=(train_config.beta1, train_config.beta2),
    )
    bce = nn.BCEWithLogitsLoss()
    batch_size = train_config.batch_size
    size, channels = model_config.image_size, model_config.channels
    rng = np.random.default_rng(0)
    real = torch.from_numpy(
        rng.uniform(-1, 1, (batch_size, channels, size, size)).astype(np.float32)
    )
    ones = torch.ones(batch_size)
    zeros = torch.zeros(batch_size)

    def step() -> None:
        z = torch.randn(batch_size, model_config.latent_dim)
        fake = generator(z)
        d_opt.zero_grad()
        d_loss = bce(discriminator(real)[:, 0], ones) + bce(
            discriminator(fake.detach())[:, 0], zeros
        )
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = bce(discriminator(fake)[:, 0], ones)
        g_loss.backward()
        g_opt.step()

    for _ in range(3):  # warm-up
        step()
    return step


def count_params(module: nn.Module) -> int:
    """Returns the number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
