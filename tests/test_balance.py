"""The workers' shared connection counts (bot/balance.py): the fair share counts live workers only."""

from __future__ import annotations

from bot.balance import STALE, Shares


def test_the_fair_share_is_the_live_workers_total_over_their_number_rounded_up() -> None:
    shares = Shares(3)
    assert shares.fair(100.0) == 0  # nobody has published yet
    shares.publish(0, 13, 100.0)
    shares.publish(1, 7, 100.0)
    assert shares.fair(100.5) == 10
    shares.publish(2, 1, 100.0)
    assert shares.fair(100.5) == 7  # 21 over 3
    # A dead (or restarting) worker stops publishing: after STALE its old count no longer counts.
    shares.publish(0, 14, 100.0 + STALE)
    shares.publish(1, 7, 100.0 + STALE)
    assert shares.fair(100.1 + STALE) == 11  # 21 over 2
