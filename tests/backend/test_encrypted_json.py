"""The encrypted JSON columns (the conversation state among them) are written with orjson, and read what
the standard library's json wrote before: the same values either way, and the same refusals."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from backend.crypto import Cipher
from backend.orm import Encrypted, EncryptedJSON
from tests.conftest import TEST_KEY


@pytest.fixture(autouse=True)
def cipher() -> None:
    Encrypted.cipher = Cipher(TEST_KEY)


def roundtrip(value: object) -> object:
    col = EncryptedJSON()
    return col.process_result_value(col.process_bind_param(value, None), None)


def test_values_come_back_as_json_gives_them() -> None:
    value = {"text": "我想约明天上午10点的保洁 😊", 3: [1, 2.5, None, True], "nested": {"a": ("t", "u")}}
    assert roundtrip(value) == json.loads(json.dumps(value))  # int keys become strings, tuples lists


def test_what_orjson_refuses_is_written_as_json_writes_it() -> None:
    huge = {"count": 99999999999999999999, "weeks": 3}  # beyond 64 bits: refused by orjson, not a failed turn
    assert roundtrip(huge) == {"count": 1e20, "weeks": 3}  # read back as a float, as most JSON readers do


def test_rows_json_wrote_with_nan_still_read() -> None:
    old = Cipher(TEST_KEY).encrypt(json.dumps({"score": float("nan"), "x": float("inf")}))
    got = EncryptedJSON().process_result_value(old, None)
    assert got["score"] != got["score"] and got["x"] == float("inf")


def test_a_datetime_is_refused_as_before_not_stored_as_text() -> None:
    with pytest.raises(TypeError):
        EncryptedJSON().process_bind_param({"at": datetime(2026, 12, 5)}, None)
