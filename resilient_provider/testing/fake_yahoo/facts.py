"""The facts behind one generated symbol, and every value Yahoo derives from them.

:func:`make_facts` draws a symbol's price, ranges, size, names and listing from
``random.Random(f"{seed}:{symbol}")`` in a fixed order, anchored on a real recording for the
symbols of :mod:`.recorded` (Apple is "Apple Inc." near its recorded price); the others get
plausible synthetic values (an index in the thousands, a volatility index in the tens).
:meth:`SymbolFacts.values` spells them out under Yahoo's keys for one module (or the v7
entry), in that endpoint's units.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass, replace
from typing import Any

from . import shapes
from .recorded import RECORDED_SEEDS, anchored_fields
from .shapes import Listing

RECORDED_AT = 1_740_171_602  # 2025-02-21 21:00 UTC, the recorded bodies' regularMarketTime
_DAY_S = 86_400

SECTORS = (
    ("Technology", "Consumer Electronics"), ("Technology", "Software - Infrastructure"),
    ("Healthcare", "Drug Manufacturers - General"), ("Financial Services", "Banks - Diversified"),
    ("Consumer Cyclical", "Internet Retail"), ("Energy", "Oil & Gas Integrated"),
    ("Industrials", "Aerospace & Defense"),
    ("Communication Services", "Internet Content & Information"),
)
#: (upper bound of recommendationMean, recommendationKey, averageAnalystRating label)
RATINGS = ((1.5, "strong_buy", "Strong Buy"), (2.5, "buy", "Buy"), (3.5, "hold", "Hold"),
           (4.5, "underperform", "Underperform"), (9.0, "sell", "Sell"))
_COINS = {"BTC": "Bitcoin", "ETH": "Ethereum", "SOL": "Solana", "DOGE": "Dogecoin"}
_SYLLABLES = ("ta", "ro", "vi", "ne", "lo", "ka", "mi", "sa", "de", "ar", "on", "el", "qu", "ix")


def quote_type_of(symbol: str) -> str:
    """Yahoo's quoteType guessed from the symbol's shape (``^X`` INDEX, ``X=X`` CURRENCY, …)."""
    symbol = symbol.upper()
    if symbol.startswith("^"):
        return "INDEX"
    if symbol.endswith("=X"):
        return "CURRENCY"
    if symbol.endswith("=F"):
        return "FUTURE"
    if shapes.CRYPTO_SYMBOL.match(symbol):
        return "CRYPTOCURRENCY"
    if symbol.startswith("0P"):
        return "MUTUALFUND"
    return "ETF" if symbol in shapes.ETFS else "EQUITY"


def _down(x: float, dp: int) -> float:
    return float(math.floor(x * 10**dp) / 10**dp)


def _up(x: float, dp: int) -> float:
    return float(math.ceil(x * 10**dp) / 10**dp)


@dataclass(frozen=True)
class SymbolFacts:
    """Everything the generator decided about one symbol; Yahoo's fields derive from it."""

    symbol: str
    quote_type: str
    listing: Listing
    currency: str
    names: tuple[str, str]  # shortName, longName
    price: float
    previous_close: float
    open: float
    day_range: tuple[float, float]
    week52_range: tuple[float, float]
    averages: tuple[float, float]  # 50-day, 200-day
    shares: int
    volumes: tuple[int, int, int]  # today, 3-month average, 10-day average
    dividend_yield: float  # a fraction: summaryDetail dividendYield, or a fund's yield
    dividend_rate: float
    eps: tuple[float, float]  # trailing, forward
    book_value: float
    beta: float
    sector: tuple[str, str]  # sector, industry
    targets: tuple[float, float, float, float]  # low, mean, median, high
    recommendation_mean: float
    analysts: int
    employees: int
    returns: tuple[float, float]  # 52-week change, year to date (fractions)
    first_trade_s: int
    ids: tuple[str, str]  # messageBoardId, uuid

    @property
    def market_cap(self) -> int:
        """``price * shares``, as Yahoo computes it."""
        return int(self.price * self.shares)

    def values(self, module: str) -> dict[str, Any]:
        """Yahoo's keys for ``module`` ("price", "summaryDetail", …, or "v7") with values."""
        p, prev, qt, listing = self.price, self.previous_close, self.quote_type, self.listing
        v7 = module == "v7"
        low, high = self.day_range
        low52, high52 = self.week52_range
        fifty, two_hundred = self.averages
        volume, avg3m, avg10d = self.volumes
        eps, forward_eps = self.eps
        t_low, t_mean, t_median, t_high = self.targets
        year_change, ytd = self.returns
        sector, industry = self.sector
        label = next(lab for bound, _, lab in RATINGS if self.recommendation_mean < bound)
        key = next(k for bound, k, _ in RATINGS if self.recommendation_mean < bound)
        trailing_rate = round(self.dividend_rate * 0.98, 4)
        base, _, quote = self.symbol.partition("-")
        contract = f"{self.symbol.split('=')[0]}J25.{listing.exchange}"
        slug = self.names[0].split()[0].lower()
        expire = RECORDED_AT + 66 * _DAY_S
        return {
            "symbol": self.symbol, "quoteType": qt, "typeDisp": shapes.TYPE_DISP[qt],
            "underlyingSymbol": contract if qt == "FUTURE" and module != "quoteType"
            else self.symbol,
            "shortName": self.names[0], "longName": self.names[1],
            "displayName": self.names[0].split()[0], "currency": self.currency,
            "financialCurrency": self.currency,
            "currencySymbol": shapes.CURRENCY_SIGNS.get(self.currency, "$"),
            "exchange": listing.exchange, "exchangeName": listing.exchange_name,
            "fullExchangeName": listing.exchange_name, "market": listing.market,
            "exchangeTimezoneName": listing.tz_name, "timeZoneFullName": listing.tz_name,
            "exchangeTimezoneShortName": listing.tz_short, "timeZoneShortName": listing.tz_short,
            "gmtOffSetMilliseconds": listing.gmt_offset_ms, "country": listing.country,
            "language": "en-US", "region": "US", "marketState": "CLOSED",
            "quoteSourceName": "CoinMarketCap" if qt == "CRYPTOCURRENCY" else "Delayed Quote",
            "regularMarketSource": "FREE_REALTIME" if qt in ("EQUITY", "ETF", "MUTUALFUND")
            else "DELAYED",
            "preMarketSource": "FREE_REALTIME", "postMarketSource": "FREE_REALTIME",
            "customPriceAlertConfidence": "HIGH", "triggerable": True,
            "cryptoTradeable": qt == "CRYPTOCURRENCY",
            "hasPrePostMarketData": qt in ("EQUITY", "ETF"),
            "exchangeDataDelayedBy": {"INDEX": 15, "MUTUALFUND": 15, "FUTURE": 10}.get(qt, 0),
            "sourceInterval": 15, "priceHint": 4 if qt == "CURRENCY" else 2,
            "maxAge": 86_400 if module in ("financialData", "assetProfile", "summaryProfile")
            else 1,
            "regularMarketTime": RECORDED_AT, "preMarketTime": RECORDED_AT + 218_000,
            "postMarketTime": RECORDED_AT + 14_400,
            "regularMarketPrice": p, "currentPrice": p, "navPrice": p,
            "previousClose": prev, "regularMarketPreviousClose": prev,
            "open": self.open, "regularMarketOpen": self.open,
            "dayLow": low, "regularMarketDayLow": low, "dayHigh": high,
            "regularMarketDayHigh": high, "regularMarketDayRange": f"{low} - {high}",
            "regularMarketChange": round(p - prev, 6),
            # a fraction in the price module, a percent in v7 (as Yahoo sends them)
            "regularMarketChangePercent": round((p - prev) / prev * (100 if v7 else 1), 8),
            "preMarketPrice": round(p * 1.002, 4), "preMarketChange": round(p * 0.002, 6),
            "preMarketChangePercent": 0.002, "postMarketPrice": round(p * 0.999, 4),
            "postMarketChange": round(-p * 0.001, 6), "postMarketChangePercent": -0.1,
            "volume": volume, "regularMarketVolume": volume, "volume24Hr": volume,
            "volumeAllCurrencies": volume, "averageVolume": avg3m,
            "averageDailyVolume3Month": avg3m, "averageVolume10days": avg10d,
            "averageDailyVolume10Day": avg10d,
            "bid": round(p * 0.9995, 6), "ask": round(p * 1.0005, 6),
            "marketCap": self.market_cap, "sharesOutstanding": self.shares,
            "impliedSharesOutstanding": self.shares, "floatShares": int(self.shares * 0.98),
            "circulatingSupply": self.shares, "totalAssets": self.market_cap,
            "netAssets": self.market_cap, "enterpriseValue": int(self.market_cap * 1.02),
            "fiftyTwoWeekLow": low52, "fiftyTwoWeekHigh": high52,
            "fiftyTwoWeekRange": f"{low52} - {high52}",
            "fiftyTwoWeekLowChange": round(p - low52, 6),
            "fiftyTwoWeekLowChangePercent": round((p - low52) / low52, 8),
            "fiftyTwoWeekHighChange": round(p - high52, 6),
            "fiftyTwoWeekHighChangePercent": round((p - high52) / high52, 8),
            "fiftyTwoWeekChangePercent": round(year_change * 100, 6),
            "52WeekChange": year_change, "SandP52WeekChange": 0.1861,
            "fiftyDayAverage": fifty, "fiftyDayAverageChange": round(p - fifty, 6),
            "fiftyDayAverageChangePercent": round((p - fifty) / fifty, 8),
            "twoHundredDayAverage": two_hundred,
            "twoHundredDayAverageChange": round(p - two_hundred, 6),
            "twoHundredDayAverageChangePercent": round((p - two_hundred) / two_hundred, 8),
            # a fraction in summaryDetail, a percent (2 dp) in v7 (as Yahoo sends them)
            "dividendYield": round(self.dividend_yield * 100, 2) if v7 else self.dividend_yield,
            "yield": self.dividend_yield, "dividendRate": self.dividend_rate,
            "trailingAnnualDividendRate": trailing_rate,
            "trailingAnnualDividendYield": round(trailing_rate / prev, 8),
            "fiveYearAvgDividendYield": round(self.dividend_yield * 90, 2),  # percent, like Yahoo
            "lastDividendValue": round(self.dividend_rate / 4, 4),
            "payoutRatio": round(self.dividend_rate / eps, 4),
            "exDividendDate": RECORDED_AT - 12 * _DAY_S,
            "trailingPE": round(p / eps, 6), "forwardPE": round(p / forward_eps, 6),
            "trailingEps": eps, "epsTrailingTwelveMonths": eps, "forwardEps": forward_eps,
            "epsForward": forward_eps, "epsCurrentYear": round((eps + forward_eps) / 2, 2),
            "priceEpsCurrentYear": round(p / ((eps + forward_eps) / 2), 6),
            "netIncomeToCommon": int(eps * self.shares),
            "bookValue": self.book_value, "priceToBook": round(p / self.book_value, 6),
            "beta": self.beta, "beta3Year": self.beta,
            "targetLowPrice": t_low, "targetMeanPrice": t_mean, "targetMedianPrice": t_median,
            "targetHighPrice": t_high, "recommendationMean": self.recommendation_mean,
            "recommendationKey": key, "numberOfAnalystOpinions": self.analysts,
            "averageAnalystRating": f"{self.recommendation_mean:.1f} - {label}",
            "sector": sector, "sectorDisp": sector, "industry": industry,
            "industryDisp": industry,
            "sectorKey": sector.lower().replace(" ", "-"),
            "industryKey": industry.lower().replace(" & ", "-").replace(" - ", "-")
            .replace(" ", "-"),
            "fullTimeEmployees": self.employees, "address1": "1 Example Plaza",
            "address2": "Suite 100", "address3": "P.O. Box 100", "city": "Springfield",
            "state": "CA", "zip": "94000", "phone": "555 010 0100",
            "website": f"https://www.{slug}.example.com",
            "irWebsite": f"https://investors.{slug}.example.com",
            "longBusinessSummary": f"{self.names[1]} is a generated {shapes.TYPE_DISP[qt].lower()} "
                                   "that exists only in tests.",
            "messageBoardId": self.ids[0], "uuid": self.ids[1],
            "firstTradeDateEpochUtc": self.first_trade_s,
            "firstTradeDateMilliseconds": self.first_trade_s * 1000,
            "fundInceptionDate": self.first_trade_s, "lastSplitFactor": "2:1",
            "category": "Large Blend", "fundFamily": "Example Funds",
            "legalType": "Exchange Traded Fund",
            "ytdReturn": round(ytd * 100, 6) if v7 else ytd,
            "trailingThreeMonthReturns": round(ytd * 150, 6),
            "trailingThreeMonthNavReturns": round(ytd * 150, 6), "netExpenseRatio": 0.2,
            "annualReportExpenseRatio": 0.002,
            "fromCurrency": base, "toCurrency": f"{quote}=X", "lastMarket": "CoinMarketCap",
            "name": self.names[0].rsplit(" ", 1)[0],
            "description": f"{self.names[0]} is a generated cryptocurrency for tests.",
            "startDate": (dt.datetime.fromtimestamp(self.first_trade_s, dt.UTC)
                          .strftime("%Y-%m-%d") if module in ("assetProfile", "summaryProfile")
                          else self.first_trade_s),
            "coinMarketCapLink": f"https://coinmarketcap.com/currencies/{slug}",
            "coinImageUrl": f"https://coins.example.com/{base.lower()}.png",
            "logoUrl": f"https://coins.example.com/{base.lower()}.png",
            "openInterest": self.volumes[1] * 40, "expireDate": expire,
            "expireIsoDate": dt.datetime.fromtimestamp(expire, dt.UTC)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "headSymbolAsString": self.symbol, "contractSymbol": False,
            "underlyingExchangeSymbol": contract,
        }


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randrange(2, 4))).capitalize()


