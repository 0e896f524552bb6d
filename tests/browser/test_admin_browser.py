"""The admin as a person sees it: in headless Chromium, against real workers.

Screenshots of each step land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from durable_workflows import Client
from durable_workflows.exceptions import WorkflowFailureError
from durable_workflows.models import HistoryEvent, WorkflowExecution
from tests.admin.conftest import make_user
from tests.helpers import wait_until
from tests.testapp.workflows import FlakyWorkflow, ReviewWorkflow

from .conftest import SCREENSHOTS, off_loop

pytestmark = pytest.mark.usefixtures("workers")

client = Client()
TEAL = "rgb(13, 148, 136)"  # the signal category's colour in admin.css


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, base_url: str, user: User, screenshot: str = "") -> None:
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-tests")
    if screenshot:
        shot(page, screenshot)
    page.click("input[type=submit]")
    page.wait_for_selector("#content-main")


def test_an_operator_finds_a_running_workflow_reads_its_timeline_and_signals_it(
    admin_server, page, unique
):
    workflow_id = f"review-{unique}"

    def start() -> tuple[User, WorkflowExecution]:
        user = make_user(superuser=True)
        client.start_workflow(ReviewWorkflow.run, f"doc-{unique}", id=workflow_id)
        execution = wait_until(
            lambda: WorkflowExecution.objects.filter(
                workflow_id=workflow_id, history_length__gte=6
            ).first(),
            what="the first activity to complete",
        )
        return user, execution

    user, execution = off_loop(start)

    def signals() -> list[dict]:
        return list(
            HistoryEvent.objects.filter(
                execution=execution, event_type="WorkflowExecutionSignaled"
            ).values_list("attributes", flat=True)
        )

    log_in(page, admin_server, user, screenshot="01-login")
    page.get_by_role("link", name="Workflow executions").first.click()

    # The list, then only the running ones, then this one by its id.
    page.wait_for_selector("#result_list")
    assert page.locator("#changelist-filter").is_visible()
    shot(page, "02-changelist")
    page.locator("#changelist-filter").get_by_role("link", name="Running", exact=True).click()
    page.wait_for_url(re.compile(r"status__exact=RUNNING"))
    badges = page.locator("#result_list .dw-badge").all_inner_texts()
    assert badges and set(badges) == {"RUNNING"}
    page.fill("#searchbar", workflow_id)
    page.press("#searchbar", "Enter")
    page.wait_for_url(re.compile(r"q=review-"))
    assert "status__exact=RUNNING" in page.url  # the filter stays on while searching
    shot(page, "03-running-filtered")
    page.get_by_role("link", name=workflow_id, exact=True).click()

    # The detail page: summary and the timeline with the activity's events.
    page.wait_for_selector("#history")
    assert page.locator("h1 .dw-badge").inner_text() == "RUNNING"
    timeline = page.locator(".dw-timeline tbody tr")
    types = page.locator(".dw-timeline .dw-event-type").all_inner_texts()
    assert types[:6] == [
        "WorkflowExecutionStarted",
        "WorkflowTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
        "WorkflowTaskCompleted",
    ]
    scheduled = timeline.nth(2)
    assert "activity_type record" in scheduled.locator("summary").inner_text()
    scheduled.locator("summary").click()  # expand the full attributes
    attributes = scheduled.locator("details pre")
    assert attributes.is_visible() and '"start_to_close_timeout": 20.0' in attributes.inner_text()
    shot(page, "04-detail-timeline")

    # Signal it through the action form: a bad value is refused on the form first.
    page.get_by_role("link", name="Send a signal").click()
    assert page.locator("select[name=signal_name]").input_value() == "approve"
    page.fill("textarea[name=args]", '["ada"')
    page.get_by_role("button", name="Yes, send the signal").click()
    assert "Not valid JSON" in page.locator(".errorlist").inner_text()
    shot(page, "05-signal-form-error")
    assert off_loop(signals) == []
    page.fill("textarea[name=args]", '["ada"]')
    shot(page, "06-signal-form")
    page.get_by_role("button", name="Yes, send the signal").click()

    # Back on the detail page, the signal is in the history, coloured as a signal.
    page.wait_for_selector(".messagelist .success")
    signaled = page.locator(".dw-event-signal").first
    assert signaled.locator(".dw-event-type").inner_text() == "WorkflowExecutionSignaled"
    assert "signal_name approve" in signaled.locator("summary").inner_text()
    colour = signaled.locator(".dw-event-type").evaluate(
        "el => getComputedStyle(el).borderLeftColor"
    )
    assert colour == TEAL, "the admin's stylesheet is served and applied"
    shot(page, "07-signaled")
    assert off_loop(signals) == [{"signal_name": "approve", "input": ["ada"]}]

    # The worker carries on: the second step runs and the workflow completes.
    def completed() -> bool:
        page.reload()
        return page.locator("h1 .dw-badge").inner_text() == "COMPLETED"

    wait_until(completed, timeout=30, what="the workflow to complete")
    assert f"doc-{unique}: approved by ada" in page.locator(".dw-columns").inner_text()
    assert not page.get_by_role("link", name="Send a signal").count()
    shot(page, "08-completed")


def test_a_failed_workflow_reads_cause_by_cause_with_expandable_stack_traces(
    admin_server, page, unique
):
    workflow_id = f"flaky-browser-{unique}"

    def fail() -> tuple[User, WorkflowExecution]:
        user = make_user(superuser=True)
        handle = client.start_workflow(FlakyWorkflow.run, unique, 5, 2, id=workflow_id)
        with pytest.raises(WorkflowFailureError):
            handle.result(timeout=30)
        return user, WorkflowExecution.objects.get(workflow_id=workflow_id)

    user, execution = off_loop(fail)
    log_in(page, admin_server, user)
    page.goto(f"{admin_server}/admin/durable_workflows/workflowexecution/{execution.pk}/change/")
    assert page.locator("h1 .dw-badge").inner_text() == "FAILED"
    failures = page.locator(".dw-columns .dw-failure")
    assert failures.count() == 2
    assert failures.nth(0).locator("strong").inner_text() == "ActivityError:"
    cause = failures.nth(1)
    assert "Caused by ApplicationError (FlakyError): attempt 2 failed on purpose" in (
        cause.inner_text()
    )
    for failure, expected in (
        (failures.nth(0), "Traceback"),
        (cause, "ApplicationError: attempt 2"),
    ):
        trace = failure.locator("details pre")
        assert not trace.is_visible()
        failure.locator("summary").click()
        assert trace.is_visible() and expected in trace.inner_text()
    failed = page.locator(".dw-event-failed .dw-event-type")
    assert failed.all_inner_texts() == ["ActivityTaskFailed", "WorkflowExecutionFailed"]
    shot(page, "09-failure-chain")
