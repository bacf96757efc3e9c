"""The offline Temporal servers start from the pip-shipped binaries."""

from temporalio.testing import WorkflowEnvironment


async def test_time_skipping_server_skips_time(ts_env: WorkflowEnvironment) -> None:
    before = await ts_env.get_current_time()
    await ts_env.sleep(3600 * 24 * 30)
    after = await ts_env.get_current_time()
    assert (after - before).days >= 29


async def test_dev_server_has_case_search_attributes(dev_env: WorkflowEnvironment) -> None:
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    response = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    assert {"CaseStage", "ReviewOverdue", "NextReviewDue"} <= set(response.custom_attributes)
