"""The shapes of Yahoo's answers: which keys each quoteSummary module and v7 entry carries.

Read off real recorded responses (quoteSummary with ``formatted=false`` and v7 quote, 2025) per
quote type. Each entry is ``key:type`` with Yahoo's JSON type: f number, i integer, s string,
b bool, n null (Yahoo sends null there for that quote type), l list. Also here: Yahoo's names
for quote types and listings (exchange codes, currencies, time zones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Well-known ETFs answered as quoteType ETF (any other plain symbol is an EQUITY).
ETFS = frozenset({"SPY", "QQQ", "IWM", "VTI", "VOO", "DIA", "EFA", "EEM", "GLD", "TLT", "XLK",
                  "XLF", "VEA", "AGG", "BND", "ARKK"})
CRYPTO_SYMBOL = re.compile(r"^[A-Z0-9]+-(USD|EUR|GBP|USDT|BTC|ETH)$")

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
# Read off 0P000071W8.TO (a Canadian mutual fund): no intraday prices, addresses only.
_FUND_PROFILE = ("address1:s address2:s address3:s phone:s companyOfficers:l executiveTeam:l "
                 "maxAge:i")
TEMPLATES["MUTUALFUND"] = {
    "price": "maxAge:i regularMarketChangePercent:f regularMarketChange:f regularMarketTime:i "
             "priceHint:i regularMarketPrice:f averageDailyVolume10Day:i "
             "averageDailyVolume3Month:i regularMarketPreviousClose:f regularMarketSource:s "
             f"{_PRICE_TAIL}",
    "summaryDetail": "maxAge:i priceHint:i previousClose:f regularMarketPreviousClose:f "
                     "averageVolume:i averageVolume10days:i averageDailyVolume10Day:i yield:f "
                     f"ytdReturn:f {_SD_RANGE} {_SD_TAIL}",
    "defaultKeyStatistics": "maxAge:i priceHint:i morningStarOverallRating:i "
                            "morningStarRiskRating:i category:n annualReportExpenseRatio:f "
                            "ytdReturn:f beta3Year:f fundFamily:n fundInceptionDate:i "
                            "legalType:n lastSplitFactor:n lastDividendValue:f "
                            "annualHoldingsTurnover:f latestShareClass:n leadInvestor:n",
    "assetProfile": _FUND_PROFILE,
    "summaryProfile": _FUND_PROFILE,
    "quoteType": _QUOTE_TYPE.replace("messageBoardId:s ", ""),
}


def _without(spec: str, *keys: str) -> str:
    """``spec`` minus the entries for ``keys``."""
    return " ".join(item for item in spec.split() if item.rsplit(":", 1)[0] not in keys)


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
    "EQUITY": f"{_V7_HEAD} {_V7_MARKET} dividendDate:i earningsTimestamp:i "
              "earningsTimestampStart:i earningsTimestampEnd:i earningsCallTimestampStart:i "
              "earningsCallTimestampEnd:i isEarningsDateEstimate:b dividendRate:f "
              "epsForward:f epsCurrentYear:f priceEpsCurrentYear:f forwardPE:f "
              "averageAnalystRating:s displayName:s",
    "ETF": f"{_V7_HEAD} {_V7_MARKET} ytdReturn:f trailingThreeMonthReturns:f "
           "trailingThreeMonthNavReturns:f netAssets:i netExpenseRatio:f",
    "CURRENCY": f"{_V7_HEAD} bid:f ask:f bidSize:i askSize:i",
    # GC=F: a continuous contract names the front month it follows.
    "FUTURE": f"{_without(_V7_HEAD, 'longName', 'messageBoardId')} bid:f ask:f bidSize:i "
              "askSize:i openInterest:i expireDate:i expireIsoDate:s headSymbolAsString:s "
              "contractSymbol:b underlyingSymbol:s underlyingExchangeSymbol:s",
    # ^VXAPL: no averages or 52-week changes in its v7 entry.
    "INDEX": _without(_V7_HEAD, "averageDailyVolume3Month", "averageDailyVolume10Day",
                      "fiftyTwoWeekLowChangePercent", "fiftyTwoWeekHighChangePercent",
                      "fiftyTwoWeekChangePercent", "fiftyDayAverage", "fiftyDayAverageChange",
                      "fiftyDayAverageChangePercent", "twoHundredDayAverage",
                      "twoHundredDayAverageChange", "twoHundredDayAverageChangePercent",
                      "firstTradeDateMilliseconds") + " bid:f ask:f bidSize:i askSize:i",
    "CRYPTOCURRENCY": f"{_V7_HEAD} circulatingSupply:i lastMarket:s volume24Hr:i "
                      "volumeAllCurrencies:i fromCurrency:s toCurrency:s coinMarketCapLink:s "
                      "startDate:i coinImageUrl:s logoUrl:s marketCap:i",
    # 0P000071W8.TO: no intraday prices, a dividend in percent, returns in percent.
    "MUTUALFUND": _without(_V7_HEAD, "messageBoardId", "regularMarketDayHigh",
                           "regularMarketDayRange", "regularMarketDayLow",
                           "regularMarketVolume", "regularMarketOpen")
                  + " dividendRate:f dividendYield:f ytdReturn:f trailingThreeMonthReturns:f",
}

#: Yahoo's typeDisp per quoteType.
TYPE_DISP = {"EQUITY": "Equity", "ETF": "ETF", "MUTUALFUND": "Fund", "CURRENCY": "Currency",
             "FUTURE": "Futures", "INDEX": "Index", "CRYPTOCURRENCY": "Cryptocurrency"}
#: price.currencySymbol per currency.
CURRENCY_SIGNS = {"USD": "$", "CAD": "$", "EUR": "€", "GBp": "£", "JPY": "¥", "NOK": "kr",
                  "TRY": "₺"}


@dataclass(frozen=True)
class Listing:
    """Where a symbol trades: exchange, currency, time zone (Yahoo's names for them)."""

    exchange: str
    exchange_name: str
    currency: str
    tz_name: str
    tz_short: str
    gmt_offset_ms: int
    market: str
    country: str = "United States"


_NEW_YORK = ("America/New_York", "EST", -18_000_000, "us_market")
#: The listing per quote type (US unless a suffix says otherwise).
LISTINGS = {
    "EQUITY": Listing("NMS", "NasdaqGS", "USD", *_NEW_YORK),
    "ETF": Listing("NGM", "NasdaqGM", "USD", *_NEW_YORK),
    "MUTUALFUND": Listing("NAS", "Nasdaq", "USD", *_NEW_YORK),
    "CURRENCY": Listing("CCY", "CCY", "USD", "Europe/London", "GMT", 0, "ccy_market"),
    "FUTURE": Listing("CMX", "COMEX", "USD", "America/New_York", "EST", -18_000_000,
                      "us24_market"),
    "INDEX": Listing("CXI", "Cboe Indices", "USD", *_NEW_YORK),
    "CRYPTOCURRENCY": Listing("CCC", "CCC", "USD", "UTC", "UTC", 0, "ccc_market"),
}
#: Listings outside the US, by symbol suffix (stocks and funds).
SUFFIX_LISTINGS = {
    ".L": Listing("LSE", "LSE", "GBp", "Europe/London", "GMT", 0, "gb_market", "United Kingdom"),
    ".TO": Listing("TOR", "Toronto", "CAD", "America/Toronto", "EST", -18_000_000, "ca_market",
                   "Canada"),
    ".DE": Listing("GER", "XETRA", "EUR", "Europe/Berlin", "CET", 3_600_000, "de_market",
                   "Germany"),
    ".PA": Listing("PAR", "Paris", "EUR", "Europe/Paris", "CET", 3_600_000, "fr_market", "France"),
    ".OL": Listing("OSL", "Oslo", "NOK", "Europe/Oslo", "CET", 3_600_000, "no_market", "Norway"),
    ".IS": Listing("IST", "Istanbul", "TRY", "Europe/Istanbul", "TRT", 10_800_000, "tr_market",
                   "Turkey"),
    ".T": Listing("JPX", "Tokyo", "JPY", "Asia/Tokyo", "JST", 32_400_000, "jp_market", "Japan"),
}
