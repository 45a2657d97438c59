"""dhtea: find bugs in distributed ring-maintenance protocols before they ship.

Write a protocol as a plain class (`RingNode`), run it in a deterministic SimPy
simulation (`simulate`), let Hypothesis hunt for scenarios that break the ring
invariants (`hunt`, `dhtea.strategies`), and replay any counterexample exactly
from its trace file (`replay`).
"""

from dhtea.hunt import Bug, HuntReport, hunt
from dhtea.messages import Message
from dhtea.network import Bimodal, Constant, Exponential, LinkLatency, LogNormal, Network, Pareto, Uniform
from dhtea.node import Context, RingNode
from dhtea.protocols import UnknownProtocol, load_protocol
from dhtea.protocols.classic import Classic
from dhtea.protocols.gapowner import GapOwner
from dhtea.replay import Replay, replay
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
