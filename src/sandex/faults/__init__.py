"""Fault injection: named profiles that make sandex misbehave the way real venues do, on demand.

`profile` declares a profile (config `[[faults]]`, operator API, CLI); `controller` holds the
profiles in force and answers the session layer's and the dialects' questions; `connection`
is the per-connection state (drop timers, delayed writes). See docs/reliability.md.
"""

from .controller import FaultController, FaultProfileError, Rejection
from .profile import FaultProfile

__all__ = ["FaultController", "FaultProfile", "FaultProfileError", "Rejection"]
