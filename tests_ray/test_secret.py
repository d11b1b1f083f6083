"""The API key never shows in Ray's logs, dashboard state, task and actor reprs or the dataset's plan."""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from .conftest import ServerProcess

pytest.importorskip("ray")

import ray
import ray.cloudpickle
import ray.util.state

import loopai.ray
from loopai.ray._secret import SecretRef

pytestmark = pytest.mark.usefixtures("ray_cluster")

dumps = cast("Callable[[object], bytes]", ray.cloudpickle.dumps)
loads = cast("Callable[[bytes], Any]", ray.cloudpickle.loads)


def logs_dir() -> Path:
    """The current Ray session's log directory (Ray's default place, /tmp/ray/session_latest/logs)."""
    path = Path(tempfile.gettempdir()) / "ray" / "session_latest" / "logs"
    assert path.is_dir(), path
    return path


def files_containing(root: Path, needle: bytes) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError):
                if needle in path.read_bytes():
                    found.append(path)
    return found


def test_secret_hides_itself() -> None:
    """A Secret's repr is masked, it refuses to pickle, and its object-store handle pickles without it."""
    key = f"sk-loopai-{uuid.uuid4().hex}"
    secret = loopai.ray.Secret(key)
    assert key not in repr(secret)
    assert key not in str(secret)
    assert key not in repr([secret])
    with pytest.raises(TypeError, match="does not pickle"):
        pickle.dumps(secret)
    ref = SecretRef.put(secret)
    assert key.encode() not in dumps(ref)
    assert key not in repr(ref)
    assert loads(dumps(ref)).resolve() == secret


def test_key_stays_out_of_ray(start_server: Callable[..., ServerProcess]) -> None:
    """After a job (and a failing one), the key is in no log file, no state API answer, no repr or plan."""
    server = start_server("--log-requests")
    key = f"sk-loopai-{uuid.uuid4().hex}"
    ds = ray.data.from_items([{"text": f"email {i}"} for i in range(200)])
    out = loopai.ray.execute_dataset(ds, server.task_id, input=["text"], base_url=server.url, api_key=key)
    assert all(row["loopai_success"] for row in out.take_all())
    sent = {answer[4] for answer in server.answers() if answer[2] == "/api/v1/batch/execute"}
    assert sent == {hashlib.sha256(f"Bearer {key}".encode()).hexdigest()[:12]}, "the key reached the server"

    def broken(row: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("an input function that fails")

    failing = loopai.ray.execute_dataset(ds, server.task_id, input=broken, base_url=server.url, api_key=key)
    with pytest.raises(Exception, match="an input function that fails") as failure:
        failing.take_all()

    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        out.explain()  # type: ignore[no-untyped-call,unused-ignore]
    texts = [
        repr(out),
        str(out),
        out.stats(),
        shown.getvalue(),
        str(failure.value),
        repr(failure.value),
        str(ray.util.state.list_actors(detail=True, limit=1000)),
        str(ray.util.state.list_tasks(detail=True, limit=10000, raise_on_missing_output=False)),
        str(ray.util.state.list_objects(limit=10000, raise_on_missing_output=False)),
    ]
    for text in texts:
        assert key not in text
    assert files_containing(logs_dir(), key.encode()) == []
