"""Widget messages never routed to a kernel subshell that is gone (the dead Start after a page reload).

ipykernel 7.4 routes a comm's messages by the comm's last reply: when the kernel sent something on a comm
while it handled a message from subshell S (JupyterLab's "comms over subshells"), every later message of
that comm goes to S, whatever subshell the page names, the main shell included. Once S is deleted
(JupyterLab asks for that when its count of comms on S falls to 0), the kernel answers each message with
``Unknown subshell_id S`` and drops it: after a reload the page's new subshell is ignored, so a restored
Studio's Start does nothing, while a cell run again (new widgets, new comms) works.

``install()`` (called when ``ft_lab.widgets`` is imported inside a kernel) makes that route fall back when
S no longer exists: to the subshell the message names if the kernel has it, else to the main shell, where
widget messages go with comms over subshells off. A route to a live subshell is left as it is. It changes
nothing outside a kernel, or where ipykernel has no such route.
"""
from __future__ import annotations

import functools
import sys

_MARK = "_ft_lab_live_subshells"


def _live(comm, subshell_id) -> bool:
    kernel = getattr(comm, "kernel", None)
    if kernel is None:
        from ipykernel.kernelbase import Kernel
        kernel = Kernel.instance() if Kernel.initialized() else None
    thread = getattr(kernel, "shell_channel_thread", None)
    manager = getattr(thread, "manager", None)
    if manager is None:
        return True  # no subshells here: nothing to check against
    return subshell_id in manager.list_subshell()


def live_route(route):
    """``BaseComm._reply_subshell_for`` that never answers a subshell the kernel no longer has."""
    @functools.wraps(route)
    def wrapper(self, data, default):
        chosen = route(self, data, default)
        if chosen is None or _live(self, chosen):
            return chosen
        return default if default is None or _live(self, default) else None
    setattr(wrapper, _MARK, True)
    return wrapper


def install() -> bool:
    """Patch ipykernel's comm route once, if ipykernel is loaded and has one; True when it is in place."""
    module = sys.modules.get("ipykernel.comm.comm")
    base = getattr(module, "BaseComm", None)
    route = getattr(base, "_reply_subshell_for", None)
    if route is None:
        return False
    if not getattr(route, _MARK, False):
        base._reply_subshell_for = live_route(route)
    return True
