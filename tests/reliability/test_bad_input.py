"""Bad input, fuzzed (issue 15, item 5): symbols, batches, configurations and environment overrides.

Whatever a caller passes, the answer is a result or a clear error that names the bad value
(:class:`InvalidSymbolError`, :class:`ConfigError`, or a ``TypeError`` for a batch that is no
iterable of hashables) -- never another exception from inside the library, never a hang, never a
log record broken over two lines, never a file outside the configured directories.

``RP_RELIABILITY_LONG=1`` runs thousands of examples per test (see scale.py).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from resilient_provider import ResilientProvider, Settings
from resilient_provider.cache import MemoryCache
from resilient_provider.errors import ConfigError, InvalidSymbolError, ProviderUnavailableError
from resilient_provider.logs import TextFormatter
from resilient_provider.redaction import safe_repr
from resilient_provider.result import FetchResult
from resilient_provider.symbols import normalize_symbol
from resilient_provider.testing import ScriptedProvider

from ..conftest import fast_settings
from .scale import report, scale

EXAMPLES = scale(300, 5000)
pytestmark = pytest.mark.timeout(scale(120, 1200))  # the long versions take minutes
#: No single call may take longer than this (a hang, or work that grows with a bomb's expansion).
CALL_BOUND_S = 10.0
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

RECORD_START = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ \S+ ")


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    """Every record at DEBUG, in the text format, into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def assert_one_line_per_record(log: io.StringIO) -> int:
    """Every line written starts a record and holds no control character; the record count."""
    lines = log.getvalue().split("\n")[:-1]  # str.splitlines() would split at U+2028 too
    for line in lines:
        assert RECORD_START.match(line), f"a line that starts no record: {line[:200]!r}"
        assert line.isprintable(), f"a control character in a line: {line[:200]!r}"
    return len(lines)


def bounded(call: Any, *args: Any) -> Any:
    """``call(*args)``, failing the test if it took longer than :data:`CALL_BOUND_S`."""
    started = time.perf_counter()
    try:
        return call(*args)
    finally:
        took = time.perf_counter() - started
        assert took < CALL_BOUND_S, f"{getattr(call, '__name__', call)} took {took:.1f} s"


def files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*")}


# --- symbols -------------------------------------------------------------------------------------

HOSTILE_SYMBOLS = [
    "../x", "../../etc/passwd", "AAPL/../../v7/finance/quote", "..", ".", "/", "\\x", "A\\..\\B",
    "AAPL\n2026-01-01T00:00:00.000Z CRITICAL forged", "A\rB", "A\x1b[2KB", "A\u2028B", "A\x00B",
    "\u017fPY", "ＡＡＰＬ", "A" * 33, "A" * 100_000, "", " ", "\t", "^", "=X", "A=", "A..B",
    "%2e%2e%2fx", "AAPL?x=1", "AAPL#x", "a b", "CON", "NUL", "AUX.txt", "*", "$(id)", "'; --",
    "\ud800", "BRK-B", "^GSPC", "EURUSD=X", "0700.HK", "M&M.NS", "brk-b", " aapl ",
]
SYMBOL_LIKE = st.from_regex(r"\A[\^]?[A-Za-z0-9.&=\-/\\ ]{0,40}\Z")
ANY_SYMBOL = st.one_of(
    st.sampled_from(HOSTILE_SYMBOLS), SYMBOL_LIKE, st.text(max_size=60),
    st.binary(max_size=40), st.integers(), st.integers(4400, 6000).map(lambda digits: 10**digits),
    st.floats(), st.none(), st.booleans(), st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.tuples(st.text(max_size=5)), st.sampled_from([np.str_("AAPL"), np.int64(7),
                                                    np.array(["AAPL"]), object()]),
)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The only directory a façade may write: cache and statistics store both live in it."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # a relative path would land here
    return tmp_path / "state"


def disk_facade(state: Path, *providers: ScriptedProvider) -> ResilientProvider:
    # One attempt and no breaker: every failure (and its description) is logged, none waits.
    settings = fast_settings(cache={"backend": "disk", "path": str(state / "cache")},
                             stats={"path": str(state / "stats.sqlite3")},
                             provider_defaults={"retry": {"max_attempts": 1},
                                                "breaker": {"failure_threshold": 1000}})
    return ResilientProvider(list(providers), settings=settings)


