"""Rate limits on what reaches the front desk, with the `limits` library (moving window).

In memory for one process; in Redis when REDIS_URL is set, so every worker counts against the same
windows. Checked before anything touches the database, so a flood costs no writes. Keys are hashed:
addresses and platform ids do not sit readable in Redis.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from config.settings import RateLimits

log = logging.getLogger(__name__)


def _key(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class Limits:
    """``allow(rule, *key)`` counts one hit against a rule named in RateLimits ("rest_per_sender" …)."""

    def __init__(self, rules: RateLimits, redis_url: str | None = None, prefix: str = "frontdesk") -> None:
        self.rules = rules
        self.storage: Storage
        if redis_url:
            scheme, rest = redis_url.split("://", 1)
            self.storage = RedisStorage(f"async+{scheme}://{rest}", implementation="redispy", key_prefix=prefix)
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._items: dict[str, RateLimitItem] = {}

    def item(self, rule: str) -> RateLimitItem:
        if rule not in self._items:
            self._items[rule] = parse(getattr(self.rules, rule))
        return self._items[rule]

    async def allow(self, rule: str, *key: str) -> bool:
        try:
            return await self.limiter.hit(self.item(rule), rule, _key(*key))
        except Exception:  # a limit store that is down must not take the front desk down with it
            log.warning("rate limit store unavailable; %s not enforced", rule, exc_info=True)
            return True

    async def first_refusal(self, rule: str, *key: str) -> bool:
        """True once per window of ``rule`` for this key: when to say "slow down" rather than stay quiet."""
        item = self.item(rule)
        once = type(item)(1, item.multiples)
        try:
            return await self.limiter.hit(once, rule + ":notice", _key(*key))
        except Exception:
            return False

    async def retry_after(self, rule: str, *key: str) -> int:
        try:
            stats = await self.limiter.get_window_stats(self.item(rule), rule, _key(*key))
            return max(1, int(stats.reset_time - time.time()) + 1)
        except Exception:
            return self.item(rule).get_expiry()


class ClientAddress:
    """The client's address: X-Forwarded-For is believed only from configured proxies, read from the right
    (each trusted proxy appends the address it saw), and the first hop that is not a trusted proxy wins."""

    def __init__(self, trusted: list[str]) -> None:
        self.nets = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def _trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.strip())
        except ValueError:
            return False
        return any(ip in n for n in self.nets)

    def of(self, remote: str | None, forwarded_for: list[str]) -> str:
        addr = remote or "unknown"
        if not self._trusted(addr):
            return addr
        hops = [h.strip() for line in forwarded_for for h in line.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop[:64]
            addr = hop
        return addr
