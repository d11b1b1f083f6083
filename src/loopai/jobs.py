"""Durable batch jobs from files: `run_file`, the library behind ``loopai batch run``.

::

    from loopai import LoopaiClient
    from loopai.jobs import run_file

    async with LoopaiClient() as client:
        report = await run_file(client, task_id, "inputs.jsonl", "results.jsonl")
    print(report.succeeded, report.failed, report.complete)

Results are appended as chunks complete and synced to disk; calling again
with the same arguments after a crash resumes where the output ends.  Works
on asyncio and trio.
"""

from ._jobs._errors import FileJobException, InputFileException, OutputFileException, ResumeRefusedException
from ._jobs._record import RECORD_SUFFIX, record_path
from ._jobs._report import JobReport
from ._jobs._run import run_file

__all__ = [
    "RECORD_SUFFIX",
    "FileJobException",
    "InputFileException",
    "JobReport",
    "OutputFileException",
    "ResumeRefusedException",
    "record_path",
    "run_file",
]

for _name in (
    "FileJobException",
    "InputFileException",
    "JobReport",
    "OutputFileException",
    "ResumeRefusedException",
):
    globals()[_name].__module__ = __name__
del _name
