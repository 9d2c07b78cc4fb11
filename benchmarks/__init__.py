"""Benchmarks: each prints its figures and the ratios measured side by side in one run.

Run them all with ``python -m benchmarks`` (``--quick`` for a smaller, noisier pass).
"""
