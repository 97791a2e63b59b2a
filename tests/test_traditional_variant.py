"""The Traditional Chinese variant is configurable (config/frontdesk.yaml `traditional_variant`: s2tw by
default, s2hk for Hong Kong, s2t generic) and applies to every reply and button, templates and action-built
buttons alike; payloads and placeholders never change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from config import load_settings
from dialogs.domain import Domain, configure_traditional, traditional, traditional_variant


@pytest.fixture(autouse=True)
def default_variant() -> Iterator[None]:
    yield
    configure_traditional("s2tw")  # process-wide: leave the default for other tests


@pytest.mark.parametrize(("variant", "expected"), [
    ("s2tw", "這裡為您服務，請稍等著"),
    ("s2hk", "這裏為您服務，請稍等着"),
    ("s2t", "這裏爲您服務，請稍等着"),
])
def test_each_variant_writes_its_own_forms(variant: str, expected: str) -> None:
    configure_traditional(variant)
    assert traditional_variant() == variant
    assert traditional("这里为您服务，请稍等着") == expected


def test_the_default_is_s2tw_and_an_unknown_variant_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTDESK_TRADITIONAL_VARIANT", raising=False)
    assert load_settings().traditional_variant == "s2tw"
    monkeypatch.setenv("FRONTDESK_TRADITIONAL_VARIANT", "s2hk")
    assert load_settings().traditional_variant == "s2hk"
    monkeypatch.setenv("FRONTDESK_TRADITIONAL_VARIANT", "s2twp")
    with pytest.raises(ValidationError):
        load_settings()
    with pytest.raises(ValueError):
        configure_traditional("t2s")


def test_templates_follow_the_configured_variant_and_buttons_are_converted() -> None:
    d = Domain.load()
    configure_traditional("s2tw")
    tw = d.render("utter_greet", "zh-Hant", {})
    configure_traditional("s2hk")
    hk = d.render("utter_greet", "zh-Hant", {})
    assert "這裡" in tw["text"] and "這裏" in hk["text"]  # not one cached conversion for both
    zh = d.render("utter_greet", "zh", {})
    assert [b["payload"] for b in hk["buttons"]] == [b["payload"] for b in zh["buttons"]]
    assert all(b["title"] == traditional(z["title"]) for b, z in zip(hk["buttons"], zh["buttons"], strict=True))


def test_action_built_buttons_are_converted_for_traditional_only() -> None:
    built = [{"title": "1. #12 日常保洁 · 11月19日（周四）10:00 · 待确认",
              "payload": '/cancel_booking{"booking_id": 12}'}]
    assert Domain.buttons(built, "zh") == built and Domain.buttons(built, "en") == built
    [hant] = Domain.buttons(built, "zh-Hant")
    assert hant["title"] == "1. #12 日常保潔 · 11月19日（週四）10:00 · 待確認"
    assert hant["payload"] == built[0]["payload"]
