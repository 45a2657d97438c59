"""Ring-consistency checkers, shared by the simulator and the real-run log checker.

A top-level package that imports nothing from `dhtea`: the checkers see only
`RingView`s, never a driver, a protocol object or a file.
"""

from invariants.core import Finding, Frame, Invariant, Violation, invariant
from invariants.ring import AT_REST, DEFAULT, SAFETY
from invariants.view import (
    VIEW_FIELDS,
    NodeView,
    RingView,
    between,
    valid_view_value,
    view_changes,
    view_from_dict,
    view_to_dict,
)

__all__ = [
    "AT_REST",
    "DEFAULT",
    "SAFETY",
    "Finding",
    "Frame",
    "Invariant",
    "NodeView",
    "RingView",
    "Violation",
    "VIEW_FIELDS",
    "between",
    "valid_view_value",
    "view_changes",
    "view_from_dict",
    "view_to_dict",
    "invariant",
]
