"""Personal data encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``FRONTDESK_DATA_KEY``. On the embedded default, when no key is set, one is
generated on first run into ``settings.key_file`` (default ``keys/data.key``, outside the data folder,
0600 in a 0700 folder) with a warning: losing that file loses the data. Production refuses to start
without the environment variable.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)


class Cipher:
    def __init__(self, key: bytes | str) -> None:
        raw = key if isinstance(key, bytes) else key.encode()
        self._f = Fernet(raw)
        self._mac_key = hashlib.sha256(b"frontdesk-digest:" + raw).digest()

    def encrypt(self, data: str | bytes) -> str:
        """A token for text (or for its UTF-8 bytes, as a JSON encoder writes them)."""
        return self._f.encrypt(data if isinstance(data, bytes) else data.encode("utf-8")).decode("ascii")

    def digest(self, text: str) -> str:
        """A keyed hash (HMAC-SHA256 under a key derived from the data key): equal inputs can be found
        by lookup without the value itself being readable or guessable from the table."""
        return hmac.new(self._mac_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._f.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._f.decrypt(token)
        except InvalidToken as exc:
            raise ValueError("encrypted content cannot be read with this FRONTDESK_DATA_KEY") from exc

    def decrypt_raw(self, token: str) -> bytes:
        """The UTF-8 bytes of a field ``encrypt`` wrote (for a JSON parser that reads bytes)."""
        try:
            return self._f.decrypt(token.encode("ascii"))
        except InvalidToken as exc:
            raise ValueError("encrypted field cannot be read with this FRONTDESK_DATA_KEY") from exc

    def decrypt(self, token: str) -> str:
        return self.decrypt_raw(token).decode("utf-8")


def load_key(env_key: str | None, key_file: Path, legacy_dir: Path | None = None,
             production: bool = False) -> bytes:
    """The data key: ``FRONTDESK_DATA_KEY``, or (embedded default only) a generated key file.

    The key file lives outside the data folder it protects (default ``keys/data.key``), so a copy of
    the data folder alone cannot be read. A key left by older versions in ``<data_dir>/data.key`` is
    moved there once. In production the key must come from the environment.
    """
    if env_key:
        return env_key.encode()
    if production:
        raise RuntimeError("FRONTDESK_DATA_KEY is required in production (environment: production); "
                           "generate one with: python -c 'from cryptography.fernet import Fernet; "
                           "print(Fernet.generate_key().decode())'")
    path = key_file
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # mkdir's mode is masked by the umask and ignored for existing folders
    legacy = legacy_dir / "data.key" if legacy_dir is not None else None
    if not path.exists() and legacy is not None and legacy.exists():
        try:
            os.replace(legacy, path)
        except OSError:  # another file system
            _move(legacy, path)
        log.warning("moved the data encryption key from %s to %s: the key no longer sits beside the data "
                    "it protects; back the two up separately", legacy, path)
    if path.exists():
        os.chmod(path, 0o600)
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    log.warning("generated a data encryption key at %s; set FRONTDESK_DATA_KEY in production and keep a "
                "copy of this key apart from the database: without it the encrypted client data cannot "
                "be read", path)
    return key


def _move(src: Path, dst: Path) -> None:
    """Across file systems: write the copy 0600 first, then remove the original."""
    data = src.read_bytes()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    src.unlink()
