"""Real runs: the UDP wire format, the asyncio node driver, local clusters of
node processes, and the checker of their logs.

May import core, protocols, traces, show, invariants, and the simulator (a
cluster compares itself with its simulated twin); never the search side.
"""
