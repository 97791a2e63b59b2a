"""Model load time and parse latency (p50/p99) of the trained NLU, one message at a time.

    .venv/bin/python -m benchmarks.nlu_speed [--rounds 5] [--model PATH]

Chat messages are the generalisation set (benchmarks/data/generalisation/, 1,000+ messages as clients write
them) plus a few hand-picked ones; a 2,000-character paste (the longest message the NLU reads) and
junk are timed on their own line, since one of them in a small sample would be the p99 by itself.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.nlu_generalisation import load_set
from config import load_settings
from dialogs.nlu import NLU, load_nlu

SAMPLES = [
    "明早8点能来人打扫吗", "約個大掃除", "can u send someone sat morning", "下周三下午两点，120平，三个小时",
    "阿姨把我家花瓶打碎了，我要投诉", "月嫂多少钱一个月", "你好", "好的", "我对猫毛过敏，能安排不养宠物的阿姨吗",
    "地址是浦东新区张江路100弄5号602室，电话13812345678", "转人工", "厨房着火了！", "5分，很满意",
    "I'd like to book a deep clean for next Monday at 2pm", "😊😊😊", "",
    "想搵人聽朝嚟打掃", "可唔可以改遲少少", "我要投述 阿姨把花瓶打烂了", "i want to cancle tmrw",
    "技能四分 態度五分 效果三分",
    "阿姨迟到了一个小时，下次的改到周六吧", "说好三个小时 两个小时就走了 这钱怎么算",
]
LONG = {"2,000-character paste": "阿姨今天来晚了，" * 250, "2,000 × 'x'": "x" * 2000}


def _time(nlu: NLU, text: str) -> float:
    t = time.perf_counter()
    nlu.parse(text)
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", type=Path, help="a model file other than the configured one")
    args = ap.parse_args()
    t0 = time.perf_counter()
    nlu = NLU.load(args.model) if args.model else load_nlu(load_settings())
    load_ms = (time.perf_counter() - t0) * 1000
    for text in ("热身 warm-up", "保jie", "cancle"):  # first use builds the lazy indexes (pinyin, fuzzy)
        nlu.parse(text)
    chat = [i.text for i in load_set()] + SAMPLES
    times = sorted(_time(nlu, text) for _ in range(args.rounds) for text in chat)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{'metric':<34}{'value':>10}")
    print(f"{'model load (ms)':<34}{load_ms:>10.1f}")
    print(f"{'chat messages parsed':<34}{len(times):>10}")
    print(f"{'chat parse p50 (ms)':<34}{statistics.median(times):>10.2f}")
    print(f"{'chat parse p99 (ms)':<34}{p99:>10.2f}")
    print(f"{'chat parse max (ms)':<34}{times[-1]:>10.2f}")
    for name, text in LONG.items():
        print(f"{name + ' median (ms)':<34}{statistics.median(_time(nlu, text) for _ in range(20)):>10.2f}")


if __name__ == "__main__":
    main()
