"""The real yfinance and yahooquery, driven at a fake Yahoo the way ``Ticker(...).info`` and
yahooquery's ``Ticker`` drive Yahoo (the adapters' own set-up, without the adapters)."""

from __future__ import annotations

from typing import Any

from resilient_provider.testing import FakeYahooServer


def private_yfinance(yahoo: FakeYahooServer) -> Any:
    """A YfData of our own: yfinance's process-wide singleton keeps its session."""
    from yfinance.data import SingletonMeta, YfData

    class Fresh(SingletonMeta):  # type: ignore[misc]
        def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - a metaclass method
            return type.__call__(cls, *args, **kwargs)

    class PrivateYfData(YfData, metaclass=Fresh):  # type: ignore[misc]
        pass

    return PrivateYfData(session=yahoo.session(timeout_s=5))


def yfinance_info(data: Any, symbol: str) -> dict[str, Any]:
    """What ``yfinance.Ticker(symbol).info`` reads, over ``data``'s session."""
    from yfinance.scrapers.quote import Quote

    info: dict[str, Any] = Quote(data, symbol).info
    return info


def yahooquery_ticker(yahoo: FakeYahooServer, symbols: list[str]) -> Any:
    """A yahooquery Ticker whose session went through yahooquery's own cookie set-up (as
    ``YahooQueryProvider(base_url=...)`` builds it); the constructor fetches the crumb."""
    from yahooquery import Ticker
    from yahooquery.session_management import setup_session

    return Ticker(symbols, session=setup_session(yahoo.session(timeout_s=5)))
