"""Files on cases: the bytes decide the type, limits refuse before anything is stored, and what is
stored is encrypted (the raw rows hold neither the picture nor its name)."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from sqlalchemy import func, select, text

from backend.api import Backend
from backend.orm import Attachment, Escalation
from backend.services import DomainError
from backend.services.attachments import Limits, sniff

MARKER = b"SECRET-PIXELS-OF-THE-BROKEN-VASE-4421"


def png(extra: bytes = MARKER) -> bytes:
    """A real (tiny) PNG with a private text chunk, so its bytes are recognisable in storage."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"note\x00" + extra)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 16
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 16
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 16
ZIP = b"PK\x03\x04" + b"\x00" * 40


def client(be: Backend, sender: str = "c1") -> int:
    return be.client_for("telegram", sender).id


def count(be: Backend) -> int:
    with be.db.read() as s:
        return s.scalar(select(func.count()).select_from(Attachment))


@pytest.mark.parametrize(("data", "kind"), [(png(), "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"),
                                            (PDF, "application/pdf"), (HEIC, "image/heic"), (MP4, "video/mp4"),
                                            (GIF, None), (ZIP, None), (b"", None), (b"hello", None)])
def test_the_bytes_say_what_a_file_is(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


def test_a_stored_file_comes_back_with_the_type_its_bytes_say(be: Backend) -> None:
    cid = client(be)
    data = png()
    # declared as a PDF and named with a path: the bytes decide the type, only the last name part stays
    aid = be.store_attachment(cid, "application/pdf", data, "../../etc/花瓶.png")
    meta, back = be.attachment(aid)
    assert back == data
    assert meta["content_type"] == "image/png" and meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["filename"] == "花瓶.png" and meta["client_id"] == cid and meta["case_id"] is None
    with pytest.raises(DomainError) as e:
        be.attachment(aid + 100)
    assert e.value.code == "attachment_not_found"


def test_limits_refuse_before_anything_is_stored(be: Backend) -> None:
    cid = client(be)
    be.attachment_limits = Limits(max_bytes=200, allowed_types=("image/jpeg", "image/png"))
    refused = [(png(b"x" * 300), "attachment_too_large"), (PDF, "attachment_type"), (GIF, "attachment_type"),
               (ZIP, "attachment_type"), (b"", "attachment_empty")]
    for data, code in refused:
        with pytest.raises(DomainError) as e:
            be.store_attachment(cid, "image/png", data, "x.png")  # a declared type never lets a file in
        assert e.value.code == code
        with pytest.raises(DomainError):
            be.check_attachment(data)
    assert count(be) == 0
    assert be.check_attachment(JPEG) == "image/jpeg"
    with pytest.raises(DomainError) as e:
        be.check_attachment(JPEG, declared_size=201)  # a channel's declared size, before downloading
    assert e.value.code == "attachment_too_large"
    be.store_attachment(cid, "image/jpeg", JPEG)
    assert count(be) == 1
    with pytest.raises(DomainError) as e:
        be.store_attachment(cid + 999, "image/jpeg", JPEG)
    assert e.value.code == "client_not_found"


def test_files_are_encrypted_at_rest(be: Backend) -> None:
    cid = client(be)
    be.store_attachment(cid, "image/png", png(), "翠湖花园-阳台.png")
    with be.db.engine.connect() as c:
        rows = c.execute(text("SELECT * FROM attachments")).all()
    assert len(rows) == 1
    for value in rows[0]:
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        assert MARKER not in raw and b"\x89PNG" not in raw and b"IHDR" not in raw
        assert "翠湖花园".encode() not in raw and "阳台".encode() not in raw


def test_files_link_to_their_clients_case_only(be: Backend) -> None:
    mine, other = client(be, "c1"), client(be, "c2")
    with be.db.uow() as s:
        case = Escalation(kind="complaint", client_id=mine, status="open")
        s.add(case)
        s.flush()
        case_id = case.id
    a = be.store_attachment(mine, "image/jpeg", JPEG)
    b = be.store_attachment(mine, "image/png", png())
    theirs = be.store_attachment(other, "image/jpeg", JPEG)
    assert be.link_attachments(mine, case_id, [a, b, theirs]) == [a, b]
    assert be.link_attachments(mine, case_id, [a]) == []  # already linked: not moved again
    files = be.attachments_of_case(case_id)
    assert [f["id"] for f in files] == [a, b]
    assert [f["content_type"] for f in files] == ["image/jpeg", "image/png"]
    assert all("data" not in f for f in files)
    assert be.attachment(theirs)[0]["case_id"] is None
