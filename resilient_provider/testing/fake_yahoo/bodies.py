"""Deterministic Yahoo Finance bodies for any symbol: quoteSummary modules, v7 quote, timeseries.

The key sets and value types per module and quote type mirror real recorded responses
(quoteSummary with ``formatted=false`` and v7 quote, 2025); values are plausible and consistent
with each other: one price everywhere, ``marketCap = price * shares``, the 52-week range around
the price, and ``dividendYield`` a fraction in summaryDetail but a percent in the v7 quote, as
Yahoo really sends them. Every value comes from ``random.Random(f"{seed}:{symbol}")``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from .shapes import CRYPTO_SYMBOL, ETFS, TEMPLATES, V7_TEMPLATES

SECTORS = (
    ("Technology", "Consumer Electronics"), ("Technology", "Software - Infrastructure"),
    ("Healthcare", "Drug Manufacturers - General"), ("Financial Services", "Banks - Diversified"),
    ("Consumer Cyclical", "Internet Retail"), ("Energy", "Oil & Gas Integrated"),
    ("Industrials", "Aerospace & Defense"),
    ("Communication Services", "Internet Content & Information"),
)
RECOMMENDATIONS = ("strong_buy", "buy", "hold", "underperform", "sell")
EPOCH = 1_740_171_602  # 2025-02-21 21:00 UTC, the recorded bodies' regularMarketTime


class BodySource(Protocol):
    """Where the fake server's bodies come from (the generator, or recorded responses)."""

    def quote_summary(self, symbol: str, modules: Iterable[str]) -> dict[str, Any] | None:
        """The requested modules that exist for ``symbol``; None for an unknown symbol."""
        ...

    def quote(self, symbol: str) -> dict[str, Any] | None:
        """The v7 quoteResponse entry; None for an unknown symbol."""
        ...

    def timeseries(self, symbol: str, types: Iterable[str]) -> dict[str, Any]:
        """One fundamentals-timeseries result item."""
        ...


def quote_type_of(symbol: str) -> str:
    """Yahoo's quoteType guessed from the symbol's shape."""
    if symbol.startswith("^"):
        return "INDEX"
    if symbol.endswith("=X"):
        return "CURRENCY"
    if symbol.endswith("=F"):
        return "FUTURE"
    if CRYPTO_SYMBOL.match(symbol):
        return "CRYPTOCURRENCY"
    if symbol.startswith("0P"):
        return "MUTUALFUND"
    return "ETF" if symbol in ETFS else "EQUITY"


def _keys(spec: str) -> list[tuple[str, str]]:
    return [tuple(item.rsplit(":", 1)) for item in spec.split()]  # type: ignore[misc]


