"""The Provider protocol every data source implements (no base class required)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ResilientProviderError

if TYPE_CHECKING:
    from ..history.bars import BarsOrError

#: What a provider answers for one symbol: the canonical info dict, or a classified error.
InfoOrError = dict[str, Any] | ResilientProviderError


@runtime_checkable
class Provider(Protocol):
    """A source of ticker info.

    ``fetch_info`` gets validated, upper-case symbols and answers per symbol with the canonical
    info dict or an error instance from :mod:`resilient_provider.errors`. A symbol left out of the
    answer counts as a :class:`~resilient_provider.errors.DataContractError`. An exception raised
    by ``fetch_info`` counts as that error for every symbol of the call; one that is not a
    :class:`~resilient_provider.errors.ResilientProviderError` counts as
    :class:`~resilient_provider.errors.ProviderUnavailableError`. Timeouts, retries and the
    circuit breaker are applied around it by the strategy; a provider should only map its
    library's failures onto the taxonomy.
    """

    name: str

    def fetch_info(self, symbols: Sequence[str]) -> Mapping[str, InfoOrError]:
        """Fetch info for one or many symbols."""
        ...

    def close(self) -> None:
        """Release sessions and threads."""
        ...


@runtime_checkable
class HistoryProvider(Protocol):
    """A source of price history: a :class:`Provider` that also has ``fetch_history``
    (optional; a provider without it is skipped for history).

    ``fetch_history`` gets validated, upper-case symbols, the range ``[start, end)`` as
    tz-aware UTC datetimes and an interval of
    :data:`~resilient_provider.history.bars.INTERVALS`; it answers per symbol with a bar frame
    (:mod:`resilient_provider.history.bars`) or an error instance, under the same rules as
    ``fetch_info`` (a symbol left out is a data-contract failure; timeouts, retries and the
    breaker are applied around it).
    """

    name: str

    def fetch_history(self, symbols: Sequence[str], *, start: datetime, end: datetime,
                      interval: str) -> Mapping[str, BarsOrError]:
        """Fetch bars for one or many symbols."""
        ...
