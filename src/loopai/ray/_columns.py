"""Rows in, result columns out: how a block becomes task inputs and gets its results back.

Pure functions of Arrow tables and `BatchExecuteResult` lists; no Ray, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import msgspec
import pyarrow as pa

from loopai import BatchExecuteResult

__all__ = [
    "ERROR",
    "EXECUTION_ID",
    "LATENCY_MS",
    "OUTPUT",
    "PREFIX",
    "RESULT_COLUMNS",
    "SUCCESS",
    "InputSpec",
    "inputs_of",
    "with_results",
]

#: The prefix of every column `execute_dataset` adds.
PREFIX = "loopai_"
SUCCESS = PREFIX + "success"
OUTPUT = PREFIX + "output"
ERROR = PREFIX + "error"
LATENCY_MS = PREFIX + "latency_ms"
EXECUTION_ID = PREFIX + "execution_id"
#: The added columns, in order, with their Arrow types.
RESULT_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    (SUCCESS, pa.bool_()),
    (OUTPUT, pa.string()),
    (ERROR, pa.string()),
    (LATENCY_MS, pa.float64()),
    (EXECUTION_ID, pa.string()),
)

#: How a row becomes the task's input: the columns to send under their own names, or a function of the row.
InputSpec: TypeAlias = "Sequence[str] | Callable[[dict[str, Any]], Mapping[str, Any]]"

_encode_json = msgspec.json.Encoder().encode


def check_input_spec(spec: object) -> InputSpec:
    """``spec`` if it is a non-empty list of column names or a callable; else ValueError."""
    if callable(spec):
        return spec
    if isinstance(spec, str) or not isinstance(spec, Sequence) or not spec:
        raise ValueError("input must be a non-empty list of column names or a function of the row")
    if not all(isinstance(name, str) for name in spec):
        raise ValueError("input column names must be strings")
    return list(spec)


def inputs_of(table: pa.Table, spec: InputSpec) -> list[dict[str, Any]]:
    """The task input of every row of ``table``, in row order."""
    clashing = [name for name, _ in RESULT_COLUMNS if name in table.column_names]
    if clashing:
        raise ValueError(f"the dataset already has result columns {clashing}; rename or drop them first")
    if callable(spec):
        return [dict(spec(row)) for row in table.to_pylist()]
    missing = [name for name in spec if name not in table.column_names]
    if missing:
        raise ValueError(f"input columns {missing} are not in the dataset (it has {table.column_names})")
    rows: list[dict[str, Any]] = table.select(list(spec)).to_pylist()
    return rows


def with_results(table: pa.Table, results: Sequence[BatchExecuteResult]) -> pa.Table:
    """``table`` with the result columns appended; ``results[i]`` belongs to row ``i``.

    The output is JSON text (one Arrow type whatever the task returns);
    ``json.loads`` gives the value back.  A failed row has a null output.
    """
    if len(results) != table.num_rows:
        raise AssertionError(f"{len(results)} results for {table.num_rows} rows")
    values: dict[str, list[Any]] = {name: [] for name, _ in RESULT_COLUMNS}
    for result in results:
        values[SUCCESS].append(result.success)
        values[OUTPUT].append(
            _encode_json(result.output).decode() if result.success and result.output is not None else None
        )
        values[ERROR].append(result.error_message)
        values[LATENCY_MS].append(result.latency_ms)
        values[EXECUTION_ID].append(str(result.execution_id) if result.execution_id is not None else None)
    for name, kind in RESULT_COLUMNS:
        table = table.append_column(pa.field(name, kind), pa.array(values[name], type=kind))
    return table
