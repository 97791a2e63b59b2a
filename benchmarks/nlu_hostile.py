"""Parse time of the NLU on hostile input: 2,000-character runs built to hit the extractors'
worst cases (long digit and numeral runs, walls of dates or phone numbers, emoji, odd Unicode).

    .venv/bin/python -m benchmarks.nlu_hostile [--samples 40] [--rounds 5]

Each class is many different texts of 2,000 characters (the configured ``nlu.max_chars``); every
parse is timed on its own after a warm-up, by the wall clock and by the thread's CPU clock (on a
busy machine the wall clock also counts time spent waiting for a core; the CPU time is the
parser's own cost). The target is well under 20 ms at p99 for every class; the tests hold a
generous 200 ms bound so that a loaded CI machine does not flake.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from config import load_settings
from dialogs.nlu import load_nlu

SIZE = 2000
NOW = datetime(2026, 11, 18, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
# Characters the extractors care about: digits and numerals, date/time/unit/address suffixes,
# separators, Latin letters, full-width forms.
SINGLES = ("0123456789一二两三十百千万亿零〇号日点时月年平米方分星颗个小天周期后路街区栋室楼层单元弄院园苑"
           "半刻整到至的在 ,，-:/.~#+@xamp负－：１２")
NUMERALS = "零〇一二两三四五六七八九十百千万亿幺"
EMOJI = ["😊", "👍", "🙏", "❤️", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇨🇳", "1️⃣", "🔥", "⭐", "🧹", "🏠", "🆘", "🫠"]
SPACES = [" ", "\t", "\n", "\r", "\u3000", "\u00a0", "\u2028", "\u200b", "\u200f", "\u202e", "。", "，", "！", "?",
          "…", "-", "—", "·", "~", "、", ":", ";", "/", "\\", "*", "#"]
CJK_PIECES = ["明天", "下午", "3点", "三点半", "下周三", "2月30号", "13月", "25点", "朝阳区", "建国路", "88号", "3栋",
              "1201室", "保洁", "三个小时", "120平", "负一百平米", "五星", "电话", "13812345678", "打扫", "阿姨",
              "你好", "取消", "一二三四五六七八九十", "百千万亿", "年", "月", "日", "号", "点", "分", "的", "在"]


def _fill(rng: random.Random, pick: Callable[[random.Random], str]) -> str:
    parts, n = [], 0
    while n < SIZE:
        p = pick(rng)
        parts.append(p)
        n += len(p)
    return "".join(parts)[:SIZE]


def _random_unicode(rng: random.Random) -> str:
    cp = rng.choice([rng.randrange(0x20, 0x80), rng.randrange(0x80, 0x3000), rng.randrange(0x3000, 0xA000),
                     rng.randrange(0xD800, 0xE000), rng.randrange(0xE000, 0x10000), rng.randrange(0x10000, 0x110000),
                     0, 0x200D, 0x202E, 0x0301, 0xFFFD, 0xFEFF])
    return chr(cp)


CLASSES: dict[str, Callable[[random.Random], str]] = {
    "single char x2000": lambda r: r.choice(SINGLES) * SIZE,
    "digits x2000": lambda r: r.choice([r.choice("0123456789") * SIZE,
                                        _fill(r, lambda q: q.choice("0123456789"))]),
    "chinese numerals x2000": lambda r: r.choice([r.choice(NUMERALS) * SIZE, _fill(r, lambda q: q.choice(NUMERALS))]),
    "repeated phone numbers": lambda r: _fill(r, lambda q: q.choice(
        ["13812345678", "13812345678 ", "+86 138-1234-5678 ", "008613812345678,", "138 1234 5678、"])),
    "mixed CJK": lambda r: _fill(r, lambda q: q.choice(CJK_PIECES)),
    "emoji": lambda r: _fill(r, lambda q: q.choice(EMOJI)),
    "whitespace/punctuation": lambda r: _fill(r, lambda q: q.choice(SPACES)),
    "random unicode": lambda r: _fill(r, _random_unicode),
}


def _pct(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=40, help="different texts per class")
    ap.add_argument("--rounds", type=int, default=5, help="parses of each text")
    args = ap.parse_args()
    nlu = load_nlu(load_settings())
    nlu.parse("热身 warm-up 明天下午3点", now=NOW)
    rng = random.Random(7)
    print(f"{'class':<26}{'parses':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'cpu p50':>9}{'cpu p99':>9}")
    worst = ("", 0.0, 0.0)
    for name, make in CLASSES.items():
        texts = [make(rng) for _ in range(args.samples)]
        wall, cpu = [], []
        for _ in range(args.rounds):
            for text in texts:
                c0, t0 = time.thread_time(), time.perf_counter()
                nlu.parse(text, now=NOW)
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
        wall.sort()
        cpu.sort()
        p99 = _pct(wall, 0.99)
        worst = max(worst, (name, p99, _pct(cpu, 0.99)), key=lambda w: w[1])
        print(f"{name:<26}{len(wall):>7}{statistics.median(wall):>9.2f}{p99:>9.2f}{wall[-1]:>9.2f}"
              f"{statistics.median(cpu):>9.2f}{_pct(cpu, 0.99):>9.2f}")
    print(f"\nworst class: {worst[0]} — parse p99 {worst[1]:.2f} ms wall, {worst[2]:.2f} ms CPU "
          f"(target < 20 ms); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
