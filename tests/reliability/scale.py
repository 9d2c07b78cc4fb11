"""Scale of the reliability tests: a short version in CI, a long one on demand.

``RP_RELIABILITY_LONG=1 .venv/bin/python -m pytest tests/reliability -s`` runs every reliability
test at full scale; ``RP_RELIABILITY_DURATION_S`` sets how long the time-boxed ones run (default
60 s). Each test reports its figures (requests, faults, kills, examples, seconds) through
:func:`report`, which prints one ``FIGURES`` line per test: the lines recorded in
tests/reliability/README.md come from a long run.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

LONG = os.environ.get("RP_RELIABILITY_LONG", "") == "1"
DURATION_S = float(os.environ.get("RP_RELIABILITY_DURATION_S", "60"))


def scale(short: T, long: T) -> T:
    """``long`` in a long run, ``short`` otherwise (CI)."""
    return long if LONG else short


def duration_s(short: float) -> float:
    """How long a time-boxed test runs: ``short`` in CI, ``RP_RELIABILITY_DURATION_S`` long."""
    return DURATION_S if LONG else short


def report(test: str, **figures: object) -> None:
    """Print the figures of one reliability test as one line (seen with ``pytest -s``)."""
    shown = ", ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nFIGURES {test} ({'long' if LONG else 'short'}): {shown}")
