"""The statistics stores this user's runs wrote, so that a bare ``resilient-provider stats``
finds a run whatever configuration wrote it.

By default every run writes the one store in the user's state directory
(:func:`~resilient_provider.config.monitoring.default_stats_path`). A configuration with its
own ``stats.path`` writes elsewhere; such a path is remembered in ``stores.json`` beside the
default store, and ``stats`` without ``--config`` reads the known store holding the latest run.

The list is best-effort bookkeeping: a failure to read or write it is logged at DEBUG and never
stops a run; entries that are not strings, or no longer files, are skipped. It holds file paths
only (no secrets), in a file readable by this user alone.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from ..config.monitoring import default_stats_path
from ..logs import get_logger
from ..private_files import make_private_dirs

log = get_logger(__name__)

#: The registry's file name, beside the default store.
REGISTRY_NAME = "stores.json"

#: The most store paths remembered (the latest written first).
MAX_REMEMBERED = 50

_lock = threading.Lock()


def registry_path() -> Path:
    """Where the list of stores lives: beside the user's default store."""
    return default_stats_path().parent / REGISTRY_NAME


def remember(path: str | os.PathLike[str]) -> None:
    """Note that a run writes the store at ``path`` (nothing to note for the default one)."""
    store = Path(path).expanduser().resolve()
    default = default_stats_path()
    if store == default.expanduser().resolve():
        return
    with _lock:
        try:
            # Stores gone since (a demo's temporary one) are dropped on the way.
            paths = [p for p in _read() if p != str(store) and Path(p).is_file()]
            _write([str(store), *paths][:MAX_REMEMBERED])
        except OSError as exc:
            log.debug("could not note the statistics store %s in %s: %s", store,
                      registry_path(), exc)


def known_stores() -> list[Path]:
    """The user's default store and the remembered ones, those that exist as files."""
    candidates = [default_stats_path(), *(Path(p) for p in _read())]
    seen: set[str] = set()
    found = []
    for candidate in candidates:
        key = str(candidate.expanduser().resolve())
        if key not in seen and candidate.is_file():
            seen.add(key)
            found.append(candidate)
    return found


def _read() -> list[str]:
    try:
        loaded = json.loads(registry_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.debug("ignoring the list of statistics stores %s: %s", registry_path(), exc)
        return []
    entries = loaded.get("stores") if isinstance(loaded, dict) else None
    return [p for p in entries if isinstance(p, str)] if isinstance(entries, list) else []


def _write(paths: list[str]) -> None:
    """Replace the list whole (a temporary file renamed over it), readable by this user only."""
    target = registry_path()
    make_private_dirs(target.parent)
    handle, temporary = tempfile.mkstemp(prefix=".stores-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"stores": paths}, out, indent=1)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
