"""Price history: OHLCV bars through the same cascade as info (issue 18).

:mod:`.bars` defines the one canonical frame every history provider answers with; on it are
built the request (:mod:`.request`), adjustment (:mod:`.adjust`), the data contract for bars
(:mod:`.contract`), the range-aware cache (:mod:`.coverage`, :mod:`.store`), the cascade
(:mod:`.cascade`) and the tagged answer (:mod:`.result`). The façade's methods are in
:mod:`resilient_provider.facade_history`.
"""

from .bars import BAR_COLUMNS, BAR_DTYPES, INTERVALS, empty_bars
from .request import ADJUSTMENTS, PERIODS, HistoryRequest, InvalidHistoryRequestError
from .result import HistoryResult

__all__ = ["ADJUSTMENTS", "BAR_COLUMNS", "BAR_DTYPES", "INTERVALS", "PERIODS", "HistoryRequest",
           "HistoryResult", "InvalidHistoryRequestError", "empty_bars"]
