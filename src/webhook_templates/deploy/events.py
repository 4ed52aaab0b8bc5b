"""Following a stack operation: its events as they arrive, progress, and what went wrong.

CloudFormation has no push channel a CLI can use, so this polls
``DescribeStackEvents``; the interval is a parameter so tests need not wait.
Events are matched by ID against the newest one seen before the operation
started, so clock skew between this machine and AWS cannot drop or repeat any.
Every read is retried through throttling and transient failures
(``stacks.retrying``); a poll that fails part-way is simply made again, as the
marker only moves once a whole poll has succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import messages
from .console import Console
from .messages import recovery_advice
from .stacks import WAIT_LIMIT_SECONDS, LostTrack, in_progress, retrying, stack_status

__all__ = ["EventFeed", "Progress", "elapsed", "follow", "in_progress", "latest_event_id", "recovery_advice",
           "root_cause", "stack_status"]

STACK_TYPE = "AWS::CloudFormation::Stack"
Event = dict[str, Any]


def latest_event_id(cfn: Any, stack_id: str) -> str | None:
    """The newest event's ID: the starting point for following the next operation."""
    events = retrying(lambda: cfn.describe_stack_events(StackName=stack_id).get("StackEvents", []))
    return events[0]["EventId"] if events else None


class EventFeed:
    """Stack events newer than the last one seen, oldest first."""

    def __init__(self, cfn: Any, stack_id: str, after_event_id: str | None) -> None:
        self._cfn = cfn
        self._stack_id = stack_id
        self._last = after_event_id

    def poll(self) -> list[Event]:
        """Events that appeared since the previous call (pages are newest first), retried as a whole."""
        return retrying(self._poll_once)

    def _poll_once(self) -> list[Event]:
        fresh: list[Event] = []
        pages = self._cfn.get_paginator("describe_stack_events").paginate(StackName=self._stack_id)
        for page in pages:
            for event in page.get("StackEvents", []):
                if event["EventId"] == self._last:
                    break
                fresh.append(event)
            else:
                continue
            break
        if fresh:
            self._last = fresh[0]["EventId"]
        return fresh[::-1]


def is_stack_event(event: Event, stack_id: str) -> bool:
    """Whether ``event`` is about the stack itself rather than one of its resources."""
    return event.get("ResourceType") == STACK_TYPE and event.get("PhysicalResourceId") == stack_id


@dataclass
class Progress:
    """Resources finished out of those the operation touches."""

    total: int
    stack_id: str
    finished: set[str] = field(default_factory=set)

    def record(self, event: Event) -> None:
        """Count ``event``'s resource as finished once it leaves ``*_IN_PROGRESS``."""
        if not is_stack_event(event, self.stack_id) and not in_progress(event["ResourceStatus"]):
            self.finished.add(event["LogicalResourceId"])

    @property
    def done(self) -> int:
        """Finished resources, capped at the total (a replacement's cleanup counts once)."""
        return min(len(self.finished), self.total)


def status_style(status: str) -> tuple[str, ...]:
    """Colour of a status: red failed, yellow rolling back, green complete, dim skipped."""
    if status.endswith("_FAILED"):
        return ("red", "bold")
    if "ROLLBACK" in status:
        return ("yellow",)
    if status.endswith("_COMPLETE"):
        return ("green",)
    if status.endswith("_SKIPPED"):
        return ("dim",)
    return ()


def elapsed(seconds: float) -> str:
    """``m:ss`` since the operation started."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def format_event(event: Event, progress: Progress, seconds: float, console: Console) -> str:
    """One event as a line: elapsed time, progress, status, resource, reason."""
    width = len(str(progress.total))
    status = event["ResourceStatus"]
    parts = [
        f"{elapsed(seconds):>5}",
        f"[{progress.done:>{width}}/{progress.total}]",
        console.style(f"{status:<28}", *status_style(status)),
        f"{event['LogicalResourceId']:<30}",
        event.get("ResourceType", ""),
    ]
    reason = event.get("ResourceStatusReason")
    if reason:
        parts.append(console.style(reason, "red") if status.endswith("_FAILED") else reason)
    return "  ".join(parts)


def follow(cfn: Any, stack_id: str, feed: EventFeed, progress: Progress, console: Console,
           poll_seconds: float, *, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic,
           also: Callable[[], list[str]] = list) -> tuple[str, list[Event]]:
    """Print events until the stack stops moving; return its final status and the events seen.

    The status is read before the events, so the last poll prints every event
    up to the final status.  Raises ``LostTrack`` past ``WAIT_LIMIT_SECONDS``,
    and lets a read that failed beyond its retries through, for the caller to
    report as losing track (not as the operation failing).  ``also`` gives
    more lines to print each poll (the CodeDeploy traffic shift's progress).
    """
    started = clock()
    seen: list[Event] = []
    while True:
        status = stack_status(cfn, stack_id)
        for event in feed.poll():
            progress.record(event)
            seen.append(event)
            console.say(format_event(event, progress, clock() - started, console))
        for line in also():
            console.say(f"{elapsed(clock() - started):>5}  {line}")
        if not in_progress(status):
            return status, seen
        if clock() - started > WAIT_LIMIT_SECONDS:
            raise LostTrack(messages.stack_still_moving(status, WAIT_LIMIT_SECONDS // 60))
        sleep(poll_seconds)


def root_cause(events: list[Event], stack_id: str) -> Event | None:
    """The first failed resource event (later failures are usually cancellations it caused).

    Falls back to the stack's own failure or rollback reason.
    """
    failed = [e for e in events if e["ResourceStatus"].endswith("_FAILED") and e.get("ResourceStatusReason")]
    for event in failed:
        if not is_stack_event(event, stack_id):
            return event
    rollbacks = [e for e in events if is_stack_event(e, stack_id) and "ROLLBACK_IN_PROGRESS" in e["ResourceStatus"]
                 and e.get("ResourceStatusReason")]
    candidates = failed or rollbacks
    return candidates[0] if candidates else None
