"""Charts of stored runs: a PNG with the source mix per run and latency over time."""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from resilient_provider.result import DataSource
from resilient_provider.stats import ReliabilityReport, ReliabilityStats
from resilient_provider.stats.plot import PLOT_INSTALL, plot_runs
from resilient_provider.testing import FakeClock

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_report(clock: FakeClock, primary: int, fallback: int, error: int) -> ReliabilityReport:
    stats = ReliabilityStats(clock=clock)
    stats.record_request(DataSource.PRIMARY, primary)
    stats.record_request(DataSource.FALLBACK, fallback)
    stats.record_request(DataSource.ERROR, error)
    stats.record_call("yf", latency_ms=120.0, successes=primary, failures={"timeout": fallback})
    return stats.snapshot({})


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_runs_writes_a_png_of_both_panels(tmp_path: Path, clock: FakeClock) -> None:
    pytest.importorskip("matplotlib")
    reports = []
    timeline = []
    for index, (primary, fallback, p50) in enumerate([(50, 1, 120.0), (20, 30, 900.0), (49, 2, 130.0)]):
        reports.append(run_report(clock, primary, fallback, error=index))
        for minute in range(5):
            at = clock() + 60 * minute
            timeline.append({"at": at, "run_id": reports[-1].run_id, "provider": "yf",
                             "calls": primary + fallback, "failures": fallback,
                             "p50_ms": p50, "p95_ms": p50 * 2.5})
            timeline.append({"at": at, "run_id": reports[-1].run_id, "provider": "yq",
                             "calls": fallback, "failures": 0, "p50_ms": 400.0, "p95_ms": None})
        clock.advance(3600)
    path = plot_runs(reports, timeline, tmp_path / "runs.png")
    assert path == tmp_path / "runs.png"
    width, height = png_size(path)
    assert width >= 800 and height >= 600
    assert path.stat().st_size > 20_000  # two drawn panels, not a blank canvas


def test_plot_runs_without_runs_or_samples_still_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_runs([], [], tmp_path / "empty.png")
    assert png_size(path)[0] > 0


def test_plot_runs_without_matplotlib_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # None: the import fails
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'resilient-provider\[plot\]'"):
        plot_runs([run_report(clock, 1, 0, 0)], [], tmp_path / "never.png")
    assert "resilient-provider[plot]" in PLOT_INSTALL
    assert not (tmp_path / "never.png").exists()


def test_the_upstream_panel_shows_requests_per_symbol_and_the_429_share_per_run(
        clock: FakeClock) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from resilient_provider.stats.plot import _draw_upstreams
    from resilient_provider.stats.upstream_report import UpstreamReport

    calm = run_report(clock, 50, 0, 0).with_upstreams({"yahoo": UpstreamReport(
        name="yahoo", requests_by_route={"quoteSummary": 50, "quote": 2, "crumb": 1},
        requests_by_provider={"yf": 53})})
    throttled = run_report(clock, 40, 0, 0).with_upstreams({"yahoo": UpstreamReport(
        name="yahoo", requests_by_route={"quoteSummary": 70, "quote": 10},
        requests_by_provider={"yf": 80}, rate_limited=20)})
    ax = Figure().subplots()
    _draw_upstreams(ax, [calm, throttled])
    from matplotlib.patches import Rectangle

    heights = [patch.get_height() for patch in ax.patches if isinstance(patch, Rectangle)]
    assert heights == pytest.approx([53 / 50, 80 / 40])
    (twin,) = [other for other in ax.figure.axes if other is not ax]
    offsets: Any = twin.collections[0].get_offsets()
    shares = [float(point[1]) for point in offsets]
    assert shares == pytest.approx([0.0, 25.0])


def test_the_upstream_panel_says_when_no_run_sent_requests(clock: FakeClock) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from resilient_provider.stats.plot import _draw_upstreams

    ax = Figure().subplots()
    _draw_upstreams(ax, [run_report(clock, 5, 0, 0)])
    assert [text.get_text() for text in ax.texts] == ["no upstream requests recorded"]
