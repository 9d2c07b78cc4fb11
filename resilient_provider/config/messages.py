"""Turns pydantic validation errors on the settings into one message a person can act on.

Each problem is reported as ``dotted.path: what is allowed, got <value>``, with the allowed range
read from the field's own constraints, so the message can never disagree with the model. List
entries of providers are shown by name (``providers[yahooquery].retry.max_attempts``).
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, InitErrorDetails
from pydantic_settings.exceptions import SettingsError

from ..errors import ConfigError
from ..redaction import escape_controls, safe_repr

__all__ = [
    "Unit",
    "describe_settings_error",
    "describe_validation_error",
    "environment_paths",
    "name_list_entries",
]

Loc = tuple[int | str, ...]

_EXPECTED = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "path_type": "must be a filesystem path",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping of settings",
    "model_attributes_type": "must be a mapping of settings",
    "missing": "is required",
}
_RANGE_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


@dataclass(frozen=True)
class Unit:
    """Annotated metadata naming a field's unit, so range messages can say it."""

    name: str


def environment_paths(
    root: type[BaseModel], prefix: str, ignored: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Map each environment variable under ``prefix`` to the setting path it sets.

    pydantic-settings silently ignores a prefixed variable it does not know; a typo in a
    rollback switch (``..._ENABLE_FALBACK=false``) would then do nothing, so it raises
    :class:`ConfigError` instead. Names in ``ignored`` are not settings and are skipped.
    """
    found: dict[str, tuple[str, ...]] = {}
    skip = {name.upper() for name in ignored}
    for env_name in os.environ:
        if not env_name.upper().startswith(prefix.upper()) or env_name.upper() in skip:
            continue
        path = tuple(env_name[len(prefix) :].lower().split("__"))
        for depth, part in enumerate(path):
            model = _model_at(root, path[:depth])
            fields = list(model.model_fields) if model is not None else []
            if part not in fields:
                hint = ""
                for close in difflib.get_close_matches(part, fields, n=1):
                    hint = f" (did you mean {prefix}{'__'.join((*path[:depth], close)).upper()}?)"
                raise ConfigError(
                    f"invalid configuration: unknown environment variable "
                    f"{escape_controls(env_name)}: {'.'.join(path[:depth]) or 'the top level'} "
                    f"has no setting {safe_repr(part)}{hint}; "
                    f"allowed: {', '.join(fields) or 'none'}"
                )
        found[env_name] = path
    return found


def describe_settings_error(exc: SettingsError, env_paths: Mapping[str, tuple[str, ...]]) -> str:
    """Message for an environment value pydantic-settings could not decode (bad JSON)."""
    # Its message names the field as 'field "providers"'; map that back to the variable.
    names = [name for name, path in env_paths.items() if f'"{path[0]}"' in str(exc)]
    return (
        f"invalid configuration: environment variable {' or '.join(names) or '(unknown)'} "
        "could not be parsed; lists and mappings are given as JSON, e.g. '[\"yahooquery\"]' "
        f"({exc.__cause__ or exc})"
    )


def name_list_entries(exc: ValidationError, field: str, entries: Sequence[Any]) -> ValidationError:
    """Return ``exc`` with ``(field, index, ...)`` locations keyed by the entry's name instead.

    ``entries`` is the raw list (names, mappings or models). A name is used only where it is
    known and unique; otherwise the index stays.
    """
    names = [_entry_name(entry) for entry in entries]
    unique = {n for n in names if n is not None and names.count(n) == 1}
    details: list[InitErrorDetails] = []
    for err in exc.errors(include_url=False):
        loc: Loc = err["loc"]
        if len(loc) > 1 and loc[0] == field and isinstance(loc[1], int) and loc[1] < len(names):
            name = names[loc[1]]
            if name in unique:
                loc = (field, name, *loc[2:])
        detail: InitErrorDetails = {"type": err["type"], "loc": loc, "input": err["input"]}
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        details.append(detail)
    try:
        return ValidationError.from_exception_data(exc.title, details)
    except KeyError:  # a custom error type cannot be rebuilt by name: keep the indices
        return exc


def _entry_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    name = entry.get("name") if isinstance(entry, Mapping) else getattr(entry, "name", None)
    return name if isinstance(name, str) else None


def describe_validation_error(
    exc: ValidationError, root: type[BaseModel], env_paths: Mapping[str, tuple[str, ...]]
) -> str:
    """The ConfigError message for ``exc``: one line per problem, named by its dotted path.

    ``root`` is the model that was validated; ``env_paths`` maps each environment override
    present to the setting path it sets, so a line can say where a bad value came from.
    """
    errors = exc.errors(include_url=False)
    lines = [_describe(err, root, env_paths) for err in errors if not _inherited(err, errors)]
    if len(lines) == 1:
        return f"invalid configuration: {lines[0]}"
    return f"invalid configuration ({len(lines)} problems):\n  " + "\n  ".join(lines)


def _inherited(err: ErrorDetails, errors: Sequence[ErrorDetails]) -> bool:
    """True for a provider entry's error that only repeats one of provider_defaults.

    Defaults are merged into every entry, so one bad default would otherwise be reported once
    per provider as well.
    """
    loc = err["loc"]
    if len(loc) < 3 or loc[0] != "providers":
        return False
    origin = ("provider_defaults", *loc[2:])
    return any(
        o["loc"] == origin and o["type"] == err["type"] and o["input"] == err["input"]
        for o in errors
    )


def _describe(
    err: ErrorDetails, root: type[BaseModel], env_paths: Mapping[str, tuple[str, ...]]
) -> str:
    loc = err["loc"]
    line = f"{_dotted(loc) or '(top level)'}: {_problem(err, root)}"
    for env_name, path in env_paths.items():
        # The variable set this value, or one inside it (a check across fields of a model).
        if loc[: len(path)] == path or (loc and path[: len(loc)] == loc):
            line += f" (set by environment variable {env_name})"
    return line


def _problem(err: ErrorDetails, root: type[BaseModel]) -> str:
    kind, loc, ctx = err["type"], err["loc"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    field = _field_at(root, loc)
    if kind == "literal_error":
        text = f"must be one of {ctx.get('expected', '?')}"
    elif kind == "string_pattern_mismatch":
        described = field.description if field is not None else None
        text = f"must be {described}" if described else f"must match {ctx.get('pattern')}"
    elif kind in _RANGE_TYPES:
        rng = _range(field)
        text = f"must be {rng}" if rng else err["msg"]
    elif kind == "missing":
        return _EXPECTED[kind]
    elif kind in _EXPECTED:
        rng = _range(field)
        text = f"{_EXPECTED[kind]} {rng}" if rng else _EXPECTED[kind]
    else:
        text = err["msg"]
    return f"{text}, got {_show(err['input'])}"


def _unknown_key(root: type[BaseModel], loc: Loc) -> str:
    key = str(loc[-1]) if loc else ""
    parent = _model_at(root, loc[:-1])
    if parent is None:
        return "unknown setting"
    allowed = list(parent.model_fields)
    close = difflib.get_close_matches(key[:100], allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown setting {safe_repr(key)}{hint}; allowed here: {', '.join(allowed)}"


def _range(field: FieldInfo | None) -> str:
    """The field's numeric bounds as a phrase: 'between 1 and 10', '> 0 and <= 600 (seconds)'."""
    if field is None:
        return ""
    bounds: dict[str, Any] = {}
    unit = ""
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            bounds[">="] = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            bounds[">"] = meta.gt
        elif isinstance(meta, annotated_types.Le):
            bounds["<="] = meta.le
        elif isinstance(meta, annotated_types.Lt):
            bounds["<"] = meta.lt
        elif isinstance(meta, Unit):
            unit = f" ({meta.name})"
    if not bounds:
        return ""
    if set(bounds) == {">=", "<="}:
        return f"between {bounds['>=']} and {bounds['<=']}{unit}"
    return " and ".join(f"{op} {value}" for op, value in bounds.items()) + unit


def _dotted(loc: Loc) -> str:
    text = ""
    for i, part in enumerate(loc):
        if isinstance(part, str) and not (part.isprintable() and len(part) <= 64):
            part = safe_repr(part, 40)  # a key from the input: one line, bounded
        if isinstance(part, int) or (i == 1 and loc[0] == "providers"):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _show(value: Any) -> str:
    # Bounded and masked: the input may be a YAML alias bomb, a 5,000-digit int or a mapping
    # of credentials.
    return safe_repr(value)


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class validating the value at ``loc``, if ``loc`` names one."""
    annotation: Any = root
    for part in loc:
        annotation = _unwrap(annotation, part)
        if annotation is None:
            return None
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def _field_at(root: type[BaseModel], loc: Loc) -> FieldInfo | None:
    """The FieldInfo of the field at ``loc`` (list and dict keys skipped), if there is one."""
    if not loc or not isinstance(loc[-1], str):
        return None
    parent = _model_at(root, loc[:-1])
    return parent.model_fields.get(loc[-1]) if parent is not None else None


def _unwrap(annotation: Any, part: int | str) -> Any:
    """Step from ``annotation`` into ``part``: a model's field, or a container's element."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else None
        origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    if origin in (list, tuple, dict, Sequence, Mapping):
        args = get_args(annotation)
        return args[-1] if args else None
    return None
