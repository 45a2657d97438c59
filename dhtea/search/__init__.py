"""The search side: Hypothesis hunts that shrink each bug, exact replay of trace
files, and the pytest plugin (the CI gate). The public strategies are
`dhtea.strategies`, the gate's helpers `dhtea.testing`.

May import everything below it (core, protocols, drivers, traces, show,
invariants); nothing below imports it.
"""
