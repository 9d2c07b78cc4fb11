"""What the commands draw: one table style everywhere, whole words in the health detail, plurals."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import resilient_provider.cli.render as render
from resilient_provider.cli import main
from resilient_provider.cli.render import plural, write_health_table
from resilient_provider.cli.stats import write_stats_table
from resilient_provider.health import CheckResult, HealthReport
from resilient_provider.testing import FakeYahooServer, ScriptedProvider, make_info
from tests.conftest import MakeFacade, write_fake_yahoo_config

URL = "https://query2.finance.yahoo.com/v10/finance/quoteSummary/SPY?modules=price,summaryDetail"


def health_report() -> HealthReport:
    return HealthReport(checks=(
        CheckResult("yfinance", "provider", False, 1234.0,
                    f"Yahoo answered HTTP 429 Too Many Requests for {URL} after 3 tries",
                    "rate_limited"),
        CheckResult("cache", "cache", True, 1.0, "diskcache round trip ok")),
        probe_symbol="SPY", checked_at=0.0)


@pytest.mark.parametrize("width", [60, 80, 100])
def test_the_health_detail_is_never_cut_inside_a_word(width: int) -> None:
    stream = io.StringIO()
    write_health_table(health_report(), stream, width=width)
    out = stream.getvalue()
    assert URL in out  # whole, on a line of its own if it must be
    words = " ".join(out.split())
    assert "Yahoo answered HTTP 429 Too Many Requests for" in words
    assert "after 3 tries" in words and "overall: down (probe symbol SPY)" in out


def test_a_health_detail_that_fits_stays_in_its_column() -> None:
    stream = io.StringIO()
    write_health_table(health_report(), stream, width=200)
    assert re.search(r"^yfinance +provider +down +1234 ms +rate_limited: Yahoo answered",
                     stream.getvalue(), re.MULTILINE)


@pytest.mark.parametrize(("count", "text"), [(0, "0 symbols"), (1, "1 symbol"),
                                             (2, "2 symbols"), (1234, "1,234 symbols")])
def test_plural(count: int, text: str) -> None:
    assert plural(count, "symbol") == text


def test_stats_say_1_request(make_facade: MakeFacade) -> None:
    facade = make_facade(ScriptedProvider("p", {"AAPL": make_info("AAPL")}))
    facade.fetch("AAPL")
    stream = io.StringIO()
    write_stats_table(facade.reliability_report(), [], stream)
    assert re.search(r"^1 request$", stream.getvalue(), re.MULTILINE)
    assert "1 requests" not in stream.getvalue()


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every table drawn through the house helper."""
    made: list[Any] = []
    original = render.house_table

    def spy(**kwargs: Any) -> Any:
        table = original(**kwargs)
        made.append(table)
        return table

    monkeypatch.setattr(render, "house_table", spy)
    yield made


def test_every_command_draws_its_tables_in_the_one_house_style(
    tables: list[Any], tmp_path: Path, make_facade: MakeFacade,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeYahooServer(seed=8) as yahoo:
        assert main(["info", "AAPL", "--config", write_fake_yahoo_config(tmp_path,
                                                                         yahoo.base_url)]) == 0
    assert len(tables) == 1
    write_health_table(health_report(), io.StringIO())
    assert len(tables) == 2
    facade = make_facade(ScriptedProvider("p", {"AAPL": make_info("AAPL")}))
    facade.fetch("AAPL")
    write_stats_table(facade.reliability_report(), [], io.StringIO())
    assert len(tables) > 3  # one per section
    drawn = len(tables)
    assert main(["demo"]) == 0
    assert len(tables) > drawn + 1  # the answers, then the statistics' sections
    for table in tables:
        assert (table.box, table.header_style, table.pad_edge) == (None, "bold", False)
    assert "-----" not in capsys.readouterr().out  # the demo's old hand-made rule is gone