class YahooBodyGenerator:
    """Plausible, mutually consistent Yahoo bodies for any symbol, deterministic per seed."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._prices: dict[str, float] = {}

    def set_price(self, symbol: str, price: float) -> None:
        """Answer ``symbol`` with this price from now on (tests tell answers apart by it)."""
        if not price > 0:
            raise ValueError(f"price must be > 0, got {price!r}")
        self._prices[symbol.upper()] = float(price)

    def quote_type(self, symbol: str) -> str:
        """The quoteType this generator answers ``symbol`` with."""
        return quote_type_of(symbol)

    def quote_summary(self, symbol: str, modules: Iterable[str]) -> dict[str, Any] | None:
        """The requested modules that exist for the symbol's quote type."""
        facts = self._facts(symbol)
        templates = TEMPLATES[facts["quoteType"]]
        return {m: self._fill(templates[m], facts, module=m) for m in modules if m in templates}

    def quote(self, symbol: str) -> dict[str, Any] | None:
        """The v7 quote entry (``dividendYield`` in percent, as Yahoo sends it there)."""
        facts = self._facts(symbol)
        entry = self._fill(V7_TEMPLATES[facts["quoteType"]], facts, module="v7")
        if "dividendYield" in entry:
            entry["dividendYield"] = round(facts["dividendYield"] * 100, 2)
        return entry

    def timeseries(self, symbol: str, types: Iterable[str]) -> dict[str, Any]:
        """A fundamentals-timeseries result item with one TTM point per known type."""
        wanted = list(types)
        item: dict[str, Any] = {"meta": {"symbol": [symbol], "type": wanted}}
        if quote_type_of(symbol) != "EQUITY":
            return item
        rng = random.Random(f"{self.seed}:{symbol}:timeseries")
        item["timestamp"] = [EPOCH - 86400 * 30]
        for name in wanted:
            value = round(rng.uniform(0.5, 4.0), 4)
            item[name] = [{"dataId": 14021, "asOfDate": "2025-01-31", "periodType": "TTM",
                           "reportedValue": {"raw": value, "fmt": f"{value:.2f}"}}]
        return item

    # --- internals --------------------------------------------------------------------------

    def _facts(self, symbol: str) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{symbol}")
        kind = quote_type_of(symbol)
        price = self._prices.get(symbol) or round(
            {"CURRENCY": rng.uniform(0.5, 2.0), "CRYPTOCURRENCY": rng.uniform(0.1, 90000),
             "INDEX": rng.uniform(10, 6000), "FUTURE": rng.uniform(20, 3000)}.get(
                kind, rng.uniform(5, 900)), 4)
        shares = max(1, int(rng.uniform(2e8, 2.5e12) / price))  # market caps of $0.2B..$2.5T
        sector, industry = rng.choice(SECTORS)
        name = symbol.lstrip("^").split("=")[0].split("-")[0].split(".")[0]
        fund_yield = round(rng.uniform(0.0, 0.03), 4)
        return {
            "symbol": symbol, "quoteType": kind, "price": price, "shares": shares,
            "previousClose": round(price * rng.uniform(0.97, 1.03), 4),
            "low52": round(price * rng.uniform(0.55, 0.95), 4),
            "high52": round(price * rng.uniform(1.02, 1.6), 4),
            "dividendYield": (round(rng.uniform(0.0, 0.05), 4) if kind == "EQUITY"
                              else fund_yield if kind in ("ETF", "MUTUALFUND") else 0.0),
            "trailingPE": round(rng.uniform(8, 60), 4), "forwardPE": round(rng.uniform(8, 45), 4),
            "beta": round(rng.uniform(0.3, 2.2), 3), "sector": sector, "industry": industry,
            "shortName": f"{name} Inc." if kind == "EQUITY" else f"{name} {kind.title()}"
                         if kind != "ETF" else f"{name} ETF Trust",
            "currency": "EUR" if symbol.endswith((".DE", ".PA", "-EUR")) else "USD",
            "exchange": {"EQUITY": "NMS", "ETF": "NGM", "MUTUALFUND": "MUT", "CURRENCY": "CCY",
                         "FUTURE": "CMX", "INDEX": "CXI", "CRYPTOCURRENCY": "CCC"}[kind],
            "target": round(price * rng.uniform(0.9, 1.35), 4),
            "recommendation": rng.choice(RECOMMENDATIONS), "analysts": rng.randrange(3, 55),
            "fiftyDay": round(price * rng.uniform(0.9, 1.1), 4),
            "twoHundredDay": round(price * rng.uniform(0.8, 1.2), 4),
            "fundYield": fund_yield,
            "messageBoardId": f"finmb_{rng.randrange(10_000, 99_999)}",
            "uuid": f"{rng.getrandbits(128):032x}",
        }

    def _fill(self, spec: str, facts: dict[str, Any], *, module: str) -> dict[str, Any]:
        # A module's body never depends on which other modules were requested.
        rng = random.Random(f"{self.seed}:{facts['symbol']}:{module}")
        rules = _rules(facts)
        out: dict[str, Any] = {}
        for key, kind in _keys(spec):
            rule = rules.get(key)
            if kind == "n":  # Yahoo sends null here for this quote type
                out[key] = None
            else:
                # Seeded per key, so a field Yahoo repeats across modules and v7 agrees.
                out[key] = rule() if rule is not None else _by_type(
                    kind, key, random.Random(f"{self.seed}:{facts['symbol']}:{key}"))
        if module in ("assetProfile", "summaryProfile") and "companyOfficers" in out:
            out["companyOfficers"] = [] if facts["quoteType"] != "EQUITY" else [
                {"maxAge": 1, "name": "Pat Example", "title": "CEO", "yearBorn": 1965,
                 "totalPay": rng.randrange(1_000_000, 30_000_000)}][: rng.randrange(0, 2)]
        return out


def _by_type(kind: str, key: str, rng: random.Random) -> Any:
    if kind == "n":
        return None
    if kind == "b":
        return key in ("triggerable", "esgPopulated") and rng.random() < 0.5
    if kind == "l":
        return []
    if kind == "i":
        return rng.randrange(1, 10_000_000) if "Time" not in key and "Date" not in key \
            else EPOCH - rng.randrange(0, 86400 * 365)
    if kind == "f":
        return round(rng.uniform(0.01, 3.0), 6)
    return {"regularMarketSource": "FREE_REALTIME", "preMarketSource": "FREE_REALTIME",
            "postMarketSource": "FREE_REALTIME", "marketState": "CLOSED", "language": "en-US",
            "region": "US", "market": "us_market", "currencySymbol": "$",
            "timeZoneFullName": "America/New_York", "exchangeTimezoneName": "America/New_York",
            "timeZoneShortName": "EST", "exchangeTimezoneShortName": "EST",
            "customPriceAlertConfidence": "HIGH", "quoteSourceName": "Delayed Quote",
            }.get(key, f"{key}-{rng.randrange(1000, 9999)}")


