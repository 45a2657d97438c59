"""Drivers that run protocol classes: the deterministic SimPy simulator.

May import `dhtea.core`, `dhtea.protocols` and `invariants`; nothing here knows
about trace files, Hypothesis, sockets or rendering.
"""
