#!/usr/bin/env bash
# Time dcgan training on one GPU: JAX in float32 and bfloat16 at batch 128,
# 512 and 2048, and PyTorch eager on the same architecture when torch with
# CUDA is importable. It prints the environment first and a table of images/s
# last. The estimate of under 5 minutes on one GPU is untested, because the
# script has only run on a CPU so far.
#
# Usage, from any folder:
#   bash benchmarks/gpu_check.sh           # on a machine with an NVIDIA GPU
#   bash benchmarks/gpu_check.sh --cpu     # dry run on the CPU, 1-2 minutes
# Other options pass through to benchmarks/gpu_check.py (see its --help).
#
# Setup on a GPU machine, from the repository root:
#   pip install -e .
#   pip install -U "jax[cuda13]==0.10.2"   # jax[cuda12]==0.10.2 for CUDA 12
#   pip install torch                      # optional, for the PyTorch columns
# jax 0.10.2's package metadata lists the extras cuda12 and cuda13, which
# install jax-cuda12-plugin[with-cuda] or jax-cuda13-plugin[with-cuda], and
# the JAX installation guide gives jax[cuda13] for NVIDIA GPUs. Pinning 0.10.2
# keeps jax equal to the version that the package was tested with. PyTorch's
# default Linux wheels on PyPI are CUDA builds.
#
# This wrapper sets up nothing: it runs gpu_check.py with the python of the
# active environment.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python benchmarks/gpu_check.py "$@"
