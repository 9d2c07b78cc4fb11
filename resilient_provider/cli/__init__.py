"""The ``resilient-provider`` command: one module per group of sub-commands.

:mod:`.main` builds the parser and dispatches; each command module has ``register(commands)``
(adds its sub-parsers, each with ``run`` as its default) and its ``run_*`` functions.
"""

from .main import main

__all__ = ["main"]
