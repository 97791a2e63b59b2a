"""Model load time and parse latency (p50/p99) of the trained NLU, one message at a time.

    .venv/bin/python -m benchmarks.nlu_speed [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from config import load_settings
from dialogs.nlu import load_nlu

SAMPLES = [
    "明早8点能来人打扫吗", "約個大掃除", "can u send someone sat morning", "下周三下午两点，120平，三个小时",
    "阿姨把我家花瓶打碎了，我要投诉", "月嫂多少钱一个月", "你好", "好的", "我对猫毛过敏，能安排不养宠物的阿姨吗",
    "地址是浦东新区张江路100弄5号602室，电话13812345678", "转人工", "厨房着火了！", "5分，很满意",
    "I'd like to book a deep clean for next Monday at 2pm", "x" * 2000, "😊😊😊", "",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    settings = load_settings()
    t0 = time.perf_counter()
    nlu = load_nlu(settings)
    load_ms = (time.perf_counter() - t0) * 1000
    nlu.parse("热身 warm-up")
    times = []
    for _ in range(args.rounds):
        for text in SAMPLES:
            t = time.perf_counter()
            nlu.parse(text)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{'metric':<22}{'value':>10}")
    print(f"{'model load (ms)':<22}{load_ms:>10.1f}")
    print(f"{'parses':<22}{len(times):>10}")
    print(f"{'parse p50 (ms)':<22}{statistics.median(times):>10.2f}")
    print(f"{'parse p99 (ms)':<22}{p99:>10.2f}")
    print(f"{'parse max (ms)':<22}{times[-1]:>10.2f}")


if __name__ == "__main__":
    main()
