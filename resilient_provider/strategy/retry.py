"""Retry policy for one provider, expressed as tenacity parts.

tenacity drives the loop (attempt counting, stop and wait combination, before-sleep hooks); this
module adds what it cannot know: our backoff with an injectable random source, waiting out a
provider's ``Retry-After``, and stopping when the request's :class:`Deadline` would pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

import tenacity
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from ..config import RetrySettings
from ..errors import RateLimitError, ResilientProviderError
from .timeouts import Deadline


class RetryPending(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside an attempt when some symbols failed with retriable errors."""

    def __init__(self, errors: Mapping[str, ResilientProviderError]) -> None:
        super().__init__(f"{len(errors)} symbol(s) to retry")
        self.errors = dict(errors)

    @property
    def retry_after_s(self) -> float | None:
        """The longest ``Retry-After`` any of the errors asked for."""
        waits = [e.retry_after for e in self.errors.values()
                 if isinstance(e, RateLimitError) and e.retry_after is not None]
        return max(waits) if waits else None


def is_retriable(error: ResilientProviderError, settings: RetrySettings) -> bool:
    """Whether trying the same provider again is worth it for ``error``.

    A ``Retry-After`` beyond ``max_retry_after_s`` is not waited for: we fail over instead.
    """
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        return error.retry_after <= settings.max_retry_after_s
    return error.retriable


class BackoffWait(wait_base):
    """Exponential backoff ``base * multiplier**(n-1)``, capped, plus jitter, or Retry-After."""

    def __init__(self, settings: RetrySettings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        s = self.settings
        exponent = retry_state.attempt_number - 1
        delay = min(s.max_delay_s, s.base_delay_s * s.multiplier**exponent)
        if s.jitter:
            delay += self.rng.uniform(0.0, s.jitter)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryPending) and error.retry_after_s is not None:
            delay = max(delay, error.retry_after_s)
        return delay


class SkipBackoff(stop_base):
    """Stop retrying, and hand the failures on, when ``skip_backoff()`` says the coming wait
    would not pay (see ``Cascade.walk``); :attr:`skipped` tells afterwards whether it did."""

    def __init__(self, skip_backoff: Callable[[], bool]) -> None:
        self.skip_backoff = skip_backoff
        self.skipped = False

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        self.skipped = self.skip_backoff()
        return self.skipped


class StopAtDeadline(stop_base):
    """Stop when the coming wait would use up the rest of the request's deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self.deadline.remaining_s()


def build_retrying(
    settings: RetrySettings,
    *,
    deadline: Deadline,
    rng: random.Random,
    sleep: Callable[[float], None],
    before_sleep: Callable[[tenacity.RetryCallState], None],
    skip_backoff: SkipBackoff | None = None,
) -> tenacity.Retrying:
    """A tenacity ``Retrying`` that retries :class:`RetryPending` within the policy's bounds.

    ``skip_backoff``, asked before each wait once the attempts and the deadline would allow
    one, ends the retries early when it returns True.
    """
    stop = tenacity.stop_after_attempt(settings.max_attempts) | StopAtDeadline(deadline)
    if skip_backoff is not None:
        stop = stop | skip_backoff
    return tenacity.Retrying(
        stop=stop,
        wait=BackoffWait(settings, rng),
        retry=tenacity.retry_if_exception_type(RetryPending),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
