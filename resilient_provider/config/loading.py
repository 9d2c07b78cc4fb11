"""Reading configuration input safely: the YAML file, environment values, and the shape of values.

Everything here runs before pydantic sees a value, and answers every hostile input with a
:class:`~resilient_provider.errors.ConfigError` in bounded time and memory:

* a YAML file is read only up to :data:`MAX_FILE_BYTES`, must be UTF-8, may nest at most
  :data:`MAX_DEPTH` levels (PyYAML's composer recurses: 5,000 levels raised RecursionError) and
  holds no integer of more than :data:`MAX_INT_DIGITS` digits (``int()`` of 4,301 digits raises
  ValueError);
* the values given (from the file or in code) may nest at most :data:`MAX_DEPTH` levels, may not
  contain themselves, and expand to at most :data:`MAX_VALUES` values -- YAML aliases share one
  object, so a "billion laughs" bomb loads in a few kilobytes and only grows when something
  walks it (a repr, a copy, validation);
* an environment value may nest at most :data:`MAX_DEPTH` levels of JSON, and may not be
  ``null`` (pydantic-settings drops a JSON null, so ``RESILIENT_PROVIDER_PROVIDERS=null``
  silently meant the defaults).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import Node, ScalarNode

from ..errors import ConfigError
from ..redaction import escape_controls, safe_repr

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_INT_DIGITS", "MAX_VALUES", "check_env_values",
           "check_shape", "read_yaml_file"]

#: Deepest nesting of mappings and lists any setting value may have.
MAX_DEPTH = 32
#: Most values (scalars and containers, counted as if aliases were copies) the input may hold.
MAX_VALUES = 100_000
#: Largest configuration file read.
MAX_FILE_BYTES = 1 << 20
#: Longest integer literal accepted in YAML (no setting needs more than a few digits).
MAX_INT_DIGITS = 64

_Loc = tuple[int | str, ...]


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than :data:`MAX_DEPTH` while it composes."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ConstructorError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                       self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> Any:
    text = str(node.value)
    if len(text.replace("_", "")) > MAX_INT_DIGITS:
        raise ConstructorError(None, None, f"an integer of {len(text)} characters is too large "
                               "for any setting", node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_yaml_file(file: Path) -> Any:
    """The parsed content of the YAML file ``file`` (None when empty); ConfigError otherwise."""
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {file}") from exc
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(f"cannot read config file {file}: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"config file {file} is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {file} is not UTF-8 text: byte {data[exc.start]:#04x} "
                          f"at offset {exc.start} cannot be decoded") from exc
    if _flow_depth(text) > MAX_DEPTH:  # PyYAML's scanner slows down with each open bracket
        raise ConfigError(f"config file {file}: brackets nested more than {MAX_DEPTH} levels "
                          "deep")
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # its reader refuses control characters already
        loader.name = str(file)  # marks in error messages name the file, not "<unicode string>"
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {file} is not valid YAML: {exc}") from exc
    finally:
        if loader is not None:
            loader.dispose()


def check_shape(values: Mapping[str, Any]) -> None:
    """Raise ConfigError if a value nests deeper than :data:`MAX_DEPTH`, contains itself, or the
    values together expand to more than :data:`MAX_VALUES` (aliases counted as copies)."""
    memo: dict[int, tuple[int, int]] = {}  # id of a container -> (values, height) under it
    total = 0
    for key, value in values.items():
        total += _measure(value, 1, (str(key),), memo, set())[0]
        if total > MAX_VALUES:
            raise _too_many((str(key),))


def _measure(value: Any, depth: int, loc: _Loc, memo: dict[int, tuple[int, int]],
             walking: set[int]) -> tuple[int, int]:
    """(values, height) of ``value``; recursion stops at :data:`MAX_DEPTH` levels."""
    if not isinstance(value, Mapping | list | tuple | set | frozenset):
        return 1, 0
    ident = id(value)
    if ident in walking:
        raise ConfigError(f"invalid configuration: {_where(loc)}: the value contains itself "
                          "(a YAML alias inside its own anchor)")
    if ident not in memo:
        if depth > MAX_DEPTH:
            raise _too_deep(loc)
        walking.add(ident)
        count, height = 1, 0
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            below = (*loc, key if isinstance(key, int | str) else "?")
            item_count, item_height = _measure(item, depth + 1, below, memo, walking)
            count, height = count + item_count, max(height, item_height + 1)
            if count > MAX_VALUES:
                raise _too_many(loc)
        walking.discard(ident)
        memo[ident] = (count, height)
    count, height = memo[ident]
    if depth + height > MAX_DEPTH:
        raise _too_deep(loc)
    return count, height


def _where(loc: _Loc) -> str:
    """``providers[0].options.…``: the first levels of ``loc``, keys that are no names quoted."""
    text = ""
    for part in loc[:4]:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if part.isidentifier() else safe_repr(part, 40)
            text += f".{name}" if text else name
    return text + (".…" if len(loc) > 4 else "")


def _too_deep(loc: _Loc) -> ConfigError:
    return ConfigError(f"invalid configuration: {_where(loc)}: nested more than {MAX_DEPTH} "
                       "levels deep")


def _too_many(loc: _Loc) -> ConfigError:
    return ConfigError(f"invalid configuration: {_where(loc)}: expands to more than "
                       f"{MAX_VALUES} values (a YAML alias bomb?)")


def check_env_values(names: Mapping[str, object]) -> None:
    """Raise ConfigError for an environment override that is JSON ``null`` or nests JSON more
    than :data:`MAX_DEPTH` levels deep (``json`` raises RecursionError at about 1,000)."""
    for name in names:
        value = os.environ.get(name, "")
        if value.strip() == "null":
            raise ConfigError(
                f"invalid configuration: environment variable {escape_controls(name)} is null; "
                "unset it to use the default, or give a value (lists and mappings as JSON)")
        if _json_depth(value) > MAX_DEPTH:
            raise ConfigError(
                f"invalid configuration: environment variable {escape_controls(name)} nests "
                f"more than {MAX_DEPTH} levels deep, got {safe_repr(value)}")


def _flow_depth(text: str) -> int:
    """How deep ``[ ]`` and ``{ }`` nest in YAML ``text`` (quoted strings and comments skipped;
    a bracket inside a plain scalar counts, so this can only overestimate)."""
    depth = deepest = 0
    quote = ""
    previous = "\n"
    chars = iter(text)
    for char in chars:
        if quote == '"':
            if char == "\\":
                next(chars, None)
            elif char == '"':
                quote = ""
        elif quote == "'":
            if char == "'":
                quote = ""  # '' (an escaped quote) reopens at once on the next character
        elif char in "\"'":
            quote = char
        elif char == "#" and previous in " \t\n":
            for char in chars:  # the comment, up to its line end
                if char == "\n":
                    break
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
        previous = char
    return deepest


def _json_depth(text: str) -> int:
    """How deep brackets nest in ``text`` read as JSON (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
