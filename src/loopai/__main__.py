"""``python -m loopai``: the same as the ``loopai`` command."""

import sys

from ._cli import main

sys.exit(main())