def _places(price: float) -> int:
    """Decimal places for prices near ``price``: 2 from 10 up, more (4+) below."""
    return 2 if price >= 10 else 4 - min(0, math.floor(math.log10(price)))


def _names(symbol: str, qt: str, word: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("-")
    if qt == "CURRENCY":
        pair = symbol[:-2]
        pair = pair if len(pair) == 6 else f"USD{pair}"
        return f"{pair[:3]}/{pair[3:]}", f"{pair[:3]}/{pair[3:]}"
    if qt == "CRYPTOCURRENCY":
        name = f"{_COINS.get(base, word)} {quote}"
        return name, name
    short = {"EQUITY": f"{word} Inc.", "ETF": f"{word} Growth ETF",
             "MUTUALFUND": f"{word} Index Fund", "FUTURE": f"{word} Apr 25",
             "INDEX": f"{word.upper()} INDEX"}[qt]
    return short, short.replace(" Inc.", " Incorporated")


def make_facts(seed: int, symbol: str, price: float | None = None) -> SymbolFacts:
    """The facts for ``symbol``: drawn from ``Random(f"{seed}:{symbol}")``; ``price`` overrides."""
    rng = random.Random(f"{seed}:{symbol}")
    qt = quote_type_of(symbol)
    low, high = {"CURRENCY": (0.5, 2.0), "CRYPTOCURRENCY": (0.05, 90_000.0),
                 "INDEX": _index_range(symbol), "FUTURE": (20.0, 3_000.0),
                 "ETF": (20.0, 600.0), "MUTUALFUND": (8.0, 200.0)}.get(qt, (5.0, 900.0))
    drawn = math.exp(rng.uniform(math.log(low), math.log(high)))
    recorded = RECORDED_SEEDS.get(symbol.upper())
    if recorded is not None:  # near the recorded price, a little apart per seed
        drawn = recorded.price * random.Random(f"{seed}:{symbol}:recorded").uniform(0.98, 1.02)
    p = price if price is not None else round(drawn, _places(drawn))
    dp = _places(p)
    prev = round(p * rng.uniform(0.97, 1.03), dp)
    open_ = round(prev * rng.uniform(0.99, 1.01), dp)
    day = (_down(min(p, open_) * rng.uniform(0.985, 0.999), dp),
           _up(max(p, open_) * rng.uniform(1.001, 1.015), dp))
    week52 = (_down(day[0] * rng.uniform(0.6, 0.98), dp), _up(day[1] * rng.uniform(1.0, 1.5), dp))
    shares = max(1, int(math.exp(rng.uniform(math.log(2e8), math.log(3e12))) / p))
    volume = 0 if qt in ("CURRENCY", "MUTUALFUND") else int(math.exp(rng.uniform(11.5, 18.4)))
    listing = shapes.LISTINGS[qt]
    suffix = "." + symbol.rsplit(".", 1)[-1] if "." in symbol else ""
    if qt in ("EQUITY", "ETF", "MUTUALFUND") and suffix in shapes.SUFFIX_LISTINGS:
        listing = shapes.SUFFIX_LISTINGS[suffix]
    currency = listing.currency
    if qt == "CURRENCY":
        currency = symbol[3:6] if len(symbol) == 8 else symbol[:3]
    elif qt == "CRYPTOCURRENCY":
        currency = symbol.partition("-")[2]
    div_yield = round(rng.uniform(0.001, 0.05 if qt == "EQUITY" else 0.03), 4)
    eps = tuple(max(0.01, round(p / rng.uniform(8, pe_high), 2)) for pe_high in (60, 45))
    t_mean = round(p * rng.uniform(0.9, 1.35), 2)
    t_median = round(t_mean * rng.uniform(0.96, 1.04), 2)
    targets = (round(min(t_mean, t_median) * rng.uniform(0.55, 0.9), 2), t_mean, t_median,
               round(max(t_mean, t_median) * rng.uniform(1.1, 1.5), 2))
    facts = SymbolFacts(
        symbol=symbol, quote_type=qt, listing=listing, currency=currency,
        names=_names(symbol, qt, _word(rng)), price=p, previous_close=prev, open=open_,
        day_range=day, week52_range=week52,
        averages=(round(p * rng.uniform(0.9, 1.1), dp + 2),
                  round(p * rng.uniform(0.8, 1.2), dp + 2)),
        shares=shares, volumes=(volume, int(volume * rng.uniform(0.7, 1.3)),
                                int(volume * rng.uniform(0.7, 1.3))),
        dividend_yield=div_yield, dividend_rate=round(p * div_yield, 4),
        eps=(eps[0], eps[1]), book_value=round(p / rng.uniform(1, 15), dp + 1),
        beta=round(rng.uniform(0.3, 2.2), 3), sector=rng.choice(SECTORS), targets=targets,
        recommendation_mean=round(rng.uniform(1.2, 3.9), 4), analysts=rng.randrange(3, 55),
        employees=rng.randrange(200, 250_000),
        returns=(round(rng.uniform(-0.3, 0.6), 6), round(rng.uniform(-0.1, 0.15), 6)),
        first_trade_s=RECORDED_AT - rng.randrange(2, 40) * 365 * _DAY_S,
        ids=(f"finmb_{rng.randrange(10_000, 99_999_999)}",
             str(uuid.UUID(int=rng.getrandbits(128), version=4))),
    )
    if recorded is None:
        return facts
    return replace(facts, **anchored_fields(recorded, p, facts.day_range, dp))


def _index_range(symbol: str) -> tuple[float, float]:
    """Where an index's price is drawn: volatility indices (``^VIX``, ``^VX…``) in the tens,
    the others (``^GSPC``, ``^DJI``, ``^FTSE`` …) in the thousands."""
    return (9.0, 45.0) if symbol.upper().startswith(("^VIX", "^VX")) else (3_000.0, 30_000.0)