def _rules(f: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    price = f["price"]
    cap = int(price * f["shares"])
    return {
        "symbol": lambda: f["symbol"], "underlyingSymbol": lambda: f["symbol"],
        "quoteType": lambda: f["quoteType"], "typeDisp": lambda: f["quoteType"].title(),
        "shortName": lambda: f["shortName"], "longName": lambda: f["shortName"],
        "displayName": lambda: f["shortName"].split()[0],
        "currency": lambda: f["currency"], "financialCurrency": lambda: f["currency"],
        "exchange": lambda: f["exchange"], "exchangeName": lambda: f["exchange"],
        "fullExchangeName": lambda: f["exchange"],
        "regularMarketPrice": lambda: price, "currentPrice": lambda: price,
        "navPrice": lambda: price, "preMarketPrice": lambda: round(price * 1.001, 4),
        "postMarketPrice": lambda: round(price * 0.999, 4),
        "previousClose": lambda: f["previousClose"],
        "regularMarketPreviousClose": lambda: f["previousClose"],
        "open": lambda: f["previousClose"], "regularMarketOpen": lambda: f["previousClose"],
        "dayLow": lambda: round(min(price, f["previousClose"]) * 0.99, 4),
        "regularMarketDayLow": lambda: round(min(price, f["previousClose"]) * 0.99, 4),
        "dayHigh": lambda: round(max(price, f["previousClose"]) * 1.01, 4),
        "regularMarketDayHigh": lambda: round(max(price, f["previousClose"]) * 1.01, 4),
        "regularMarketChange": lambda: round(price - f["previousClose"], 4),
        "regularMarketChangePercent": lambda: round((price / f["previousClose"] - 1) * 100, 4),
        "regularMarketDayRange": lambda: f"{f['previousClose']} - {price}",
        "marketCap": lambda: cap, "sharesOutstanding": lambda: f["shares"],
        "impliedSharesOutstanding": lambda: f["shares"], "floatShares": lambda: f["shares"],
        "fiftyTwoWeekLow": lambda: f["low52"], "fiftyTwoWeekHigh": lambda: f["high52"],
        "fiftyTwoWeekRange": lambda: f"{f['low52']} - {f['high52']}",
        "dividendYield": lambda: f["dividendYield"],
        "trailingAnnualDividendYield": lambda: f["dividendYield"],
        "yield": lambda: f["fundYield"],
        "dividendRate": lambda: round(price * f["dividendYield"], 4),
        "trailingAnnualDividendRate": lambda: round(price * f["dividendYield"], 4),
        "trailingPE": lambda: f["trailingPE"], "forwardPE": lambda: f["forwardPE"],
        "beta": lambda: f["beta"], "sector": lambda: f["sector"],
        "sectorDisp": lambda: f["sector"], "industry": lambda: f["industry"],
        "industryDisp": lambda: f["industry"],
        "sectorKey": lambda: f["sector"].lower().replace(" ", "-"),
        "industryKey": lambda: f["industry"].lower().replace(" ", "-"),
        "targetMeanPrice": lambda: f["target"], "targetMedianPrice": lambda: f["target"],
        "targetHighPrice": lambda: round(f["target"] * 1.25, 2),
        "targetLowPrice": lambda: round(f["target"] * 0.8, 2),
        "recommendationKey": lambda: f["recommendation"],
        "numberOfAnalystOpinions": lambda: f["analysts"],
        "fiftyDayAverage": lambda: f["fiftyDay"],
        "twoHundredDayAverage": lambda: f["twoHundredDay"],
        "country": lambda: "United States", "lastSplitFactor": lambda: "2:1",
        "messageBoardId": lambda: f["messageBoardId"],
        "uuid": lambda: f["uuid"],
        "gmtOffSetMilliseconds": lambda: -18_000_000, "maxAge": lambda: 1, "priceHint": lambda: 2,
        "fromCurrency": lambda: f["symbol"].split("-")[0],
        "toCurrency": lambda: f["currency"], "lastMarket": lambda: "CoinMarketCap",
    }
