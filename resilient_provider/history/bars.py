"""The canonical bar frame: what every history provider answers with, whichever library served.

A bar frame is a pandas DataFrame

* indexed by the bar's start time, a tz-aware ``DatetimeIndex`` named ``"timestamp"`` in the
  exchange's time zone (Yahoo's ``meta.exchangeTimezoneName``, e.g. ``America/New_York``;
  ``UTC`` for crypto on Yahoo's ``CCC`` exchange as Yahoo reports it), sorted, unique;
* with exactly the columns :data:`BAR_COLUMNS`, in that order:

  - ``open``, ``high``, ``low``, ``close`` (float64): as Yahoo's chart gives them, that is
    adjusted for splits, not for dividends;
  - ``adj_close`` (float64): Yahoo's ``adjclose`` (splits and dividends);
  - ``volume`` (Int64, nullable): as Yahoo gives it (split-adjusted);
  - ``dividends`` (float64): the cash dividend per share going ex on that bar, 0.0 if none;
  - ``splits`` (float64): the split ratio taking effect on that bar (4.0 for 4:1, 0.5 for a
    1:2 reverse split), 0.0 if none.

These are the units of the cache too, so any ``adjust`` (``splits_dividends``, ``splits``,
``none``) is derived from the same stored bars. pandas is imported inside the functions that
need it: it takes a second to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from typing import TypeAlias

    import pandas as pd

    from ..errors import ResilientProviderError

    #: What a history provider answers for one symbol: a bar frame, or a classified error
    #: (for type checking only: import it under ``TYPE_CHECKING``).
    BarsOrError: TypeAlias = pd.DataFrame | ResilientProviderError

#: The columns of a bar frame, in order.
BAR_COLUMNS: tuple[str, ...] = (
    "open", "high", "low", "close", "adj_close", "volume", "dividends", "splits")

#: The bar intervals Yahoo's chart accepts.
INTERVALS: tuple[str, ...] = (
    "1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")

#: The resolution of the index: one for every bar frame, wherever it came from (a fetch, the
#: cache's JSON, a third-party provider), so frames compare and concatenate as they are.
INDEX_UNIT: Final = "ns"

#: The pandas dtype of each column.
BAR_DTYPES: dict[str, str] = {column: "float64" for column in BAR_COLUMNS} | {"volume": "Int64"}


def empty_bars(tz: str = "UTC") -> pd.DataFrame:
    """A bar frame with no rows, in time zone ``tz``."""
    import pandas as pd  # imported here: pandas takes a second to import

    index = pd.DatetimeIndex([], tz=tz, name="timestamp").as_unit(INDEX_UNIT)
    return pd.DataFrame({c: pd.Series([], dtype=BAR_DTYPES[c], index=index) for c in BAR_COLUMNS},
                        index=index)


def with_index_unit(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its index at :data:`INDEX_UNIT` (itself when it already is)."""
    import pandas as pd  # imported here: pandas takes a second to import

    index = frame.index
    if getattr(index, "unit", INDEX_UNIT) == INDEX_UNIT:
        return frame
    out = frame.copy(deep=False)
    out.index = pd.DatetimeIndex(index).as_unit(INDEX_UNIT)
    return out
