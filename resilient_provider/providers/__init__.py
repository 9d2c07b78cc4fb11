"""Data sources, one adapter per source, all behind the :class:`Provider` protocol."""

from .canonical import CORE_FIELDS
from .protocol import InfoOrError, Provider

__all__ = ["CORE_FIELDS", "InfoOrError", "Provider"]
