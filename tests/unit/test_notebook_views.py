"""What a notebook shows: a one-line repr of an answer, HTML tables for answers and reports."""

from __future__ import annotations

from resilient_provider.errors import ProviderUnavailableError
from resilient_provider.result import DataSource, FetchResult
from resilient_provider.stats.report import (
    Alert,
    LatencyPercentiles,
    ProviderReport,
    ReliabilityReport,
    SourceCounts,
)
from resilient_provider.testing import make_info

DATA = {**make_info("AAPL"), **{f"field{i}": i for i in range(170)}}
LIVE = FetchResult(symbol="AAPL", source=DataSource.CACHE_STALE, data=DATA, provider="yfinance",
                   fetched_at=1_767_225_600.0, age_s=7_200.04, is_stale=True,
                   latency_ms=12.345, ticker="aapl")
FAILED = FetchResult(symbol="MSFT", source=DataSource.ERROR, latency_ms=3.21,
                     error=ProviderUnavailableError("<b>bad gateway</b> & more"))


def test_the_repr_is_one_short_line_with_the_tags_and_a_field_count() -> None:
    text = repr(LIVE)
    assert text == ("FetchResult(symbol='AAPL', ticker='aapl', source='cache_stale', "
                    "provider='yfinance', stale=True, age_s=7200.0, latency_ms=12.3, "
                    "error_code=None, fields=191)")
    assert "regularMarketPrice" not in text


def test_the_repr_of_a_failure_names_its_error_code() -> None:
    assert repr(FAILED) == ("FetchResult(symbol='MSFT', source='error', provider=None, "
                            "stale=False, age_s=None, latency_ms=3.2, "
                            "error_code='provider_unavailable', fields=0)")


def test_a_result_shows_as_an_html_table_of_tags_and_core_fields() -> None:
    page = LIVE._repr_html_()
    assert page.startswith("<table>") and "asked as &#x27;aapl&#x27;" in page
    assert "<td>cache_stale</td>" in page and "<td>2.0h</td>" in page
    assert f"<td>{DATA['regularMarketPrice']}</td>" in page
    assert "field12" not in page  # the core fields only


def test_html_escapes_what_a_source_sent() -> None:
    page = FAILED._repr_html_()
    assert "<b>" not in page and "&lt;b&gt;bad gateway&lt;/b&gt; &amp; more" in page


def test_a_reliability_report_shows_as_html_tables() -> None:
    report = ReliabilityReport(
        "run-1", sources=SourceCounts(primary=3, fallback=1),
        providers={"yfinance": ProviderReport(calls=5, successes=3, not_found=1,
                                              failures={"timeout": 1},
                                              latency=LatencyPercentiles(120.0, 480.0, 500.0))},
        alerts=(Alert("error_rate", "errors <above> 10%", 12.0, 10.0),))
    page = report._repr_html_()
    assert "ReliabilityReport run-1: 4 requests" in page
    assert "<td>primary</td><td>3</td><td>75.0%</td>" in page
    # not-found look-ups apart from failures (and out of the success rate: 3 of 4)
    assert ("<td>yfinance</td><td>5</td><td>3</td><td>75.0%</td><td>1</td><td>0</td>"
            "<td>120 ms</td>"
            "<td>480 ms</td><td>-</td><td>timeout 1</td>") in page
    assert "errors &lt;above&gt; 10%" in page
