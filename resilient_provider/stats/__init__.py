"""Reliability statistics: counted in process, kept in a SQLite store, read after the run.

- :mod:`.counters`: :class:`ReliabilityStats`, the thread-safe counters of one façade run;
- :mod:`.histogram`: fixed-bucket latency histograms that add up across processes;
- :mod:`.report`: :class:`ReliabilityReport`, the typed report (frozen dataclasses) and its
  dict form; :mod:`.builder`: the one builder of reports, live or stored, from flat counters;
- :mod:`.store`: :class:`~.store.StatsStore`, runs and their counters in SQLite, read back as
  reports;
- :mod:`.recorder`: :class:`~.recorder.RunRecorder`, which writes a running façade's counters
  to the store every interval and at exit, and watches the alerts;
- :mod:`.alerts`: thresholds on a report, raised once per window;
- :mod:`.export`: a report as a pandas frame or Prometheus metrics; :mod:`.plot`: as charts.

A *report* is a :class:`ReliabilityReport`, whether read live
(``ResilientProvider.reliability_report()``) or from the store; its ``to_dict()`` is the
JSON-ready dict ``ResilientProvider.get_reliability_stats()`` returns.
"""

from .counters import BreakerView, ReliabilityStats
from .report import ReliabilityReport, percentile

__all__ = ["BreakerView", "ReliabilityReport", "ReliabilityStats", "percentile"]
