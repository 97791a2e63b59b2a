"""Personal data encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``FRONTDESK_DATA_KEY``. On the embedded default, when no key is set, one is
generated into the data folder on first run (with a warning): losing that file loses the data.
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

    def encrypt(self, text: str) -> str:
        return self._f.encrypt(text.encode("utf-8")).decode("ascii")

    def digest(self, text: str) -> str:
        """A keyed hash (HMAC-SHA256 under a key derived from the data key): equal inputs can be found
        by lookup without the value itself being readable or guessable from the table."""
        return hmac.new(self._mac_key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def decrypt(self, token: str) -> str:
        try:
            return self._f.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise ValueError("encrypted field cannot be read with this FRONTDESK_DATA_KEY") from exc


def load_key(env_key: str | None, data_dir: Path) -> bytes:
    if env_key:
        return env_key.encode()
    path = data_dir / "data.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    log.warning("generated a data encryption key at %s; set FRONTDESK_DATA_KEY in production and keep a "
                "copy of this key: without it the encrypted client data cannot be read", path)
    return key
