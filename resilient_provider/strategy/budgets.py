"""One request budget per upstream the providers declare, bound to the providers on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..config import Settings
from ..providers.protocol import Provider
from .upstream import UpstreamBudget

#: Builds one upstream's budget: name, settings; clock, sleep, start_rate_per_s by keyword.
MakeBudget = Callable[..., UpstreamBudget]


def budgets_for(providers: Sequence[Provider], settings: Settings, *,
                learned: Mapping[str, float], clock: Callable[[], float],
                sleep: Callable[[float], None],
                make_budget: MakeBudget | None = None) -> dict[str, UpstreamBudget]:
    """One request budget per upstream the providers declare (their ``upstream``), bound to
    every provider on it that takes a gate (``bind_gate``). A budget starts at the rate
    ``learned`` for its upstream in an earlier run when ``remember_rate`` is on. A provider
    that declares no upstream is not paced by a budget (its own ``rate_limit_per_s`` cap
    still applies). ``make_budget`` builds each (fleet mode passes its shared one; default
    :class:`~.upstream.UpstreamBudget`)."""
    make_budget = make_budget or UpstreamBudget
    budgets: dict[str, UpstreamBudget] = {}
    for provider in providers:
        name = upstream_of(provider)
        if name is None:
            continue
        upstream = settings.upstream(name)
        if not upstream.enabled:
            continue
        if name not in budgets:
            budgets[name] = make_budget(
                name, upstream, clock=clock, sleep=sleep,
                start_rate_per_s=learned.get(name) if upstream.remember_rate else None)
        budgets[name].add_provider(str(provider.name))
        bind = getattr(provider, "bind_gate", None)
        if callable(bind):
            bind(budgets[name])
    return budgets


def upstream_of(provider: Provider) -> str | None:
    """The upstream ``provider`` declares (its optional ``upstream`` name), or None."""
    name = getattr(provider, "upstream", None)
    return name if isinstance(name, str) and name else None
