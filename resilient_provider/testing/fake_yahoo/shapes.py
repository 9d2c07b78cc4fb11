"""The shapes of Yahoo's answers: which keys each quoteSummary module and v7 entry carries.

Read off real recorded responses (quoteSummary with ``formatted=false`` and v7 quote, 2025) per
quote type. Each entry is ``key:type`` with Yahoo's JSON type: f number, i integer, s string,
b bool, n null (Yahoo sends null there for that quote type), l list.
"""

from __future__ import annotations

import re

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