def test_any_symbol_is_answered_or_refused_by_name(state: Path, text_log: io.StringIO) -> None:
    before = files_under(state.parent)
    primary = ScriptedProvider("one")
    facade = disk_facade(state, primary, ScriptedProvider("two"))
    counts = {"examples": 0, "answered": 0, "refused": 0}

    @fuzz
    @given(ANY_SYMBOL, st.one_of(st.sampled_from(HOSTILE_SYMBOLS), st.text(max_size=80)))
    def check(value: Any, description: str) -> None:
        # The primary fails with a description from outside (as Yahoo's error text is): it is
        # logged at the retries and the fall-over, with the symbol.
        primary.set_default(ProviderUnavailableError(f"Quote not found: {description}"))
        counts["examples"] += 1
        for call in (facade.fetch, facade.get_ticker_info):
            try:
                answer = bounded(call, value)
            except InvalidSymbolError as exc:
                counts["refused"] += 1
                assert safe_repr(value, 60) in exc.message, exc.message
                assert exc.message.isprintable() and len(exc.message) < 400
            else:
                counts["answered"] += 1
                result = answer if isinstance(answer, FetchResult) else None
                assert result is None or result.success
                assert isinstance(value, str) and value.strip().isascii()

    try:
        check()
    finally:
        facade.close()
    records = assert_one_line_per_record(text_log)
    assert records >= counts["answered"]  # each fall-over was logged
    created = files_under(state.parent) - before
    outside = sorted(str(p) for p in created if state not in p.parents and p != state)
    assert not outside, f"files created outside the state directory: {outside[:10]}"
    report("bad_input.symbols", **counts, log_records=records, files_created=len(created))


# --- batches ---------------------------------------------------------------------------------------

BATCHES = st.one_of(
    st.lists(ANY_SYMBOL.filter(lambda v: isinstance(v, str)), max_size=30),
    st.lists(st.sampled_from(["AAPL", "aapl", " AAPL ", "MSFT", "../x", ""]), max_size=50),
    st.lists(st.one_of(st.text(max_size=8), st.integers(), st.none(), st.binary(max_size=4)),
             max_size=20),
    st.text(max_size=20), st.binary(max_size=10), st.integers(), st.none(),
    st.lists(st.lists(st.text(max_size=3), max_size=2), min_size=1, max_size=3),
    st.builds(lambda items: np.array(items, dtype=object),
              st.lists(st.sampled_from(["AAPL", "MSFT", 3, None]), max_size=10)),
    st.builds(np.array, st.lists(st.sampled_from(["AAPL", "MSFT", "../x"]), max_size=10)),
    st.builds(lambda n: np.arange(n), st.integers(0, 10)),
    st.builds(lambda items: (item for item in items), st.lists(st.text(max_size=6), max_size=8)),
    st.builds(set, st.lists(st.sampled_from(["AAPL", "MSFT", "x y"]), max_size=4)),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=4),
)


def _is_symbol(value: object) -> bool:
    try:
        normalize_symbol(value)
    except InvalidSymbolError:
        return False
    return True


def test_any_batch_is_answered_per_item_or_refused_by_type(text_log: io.StringIO) -> None:
    facade = ResilientProvider([ScriptedProvider("one")], cache=MemoryCache(),
                               settings=fast_settings())
    counts = {"examples": 0, "batches": 0, "items": 0, "refused": 0}

    @fuzz
    @given(BATCHES)
    def check(batch: Any) -> None:
        counts["examples"] += 1
        shown = safe_repr(batch)
        try:
            answers = bounded(facade.batch_fetch, batch)
        except InvalidSymbolError as exc:  # one bare string
            counts["refused"] += 1
            assert isinstance(batch, str | bytes) and "single string" in exc.message
        except TypeError as exc:  # not iterable, or an unhashable item
            counts["refused"] += 1
            assert "symbols must be" in str(exc) and str(exc).isprintable(), (shown, exc)
        else:
            counts["batches"] += 1
            counts["items"] += len(answers)
            for key, result in answers.items():
                assert result.success == _is_symbol(key), (key, result)
                if not result.success:
                    assert isinstance(result.error, InvalidSymbolError)
                    assert safe_repr(key, 60) in result.error.message

    try:
        check()
    finally:
        facade.close()
    records = assert_one_line_per_record(text_log)
    report("bad_input.batches", **counts, log_records=records)


