"""Hostile input on the REST channel (Hypothesis): every request gets a 4xx with a JSON error or a normal
reply, never a 500, and the conversation still answers a normal message afterwards.

The server runs on 127.0.0.1 in a thread of its own; Hypothesis drives it with a plain HTTP client.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_app as make_frontdesk
from tests.e2e.conftest import API_KEY, secure

SENDERS = ["fuzz-a", "fuzz-b"]
ODD = ["\ud800", "\udfff", "\x00", "\x1b", "\u202e", "\u200f", "\u2066", "\ufeff", "\uffff",
       "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇨🇳", "e\u0301", "长", "一二三四五六七八九十百千万亿", "1", "/", "{", "\"", "\\"]
odd_text = st.lists(st.sampled_from(ODD) | st.characters(), max_size=120).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | odd_text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(odd_text, inner, max_size=5), max_leaves=20)


class Server:
    """The whole front desk served from a background thread's event loop."""

    def __init__(self, app: Any) -> None:
        from bot.server import make_app

        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(make_app(app, workers=False, telegram=False), handler_cancellation=True)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory, trained_model: Path) -> Iterator[httpx.Client]:
    app = secure(make_frontdesk(tmp_path_factory.mktemp("fuzz"), model=trained_model))
    server = Server(app)
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}/webhooks/rest", timeout=30) as client:
        client.headers["X-Api-Key"] = API_KEY
        yield client
    server.close()
    app.backend.db.dispose()


def check(r: httpx.Response) -> Any:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    body = r.json()  # always JSON, whatever happened
    if r.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body["error"], str) and body["error"], body
    else:
        assert isinstance(body, list | dict)
    return body


def post(http: httpx.Client, body: bytes, content_type: str = "application/json") -> Any:
    return check(http.post("/webhook", content=body, headers={"Content-Type": content_type}))


def still_answers(http: httpx.Client, sender: str) -> None:
    body = post(http, json.dumps({"sender": sender, "message": "/greet"}).encode())
    assert body and body[0]["recipient_id"] == sender and body[0]["text"], body


FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None,
                max_examples=min(settings.default.max_examples, 60))  # a bounded share of the CI budget


@FUZZ
@given(text=odd_text, sender=st.sampled_from(SENDERS), mid=st.none() | odd_text | st.integers(), lang=json_values)
def test_any_message_text_gets_a_reply_or_a_clear_error(http: httpx.Client, text: str, sender: str, mid: Any,
                                                        lang: Any) -> None:
    body = {"sender": sender, "message": text, "message_id": mid, "lang": lang}
    # ensure_ascii: lone surrogates travel as \\udXXX escapes, as a hostile client would send them
    post(http, json.dumps(body, ensure_ascii=True).encode())
    post(http, json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@FUZZ
@given(body=json_values, sender=json_values)
def test_odd_types_get_a_clear_error(http: httpx.Client, body: Any, sender: Any) -> None:
    post(http, json.dumps(body).encode())
    post(http, json.dumps({"sender": sender, "message": body}).encode())


@FUZZ
@given(raw=st.binary(max_size=2000), ctype=st.sampled_from(["application/json", "text/plain", "", "application/x"]))
def test_raw_bytes_get_a_clear_error(http: httpx.Client, raw: bytes, ctype: str) -> None:
    post(http, raw, ctype)


def harmless_wait(wait: str) -> str:
    """A valid wait would make the poll wait: keep the odd ones, make valid ones zero."""
    try:
        return "0" if 0 <= float(wait) <= 60 else wait
    except ValueError:
        return wait


@FUZZ
@given(wait=odd_text | st.floats().map(str), ack=odd_text, sender=odd_text,
       auth=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80))
def test_polls_with_odd_parameters_get_a_clear_error(http: httpx.Client, wait: str, ack: str, sender: str,
                                                     auth: str) -> None:
    params = {"sender": sender, "wait": harmless_wait(wait), "ack": ack}
    params = {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}
    headers = {"Authorization": f"Bearer {auth}"} if auth else {}
    for path in ("/messages", "/stream"):
        with http.stream("GET", path, params=params, headers=headers) as r:
            if r.headers.get("Content-Type", "").startswith("text/event-stream"):
                assert r.status_code == 200
                continue  # a well-formed stream request: nothing odd about it, and it would run on
            r.read()
            check(r)


def test_deep_huge_and_endless_bodies(http: httpx.Client) -> None:
    for depth in (1000, 30000):
        post(http, b"[" * depth + b"]" * depth)
        post(http, b'{"sender": "fuzz-a", "message": ' + b"[" * depth + b"]" * depth + b"}")
    post(http, json.dumps({"sender": "fuzz-a", "message": "长" * 100_000}).encode())  # over the body limit
    post(http, b"x" * (5 * 1024 * 1024))

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(100):
            yield b"[" * 4096

    r = http.post("/webhook", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]
    for sender in SENDERS:
        still_answers(http, sender)


def test_after_the_fuzzing_every_conversation_still_answers(http: httpx.Client) -> None:
    for sender in SENDERS:
        still_answers(http, sender)
        body = post(http, json.dumps({"sender": sender, "message": "我想约明天上午10点的保洁"}).encode())
        assert "几个小时" in body[0]["text"] or body[0]["text"]
