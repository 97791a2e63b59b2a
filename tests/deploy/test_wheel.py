"""`pip install` of the wheel (not editable) gives a working front desk, run from outside the checkout."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import TEST_KEY
from tests.deploy.conftest import Process, base_python, clean_env, free_port, fresh_venv, http, run

pytestmark = pytest.mark.deploy
API_KEY = "wheel-test-api-key-0123456789abcdef-0123456789"


def say(base: str, sender: str, message: str) -> str:
    status, body = http("POST", f"{base}/webhooks/rest/webhook",
                        json.dumps({"sender": sender, "message": message}).encode(),
                        {"Content-Type": "application/json", "X-Api-Key": API_KEY})
    assert status == 200, body
    return "\n".join(r.get("text") or "" for r in json.loads(body))


def test_wheel_installs_a_front_desk_that_books(wheel: Path, deps_view: Path, tmp_path: Path,
                                                processes: list[Process]) -> None:
    bin_ = fresh_venv(tmp_path / "venv", base_python(), deps_view)
    elsewhere = tmp_path / "elsewhere"  # the working directory: neither the checkout nor the home folder
    home = tmp_path / "home"
    elsewhere.mkdir()
    env = clean_env(PATH=f"{bin_}:{clean_env()['PATH']}", FRONTDESK_HOME=str(home), FRONTDESK_DATA_KEY=TEST_KEY,
                    FRONTDESK_AUTH__API_KEY=API_KEY, FRONTDESK_AUTH__SESSION_SECRET="s" * 32)
    run([str(bin_ / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], env, elsewhere)

    # The code and its resources come from the installed package, not from the checkout.
    where = run([str(bin_ / "python"), "-c", "import bot, bot.migrate as m; print(bot.__file__, m.MIGRATIONS)"],
                env, elsewhere).stdout.split()
    assert all(str(tmp_path / "venv") in w for w in where), where
    assert (Path(where[1]) / "versions").is_dir()

    run(["frontdesk", "db", "upgrade"], env, elsewhere)
    trained = run(["frontdesk", "nlu", "train"], env, elsewhere).stdout
    assert str(home / "models" / "nlu.pkl") in trained
    run(["frontdesk", "demo"], env, elsewhere)
    assert (home / "data" / "frontdesk.db").is_file() and (home / "models" / "nlu.pkl").is_file()
    assert not (elsewhere / "data").exists() and not (elsewhere / "models").exists()

    port = free_port()
    server = Process(["frontdesk", "serve", "--host", "127.0.0.1", "--port", str(port)], env, elsewhere,
                     tmp_path / "serve.log")
    processes.append(server)
    base = f"http://127.0.0.1:{port}"
    server.wait_http(f"{base}/health")

    assert "几个小时" in say(base, "wheel-client", "我想约明天上午10点的保洁")
    assert "地址" in say(base, "wheel-client", "3个小时")
    assert "手机号" in say(base, "wheel-client", "浦东新区张江路100弄5号")
    assert "注意" in say(base, "wheel-client", "13812345678")
    assert "日常保洁" in say(base, "wheel-client", "没有")
    done = say(base, "wheel-client", "/affirm")
    booking_id = int(re.search(r"#(\d+)", done).group(1))

    with sqlite3.connect(home / "data" / "frontdesk.db") as db:
        row = db.execute("SELECT service, status FROM bookings WHERE id = ?", (booking_id,)).fetchone()
    assert row is not None and row[0] == "cleaning"


def test_runtime_install_without_home_or_report_extra(wheel: Path, deps_view: Path, tmp_path: Path) -> None:
    """Only the runtime dependencies (no matplotlib) and no FRONTDESK_HOME: files go to the working directory,
    and `nlu test` says how to get its plots."""
    runtime_only = tmp_path / "deps"
    runtime_only.mkdir()
    for entry in deps_view.iterdir():
        if not entry.name.startswith(("matplotlib", "mpl_toolkits", "pylab")):
            (runtime_only / entry.name).symlink_to(entry.resolve())
    bin_ = fresh_venv(tmp_path / "venv", base_python(), runtime_only)
    cwd = tmp_path / "site"
    cwd.mkdir()
    env = clean_env(PATH=f"{bin_}:{clean_env()['PATH']}", FRONTDESK_DATA_KEY=TEST_KEY)
    run([str(bin_ / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], env, cwd)
    run(["frontdesk", "db", "upgrade"], env, cwd)
    assert (cwd / "data" / "frontdesk.db").is_file()
    r = subprocess.run(["frontdesk", "nlu", "test"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "pip install 'frontdesk[report]'" in r.stderr, r.stderr