def test_a_batch_of_100000_symbols_with_duplicates_is_answered_once_per_symbol() -> None:
    symbols = [f"S{i}" for i in range(50_000)] * 2  # each twice: 100,000 items
    provider = ScriptedProvider("one")
    # Timeouts far above what a scripted call takes, even on a loaded machine: a timed-out
    # chunk would be asked again.
    settings = fast_settings(batch_size=1000, max_concurrent_requests=8, deadline_s=600,
                             provider_defaults={"timeout_s": 120})
    with ResilientProvider([provider], cache=MemoryCache(), settings=settings) as facade:
        started = time.perf_counter()
        answers = facade.batch_fetch(np.array(symbols))
        took = time.perf_counter() - started
    assert len(answers) == 50_000 and all(r.success for r in answers.values())
    asked = [symbol for call in provider.calls for symbol in call]
    assert len(asked) == len(set(asked)) == 50_000
    report("bad_input.batch_100000", items=len(symbols), distinct=50_000, seconds=round(took, 1))


def test_an_empty_batch_is_an_empty_answer() -> None:
    provider = ScriptedProvider("one")
    with ResilientProvider([provider], cache=MemoryCache(), settings=fast_settings()) as facade:
        assert facade.batch_fetch([]) == {} and facade.batch_fetch(np.array([])) == {}
    assert provider.calls == []


# --- configurations and environment overrides ----------------------------------------------------


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every settable leaf path of ``model`` (dict-valued models under the key ``yahoo``)."""
    paths: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += [(*prefix, name), *_leaf_paths(annotation, (*prefix, name))]
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel) \
                and getattr(annotation, "__origin__", None) is dict:
            paths += [(*prefix, name), *_leaf_paths(args[-1], (*prefix, name, "yahoo"))]
        else:
            paths.append((*prefix, name))
    return paths


PATHS = [*_leaf_paths(Settings), ("no_such_setting",), ("cache", "no_such"), ("_env_file",)]


class Deep:
    """Stands for ``depth`` nested lists until :func:`_real` builds them (so that hypothesis
    can print a failing example: its printer recurses)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"


def _real(value: Any) -> Any:
    if not isinstance(value, Deep):
        return value
    built: Any = 1
    for _ in range(value.depth):
        built = [built]
    return built


HOSTILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([2**63, -1, 0, 1, 3]), st.integers(4400, 6000).map(lambda digits: -(10**digits)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["nan", "inf", "-inf", "-5s", "1e999s", "5", "250ms", "7d", "3 weeks", "",
                     " ", "null", "\x00", "../x", "~no-such-user-x9/x", "/tmp/a\x00b", "9" * 5000,
                     "http://user:s3cr/t@proxy:8080", "text", "json", "memory", "yfinance"]),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=4),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
    st.builds(Deep, st.integers(0, 5000)),
)
CONFIGS = st.lists(st.tuples(st.sampled_from(PATHS), HOSTILE_VALUES), min_size=1, max_size=3)


