"""The protocol API and what a run is made of: `RingNode` and its `Context`,
messages, the scenario, the network's latency model, and the run's record.

Imports only `invariants` and the standard library: no SimPy, no sockets, no
Hypothesis, so a protocol class depends on nothing a driver brings.
"""
