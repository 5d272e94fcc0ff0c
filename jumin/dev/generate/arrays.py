"""Vectorised helpers over numpy arrays: exact-count sampling, runs of sorted keys,
check digits.

Runs ("segments") are maximal stretches of equal keys in a sorted array, e.g. all events of
one person; the helpers compute per-run ranks and running maxima without Python loops.
"""

from __future__ import annotations

import numpy as np


def pick(
    rng: np.random.Generator, candidates: np.ndarray, rate: float, minimum: int = 1, base: int | None = None
) -> np.ndarray:
    """Exactly ``max(minimum, round(rate * base))`` of ``candidates`` (all when fewer), sorted.

    Rare traits use exact counts so that even a 300-person sample shows each of them.
    """
    k = max(minimum, round(rate * (len(candidates) if base is None else base)))
    k = min(k, len(candidates))
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day uniformly in [lo, hi] (inclusive) for every pair."""
    days: np.ndarray = lo + (rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)  # arithmetic on dtype[Any] is Any
    return days


def unique_numbers(rng: np.random.Generator, n: int, upper: int) -> np.ndarray:
    """``n`` distinct random integers in [0, upper), in draw order."""
    draws = rng.integers(0, upper, n + n // 100 + 16)
    _, first = np.unique(draws, return_index=True)
    keep = draws[np.sort(first)]
    if len(keep) < n:
        raise ValueError(f"cannot draw {n} distinct numbers below {upper}")
    return keep[:n]


def with_check_digit(numbers: np.ndarray, width: int, weights: tuple[int, ...]) -> np.ndarray:
    """``numbers`` (``width`` digits, leading zeros allowed) with a modulus-11 check digit
    appended: r = weighted sum mod 11, check = 0 if r <= 1 else 11 - r (個人番号 scheme, also
    the public 住民票コード scheme; see jumin.core.checkdigits)."""
    total = np.zeros(len(numbers), dtype=np.int64)
    for pos, w in enumerate(weights):
        total += (numbers // 10 ** (width - 1 - pos)) % 10 * w
    r = total % 11
    return numbers * 10 + np.where(r <= 1, 0, 11 - r)


def segment_starts(keys: np.ndarray) -> np.ndarray:
    """True where a run of equal (sorted) keys begins."""
    flag = np.ones(len(keys), dtype=bool)
    flag[1:] = keys[1:] != keys[:-1]
    return flag


def rank_in_segment(starts: np.ndarray) -> np.ndarray:
    """1-based position of every element inside its run (runs begin where ``starts``)."""
    idx = np.arange(len(starts))
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    return idx - first + 1


def cummax_in_segment(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting at every run start.

    Each run is lifted above all earlier ones (run number × span) so one global
    ``maximum.accumulate`` cannot leak across runs.
    """
    if not len(values):
        return values
    lo = values.min()
    span = values.max() - lo + 1
    lift = np.cumsum(starts) * span
    running: np.ndarray = np.maximum.accumulate(values - lo + lift) - lift + lo  # Any, as above
    return running


def forward_fill_index(is_set: np.ndarray) -> np.ndarray:
    """For every element, the index of the latest element at or before it with ``is_set``."""
    return np.maximum.accumulate(np.where(is_set, np.arange(len(is_set)), -1))
