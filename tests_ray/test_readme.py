"""The README's "Scaling out" example runs as written on a small Parquet file."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ServerProcess, expected_output, text_of

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

README = Path(__file__).resolve().parent.parent / "README.md"

pytestmark = pytest.mark.usefixtures("ray_cluster")


def scaling_out_example() -> str:
    """The first Python block of the README's "Scaling out" section."""
    section = README.read_text().split("## Scaling out", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_readme_example_reads_and_writes_parquet(
    start_server: Callable[..., ServerProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Parquet in, Parquet out (the example's S3 paths made local): every row once, with results."""
    server = start_server()
    rows = 1_000
    pq.write_table(
        pa.table({"id": list(range(rows)), "text": [text_of(i) for i in range(rows)]}),
        tmp_path / "emails.parquet",
    )
    code = scaling_out_example()
    code = code.replace("s3://my-bucket/emails/", str(tmp_path / "emails.parquet"))
    code = code.replace("s3://my-bucket/emails-classified/", str(tmp_path / "classified"))
    monkeypatch.setenv("LOOPAI_TASK_ID", server.task_id)
    monkeypatch.setenv("LOOPAI_BASE_URL", server.url)
    monkeypatch.setenv("LOOPAI_API_KEY", "sk-readme-example")
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})  # noqa: S102
    written = pq.read_table(tmp_path / "classified").to_pylist()
    assert sorted(row["id"] for row in written) == list(range(rows))
    assert all(row["loopai_output"] == expected_output(row["id"]) for row in written)
    assert f"{rows // 101} rows failed" in capsys.readouterr().out
