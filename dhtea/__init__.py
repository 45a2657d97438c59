"""dhtea: find bugs in distributed ring-maintenance protocols before they ship.

Write a protocol as a plain class (`RingNode`), run it in a deterministic SimPy
simulation (`simulate`), let Hypothesis hunt for scenarios that break the ring
invariants (`hunt`, `dhtea.strategies`), and replay any counterexample exactly
from its trace file (`replay`).
"""

import importlib
from typing import TYPE_CHECKING

# Where each public name lives. Imported on first use, so a process that only
# needs part of dhtea (a UDP node, say) does not pay for Hypothesis or SimPy.
_HOME = {
    "Bug": "dhtea.hunting",
    "HuntReport": "dhtea.hunting",
    "hunt": "dhtea.hunting",
    "Message": "dhtea.messages",
    "Bimodal": "dhtea.network",
    "Constant": "dhtea.network",
    "Exponential": "dhtea.network",
    "LinkLatency": "dhtea.network",
    "LogNormal": "dhtea.network",
    "Network": "dhtea.network",
    "Pareto": "dhtea.network",
    "Uniform": "dhtea.network",
    "Context": "dhtea.node",
    "RingNode": "dhtea.node",
    "UnknownProtocol": "dhtea.protocols",
    "load_protocol": "dhtea.protocols",
    "Classic": "dhtea.protocols.classic",
    "GapOwner": "dhtea.protocols.gapowner",
    "Replay": "dhtea.replaying",
    "replay": "dhtea.replaying",
    "Join": "dhtea.scenario",
    "JoinSchedule": "dhtea.scenario",
    "Scenario": "dhtea.scenario",
    "TraceFile": "dhtea.serial",
    "TraceFileError": "dhtea.serial",
    "read_trace": "dhtea.serial",
    "save_trace": "dhtea.serial",
    "Simulation": "dhtea.sim",
    "simulate": "dhtea.sim",
    "RingViolation": "dhtea.testing",
    "assert_ring_holds": "dhtea.testing",
    "format_result": "dhtea.timeline",
    "Event": "dhtea.trace",
    "RunResult": "dhtea.trace",
    "Finding": "invariants",
    "Invariant": "invariants",
    "NodeView": "invariants",
    "RingView": "invariants",
    "Violation": "invariants",
    "between": "invariants",
    "invariant": "invariants",
}


def __getattr__(name: str):
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'dhtea' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_HOME))


if TYPE_CHECKING:
    from dhtea.hunting import Bug, HuntReport, hunt
    from dhtea.messages import Message
    from dhtea.network import Bimodal, Constant, Exponential, LinkLatency, LogNormal, Network, Pareto, Uniform
    from dhtea.node import Context, RingNode
    from dhtea.protocols import UnknownProtocol, load_protocol
    from dhtea.protocols.classic import Classic
    from dhtea.protocols.gapowner import GapOwner
    from dhtea.replaying import Replay, replay
    from dhtea.scenario import Join, JoinSchedule, Scenario
    from dhtea.serial import TraceFile, TraceFileError, read_trace, save_trace
    from dhtea.sim import Simulation, simulate
    from dhtea.testing import RingViolation, assert_ring_holds
    from dhtea.timeline import format_result
    from dhtea.trace import Event, RunResult
    from invariants import Finding, Invariant, NodeView, RingView, Violation, between, invariant

__version__ = "0.1.0"

__all__ = [
    "Bimodal",
    "Bug",
    "Classic",
    "Constant",
    "Context",
    "Event",
    "Exponential",
    "Finding",
    "GapOwner",
    "HuntReport",
    "Invariant",
    "Join",
    "JoinSchedule",
    "LinkLatency",
    "LogNormal",
    "Message",
    "Network",
    "NodeView",
    "Pareto",
    "Replay",
    "RingNode",
    "RingView",
    "RingViolation",
    "RunResult",
    "Scenario",
    "Simulation",
    "TraceFile",
    "TraceFileError",
    "Uniform",
    "UnknownProtocol",
    "Violation",
    "assert_ring_holds",
    "between",
    "format_result",
    "hunt",
    "invariant",
    "load_protocol",
    "read_trace",
    "replay",
    "save_trace",
    "simulate",
]
