"""loopai's logging: silent unless asked, ``LOOPAI_LOG`` to switch it on.

Retry events and request lines go to the ``loopai`` logger.  An application
that configured no logging sees nothing; ``LOOPAI_LOG=info`` or
``LOOPAI_LOG=debug`` sends loopai's records to stderr.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["configure_logging"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def configure_logging(environ: dict[str, str] | None = None) -> None:
    """Apply ``LOOPAI_LOG`` and keep the retry library's default warnings off stderr."""
    env = os.environ if environ is None else environ
    loopai_logger = logging.getLogger("loopai")
    loopai_logger.addHandler(logging.NullHandler())
    # stamina logs every scheduled retry as a warning; with no handler configured
    # anywhere, Python would print it.  loopai reports retries on its own logger.
    stamina_logger = logging.getLogger("stamina")
    if not stamina_logger.handlers:
        stamina_logger.addHandler(logging.NullHandler())
    level = _LEVELS.get(env.get("LOOPAI_LOG", "").strip().lower())
    if level is None or any(getattr(h, "_loopai_env", False) for h in loopai_logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._loopai_env = True  # type: ignore[attr-defined]
    loopai_logger.addHandler(handler)
    loopai_logger.setLevel(level)
