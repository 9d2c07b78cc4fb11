"""Fleet mode: many workers act as one polite client toward Yahoo, through Redis.

Off unless ``shared.enabled`` (and the ``redis`` extra is installed). What lives where:

* :mod:`.link` -- :class:`~.link.RedisLink`: the bounded, fork-safe client, Redis's up/down
  state, and the reconcilers run when it comes back.
* :mod:`.cache` -- the shared cache, :class:`~.cache.RedisCache`; :mod:`.tiered_cache` -- the
  tier of it over the local cache.
* :mod:`.fleet` -- :func:`~.fleet.open_fleet`: the parts a façade uses, built from settings.
* :mod:`.breaker` -- circuit breakers whose state machine runs in Redis.
* :mod:`.budget` -- upstream budgets (pacing, in-flight cap, cool-downs) decided in Redis.
* :mod:`.single_flight` -- a symbol fetched by one worker is waited for by the others.

Every part falls back to local state while Redis is down: Redis is never needed to answer, and
lost Redis data only costs extra provider calls, never a wrong answer.
"""
