"""`frontdesk actions` serves the custom actions to a real Rasa: a booking submitted in rasa-sdk's request
format reaches the backend, although rasa-sdk runs actions in worker processes the bootstrap never saw."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import rasa_sdk
from sqlalchemy import select

from backend.api import Backend
from backend.orm import Booking
from config import load_settings
from tests.conftest import TEST_KEY
from tests.deploy.conftest import Process, clean_env, free_port, http, run

pytestmark = pytest.mark.deploy
FRONTDESK = str(Path(sys.executable).parent / "frontdesk")
PHONE = "13812345678"


def action_call(action: str, slots: dict[str, Any], sender: str = "rasa-user") -> bytes:
    """What Rasa 3 POSTs to an action server's /webhook."""
    tracker = {"sender_id": sender, "slots": slots, "latest_message": {"intent": {"name": "affirm"}, "entities": [],
                                                                       "text": "/affirm"},
               "latest_event_time": None, "followup_action": None, "paused": False, "events": [],
               "latest_input_channel": "rest", "active_loop": {}, "latest_action": {"action_name": "action_listen"},
               "latest_action_name": "action_listen"}
    return json.dumps({"next_action": action, "sender_id": sender, "tracker": tracker,
                       "domain": {"slots": {k: {"type": "any"} for k in slots}}, "version": rasa_sdk.__version__},
                      ensure_ascii=False).encode()


def test_booking_submitted_through_the_action_server(tmp_path: Path, db_url: str, trained_model: Path,
                                                     processes: list[Process]) -> None:
    env = clean_env(FRONTDESK_HOME=str(tmp_path), DATABASE_URL=db_url, FRONTDESK_DATA_KEY=TEST_KEY,
                    FRONTDESK_NLU__MODEL_PATH=str(trained_model))
    run([FRONTDESK, "db", "upgrade"], env, tmp_path)
    run([FRONTDESK, "demo"], env, tmp_path)
    backend = Backend.from_settings(load_settings(database_url=db_url, data_key=TEST_KEY, home=tmp_path))
    client = backend.client_for("rest", "rasa-user")

    port = free_port()
    server = Process([FRONTDESK, "actions", "--port", str(port)], env, tmp_path, tmp_path / "actions.log")
    processes.append(server)
    base = f"http://127.0.0.1:{port}"
    server.wait_http(f"{base}/health", timeout=90)

    tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    slots = {"client_id": client.id, "service_type": "cleaning", "duration": 3.0, "language": "zh",
             "time": datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
             .isoformat(), "address": "浦东新区张江路100弄5号", "phone": PHONE, "notes": "",
             "awaiting_confirmation": True, "form_key": "rasa-form-1", "requested_slot": None}
    status, raw = http("POST", f"{base}/webhook", action_call("action_submit_booking", slots),
                       {"Content-Type": "application/json"})
    assert status == 200, raw
    reply = json.loads(raw)
    (response,) = reply["responses"]
    assert response["response"] == "utter_booking_submitted"
    booking_id = response["booking_id"]
    cleared = {e["name"] for e in reply["events"] if e["event"] == "slot" and e["value"] is None}
    assert {"service_type", "time", "form_key", "awaiting_confirmation"} <= cleared
    assert "phone" not in cleared and "address" not in cleared  # kept for the next booking

    with backend.db.uow() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.client_id == client.id and booking.service == "cleaning"

    # The same form submitted again (Rasa retried) is the same booking.
    status, raw = http("POST", f"{base}/webhook", action_call("action_submit_booking", slots),
                       {"Content-Type": "application/json"})
    assert status == 200 and json.loads(raw)["responses"][0]["booking_id"] == booking_id
    with backend.db.uow() as s:
        assert len(s.scalars(select(Booking).where(Booking.client_id == client.id)).all()) == 1
    backend.db.dispose()

    # An action that cannot run (no client_id slot) answers 500 with a fixed message: rasa-sdk's own handler
    # would send back the exception and the whole request, phone number included.
    status, raw = http("POST", f"{base}/webhook", action_call("action_submit_booking", {"phone": PHONE}),
                       {"Content-Type": "application/json"})
    assert status == 500
    assert PHONE not in raw.decode() and "client_id" not in raw.decode()
    assert json.loads(raw) == {"error": "the action failed; see the action server's log"}
