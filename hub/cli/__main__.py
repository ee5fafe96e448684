"""``python -m hub.cli``: the same as the ``heartline`` script."""

import sys

from hub.cli.main import main

sys.exit(main())
