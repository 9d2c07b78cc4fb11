"""Reliability statistics: counted in process, kept in a SQLite store, read after the run.

- :mod:`.counters`: :class:`ReliabilityStats`, the thread-safe counters of one façade run;
- :mod:`.histogram`: fixed-bucket latency histograms that add up across processes;
- :mod:`.store`: :class:`StatsStore`, runs and their counters in SQLite, read back as reports;
- :mod:`.flusher`: writes a running façade's counters to the store every interval and at exit;
- :mod:`.alerts`: thresholds on a report, raised once per window;
- :mod:`.export`: a report as a pandas frame or Prometheus metrics; :mod:`.plot`: as charts.

A *report* is a :class:`ReliabilityReport` (:meth:`ReliabilityStats.snapshot`), whether read
live or from the store; its ``to_dict()`` is what ``ResilientProvider.get_reliability_stats()``
returns.
"""

from .counters import BreakerView, ReliabilityStats
from .report import ReliabilityReport, percentile

__all__ = ["BreakerView", "ReliabilityReport", "ReliabilityStats", "percentile"]
