"""The one bounded wait of the test suite: poll a predicate until it holds, or fail saying what was awaited."""
from __future__ import annotations

import time


def wait_for(predicate, what: str, timeout: float = 300, poll: float = 0.05, last=None, sleep=time.sleep):
    """Call ``predicate()`` every ``poll`` seconds until it returns a true value, and return that value.
    After ``timeout`` seconds, fail with ``AssertionError`` naming ``what`` was awaited (and ``last()``,
    the state seen last, when given). The predicate may raise to fail early (a process that died).
    ``sleep`` is how to pause between polls (a browser page's ``wait_for_timeout`` takes milliseconds:
    pass ``lambda s: page.wait_for_timeout(s * 1000)``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"; last: {last()!r}" if last is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{seen}")
        sleep(poll)
