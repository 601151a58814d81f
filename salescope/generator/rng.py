"""Random streams: one numpy Generator per named component, derived from the seed.

Each component draws from its own stream, so changing how one entity is simulated does not shift the
random numbers of every other entity (and the same seed always gives the same data).
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """A Generator for component ``name`` under ``seed`` (stable across runs and platforms)."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def lognormal(rng: np.random.Generator, median, sigma, size=None) -> np.ndarray:
    """Lognormal draws given the median (not the mean) and the log-scale sigma."""
    return np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(size))


def choice_index(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Indices 0..len(weights)-1 drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def pick_in_groups(
    rng: np.random.Generator, starts: np.ndarray, counts: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """For each element of ``group``, a uniformly chosen index in [starts[g], starts[g] + counts[g]).

    Groups with count 0 give -1.
    """
    c = counts[group]
    out = starts[group] + np.floor(rng.random(group.shape[0]) * np.maximum(c, 1)).astype(np.int64)
    return np.where(c > 0, out, -1)
