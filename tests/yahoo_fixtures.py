"""Real Yahoo responses recorded in ../shared/fixtures/yahoo/ (read in place, never copied).

Tests that use them are marked ``@requires_fixtures`` and skip cleanly when the folder is absent
(a user's clone has only the repository). ``YAHOO_FIXTURES_DIR`` points elsewhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

#: ``$YAHOO_FIXTURES_DIR`` if set, else ``<repo>/../shared/fixtures/yahoo``
FIXTURES_DIR = Path(os.environ.get("YAHOO_FIXTURES_DIR") or
                    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "yahoo")

requires_fixtures = pytest.mark.skipif(
    not FIXTURES_DIR.is_dir(), reason=f"recorded Yahoo responses not found at {FIXTURES_DIR}")

#: Symbols with both a recorded all-modules quoteSummary and a recorded v7 quote.
RECORDED_PAIRS = ("AAPL", "QQQ", "BTC-USD", "EURUSD=X")


def _body(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_text())["response"]["body"]


def recorded_quote_summary(symbol: str) -> dict[str, Any]:
    """``result[0]`` of quoteSummary-all-{symbol}.json: every module Yahoo had for it."""
    result: dict[str, Any] = _body(f"quoteSummary-all-{symbol}.json")["quoteSummary"]["result"][0]
    return result


def recorded_quote(symbol: str) -> dict[str, Any]:
    """The v7 quoteResponse entry of quote-{symbol}.json."""
    entry: dict[str, Any] = _body(f"quote-{symbol}.json")["quoteResponse"]["result"][0]
    return entry


def has_recording(symbol: str) -> bool:
    """Whether a quoteSummary recording exists for ``symbol``."""
    return (FIXTURES_DIR / f"quoteSummary-all-{symbol}.json").is_file()


class RecordedYahooBodies:
    """A fake-Yahoo ``BodySource`` serving the recorded responses (unknown symbols: not found).

    ``FakeYahooServer(bodies=RecordedYahooBodies())`` answers AAPL, QQQ, BTC-USD… exactly as
    Yahoo did on the recording day; symbols without a recording get Yahoo's "not found".
    """

    def quote_summary(self, symbol: str, modules: Iterable[str]) -> dict[str, Any] | None:
        """The recorded modules that were requested (None: no recording for ``symbol``)."""
        if not has_recording(symbol):
            return None
        recorded = recorded_quote_summary(symbol)
        return {m: recorded[m] for m in dict.fromkeys(modules) if m in recorded}

    def quote(self, symbol: str) -> dict[str, Any] | None:
        """The recorded v7 entry, if there is one."""
        if not (FIXTURES_DIR / f"quote-{symbol}.json").is_file():
            return None
        return recorded_quote(symbol)

    def timeseries(self, symbol: str, types: Iterable[str], period1: int | None = None,
                   period2: int | None = None) -> dict[str, Any]:
        """Meta only, Yahoo's answer when it has no data: no timeseries recording exists."""
        return {"meta": {"symbol": [symbol], "type": list(types)}}
