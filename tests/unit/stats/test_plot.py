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


# --- readability: labels that fit, bars by n, plain numbers, failures apart --------------------


def runs_of(clock: FakeClock, sizes: list[int]) -> list[ReliabilityReport]:
    reports = []
    for size in sizes:
        reports.append(run_report(clock, size, 0, 0))
        clock.advance(600)
    return reports


def panel(figure: Any, title_start: str) -> Any:
    (found,) = [ax for ax in figure.axes if ax.get_title(loc="left").startswith(title_start)]
    return found


def overlapping(boxes: list[Any]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


@pytest.mark.parametrize("runs", [3, 12, 60, 150])
def test_run_labels_and_n_notes_never_overlap(clock: FakeClock, runs: int) -> None:
    pytest.importorskip("matplotlib")
    from resilient_provider.stats.plot import MAX_RUN_LABELS, draw_runs

    reports = runs_of(clock, [10 + i for i in range(runs)])
    figure = draw_runs(reports, [])
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    mix = panel(figure, "Where answers came from")
    labels = [t for t in mix.get_xticklabels() if t.get_text()]
    assert 0 < len(labels) <= MAX_RUN_LABELS
    assert all(len(line) <= 18 for t in labels for line in t.get_text().splitlines())
    assert not [r.run_id for r in reports for t in labels if r.run_id in t.get_text()]  # short
    assert overlapping([t.get_window_extent(renderer) for t in labels]) == []
    notes = [t for t in mix.texts if t.get_text().startswith("n=")]
    assert len(notes) == len(labels)
    assert overlapping([t.get_window_extent(renderer) for t in notes]) == []
    axes_box = mix.get_window_extent(renderer)
    assert all(axes_box.contains(*t.get_window_extent(renderer).p1) for t in notes)


def test_a_run_of_3_requests_does_not_look_like_a_run_of_3000(clock: FakeClock) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.patches import Rectangle

    from resilient_provider.stats.plot import draw_runs

    figure = draw_runs(runs_of(clock, [3, 3000]), [])
    mix = panel(figure, "Where answers came from")
    primary = [p for p in mix.patches if isinstance(p, Rectangle) and p.get_height() > 0]
    small, large = sorted(primary, key=lambda p: p.get_x())
    assert small.get_width() < large.get_width() / 3
    assert sorted(t.get_text() for t in mix.texts) == ["n=3", "n=3,000"]


def test_axes_are_labelled_in_plain_numbers_not_powers_of_ten(clock: FakeClock) -> None:
    pytest.importorskip("matplotlib")
    from resilient_provider.stats.plot import draw_runs

    reports = runs_of(clock, [50])
    timeline = [{"at": clock() + 10 * i, "run_id": reports[0].run_id, "provider": "yf",
                 "calls": 5, "failures": 0, "p50_ms": 5.0 * 3 ** i, "p95_ms": 9.0 * 3 ** i}
                for i in range(7)]  # 5 ms .. 3.6 s: a log axis
    figure = draw_runs(reports, timeline)
    figure.canvas.draw()
    latency = panel(figure, "Latency of answered calls")
    assert latency.get_yscale() == "log"
    shown = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels() if t.get_text()]
    assert shown and not [s for s in shown if any(c in s for c in "$×^e")]
    assert {"10", "100", "1,000"} <= {t.get_text() for t in latency.get_yticklabels()}
    assert [t.get_text() for t in latency.get_yticklabels(minor=True) if t.get_text()] == []


def test_failed_look_ups_are_drawn_as_failures_not_as_latency(clock: FakeClock) -> None:
    pytest.importorskip("matplotlib")
    from resilient_provider.stats.plot import draw_runs

    reports = runs_of(clock, [30])
    start = clock()
    timeline = [
        {"at": start, "run_id": reports[0].run_id, "provider": "yf", "calls": 10,
         "failures": 0, "p50_ms": 300.0, "p95_ms": 450.0},
        # Yahoo refusing connections: every look-up failed, no answered call to time.
        {"at": start + 10, "run_id": reports[0].run_id, "provider": "yf", "calls": 10,
         "failures": 10, "p50_ms": None, "p95_ms": None},
        {"at": start + 20, "run_id": reports[0].run_id, "provider": "yf", "calls": 10,
         "failures": 2, "p50_ms": 320.0, "p95_ms": 480.0}]
    figure = draw_runs(reports, timeline)
    latency = panel(figure, "Latency of answered calls")
    plotted = [float(y) for line in latency.get_lines() if line.get_linestyle() != ":"
               for y in line.get_ydata()]
    assert [y for y in plotted if y == y] == [300.0, 320.0, 450.0, 480.0]  # NaN for the gap
    assert list(latency.collections) == []  # no failure marks on the latency scale
    failed = panel(figure, "Failed look-ups")
    from matplotlib.collections import PathCollection

    (marks,) = [c for c in failed.collections if isinstance(c, PathCollection)]
    offsets: Any = marks.get_offsets()
    assert [float(point[1]) for point in offsets] == [10.0, 2.0]
