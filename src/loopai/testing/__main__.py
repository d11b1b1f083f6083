"""``python -m loopai.testing``: the same as ``loopai serve``."""

import sys

from .._cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
