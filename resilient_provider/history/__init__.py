"""Price history: OHLCV bars through the same cascade as info (issue 18).

:mod:`.bars` defines the one canonical frame every history provider answers with; the rest of
the package (the request, the data contract for bars, the range-aware cache, the cascade) is
built on it.
"""

from .bars import BAR_COLUMNS, BAR_DTYPES, INTERVALS, empty_bars

__all__ = ["BAR_COLUMNS", "BAR_DTYPES", "INTERVALS", "empty_bars"]