def _nest(pairs: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for path, value in pairs:
        node = config
        for part in path[:-1]:
            below = node.setdefault(part, {})
            if not isinstance(below, dict):
                break
            node = below
        else:
            node.setdefault(path[-1], _real(value))
    return config


def _check_config_error(exc: ConfigError, named: list[str]) -> None:
    message = exc.message
    assert len(message) < 5000, message[:300]
    assert all(line.isprintable() for line in message.split("\n")), message[:300]
    assert any(name in message for name in named), (named, message[:300])


def test_any_configuration_is_valid_or_a_config_error_naming_the_setting() -> None:
    counts = {"examples": 0, "valid": 0, "refused": 0}

    @fuzz
    @given(CONFIGS)
    def check(pairs: list[tuple[tuple[str, ...], Any]]) -> None:
        counts["examples"] += 1
        config = _nest(pairs)
        try:
            bounded(lambda: Settings(**config))
        except ConfigError as exc:
            counts["refused"] += 1
            _check_config_error(exc, list(config))
        else:
            counts["valid"] += 1

    check()
    report("bad_input.configs", **counts)


def _env_text(value: Any) -> str:
    if isinstance(value, Deep):  # json.dumps itself recurses
        return "[" * value.depth + "1" + "]" * value.depth
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except ValueError:  # an int json cannot print (more than 4300 digits)
        return "9" * 5000


def test_any_environment_override_is_valid_or_a_config_error_naming_the_variable() -> None:
    counts = {"examples": 0, "valid": 0, "refused": 0}

    @fuzz
    @given(st.sampled_from(PATHS), HOSTILE_VALUES)
    def check(path: tuple[str, ...], value: Any) -> None:
        counts["examples"] += 1
        name = "RESILIENT_PROVIDER_" + "__".join(path).upper()
        text = _env_text(value)
        if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
            text = text.replace("\x00", "0").encode("utf-8", "replace").decode("utf-8")
        os.environ[name] = text
        try:
            bounded(Settings)
        except ConfigError as exc:
            counts["refused"] += 1
            _check_config_error(exc, [name])
        else:
            counts["valid"] += 1
        finally:
            del os.environ[name]

    check()
    report("bad_input.env", **counts)


def _bomb(depth: int, width: int) -> str:
    lines = ["  a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
              for i in range(1, depth)]
    return "\n".join(lines)


def _safe_dump(config: dict[str, Any]) -> str:
    try:
        return yaml.safe_dump(config)
    except (ValueError, RecursionError, yaml.YAMLError):  # an int or a depth yaml cannot print
        return "max_concurrent_requests: " + "9" * 5000 + "\n"


YAML_TEXTS = st.one_of(
    st.builds(_safe_dump, CONFIGS.map(_nest)),
    st.builds(lambda key, depth, width: f"{key}:\n{_bomb(depth, width)}\n",
              st.sampled_from(["deadline_s", "providers", "cache", "upstreams", "stats"]),
              st.integers(1, 12), st.integers(1, 12)),
    st.builds(lambda key: f"{key}: &a [1, *a]\n", st.sampled_from(["deadline_s", "cache"])),
    st.builds(lambda n: "deadline_s: " + "[" * n + "]" * n + "\n", st.integers(0, 5000)),
    st.builds(lambda n: "batch_size: " + "9" * n + "\n", st.integers(1, 6000)),
    st.text(max_size=200),
)
YAML_BYTES = st.one_of(YAML_TEXTS.map(lambda t: t.encode("utf-8", "surrogatepass")),
                       st.binary(max_size=200),
                       st.builds(lambda t: t.encode("utf-16"), YAML_TEXTS),
                       st.builds(lambda t: "cache:\n  path: /tmp/caf\u00e9\n".encode("latin-1")
                                 + t, st.binary(max_size=20)))


def test_any_config_file_is_valid_or_a_config_error(tmp_path: Path) -> None:
    counts = {"examples": 0, "valid": 0, "refused": 0}
    file = tmp_path / "config.yaml"

    @fuzz
    @given(YAML_BYTES)
    def check(data: bytes) -> None:
        counts["examples"] += 1
        file.write_bytes(data)
        try:
            bounded(Settings.from_yaml, file)
        except ConfigError as exc:
            counts["refused"] += 1
            assert str(file) in exc.message and len(exc.message) < 5000
        else:
            counts["valid"] += 1

    check()
    report("bad_input.config_files", **counts)


def test_a_batch_holding_an_alias_bomb_is_refused_in_bounded_time() -> None:
    bomb: list[Any] = ["lol"] * 10
    for _ in range(8):  # 10**9 strings once expanded; before, the TypeError built its repr
        bomb = [bomb] * 10
    with ResilientProvider([ScriptedProvider("one")], cache=MemoryCache(),
                           settings=fast_settings()) as facade:
        started = time.perf_counter()
        with pytest.raises(TypeError, match=r"unhashable list \[\[\["):
            facade.batch_fetch(["AAPL", bomb])  # type: ignore[list-item]
        took = time.perf_counter() - started
    assert took < CALL_BOUND_S
    report("bad_input.batch_bomb", leaves=10**9, seconds=round(took, 3))
