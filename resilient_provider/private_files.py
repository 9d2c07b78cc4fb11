"""Directories and files only their owner can read: what the cache and statistics store live in.

Cached answers and run statistics say which tickers a user follows; another local user must
not read them, nor plant rows into them. So every directory we create is 0o700 and every file
0o600, set explicitly with ``chmod`` after creation, since the umask can only take bits away
(a umask of 0o022 gives 0o644 files; an odd one such as 0o277 would even leave the owner
without write access). Directories and files that already exist are left as they are: they
may be shared on purpose.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents, each user-only (0o700).

    Raises:
        OSError: a component exists as a file, or a parent is not writable.
    """
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise
            continue  # another process created it meanwhile: its creator set the mode
        os.chmod(path, PRIVATE_DIR_MODE)


def touch_private_file(path: Path) -> None:
    """Create ``path`` empty and user-only (0o600) unless it exists.

    SQLite creates its ``-wal`` and ``-shm`` files with the permissions of the database file,
    so creating the database this way first makes all three user-only.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
