"""``python -m loopai.testing``: the same as ``loopai serve``.

It runs the ``loopai`` command's module rather than importing it, so the test
kit never imports the command (which imports the test kit to serve).
"""

import runpy
import sys

sys.argv[1:1] = ["serve"]
runpy.run_module("loopai", run_name="__main__", alter_sys=True)
