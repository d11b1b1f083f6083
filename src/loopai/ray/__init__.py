"""loopai on Ray Data: run a task on every row of a dataset, across a cluster.

Needs the ``ray`` extra (``pip install 'loopai[ray]'``); ``import loopai``
alone never imports Ray.  See `execute_dataset`.
"""

from ._budget import BudgetStats, RateBudget
from ._columns import (
    ERROR,
    EXECUTION_ID,
    LATENCY_MS,
    OUTPUT,
    PREFIX,
    RESULT_COLUMNS,
    SUCCESS,
)
from ._dataset import execute_dataset
from ._secret import Secret

__all__ = [
    "ERROR",
    "EXECUTION_ID",
    "LATENCY_MS",
    "OUTPUT",
    "PREFIX",
    "RESULT_COLUMNS",
    "SUCCESS",
    "BudgetStats",
    "RateBudget",
    "Secret",
    "execute_dataset",
]

for _name in ("BudgetStats", "RateBudget", "Secret"):
    globals()[_name].__module__ = __name__
del _name
