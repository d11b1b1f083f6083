"""The durable file job behind `loopai.jobs` and ``loopai batch run``.

Pure parts (one idea each): `_lines` (input lines to items), `_record` (the
sidecar that ties an output to its input and task), `_resume` (what an
existing output already holds), `_failures` (kinds of failure), `_report`
(what a job reports).  I/O shells: `_source` (reading the input),
`_output` (appending and syncing results), `_run` (the job on anyio).
"""
