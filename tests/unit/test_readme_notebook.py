"""The README's notebook example (a 30-symbol portfolio, market-cap weights) runs as written,
read from README.md so the docs cannot drift: against the fake Yahoo with the real adapters,
once with Yahoo up and once with every source down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from resilient_provider.frame_schema import FRAME_SCHEMA
from resilient_provider.testing import FakeYahooServer, Fault
from tests.conftest import write_fake_yahoo_config
from tests.unit.test_readme_examples import python_block_after

HEADING = "#### In a notebook: market-cap weights of a portfolio"


def run_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
                down: bool) -> dict[str, Any]:
    """The README block's variables after it ran against a fake Yahoo (every route 503 when
    ``down``; the cache is a fresh memory cache, so nothing can answer then)."""
    namespace: dict[str, Any] = {}
    with FakeYahooServer(seed=4) as yahoo:
        if down:
            yahoo.inject(Fault.server_error(503))
        write_fake_yahoo_config(tmp_path, yahoo.base_url, timeout_s=5)
        monkeypatch.chdir(tmp_path)
        exec(python_block_after(HEADING), namespace)
    return namespace


def test_the_example_portfolio_has_30_symbols() -> None:
    namespace: dict[str, Any] = {}
    code = python_block_after(HEADING)
    exec(code[:code.index("with ResilientProvider")], namespace)  # only the portfolio
    assert len(namespace["shares"]) == 30


def test_the_notebook_example_weights_the_portfolio_by_market_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    found = run_example(tmp_path, monkeypatch, down=False)
    frame: pd.DataFrame = found["frame"]
    weights: pd.Series[Any] = found["weights"]
    assert len(frame) == 30 and set(frame["_data_source"]) == {"primary"}
    assert abs(float(weights.sum()) - 1.0) < 1e-9 and bool((weights > 0).all())
    assert str(frame["regularMarketTime"].dtype) == "datetime64[ns, UTC]"
    out = capsys.readouterr().out
    assert "weight" in out and "{'primary': 30}" in out


def test_the_notebook_example_runs_when_every_source_is_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    found = run_example(tmp_path, monkeypatch, down=True)
    frame: pd.DataFrame = found["frame"]
    assert len(frame) == 30 and set(frame["_data_source"]) == {"error"}
    assert list(frame.columns) == list(FRAME_SCHEMA)  # the shape holds in the outage
    assert {str(frame[c].dtype) for c in ("marketCap", "regularMarketVolume")} == {"Int64"}
    assert list(found["weights"]) == [0.0] * 30
    assert "{'error': 30}" in capsys.readouterr().out
