"""``python -m resilient_provider``: the same as the ``resilient-provider`` command."""

import sys

from .cli import main

sys.exit(main())
