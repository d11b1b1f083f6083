"""The built-site checks run in `nox -s docs`, after `mkdocs build`, which sets LOOPAI_SITE_DIR."""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("LOOPAI_SITE_DIR") else ["test_site.py"]
