"""The Django admin as the workflow UI, through the test client on live data.

Workflows that need no worker run on a task queue of their own that no worker
consumes: they stay RUNNING with the history the admin writes to them.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from durable_workflows import Client
from durable_workflows.exceptions import WorkflowFailureError
from durable_workflows.models import ActivityTask, HistoryEvent, Timer, WorkflowExecution
from example_project.app.workflows import OrderWorkflow
from tests.helpers import wait_until
from tests.testapp.workflows import (
    ApprovalWorkflow,
    BuggyWorkflow,
    CompensatingWorkflow,
    CounterWorkflow,
    FlakyWorkflow,
)

from .conftest import CHANGELIST, detail_url, make_user

client = Client()


def start_idle(workflow, *args, workflow_id: str, queue: str) -> WorkflowExecution:
    """Start a run on a queue no worker consumes; it stays RUNNING."""
    client.start_workflow(workflow, *args, id=workflow_id, task_queue=queue)
    return WorkflowExecution.objects.get(workflow_id=workflow_id, status="RUNNING")


def event_types(execution: WorkflowExecution) -> list[str]:
    return list(
        HistoryEvent.objects.filter(execution=execution)
        .order_by("event_id")
        .values_list("event_type", flat=True)
    )


def reloaded(execution: WorkflowExecution) -> WorkflowExecution:
    return WorkflowExecution.objects.get(pk=execution.pk)


def html(response) -> str:
    return response.content.decode()


def action_choices(page: str) -> set[str]:
    return set(re.findall(r'<option value="(\w+)"', page))


# --- the list ---------------------------------------------------------------------------


def test_changelist_lists_newest_first_with_status_filters_and_search(superuser_client, unique):
    queue = f"adm-list-{unique}"
    first = start_idle(ApprovalWorkflow.run, "a", workflow_id=f"list-a-{unique}", queue=queue)
    second = start_idle(CounterWorkflow.run, 3, workflow_id=f"list-b-{unique}", queue=queue)

    page = html(superuser_client.get(CHANGELIST, {"task_queue": queue}))
    assert page.index(second.workflow_id) < page.index(first.workflow_id)  # newest first
    assert 'class="dw-badge dw-status-running"' in page
    for column in ("Workflow type", "Task queue", "Start time", "Close time", "Duration"):
        assert column in page
    # Filters: status choices, the queue among the listed queues, start date.
    assert "?status__exact=RUNNING" in page and "?status__exact=COMPLETED" in page
    assert f"task_queue={queue}" in page
    assert "start_time__gte" in page

    running = html(
        superuser_client.get(CHANGELIST, {"task_queue": queue, "status__exact": "RUNNING"})
    )
    assert first.workflow_id in running and second.workflow_id in running
    completed = html(
        superuser_client.get(CHANGELIST, {"task_queue": queue, "status__exact": "COMPLETED"})
    )
    assert first.workflow_id not in completed
    by_type = html(
        superuser_client.get(CHANGELIST, {"task_queue": queue, "workflow_type": "CounterWorkflow"})
    )
    assert second.workflow_id in by_type and first.workflow_id not in by_type

    by_prefix = html(superuser_client.get(CHANGELIST, {"q": f"list-a-{unique[:6]}"}))
    assert first.workflow_id in by_prefix and second.workflow_id not in by_prefix
    by_run_id = html(superuser_client.get(CHANGELIST, {"q": str(second.run_id)}))
    assert second.workflow_id in by_run_id and first.workflow_id not in by_run_id


def test_the_list_reads_only_the_columns_it_shows(superuser_client, unique):
    queue = f"adm-cols-{unique}"
    start_idle(ApprovalWorkflow.run, "x" * 500, workflow_id=f"cols-{unique}", queue=queue)
    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(CHANGELIST, {"task_queue": queue})
    assert response.status_code == 200
    rows = [q["sql"] for q in queries if "durable_workflows_workflowexecution" in q["sql"]]
    assert rows and not any('"input"' in sql or '"failure"' in sql for sql in rows), rows


# --- the detail page --------------------------------------------------------------------


def test_detail_page_shows_summary_payloads_and_the_timeline_with_activity_events(
    workers, superuser_client, unique
):
    workflow_id = f"order-admin-{unique}"
    client.execute_workflow(OrderWorkflow.run, f"o-{unique}", 25.0, id=workflow_id)
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)

    with CaptureQueriesContext(connection) as queries:
        response = superuser_client.get(detail_url(execution))
    assert response.status_code == 200
    page = html(response)
    assert len(queries) <= 10, [q["sql"] for q in queries]
    for text in (
        "OrderWorkflow",
        str(execution.run_id),
        "dw-status-completed",
        f"{execution.history_length} events",
        f"Order o-{unique}: Charged $25.0",  # the result
        f"&quot;o-{unique}&quot;",  # the input, pretty-printed
    ):
        assert text in page, text
    # The timeline: every event, coloured by category, with key attributes on one line.
    for event_type in event_types(execution):
        assert f'<span class="dw-event-type">{event_type}</span>' in page
    assert (
        page.count("dw-event dw-event-activity") == 12
    )  # 4 activities: scheduled, started, completed
    assert 'dw-event-workflow" id="event-1"' in page
    assert re.search(r"activity_type</span> charge_card", page)
    assert re.search(r"result</span> Charged \$25.0", page)
    assert "<details><summary>" in page and "&quot;retry_policy&quot;" in page
    # No mutating controls on a closed run.
    assert "/signal/" not in page and "/terminate/" not in page


def test_a_long_history_is_paged_a_hundred_events_at_a_time(superuser_client, unique):
    execution = start_idle(
        CounterWorkflow.run, 1000, workflow_id=f"long-{unique}", queue=f"adm-long-{unique}"
    )
    handle = client.get_workflow_handle(execution.workflow_id)
    for i in range(150):
        handle.signal(CounterWorkflow.add, f"tag-{i}")
    assert reloaded(execution).history_length == 151

    with CaptureQueriesContext(connection) as queries:
        first = html(superuser_client.get(detail_url(execution)))
    assert len(queries) <= 10
    assert 'id="event-100"' in first and 'id="event-101"' not in first
    assert "?events_page=2#history" in first
    second = html(superuser_client.get(detail_url(execution), {"events_page": 2}))
    assert 'id="event-101"' in second and 'id="event-151"' in second
    assert 'id="event-100"' not in second
    assert "signal_name</span> add" in second and "tag-149" in second
    # A page past the end, or not a number, shows the nearest page.
    assert 'id="event-151"' in html(superuser_client.get(detail_url(execution), {"events_page": 9}))
    assert 'id="event-1"' in html(superuser_client.get(detail_url(execution), {"events_page": "x"}))


def test_detail_page_shows_a_failure_cause_by_cause_with_stack_traces(
    workers, superuser_client, unique
):
    workflow_id = f"flaky-admin-{unique}"
    handle = client.start_workflow(FlakyWorkflow.run, unique, 5, 2, id=workflow_id)
    with pytest.raises(WorkflowFailureError):
        handle.result(timeout=30)
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)
    page = html(superuser_client.get(detail_url(execution)))
    assert "dw-status-failed" in page
    assert "<strong>ActivityError:</strong>" in page
    assert (
        "<strong>Caused by ApplicationError (FlakyError):</strong> attempt 2 failed on purpose"
        in page
    )
    assert page.count("<summary>Stack trace</summary>") >= 2
    assert "Traceback" in page
    assert re.search(r'dw-event-failed" id="event-\d+"', page)  # ActivityTaskFailed


def test_detail_page_shows_why_the_workflow_task_keeps_failing(workers, superuser_client, unique):
    workflow_id = f"buggy-admin-{unique}"
    client.start_workflow(BuggyWorkflow.run, f"/nonexistent/{unique}", id=workflow_id)
    execution = wait_until(
        lambda: WorkflowExecution.objects.filter(
            workflow_id=workflow_id, task_failure__isnull=False
        ).first(),
        what="a failed workflow task",
    )
    try:
        page = html(superuser_client.get(detail_url(execution)))
        assert "The workflow task is failing" in page
        assert "KeyError" in page and "a bug in workflow code" in page
        assert "dw-status-running" in page
    finally:
        client.get_workflow_handle(workflow_id).terminate("test over")


def test_detail_page_lists_a_pending_timer_and_a_signal_sent_there_wakes_the_workflow(
    workers, superuser_client, unique
):
    workflow_id = f"approval-admin-{unique}"
    handle = client.start_workflow(ApprovalWorkflow.run, "leave", id=workflow_id)
    timer = wait_until(
        lambda: Timer.objects.filter(execution__workflow_id=workflow_id).first(),
        what="the 1-day timer",
    )
    execution = timer.execution
    page = html(superuser_client.get(detail_url(execution)))
    assert "Pending timers" in page
    assert f"<td>{timer.timer_id}</td><td>{timer.fire_at:%Y-%m-%d %H:%M:%S} UTC" in page
    assert "duration</span> 1d 0h" in page  # TimerStarted, one line

    superuser_client.post(
        f"{CHANGELIST}{execution.pk}/signal/",
        {"signal_name": "approve", "args": '["ada"]', "post": "yes"},
    )
    assert handle.result(timeout=30) == "leave: approved by ada"
    page = html(superuser_client.get(detail_url(execution)))
    assert "Pending timers" not in page and "dw-status-completed" in page
    assert '<span class="dw-event-type">TimerCanceled</span>' in page


def test_detail_page_shows_a_heartbeating_activity_and_cancel_reaches_it(
    workers, superuser_client, unique
):
    workflow_id = f"saga-admin-{unique}"
    handle = client.start_workflow(CompensatingWorkflow.run, unique, id=workflow_id)
    wait_until(
        lambda: ActivityTask.objects.filter(
            execution__workflow_id=workflow_id, status="STARTED", heartbeat_details__isnull=False
        ).exists(),
        what="the activity to heartbeat",
    )
    execution = WorkflowExecution.objects.get(workflow_id=workflow_id)
    page = html(superuser_client.get(detail_url(execution)))
    pending = page.split("Pending activities")[1].split("Event history")[0]
    assert "<td>heartbeat_until_cancelled</td><td>1</td><td>STARTED</td><td>1</td>" in pending
    assert re.search(r"<pre>\[\s*\d+\s*\]</pre>", pending)  # the heartbeat details
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", pending)  # next deadline

    superuser_client.post(f"{CHANGELIST}{execution.pk}/cancel/", {"reason": "", "post": "yes"})
    with pytest.raises(WorkflowFailureError):
        handle.result(timeout=30)
    page = html(superuser_client.get(detail_url(execution)))
    assert "dw-status-canceled" in page
    assert '<span class="dw-event-type">WorkflowExecutionCanceled</span>' in page
    assert re.search(r"reason</span> Cancellation requested by admin-\w+ in the admin", page)


# --- signal, cancel, terminate ----------------------------------------------------------


def test_signal_from_the_detail_page_confirms_validates_then_signals(superuser_client, unique):
    execution = start_idle(
        ApprovalWorkflow.run, "leave", workflow_id=f"sig-{unique}", queue=f"adm-sig-{unique}"
    )
    url = f"{CHANGELIST}{execution.pk}/signal/"
    assert f'href="{url}"' in html(superuser_client.get(detail_url(execution)))

    form = html(superuser_client.get(url))
    assert execution.workflow_id in form and "Yes, send the signal" in form
    assert '<option value="approve">approve</option>' in form  # a registered type's signals
    assert event_types(execution) == ["WorkflowExecutionStarted"]  # asking wrote nothing

    def post(name: str, args: str) -> str:
        data = {"signal_name": name, "args": args, "post": "yes"}
        response = superuser_client.post(url, data)
        assert response.status_code == 200, "an invalid form is shown again"
        return html(response)

    assert "Not valid JSON" in post("approve", "[ada")
    assert "Give a JSON array" in post("approve", '"ada"')
    assert "takes 1 argument(s) (who), got 0" in post("approve", "[]")
    assert "takes 1 argument(s) (who), got 2" in post("approve", '["ada", "bob"]')
    assert "Select a valid choice" in post("nope", '["ada"]')
    assert event_types(execution) == ["WorkflowExecutionStarted"]

    response = superuser_client.post(
        url, {"signal_name": "approve", "args": '["ada"]', "post": "yes"}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail_url(execution)
    assert "Signalled sig-" in html(response)
    signal = HistoryEvent.objects.get(execution=execution, event_type="WorkflowExecutionSignaled")
    assert signal.attributes == {"signal_name": "approve", "input": ["ada"]}
    assert LogEntry.objects.filter(object_id=str(execution.pk), change_message__contains="approve")


def test_bulk_signal_confirms_then_signals_every_selected_running_workflow(
    superuser_client, unique
):
    queue = f"adm-bulk-{unique}"
    runs = [
        start_idle(ApprovalWorkflow.run, str(i), workflow_id=f"bulk-{i}-{unique}", queue=queue)
        for i in range(3)
    ]
    selected = [str(run.pk) for run in runs]
    confirm = superuser_client.post(
        CHANGELIST, {"action": "signal_selected", "_selected_action": selected, "index": 0}
    )
    page = html(confirm)
    assert confirm.status_code == 200 and "Send this signal to the following" in page
    assert all(run.workflow_id in page for run in runs)
    assert all(event_types(run) == ["WorkflowExecutionStarted"] for run in runs)

    done = superuser_client.post(
        CHANGELIST,
        {
            "action": "signal_selected",
            "_selected_action": selected,
            "post": "yes",
            "signal_name": "approve",
            "args": '["bob"]',
        },
    )
    assert done.status_code == 302
    for run in runs:
        assert event_types(run)[-1] == "WorkflowExecutionSignaled"


def test_bulk_signal_to_mixed_types_is_checked_for_each_type_before_anything_is_written(
    superuser_client, unique
):
    queue = f"adm-mixed-{unique}"
    approval = start_idle(ApprovalWorkflow.run, "x", workflow_id=f"mx-a-{unique}", queue=queue)
    counter = start_idle(CounterWorkflow.run, 5, workflow_id=f"mx-c-{unique}", queue=queue)
    data = {"action": "signal_selected", "_selected_action": [approval.pk, counter.pk]}
    page = html(superuser_client.post(CHANGELIST, {**data, "index": 0}))
    assert (
        'name="signal_name"' in page and "<select" not in page.split('name="signal_name"')[0][-200:]
    )

    refused = superuser_client.post(
        CHANGELIST, {**data, "post": "yes", "signal_name": "approve", "args": '["ada"]'}
    )
    assert refused.status_code == 200
    assert "has no signal named &#x27;approve&#x27;" in html(refused)
    assert event_types(approval) == event_types(counter) == ["WorkflowExecutionStarted"]


def test_cancel_confirms_then_records_the_request_with_its_reason(superuser_client, unique):
    execution = start_idle(
        ApprovalWorkflow.run, "c", workflow_id=f"cancel-{unique}", queue=f"adm-c-{unique}"
    )
    url = f"{CHANGELIST}{execution.pk}/cancel/"
    assert "Request cancellation of the following" in html(superuser_client.get(url))
    assert event_types(execution) == ["WorkflowExecutionStarted"]

    superuser_client.post(url, {"reason": "customer asked", "post": "yes"})
    request = HistoryEvent.objects.get(
        execution=execution, event_type="WorkflowExecutionCancelRequested"
    )
    assert request.attributes == {"reason": "customer asked"}
    # Asking again is harmless: it is said so, and nothing is added.
    again = superuser_client.post(url, {"reason": "", "post": "yes"}, follow=True)
    assert "already requested" in html(again)
    assert event_types(execution).count("WorkflowExecutionCancelRequested") == 1


def test_bulk_terminate_confirms_then_terminates_and_skips_closed_runs(superuser_client, unique):
    queue = f"adm-term-{unique}"
    running = start_idle(ApprovalWorkflow.run, "t", workflow_id=f"term-{unique}", queue=queue)
    closed = start_idle(ApprovalWorkflow.run, "u", workflow_id=f"term2-{unique}", queue=queue)
    client.get_workflow_handle(closed.workflow_id).terminate("earlier")
    data = {"action": "terminate_selected", "_selected_action": [running.pk, closed.pk]}

    page = html(superuser_client.post(CHANGELIST, {**data, "index": 0}))
    assert "Terminate the following running workflows" in page
    assert "1 of the selected workflows is not running" in page
    assert reloaded(running).status == "RUNNING"

    data["_selected_action"] = [running.pk]  # the confirmation page posts the running ones
    superuser_client.post(CHANGELIST, {**data, "post": "yes", "reason": "bad order"})
    assert reloaded(running).status == "TERMINATED"
    terminated = HistoryEvent.objects.get(
        execution=running, event_type="WorkflowExecutionTerminated"
    )
    assert terminated.attributes == {"reason": "bad order"}


def test_terminate_without_a_reason_records_who_did_it(login, unique):
    user = make_user("view_workflowexecution", "terminate_workflowexecution")
    execution = start_idle(
        ApprovalWorkflow.run, "t", workflow_id=f"who-{unique}", queue=f"adm-who-{unique}"
    )
    login(user).post(f"{CHANGELIST}{execution.pk}/terminate/", {"reason": "", "post": "yes"})
    event = HistoryEvent.objects.get(execution=execution, event_type="WorkflowExecutionTerminated")
    assert event.attributes["reason"] == f"Terminated by {user.username} in the admin"


# --- permissions ------------------------------------------------------------------------


def test_staff_without_the_signal_permission_sees_no_signal_action_and_gets_403(login, unique):
    viewer = login(make_user("view_workflowexecution"))
    execution = start_idle(
        ApprovalWorkflow.run, "p", workflow_id=f"perm-{unique}", queue=f"adm-p-{unique}"
    )
    listing = html(viewer.get(CHANGELIST, {"q": execution.workflow_id}))
    assert execution.workflow_id in listing
    assert not action_choices(listing) & {
        "signal_selected",
        "cancel_selected",
        "terminate_selected",
    }
    detail = html(viewer.get(detail_url(execution)))
    assert "/signal/" not in detail and "/cancel/" not in detail and "/terminate/" not in detail

    for kind in ("signal", "cancel", "terminate"):
        url = f"{CHANGELIST}{execution.pk}/{kind}/"
        assert viewer.get(url).status_code == 403
        assert (
            viewer.post(url, {"signal_name": "approve", "args": '["x"]', "post": "yes"}).status_code
            == 403
        )
    # The bulk action is not among the choices, so posting it does nothing.
    viewer.post(
        CHANGELIST,
        {
            "action": "signal_selected",
            "_selected_action": [execution.pk],
            "post": "yes",
            "signal_name": "approve",
            "args": '["x"]',
        },
    )
    assert event_types(execution) == ["WorkflowExecutionStarted"]


def test_each_action_needs_its_own_permission(login, unique):
    signaller = login(make_user("view_workflowexecution", "signal_workflowexecution"))
    execution = start_idle(
        ApprovalWorkflow.run, "p", workflow_id=f"perm2-{unique}", queue=f"adm-p2-{unique}"
    )
    listing = html(signaller.get(CHANGELIST, {"q": execution.workflow_id}))
    assert "signal_selected" in action_choices(listing)
    assert not action_choices(listing) & {
        "cancel_selected",
        "terminate_selected",
        "delete_selected",
    }
    assert signaller.get(f"{CHANGELIST}{execution.pk}/signal/").status_code == 200
    assert signaller.get(f"{CHANGELIST}{execution.pk}/terminate/").status_code == 403
    # Without the view permission there is nothing to see, let alone signal.
    blind = login(make_user("signal_workflowexecution"))
    assert blind.get(f"{CHANGELIST}{execution.pk}/signal/").status_code == 403


# --- history is read-only ---------------------------------------------------------------


def test_no_admin_path_adds_changes_or_deletes_history(superuser_client, unique):
    execution = start_idle(
        ApprovalWorkflow.run, "r", workflow_id=f"ro-{unique}", queue=f"adm-ro-{unique}"
    )
    before = (reloaded(execution).history_length, event_types(execution))

    assert superuser_client.get(f"{CHANGELIST}add/").status_code == 403
    changed = superuser_client.post(
        detail_url(execution), {"workflow_id": "hijacked", "status": "COMPLETED"}
    )
    assert changed.status_code == 405
    for model in ("historyevent", "activitytask", "timer"):
        base = f"/admin/durable_workflows/{model}/"
        assert superuser_client.get(base).status_code == 404
        assert superuser_client.get(f"{base}1/change/").status_code == 404
        assert superuser_client.post(f"{base}1/delete/", {"post": "yes"}).status_code == 404
    # A running execution cannot be deleted, one by one or in bulk.
    assert superuser_client.get(f"{CHANGELIST}{execution.pk}/delete/").status_code == 403
    assert (
        superuser_client.post(f"{CHANGELIST}{execution.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = superuser_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [execution.pk], "post": "yes"},
        follow=True,
    )
    assert "Nothing was deleted" in html(bulk)
    assert (reloaded(execution).history_length, event_types(execution)) == before
    assert reloaded(execution).workflow_id == f"ro-{unique}"


def test_a_closed_execution_can_be_deleted_by_a_user_with_the_delete_permission(login, unique):
    execution = start_idle(
        ApprovalWorkflow.run, "d", workflow_id=f"del-{unique}", queue=f"adm-del-{unique}"
    )
    client.get_workflow_handle(execution.workflow_id).terminate("done with it")
    url = f"{CHANGELIST}{execution.pk}/delete/"
    assert login(make_user("view_workflowexecution")).get(url).status_code == 403

    deleter = login(make_user("view_workflowexecution", "delete_workflowexecution"))
    confirm = html(deleter.get(url))
    assert "History events: 2" in confirm  # counted, not listed one by one
    deleter.post(url, {"post": "yes"})
    assert not WorkflowExecution.objects.filter(pk=execution.pk).exists()
    assert not HistoryEvent.objects.filter(execution_id=execution.pk).exists()
    assert not ActivityTask.objects.filter(execution_id=execution.pk).exists()
    assert not Timer.objects.filter(execution_id=execution.pk).exists()


def test_pages_escape_ids_and_payloads(superuser_client, unique):
    workflow_id = f"<b>x</b>-{unique}"
    execution = start_idle(
        ApprovalWorkflow.run, "<script>", workflow_id=workflow_id, queue=f"adm-x-{unique}"
    )
    page = html(superuser_client.get(detail_url(execution)))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '"<script>"' not in page and "&quot;&lt;script&gt;&quot;" in page
    form = html(superuser_client.get(f"{CHANGELIST}{execution.pk}/terminate/"))
    assert "<b>x</b>" not in form and "&lt;b&gt;x&lt;/b&gt;" in form
