"""Value types of the settings: durations with units, and frozen hashable models."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ..errors import ConfigError
from ..redaction import safe_repr
from . import messages

_SECONDS_PER_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(
    r"^\s*(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>ms|s|m|h|d)?\s*$"
)
_DURATION_FORMS = ("a duration: seconds as a number (30, 0.5) or a number with a unit "
                   "ms, s, m, h or d ('250ms', '30s', '5m', '1.5h', '7d')")


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds: a number of seconds, or a string like ``"250ms"`` or ``"48h"``.

    Raises :class:`ConfigError` for anything else (booleans, non-finite numbers, unknown units).
    """
    seconds: float | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        elif isinstance(value, str) and (match := _DURATION.match(value)):
            number, unit = float(match["number"]), match["unit"] or "s"
            # Dividing for ms keeps "250ms" exactly 0.25 (multiplying by 0.001 would not).
            seconds = number / 1000 if unit == "ms" else number * _SECONDS_PER_UNIT[unit]
    except OverflowError:  # an int too large for a float
        seconds = None
    if seconds is None or not math.isfinite(seconds):
        raise ConfigError(f"must be {_DURATION_FORMS}, got {safe_repr(value)}")
    return seconds


def format_duration(seconds: float) -> str:
    """``42.0s``, ``3.5m``, ``2.0h``, ``8.0d``: short human durations for messages (the inverse of
    :func:`parse_duration`, to one decimal)."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def usable_path(path: Path | None) -> Path | None:
    """``path`` with ``~`` expanded; ValueError (reported as a bad setting) for a path no system
    call accepts (a NUL byte) or a ``~user`` that does not exist."""
    if path is None:
        return None
    if "\x00" in str(path):
        raise ValueError(f"must be a filesystem path without NUL bytes, got {safe_repr(str(path))}")
    try:
        return path.expanduser()
    except RuntimeError as exc:  # pathlib: "Could not determine home directory."
        raise ValueError(f"cannot expand ~ in {safe_repr(str(path))}: {exc}") from None


Duration = Annotated[float, BeforeValidator(parse_duration), messages.Unit("seconds")]
"""Seconds as a float; accepts numbers and strings with a unit (see :func:`parse_duration`)."""


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for ``value`` (dicts and lists inside frozen models are not)."""
    if isinstance(value, Mapping):
        return frozenset((key, freeze(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value  # type: ignore[no-any-return]


class FrozenModel(BaseModel):
    """Frozen, strict-keyed base whose instances are hashable even with dict or list fields."""

    # No __init__ turning errors into ConfigError here: pydantic would call it for every nested
    # model too. Built alone in code, a sub-model raises pydantic's ValidationError.

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __hash__(self) -> int:
        return hash((type(self), freeze(self.model_dump())))


