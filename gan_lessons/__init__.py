"""Package behind the gan_lessons notebooks: data, models, losses and training."""

__version__ = "0.1.0"
