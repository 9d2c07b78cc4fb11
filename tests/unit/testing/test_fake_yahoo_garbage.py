"""Fault.garbage: a 200 with a well-formed Yahoo body whose content is garbage."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from resilient_provider.testing import Fault, YahooBodyGenerator
from resilient_provider.testing.fake_yahoo.answers import YahooResponder


def answer(mode: str, route: str) -> Any:
    responder = YahooResponder(3, YahooBodyGenerator(3), ())
    query = {"crumb": [responder.issue_crumb()], "modules": ["price,summaryDetail"],
             "symbols": ["AAPL"]}
    path = "/v10/finance/quoteSummary/AAPL" if route == "quoteSummary" else "/v7/finance/quote"
    reply = responder.answer(route, path, ("AAPL",), query, Fault.garbage(mode), None)
    assert reply.status == 200
    return json.loads(reply.body)


def test_nan_and_negative_prices() -> None:
    assert math.isnan(answer("nan_price", "quote")["quoteResponse"]["result"][0]
                      ["regularMarketPrice"])
    price = answer("negative_price", "quoteSummary")["quoteSummary"]["result"][0]["price"]
    value = price["regularMarketPrice"]
    assert (value["raw"] if isinstance(value, dict) else value) < 0


def test_wrong_symbol_answers_another_symbols_data() -> None:
    item = answer("wrong_symbol", "quoteSummary")["quoteSummary"]["result"][0]
    assert item["price"]["symbol"] not in ("AAPL", None)
    entry = answer("wrong_symbol", "quote")["quoteResponse"]["result"][0]
    assert entry["symbol"] != "AAPL"


def test_strings_for_dicts() -> None:
    item = answer("strings_for_dicts", "quoteSummary")["quoteSummary"]["result"][0]
    assert item and all(isinstance(v, str) for v in item.values())
    assert all(isinstance(e, str)
               for e in answer("strings_for_dicts", "quote")["quoteResponse"]["result"])


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="garbage mode"):
        Fault.garbage("spam")
