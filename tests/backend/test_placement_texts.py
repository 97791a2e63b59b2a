"""Every placement message the backend queues has a text in zh, en and zh-Hant with every {param} filled,
and the client's candidate card never carries a phone number or an address."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.api import Backend
from backend.catalogue import load_catalogue
from backend.orm import Housekeeper, Notification
from config.settings import ROOT
from dialogs.domain import Domain
from dialogs.notify import Notifier
from tests.backend.test_placements import ADDRESS, _client, _notes, _placed, _request, _run_until

TZ = ZoneInfo("Asia/Shanghai")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_every_placement_message_renders_in_every_language(be: Backend) -> None:
    cid = _client(be)
    pl = _request(be, cid, term_days=60)
    asks = _notes(be, "placement_ask")
    be.answer_placement_ask(asks[0].person_id, asks[0].params["candidate_id"], True)
    be.answer_placement_ask(asks[1].person_id, asks[1].params["candidate_id"], False)
    be.schedule_interview(cid, pl["id"], asks[0].person_id, datetime(2026, 11, 19, 15, tzinfo=TZ))
    _run_until(be, datetime(2026, 11, 19, 14, tzinfo=TZ))
    be.choose_candidate(cid, pl["id"], asks[0].person_id)
    _run_until(be, datetime(2026, 12, 2, 10, tzinfo=TZ))
    be.end_trial("client", cid, pl["id"], reason="不合适")
    kim = _client(be, "kim", "en")
    mat, _hk = _placed(be, kim, "maternity_nurse", date(2026, 12, 20))
    _run_until(be, datetime(2026, 12, 12, 8, tzinfo=TZ))
    be.baby_arrived(kim, mat["id"], date(2026, 12, 12))
    _run_until(be, datetime(2027, 1, 1, 10, tzinfo=TZ), timedelta(days=1))
    be.extend_placement(kim, mat["id"], 5)
    _run_until(be, datetime(2027, 1, 13, 10, tzinfo=TZ), timedelta(days=1))
    amy = _client(be, "amy")
    nobody = be.request_placement(amy, "elderly_care", date(2027, 2, 1), address=ADDRESS)
    for n in _notes(be, "placement_ask"):
        if n.params["placement_id"] == nobody["id"]:
            be.answer_placement_ask(n.person_id, n.params["candidate_id"], False)
    with be.db.read() as s:
        rows = list(s.scalars(select(Notification).where(Notification.template.like("placement%"))))
        phones = {h.phone for h in s.scalars(select(Housekeeper))}
        s.expunge_all()
    notifier = Notifier(Domain.load(), load_catalogue(ROOT / "config" / "services.yaml"), TZ)
    seen = set()
    for n in rows:
        seen.add(n.template)
        for lang in ("zh", "en", "zh-Hant"):
            msg = notifier.render(n.template, n.params, lang)
            assert not msg["text"].startswith(f"{n.template}:"), f"no text for {n.template}"
            assert not PLACEHOLDER.search(msg["text"]), (n.template, lang, msg["text"])
            if n.template == "placement_candidate":
                assert ADDRESS not in msg["text"] and not any(p and p in msg["text"] for p in phones)
                assert len(msg["buttons"]) == 3
    assert {"placement_ask", "placement_candidate", "placement_confirmed", "placement_confirmed_housekeeper",
            "placement_interview_reminder", "placement_trial_ended", "placement_replacement_started",
            "placement_moved", "placement_extended", "placement_end_reminder", "placement_ended",
            "placement_unmatched", "placement_manager_end_soon", "placement_manager_trial_ended"} <= seen
