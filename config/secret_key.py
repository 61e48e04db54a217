"""
The development SECRET_KEY: random per install, kept in a file under INKROOM_VAR_DIR.

With DEBUG on and no SECRET_KEY, Inkroom used a fixed key written in the source, so anyone could
sign a socket ticket for any user id of a reachable DEBUG server and open that user's boards
(issue 15, finding 12). Now the first process to start creates `<var dir>/secret_key` with 64
random bytes (0600, its directory 0700 when we create it) and every later process of the install
(`manage.py`, `make run`'s server) reads the same file, so sessions and tickets survive restarts
and are shared between the processes. Production (DEBUG off) still has to set SECRET_KEY.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

#: The file name under the var directory.
KEY_FILE_NAME = "secret_key"
#: Shortest key accepted from the file; Django's own check (security.W009) wants 50 characters.
MIN_KEY_CHARS = 50


def development_secret_key(var_dir: Path) -> str:
    """
    Return the key stored in `var_dir`/secret_key, creating the file first if it is missing.

    Creation is atomic: the key is written to a private temporary file and hard-linked into
    place, so processes starting together agree on one key and none reads a half-written file.
    """
    path = var_dir / KEY_FILE_NAME
    if not path.exists():
        try:
            _create(path)
        except OSError as error:
            raise ImproperlyConfigured(
                f"Cannot create the development key {path} ({error.strerror}); set SECRET_KEY "
                "or point INKROOM_VAR_DIR at a writable directory."
            ) from error
    return _read(path)


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(64) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: all use its key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Anyone who can read the key can sign tickets and sessions for every user.
        raise ImproperlyConfigured(
            f"{path} is accessible to other users (mode {stat.filemode(mode)}); "
            f"run `chmod 600 {path}` or delete it to get a new key."
        )
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS:
        raise ImproperlyConfigured(f"{path} holds no usable key; delete it to get a new one.")
    return key
