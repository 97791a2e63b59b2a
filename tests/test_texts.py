"""Everything a user reads exists in Chinese and English."""

from __future__ import annotations

import re

from dialogs.domain import Domain


def test_every_response_has_zh_and_en_with_the_same_parameters() -> None:
    domain = Domain.load()
    assert len(domain.responses) > 80
    for name, variations in domain.responses.items():
        en = [v for v in variations if any(c.get("value") == "en" for c in v.get("condition") or [])]
        zh = [v for v in variations if not v.get("condition")]
        assert len(en) == 1 and len(zh) == 1, name
        assert re.search(r"[\u4e00-\u9fff]", zh[0]["text"]) or zh[0]["text"].startswith(("{", ",", "，")), name

        def params(v: dict) -> set[str]:
            blob = v["text"] + "".join(b["title"] + b["payload"] for b in v.get("buttons") or [])
            return set(re.findall(r"\{(\w+)\}", blob))

        assert params(en[0]) == params(zh[0]), name
        assert len(en[0].get("buttons") or []) == len(zh[0].get("buttons") or []), name


def test_every_response_the_code_names_exists() -> None:
    import pathlib

    domain = Domain.load()
    root = pathlib.Path(__file__).resolve().parents[1]
    named = set()
    for path in [*root.glob("dialogs/**/*.py"), *root.glob("bot/**/*.py")]:
        named |= set(re.findall(r'"((?:utter|staff|notify)_[a-z_]+)"', path.read_text(encoding="utf-8")))
    named |= {f"notify_{t}" for t in ("offer_new", "booking_confirmed", "job_confirmed", "escalation_new")}
    missing = {n for n in named if n not in domain.responses and not n.endswith("_")}
    assert missing <= {"utter_ask", "staff_bot"}, missing  # a prefix test and a default bot name
