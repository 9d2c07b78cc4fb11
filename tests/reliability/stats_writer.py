"""A child process that counts requests into a statistics store, for the reliability tests.

``python -m tests.reliability.stats_writer STORE COUNT FLUSH_INTERVAL_S [--hang | --no-close]``
runs COUNT requests through a façade over a scripted provider, prints ``run <id>`` then
``done``, and closes the façade and exits; with ``--hang`` it first waits for its stdin to close
(to be killed meanwhile), with ``--no-close`` it exits without closing the façade.
"""

from __future__ import annotations

import sys

from resilient_provider import ResilientProvider, Settings
from resilient_provider.testing import ScriptedProvider


def main() -> None:
    path, count, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    settings = Settings(providers=[], cache={"backend": "memory"},
                        provider_defaults={"rate_limit_per_s": 0},
                        stats={"path": path, "flush_interval_s": interval})
    provider = ResilientProvider([ScriptedProvider("scripted")], settings=settings)
    print(f"run {provider.run_id}", flush=True)
    for index in range(count):
        provider.fetch(f"S{index % 50}")
    print("done", flush=True)
    if "--hang" in sys.argv:
        sys.stdin.read()  # killed here
    if "--no-close" not in sys.argv:
        provider.close()


if __name__ == "__main__":
    main()
