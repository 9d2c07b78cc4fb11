"""Deterministic Yahoo Finance bodies for any symbol: quoteSummary modules, v7 quote, timeseries.

The key sets and value types per module and quote type mirror real recorded responses
(quoteSummary with ``formatted=false`` and v7 quote, 2025); values are plausible and consistent
with each other: one price everywhere, ``marketCap = price * shares``, the 52-week range around
the price, and ``dividendYield`` a fraction in summaryDetail but a percent in the v7 quote, as
Yahoo really sends them. Every value comes from ``random.Random(f"{seed}:{symbol}")``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol

#: Well-known ETFs answered as quoteType ETF (any other plain symbol is an EQUITY).
ETFS = frozenset({"SPY", "QQQ", "IWM", "VTI", "VOO", "DIA", "EFA", "EEM", "GLD", "TLT", "XLK",
                  "XLF", "VEA", "AGG", "BND", "ARKK"})
_CRYPTO = re.compile(r"^[A-Z0-9]+-(USD|EUR|GBP|USDT|BTC|ETH)$")

# Key lists per module and quote type, with the JSON type Yahoo sends: f number, i integer,
# s string, b bool, n null, l list. Values for keys without a rule come from the type.
_PRICE_MARKET = ("regularMarketChangePercent:f regularMarketChange:f regularMarketTime:i "
                 "priceHint:i regularMarketPrice:f regularMarketDayHigh:f regularMarketDayLow:f "
                 "regularMarketVolume:i averageDailyVolume10Day:i averageDailyVolume3Month:i "
                 "regularMarketPreviousClose:f regularMarketSource:s regularMarketOpen:f")
_PRICE_NAMES = ("exchange:s exchangeName:s exchangeDataDelayedBy:i marketState:s quoteType:s "
                "symbol:s underlyingSymbol:n shortName:s longName:s currency:s quoteSourceName:s "
                "currencySymbol:s")
_PRICE_TAIL = f"{_PRICE_NAMES} fromCurrency:n toCurrency:n lastMarket:n"
_PRICE_COMMON = f"maxAge:i {_PRICE_MARKET}"
_PRE_POST = ("preMarketChangePercent:f preMarketChange:f preMarketTime:i preMarketPrice:f "
             "preMarketSource:s postMarketSource:s")
_SD_HEAD = ("maxAge:i priceHint:i previousClose:f open:f dayLow:f dayHigh:f "
            "regularMarketPreviousClose:f regularMarketOpen:f regularMarketDayLow:f "
            "regularMarketDayHigh:f")
_SD_VOLUME = ("volume:i regularMarketVolume:i averageVolume:i averageVolume10days:i "
              "averageDailyVolume10Day:i")
_SD_BIDASK = "bid:f ask:f bidSize:i askSize:i"
_SD_RANGE = "fiftyTwoWeekLow:f fiftyTwoWeekHigh:f fiftyDayAverage:f twoHundredDayAverage:f"
_SD_TAIL = ("currency:s fromCurrency:n toCurrency:n lastMarket:n coinMarketCapLink:n algorithm:n "
            "tradeable:b")
_PROFILE_EQUITY = ("address1:s city:s state:s zip:s country:s phone:s website:s industry:s "
                   "industryKey:s industryDisp:s sector:s sectorKey:s sectorDisp:s "
                   "longBusinessSummary:s fullTimeEmployees:i companyOfficers:l")
_QUOTE_TYPE = ("exchange:s quoteType:s symbol:s underlyingSymbol:s shortName:s longName:s "
               "firstTradeDateEpochUtc:i timeZoneFullName:s timeZoneShortName:s uuid:s "
               "messageBoardId:s gmtOffSetMilliseconds:i maxAge:i")

TEMPLATES: dict[str, dict[str, str]] = {
    "EQUITY": {
        "price": f"maxAge:i {_PRE_POST} {_PRICE_MARKET} {_PRICE_TAIL} marketCap:i",
        "summaryDetail": f"{_SD_HEAD} dividendRate:f dividendYield:f exDividendDate:i "
                         "payoutRatio:f fiveYearAvgDividendYield:f beta:f trailingPE:f "
                         f"forwardPE:f {_SD_VOLUME} {_SD_BIDASK} marketCap:i fiftyTwoWeekLow:f "
                         "fiftyTwoWeekHigh:f priceToSalesTrailing12Months:f fiftyDayAverage:f "
                         "twoHundredDayAverage:f trailingAnnualDividendRate:f "
                         f"trailingAnnualDividendYield:f {_SD_TAIL}",
        "financialData": "maxAge:i currentPrice:f targetHighPrice:f targetLowPrice:f "
                         "targetMeanPrice:f targetMedianPrice:f recommendationMean:f "
                         "recommendationKey:s numberOfAnalystOpinions:i totalCash:i "
                         "totalCashPerShare:f ebitda:i totalDebt:i quickRatio:f currentRatio:f "
                         "totalRevenue:i debtToEquity:f revenuePerShare:f returnOnAssets:f "
                         "returnOnEquity:f grossProfits:i freeCashflow:i operatingCashflow:i "
                         "earningsGrowth:f revenueGrowth:f grossMargins:f ebitdaMargins:f "
                         "operatingMargins:f profitMargins:f financialCurrency:s",
        "defaultKeyStatistics": "maxAge:i priceHint:i enterpriseValue:i forwardPE:f "
                                "profitMargins:f floatShares:i sharesOutstanding:i sharesShort:i "
                                "sharesShortPriorMonth:i sharesShortPreviousMonthDate:i "
                                "dateShortInterest:i sharesPercentSharesOut:f "
                                "heldPercentInsiders:f heldPercentInstitutions:f shortRatio:f "
                                "shortPercentOfFloat:f beta:f impliedSharesOutstanding:i "
                                "category:n bookValue:f priceToBook:f fundFamily:n legalType:n "
                                "lastFiscalYearEnd:i nextFiscalYearEnd:i mostRecentQuarter:i "
                                "earningsQuarterlyGrowth:f netIncomeToCommon:i trailingEps:f "
                                "forwardEps:f lastSplitFactor:s lastSplitDate:i "
                                "enterpriseToRevenue:f enterpriseToEbitda:f 52WeekChange:f "
                                "SandP52WeekChange:f lastDividendValue:f lastDividendDate:i "
                                "latestShareClass:n leadInvestor:n",
        "assetProfile": f"{_PROFILE_EQUITY} auditRisk:i boardRisk:i compensationRisk:i "
                        "shareHolderRightsRisk:i overallRisk:i governanceEpochDate:i "
                        "compensationAsOfEpochDate:i irWebsite:s executiveTeam:l maxAge:i",
        "summaryProfile": f"{_PROFILE_EQUITY} irWebsite:s executiveTeam:l maxAge:i",
        "quoteType": _QUOTE_TYPE,
    },
    "ETF": {
        "price": f"maxAge:i {_PRE_POST} {_PRICE_MARKET} {_PRICE_TAIL} marketCap:i",
        "summaryDetail": f"{_SD_HEAD} trailingPE:f {_SD_VOLUME} {_SD_BIDASK} yield:f "
                         f"totalAssets:i {_SD_RANGE} trailingAnnualDividendRate:f "
                         f"trailingAnnualDividendYield:f navPrice:f {_SD_TAIL}",
        "defaultKeyStatistics": "maxAge:i priceHint:i category:s ytdReturn:f beta3Year:f "
                                "totalAssets:i yield:f fundFamily:s fundInceptionDate:i "
                                "legalType:s threeYearAverageReturn:f fiveYearAverageReturn:f "
                                "lastSplitFactor:n latestShareClass:n leadInvestor:n",
        "assetProfile": "longBusinessSummary:s companyOfficers:l executiveTeam:l maxAge:i",
        "summaryProfile": "longBusinessSummary:s companyOfficers:l executiveTeam:l maxAge:i",
        "quoteType": _QUOTE_TYPE,
    },
    "CURRENCY": {
        "price": f"{_PRICE_COMMON} {_PRICE_TAIL}",
        "summaryDetail": f"{_SD_HEAD} {_SD_VOLUME} {_SD_BIDASK} {_SD_RANGE} {_SD_TAIL}",
        "quoteType": _QUOTE_TYPE,
    },
    "FUTURE": {
        "price": f"{_PRICE_COMMON} openInterest:i expireDate:i "
                 + _PRICE_TAIL.replace("underlyingSymbol:n", "underlyingSymbol:s")
                              .replace("longName:s", "longName:n"),
        "summaryDetail": f"{_SD_HEAD} {_SD_VOLUME} {_SD_BIDASK} expireDate:i openInterest:i "
                         f"{_SD_RANGE} {_SD_TAIL}",
        "quoteType": _QUOTE_TYPE.replace("longName:s ", "").replace("messageBoardId:s ", ""),
    },
    "INDEX": {
        "price": _PRICE_COMMON.replace("averageDailyVolume10Day:i averageDailyVolume3Month:i ", "")
                 + f" {_PRICE_TAIL}",
        "summaryDetail": f"{_SD_HEAD} volume:i regularMarketVolume:i {_SD_BIDASK} "
                         f"fiftyTwoWeekLow:f fiftyTwoWeekHigh:f {_SD_TAIL}",
        "defaultKeyStatistics": "maxAge:i priceHint:i category:n fundFamily:n legalType:n "
                                "lastSplitFactor:n latestShareClass:n leadInvestor:n",
        "quoteType": _QUOTE_TYPE.replace("firstTradeDateEpochUtc:i ", ""),
    },
    "CRYPTOCURRENCY": {
        "price": f"{_PRICE_COMMON} {_PRICE_NAMES} fromCurrency:s toCurrency:s lastMarket:s "
                 "volume24Hr:i volumeAllCurrencies:i circulatingSupply:i marketCap:i",
        "summaryDetail": f"{_SD_HEAD} {_SD_VOLUME} marketCap:i {_SD_RANGE} currency:s "
                         "fromCurrency:s toCurrency:s lastMarket:s coinMarketCapLink:s "
                         "volume24Hr:i volumeAllCurrencies:i circulatingSupply:i algorithm:n "
                         "startDate:i tradeable:b",
        "assetProfile": "companyOfficers:l name:s startDate:s description:s executiveTeam:l "
                        "maxAge:i",
        "summaryProfile": "companyOfficers:l name:s startDate:s description:s executiveTeam:l "
                          "maxAge:i",
        "quoteType": _QUOTE_TYPE,
    },
}
TEMPLATES["MUTUALFUND"] = {k: v for k, v in TEMPLATES["ETF"].items()}

_V7_HEAD = ("language:s region:s quoteType:s typeDisp:s quoteSourceName:s triggerable:b "
            "customPriceAlertConfidence:s shortName:s longName:s marketState:s "
            "regularMarketChangePercent:f regularMarketPrice:f currency:s exchange:s "
            "messageBoardId:s exchangeTimezoneName:s exchangeTimezoneShortName:s "
            "gmtOffSetMilliseconds:i market:s esgPopulated:b corporateActions:l "
            "regularMarketTime:i regularMarketChange:f regularMarketDayHigh:f "
            "regularMarketDayRange:s regularMarketDayLow:f regularMarketVolume:i "
            "regularMarketPreviousClose:f fullExchangeName:s regularMarketOpen:f "
            "averageDailyVolume3Month:i averageDailyVolume10Day:i fiftyTwoWeekLowChange:f "
            "fiftyTwoWeekLowChangePercent:f fiftyTwoWeekRange:s fiftyTwoWeekHighChange:f "
            "fiftyTwoWeekHighChangePercent:f fiftyTwoWeekLow:f fiftyTwoWeekHigh:f "
            "fiftyTwoWeekChangePercent:f fiftyDayAverage:f fiftyDayAverageChange:f "
            "fiftyDayAverageChangePercent:f twoHundredDayAverage:f twoHundredDayAverageChange:f "
            "twoHundredDayAverageChangePercent:f sourceInterval:i exchangeDataDelayedBy:i "
            "hasPrePostMarketData:b firstTradeDateMilliseconds:i priceHint:i tradeable:b "
            "cryptoTradeable:b symbol:s")
_V7_MARKET = ("postMarketTime:i postMarketChangePercent:f postMarketPrice:f postMarketChange:f "
              "bid:f ask:f bidSize:i askSize:i financialCurrency:s trailingAnnualDividendRate:f "
              "trailingPE:f trailingAnnualDividendYield:f dividendYield:f "
              "epsTrailingTwelveMonths:f sharesOutstanding:i bookValue:f marketCap:i "
              "priceToBook:f")
V7_TEMPLATES: dict[str, str] = {
    "EQUITY": f"{_V7_HEAD} {_V7_MARKET} dividendDate:i earningsTimestamp:i dividendRate:f "
              "epsForward:f epsCurrentYear:f priceEpsCurrentYear:f forwardPE:f "
              "averageAnalystRating:s displayName:s",
    "ETF": f"{_V7_HEAD} {_V7_MARKET} ytdReturn:f trailingThreeMonthReturns:f "
           "trailingThreeMonthNavReturns:f netAssets:i netExpenseRatio:f",
    "CURRENCY": f"{_V7_HEAD} bid:f ask:f bidSize:i askSize:i",
    "FUTURE": f"{_V7_HEAD} bid:f ask:f bidSize:i askSize:i openInterest:i expireDate:i",
    "INDEX": _V7_HEAD,
    "CRYPTOCURRENCY": f"{_V7_HEAD} circulatingSupply:i lastMarket:s volume24Hr:i "
                      "volumeAllCurrencies:i fromCurrency:s toCurrency:s coinMarketCapLink:s "
                      "startDate:i coinImageUrl:s logoUrl:s marketCap:i",
}
V7_TEMPLATES["MUTUALFUND"] = V7_TEMPLATES["ETF"]

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
    if _CRYPTO.match(symbol):
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
