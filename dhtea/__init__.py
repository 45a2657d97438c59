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
    "Bug": "dhtea.search.hunting",
    "HuntReport": "dhtea.search.hunting",
    "hunt": "dhtea.search.hunting",
    "Message": "dhtea.core.messages",
    "Bimodal": "dhtea.core.network",
    "Constant": "dhtea.core.network",
    "Exponential": "dhtea.core.network",
    "LinkLatency": "dhtea.core.network",
    "LogNormal": "dhtea.core.network",
    "Network": "dhtea.core.network",
    "Pareto": "dhtea.core.network",
    "Uniform": "dhtea.core.network",
    "Context": "dhtea.core.node",
    "RingNode": "dhtea.core.node",
    "UnknownProtocol": "dhtea.protocols",
    "load_protocol": "dhtea.protocols",
    "Classic": "dhtea.protocols.classic",
    "GapOwner": "dhtea.protocols.gapowner",
    "Replay": "dhtea.search.replaying",
    "replay": "dhtea.search.replaying",
    "Join": "dhtea.core.scenario",
    "JoinSchedule": "dhtea.core.scenario",
    "Scenario": "dhtea.core.scenario",
    "TraceFile": "dhtea.traces.serial",
    "TraceFileError": "dhtea.traces.serial",
    "read_trace": "dhtea.traces.serial",
    "save_trace": "dhtea.traces.serial",
    "Simulation": "dhtea.drivers.simulator",
    "simulate": "dhtea.drivers.simulator",
    "RingViolation": "dhtea.testing",
    "assert_ring_holds": "dhtea.testing",
    "format_result": "dhtea.show.timeline",
    "Event": "dhtea.core.trace",
    "RunResult": "dhtea.core.trace",
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
    from dhtea.search.hunting import Bug, HuntReport, hunt
    from dhtea.core.messages import Message
    from dhtea.core.network import Bimodal, Constant, Exponential, LinkLatency, LogNormal, Network, Pareto, Uniform
    from dhtea.core.node import Context, RingNode
    from dhtea.protocols import UnknownProtocol, load_protocol
    from dhtea.protocols.classic import Classic
    from dhtea.protocols.gapowner import GapOwner
    from dhtea.search.replaying import Replay, replay
    from dhtea.core.scenario import Join, JoinSchedule, Scenario
    from dhtea.traces.serial import TraceFile, TraceFileError, read_trace, save_trace
    from dhtea.drivers.simulator import Simulation, simulate
    from dhtea.testing import RingViolation, assert_ring_holds
    from dhtea.show.timeline import format_result
    from dhtea.core.trace import Event, RunResult
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
