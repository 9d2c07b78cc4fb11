"""yfinance's own cookie cache unpickles what it finds: our adapter must never read (or write) it.

yfinance stores its cookie as a pickle in ``<user cache dir>/py-yfinance/cookies.db`` and loads
it on its first request. The payload here is planted the way any process able to write that
directory could plant it (through yfinance's own cache module, in another process), then a
façade asks for a ticker through the real yfinance code over the fake Yahoo, in a process whose
user cache dir is the planted one. Both run in child processes: yfinance fixes the location when
it is imported.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from resilient_provider.testing import FakeYahooServer

PLANT = """
import pickle, sys
from yfinance import cache

class Payload:
    def __reduce__(self):
        return (exec, ("open(%r, 'w').write('the planted pickle ran')" % sys.argv[1],))

cache.get_cookie_cache().store("curlCffi", Payload())
print(cache._CookieDBManager.get_location())
"""

FETCH = """
import sys
from resilient_provider import ResilientProvider, Settings

settings = Settings(providers=[{"name": "yfinance", "options": {"base_url": sys.argv[1]}}],
                    cache={"path": sys.argv[2]})
with ResilientProvider(settings=settings) as facade:
    print(facade.get_ticker_info("AAPL")["_data_source"])
"""


def run_python(code: str, *args: str, home: Path) -> str:
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def planted_rows(cookies_db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(cookies_db) as db:
        return list(db.execute("SELECT * FROM _cookieschema"))


def test_a_pickle_planted_in_yfinances_cookie_cache_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "planted-pickle-ran"
    location = Path(run_python(PLANT, str(marker), home=tmp_path))
    cookies_db = location / "cookies.db"
    assert location.is_relative_to(tmp_path) and cookies_db.is_file()  # where yfinance looks
    assert not marker.exists()  # planting it did not run it
    before = planted_rows(cookies_db)
    with FakeYahooServer(seed=3) as yahoo:
        source = run_python(FETCH, yahoo.base_url, str(tmp_path / "rp-cache"), home=tmp_path)
        cookie_requests = yahoo.count("cookie")
    assert not marker.exists(), "the planted pickle ran"
    assert source == "primary"  # yfinance itself answered: its cookie code path ran
    assert cookie_requests >= 1  # ... and fetched the cookie instead of loading the cache
    assert planted_rows(cookies_db) == before  # nor was the cache written
