"""Following a stack operation: new events only, oldest first, until the stack stops moving."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_shapes import STACK_ID, STACK_NAME, event, events, stack
from botocore.stub import Stubber

from webhook_templates.deploy.console import Console
from webhook_templates.deploy.events import EventFeed, Progress, follow, recovery_advice, root_cause


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cfn) as stubber:
        yield cfn, stubber
        stubber.assert_no_pending_responses()


def test_feed_returns_events_after_the_marker_oldest_first_across_pages(stubbed: tuple[Any, Stubber]) -> None:
    cfn, stubber = stubbed
    first_page = events(event(3, "Table", "CREATE_COMPLETE"), event(4, "Key", "CREATE_IN_PROGRESS"))
    first_page["NextToken"] = "page-2"
    stubber.add_response("describe_stack_events", first_page, {"StackName": STACK_ID})
    stubber.add_response("describe_stack_events", events(event(1, "Old", "CREATE_COMPLETE"),
                                                         event(2, "Table", "CREATE_IN_PROGRESS")),
                         {"StackName": STACK_ID, "NextToken": "page-2"})
    stubber.add_response("describe_stack_events", events(event(3, "Table", "CREATE_COMPLETE"),
                                                         event(4, "Key", "CREATE_IN_PROGRESS"),
                                                         event(5, "Key", "CREATE_COMPLETE")),
                         {"StackName": STACK_ID})
    feed = EventFeed(cfn, STACK_ID, after_event_id="e1")

    assert [e["EventId"] for e in feed.poll()] == ["e2", "e3", "e4"]
    assert [e["EventId"] for e in feed.poll()] == ["e5"]


def test_follow_polls_until_the_stack_stops_moving_and_counts_progress(stubbed: tuple[Any, Stubber]) -> None:
    cfn, stubber = stubbed
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ID})
    stubber.add_response("describe_stack_events", events(event(0, "Before", "UPDATE_COMPLETE"),
                                                         event(1, "Function", "UPDATE_IN_PROGRESS")),
                         {"StackName": STACK_ID})
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    stubber.add_response("describe_stack_events", events(event(1, "Function", "UPDATE_IN_PROGRESS"),
                                                         event(2, "Function", "UPDATE_COMPLETE"),
                                                         event(3, STACK_NAME, "UPDATE_COMPLETE")),
                         {"StackName": STACK_ID})
    out, sleeps = io.StringIO(), []
    progress = Progress(total=1, stack_id=STACK_ID)

    clock = iter([0.0, 1.0, 2.0, 65.0, 66.0]).__next__  # start, event, deadline check, 2 events
    status, seen = follow(cfn, STACK_ID, EventFeed(cfn, STACK_ID, "e0"), progress, Console(out=out),
                          poll_seconds=7, sleep=sleeps.append, clock=clock)

    assert status == "UPDATE_COMPLETE"
    assert [e["EventId"] for e in seen] == ["e1", "e2", "e3"]
    assert sleeps == [7]
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["0:01", "[0/1]", "UPDATE_IN_PROGRESS"]
    assert lines[1].split()[:3] == ["1:05", "[1/1]", "UPDATE_COMPLETE"]


def test_follow_gives_up_past_the_deadline_with_lost_track(stubbed: tuple[Any, Stubber]) -> None:
    from webhook_templates.deploy.stacks import WAIT_LIMIT_SECONDS, LostTrack

    cfn, stubber = stubbed
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ID})
    stubber.add_response("describe_stack_events", events(event(0, "Before", "UPDATE_COMPLETE")),
                         {"StackName": STACK_ID})

    with pytest.raises(LostTrack, match="still UPDATE_IN_PROGRESS after 60 minutes"):
        follow(cfn, STACK_ID, EventFeed(cfn, STACK_ID, "e0"), Progress(total=1, stack_id=STACK_ID),
               Console(out=io.StringIO()), poll_seconds=7, sleep=lambda _: None,
               clock=iter([0.0, WAIT_LIMIT_SECONDS + 1.0]).__next__)


def test_root_cause_is_the_first_failed_resource_not_the_cancellations() -> None:
    history = [
        event(1, "Table", "UPDATE_IN_PROGRESS"),
        event(2, "Function", "UPDATE_FAILED", "Resource handler returned message: \"MemorySize 20000 > 10240\""),
        event(3, "Table", "UPDATE_FAILED", "Resource update cancelled"),
        event(4, STACK_NAME, "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Function]."),
    ]

    cause = root_cause(history, STACK_ID)

    assert cause is not None and cause["LogicalResourceId"] == "Function"


def test_root_cause_falls_back_to_the_stacks_own_reason() -> None:
    history = [event(1, STACK_NAME, "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [Role].")]

    cause = root_cause(history, STACK_ID)

    assert cause is not None and "failed to create: [Role]" in cause["ResourceStatusReason"]


def test_update_rollback_failed_advice_says_how_to_continue() -> None:
    advice = recovery_advice("UPDATE_ROLLBACK_FAILED", STACK_NAME)

    assert advice is not None
    assert f"aws cloudformation continue-update-rollback --stack-name {STACK_NAME}" in advice
    assert "--resources-to-skip" in advice
    assert recovery_advice("UPDATE_COMPLETE", STACK_NAME) is None
