"""Ring-consistency checkers, shared by the simulator and the real-run log checker."""

from invariants.core import Finding, Invariant, Violation, invariant
from invariants.ring import AT_REST, DEFAULT, SAFETY
from invariants.view import NodeView, RingView, between

__all__ = [
    "AT_REST",
    "DEFAULT",
    "SAFETY",
    "Finding",
    "Invariant",
    "NodeView",
    "RingView",
    "Violation",
    "between",
    "invariant",
]
