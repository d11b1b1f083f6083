"""loopai.testing.strategies make data the real server accepts."""

from __future__ import annotations

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from loopai.testing import LocalServer, in_process_client
from loopai.testing import strategies as loopai_st


@settings(max_examples=25, deadline=None)
@given(data=st.data())
async def test_task_specs_and_inputs_are_accepted_by_the_server(data: st.DataObject) -> None:
    """Any generated task spec creates a task, and generated inputs execute on it."""
    spec = data.draw(loopai_st.task_specs())
    async with in_process_client(LocalServer(seed=0)) as client:
        task = await client.create_task(**spec)
        payload = data.draw(loopai_st.inputs_for(task.input_schema))
        result = await client.execute(task.id, payload)
    assert result.succeeded
    jsonschema.validate(result.output, task.output_schema)


@given(
    loopai_st.task_specs().flatmap(
        lambda spec: st.tuples(st.just(spec), loopai_st.inputs_for(spec["input_schema"]))
    )
)
def test_inputs_for_respect_the_schema(case: tuple[dict[str, object], dict[str, object]]) -> None:
    """inputs_for draws objects valid against the schema they were drawn for."""
    spec, payload = case
    jsonschema.validate(payload, spec["input_schema"])


@given(loopai_st.task_names())
def test_task_names_fit_the_client_checks(name: str) -> None:
    """Generated names pass loopai's own argument checks."""
    from loopai._arguments import task_name

    assert task_name(name) == name
