"""The shell follows the digit rule of dialogs/choices.py: a choice's buttons are numbered and a digit
presses one; a number question lists its buttons as values and a digit is the answer ("3" = 3 hours,
not "press button 3")."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.orm import Booking
from bot.shell import run_shell, show, typed
from tests.conftest import make_app

HOURS = {"text": "需要做几个小时？", "answer": "number",
         "buttons": [{"title": f"{h}小时", "payload": f'/inform{{"duration": {h}}}'} for h in (2, 3, 4)]}
SUMMARY = {"text": "确认下单吗？", "buttons": [{"title": "确认", "payload": "/affirm"},
                                         {"title": "修改", "payload": "/change_booking"},
                                         {"title": "取消", "payload": "/deny"}]}
RATING = {"text": "服务态度（1–5分）", "buttons": [{"title": str(n), "payload": f"/survey_score{{\"score\": {n}}}"}
                                             for n in (5, 4, 3, 2, 1)]}


def test_number_question_is_listed_not_numbered(capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[dict[str, Any]] = []
    show([HOURS], shown)
    out = capsys.readouterr().out
    assert "2小时 · 3小时 · 4小时" in out and "[1]" not in out
    assert typed("3", shown) == "3"  # the answer, read by the engine as 3 hours
    assert typed("4小时", shown) == '/inform{"duration": 4}'  # a button's own words press it


def test_choice_is_numbered_and_a_digit_picks(capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[dict[str, Any]] = []
    show([SUMMARY], shown)
    assert "[1] 确认" in capsys.readouterr().out
    assert typed("2", shown) == "/change_booking"
    assert typed("9", shown) == "9"  # no such option: sent as typed
    assert typed("確認", shown) == "/affirm"  # the same button in Traditional characters
    assert typed("确认", []) == "确认"  # nothing on offer: the NLU reads it


def test_rating_digit_is_the_score_whatever_the_order(capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[dict[str, Any]] = []
    show([RATING], shown)
    assert "[1]" not in capsys.readouterr().out
    assert typed("2", shown) == "2"  # the score 2, not the second button (which is 4)


async def test_shell_three_to_hours_books_three_hours(tmp_path: Path, trained_model: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path, model=trained_model)
    lines = iter(["我想约明天上午10点的保洁", "3", "朝阳区建国路88号", "13812345678", "没有", "1"])

    def fake_input(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    try:
        await run_shell(app, "shell", "sh-1")
        out = capsys.readouterr().out
        assert "2小时 · 3小时 · 4小时" in out and "[1] 确认" in out
        with app.backend.db.uow() as s:
            (b,) = s.scalars(select(Booking)).all()
            assert b.hours == 3 and b.service == "cleaning"
    finally:
        app.backend.db.dispose()
