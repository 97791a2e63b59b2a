"""`frontdesk nlu train | parse | test` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NLU_DATA

FRONTDESK = shutil.which("frontdesk", path=str(Path(sys.executable).parent)) or "frontdesk"


def run(*args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    p = subprocess.run([FRONTDESK, *args], input=stdin, capture_output=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr.decode()
    return p


def test_train_is_deterministic_and_skips_when_up_to_date(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pkl", tmp_path / "b.pkl"
    out = run("nlu", "train", "--out", str(a)).stdout.decode()
    assert "trained" in out and "28 intents" in out
    run("nlu", "train", "--out", str(b))
    assert a.read_bytes() == b.read_bytes()
    again = run("nlu", "train", "--out", str(a), "--if-needed").stdout.decode()
    assert "up to date" in again


def test_train_rejects_bad_data(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text("version: '3.1'\nnlu:\n- intent: greet\n  examples: hello\n")
    p = run("nlu", "train", "--data", str(tmp_path), "--out", str(tmp_path / "m.pkl"), check=False)
    assert p.returncode == 1 and b"cannot load training data" in p.stderr
    assert not (tmp_path / "m.pkl").exists()


def test_parse_reads_stdin_line_by_line(trained_model: Path) -> None:
    lines = ["下周三下午两点约个保洁".encode(), b"\xff\xfe broken utf-8", b"", "约个大扫除".encode(),
             ("x" * 10_000).encode()]
    p = run("nlu", "parse", "--model", str(trained_model), "--now", "2026-11-18T10:30:00+08:00",
            stdin=b"\n".join(lines) + b"\n")
    results = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert len(results) == len(lines)
    first = results[0]
    assert first["intent"]["name"] == "book_service"
    assert {"entity": "time", "value": "2026-11-25T14:00:00+08:00"}.items() <= next(
        e for e in first["entities"] if e["entity"] == "time").items()
    assert results[2]["intent"]["name"] == "nlu_fallback"
    assert results[3]["entities"][0]["value"] == "deep_cleaning"


def test_parse_explains_bad_arguments(tmp_path: Path, trained_model: Path) -> None:
    p = run("nlu", "parse", "--model", str(trained_model), "--now", "next tuesday", stdin=b"hi\n", check=False)
    assert p.returncode == 1 and b"ISO 8601" in p.stderr
    p = run("nlu", "parse", "--model", str(tmp_path / "none.pkl"), stdin=b"hi\n", check=False)
    assert p.returncode == 1 and b"frontdesk nlu train" in p.stderr


def test_test_writes_reports_and_plots(tmp_path: Path, trained_model: Path) -> None:
    out = tmp_path / "reports"
    data = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "dev.yml"
    p = run("nlu", "test", "--data", str(data), "--model", str(trained_model), "--out", str(out))
    text = p.stdout.decode()
    assert "intent accuracy" in text and "macro-F1" in text
    report = json.loads((out / "intent_report.json").read_text())
    assert 0.8 <= report["accuracy"] <= 1.0 and "book_service" in report["per_intent"]
    assert set(json.loads((out / "entity_report.json").read_text())) >= {"time", "service_type"}
    assert isinstance(json.loads((out / "errors.json").read_text()), list)
    for png in ("intent_confusion_matrix.png", "intent_histogram.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"it/s" in p.stderr or b"parsing" in p.stderr  # the progress bar


@pytest.mark.parametrize("folds", ["2"])
def test_cross_validation(tmp_path: Path, folds: str) -> None:
    small = tmp_path / "small.yml"
    small.write_text((NLU_DATA / "chitchat.yml").read_text(encoding="utf-8"), encoding="utf-8")
    p = run("nlu", "test", "--data", str(small), "--cross-validation", "--folds", folds, "--out", str(tmp_path / "cv"))
    assert b"2-fold cross-validation" in p.stderr
    report = json.loads((tmp_path / "cv" / "intent_report.json").read_text())
    assert set(report["per_intent"]) >= {"greet", "goodbye", "thank", "affirm", "deny", "out_of_scope"}
