"""The argparse pieces that let global options stand anywhere on the command line.

``resilient-provider info AAPL -v`` means ``resilient-provider -v info AAPL``: every
sub-command's parser (:class:`CommandParser`, nested ones too, since argparse makes a
sub-parser of the class of its parent) accepts the global options again, and the action that
dispatches to a sub-command (:class:`_Commands`) merges what the sub-command's parser found
into what the parent parser found, instead of letting argparse's fresh sub-namespace
overwrite it:

* ``-v`` counts add up wherever they stand (``-v info -v`` is ``-vv``);
* ``--log-format`` given after the command wins over one given before it;
* a shared command option (``--config``, ``--json``, ``--offline``) given *before* the
  command is kept unless the command's own parser was given one, and is refused with a usage
  error when the command takes no such option (``--json batch`` or ``--config demo``).

Command modules keep calling ``commands.add_parser(...)`` and ``add_subparsers()`` as usual.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

#: Options every parser accepts: (flags, add_argument keywords without the default).
GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("-v", "--verbose"), {
        "action": "count",
        "help": "log to stderr: -v warnings (retries, breakers), -vv everything; "
                "accepted before or after the command"}),
    (("--log-format",), {
        "choices": ("text", "json"),
        "help": "log lines as text or one JSON object per line (default: logging.format of "
                "the configuration, else text)"}),
)

#: Options of many commands that may also stand before the command, with the value a
#: command's parser leaves when the option was not given there.
SHARED_COMMAND_OPTIONS: dict[str, Any] = {"config": None, "json": False, "offline": False}

#: Destinations whose values add up across the parsers (the -v count).
_ADDED = ("verbose",)


class CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: also takes the global options (absent unless given)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)
        for flags, options in GLOBAL_OPTIONS:
            self.add_argument(*flags, default=argparse.SUPPRESS, **options)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The global options on the top-level parser, with their defaults, and the shared
    command options that may stand before the command."""
    parser.register("action", "parsers", _Commands)
    for flags, options in GLOBAL_OPTIONS:
        parser.add_argument(*flags, default=0 if options.get("action") == "count" else None,
                            **options)
    parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="the --config of the command, given before it")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="the --json of the commands that have it, given before them")
    parser.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                        help="the --offline of the commands that have it, given before them")


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Dispatch to a sub-command, merging its options into the parent's (see the module)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None,
                 option_string: str | None = None) -> None:
        assert isinstance(values, list)
        before = {dest: getattr(namespace, dest) for dest in (*_ADDED, "log_format",
                                                              *SHARED_COMMAND_OPTIONS)
                  if hasattr(namespace, dest)}
        for dest in before:  # what the sub-command's parser sets shows up again below
            delattr(namespace, dest)
        super().__call__(parser, namespace, values, option_string)
        command = values[0]
        for dest, value in before.items():
            if dest in _ADDED:
                setattr(namespace, dest, (value or 0) + getattr(namespace, dest, 0))
            elif dest == "log_format":
                if getattr(namespace, dest, None) is None:
                    setattr(namespace, dest, value)
            elif not hasattr(namespace, dest):
                flag = "--" + dest.replace("_", "-")
                parser.error(f"{flag} does not apply to {command}: give it to a command that "
                             f"has it (see `{parser.prog} {command} --help`)")
            elif getattr(namespace, dest) == SHARED_COMMAND_OPTIONS[dest]:
                setattr(namespace, dest, value)
