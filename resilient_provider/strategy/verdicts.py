"""Whose fault is a 429: the IP's (every provider on the upstream is refused) or one library's.

Yahoo limits per client IP; it also, on some days, refuses one library's crumb or browser
fingerprint while the other works. The budget of an upstream keeps, per provider, when it was
last served, refused (429) or failed, and from that tells the two apart:

* a 429 to a provider that had no success within the window, while another had one and
  neither a 429 nor a failure, is that provider's **own block** (:meth:`own_block`): it counts
  against its breaker and does not slow the upstream;
* a provider refused in the current episode **hands over** (:meth:`hands_over`) while another
  provider on the upstream has not been heard from since: queueing more requests would only
  delay the one answer that tells the cases apart;
* that other provider may send one **probe** ahead of the line (:meth:`may_probe`);
* a provider whose own block is confirmed (a 429 to a request sent after another provider
  was served) is **held back** (:meth:`blocked`) for the window after that 429: then one
  request tells whether the block has lifted.
"""

from __future__ import annotations

import math


class ProviderVerdicts:
    """What each provider on one upstream was last told, and what follows from it.

    Not thread-safe on its own: the budget calls it under its lock.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.providers: set[str] = set()
        self._success: dict[str, float] = {}
        self._throttled: dict[str, float] = {}
        self._failure: dict[str, float] = {}
        self._held_until: dict[str, float] = {}

    def success(self, provider: str, now: float) -> None:
        """``provider`` was served (on a route where limits and blocks show)."""
        self._success[provider] = now

    def throttled(self, provider: str, now: float, *, sent_at: float) -> bool:
        """``provider`` was answered 429 to a request sent at ``sent_at``; True when that
        confirms its own block: it is :meth:`own_block`, and the request went out after
        another provider was last served (the refusal is not an echo of an IP limit the other
        got past only because the rate was cut meanwhile). The provider is then held back
        (:meth:`blocked`) for the window: one request per window tells whether it lifted."""
        self._throttled[provider] = now
        served_others = max((at for other, at in self._success.items() if other != provider),
                            default=math.inf)
        if sent_at > served_others and self.own_block(provider, now):
            self._held_until[provider] = now + self.window_s
            return True
        return False

    def failure(self, provider: str, now: float) -> None:
        """``provider`` got no answer or a 5xx: no verdict on the pace, but not healthy."""
        self._failure[provider] = now

    def heard(self, provider: str) -> float:
        """When ``provider`` was last answered at all (-inf: never)."""
        return max(self._success.get(provider, -math.inf),
                   self._throttled.get(provider, -math.inf),
                   self._failure.get(provider, -math.inf))

    def own_block(self, provider: str, now: float) -> bool:
        """Whether ``provider``'s 429s are its own block (see the module docstring)."""
        if now - self._success.get(provider, -math.inf) <= self.window_s:
            return False
        return any(other != provider and now - at <= self.window_s
                   and now - max(self._throttled.get(other, -math.inf),
                                 self._failure.get(other, -math.inf)) > self.window_s
                   for other, at in self._success.items())

    def blocked(self, provider: str, now: float) -> bool:
        """Whether ``provider`` is held back by its own block (see :meth:`throttled`)."""
        return now < self._held_until.get(provider, -math.inf)

    def hands_over(self, provider: str, now: float) -> bool:
        """Whether ``provider``, refused within the window, should stop sending until another
        provider, silent for the whole window, has probed (once both were refused, the block
        is the IP's: nobody hands over)."""
        if now - self._throttled.get(provider, -math.inf) > self.window_s:
            return False
        return any(other != provider and now - self.heard(other) > self.window_s
                   for other in self.providers)

    def may_probe(self, provider: str, now: float, last_cut: float) -> bool:
        """Whether ``provider`` may probe ahead of the line: another provider drew a 429 within
        the window and this one has not been heard from since before it."""
        if now - last_cut > self.window_s:
            return False
        return now - self.heard(provider) > self.window_s and any(
            other != provider and now - at <= self.window_s
            for other, at in self._throttled.items())
