"""Trace files and what is rebuilt from them: the JSON schema (`serial`, the only
place objects become JSON), `hunt.json`, safe file writes, and ring states at
any event of a saved run.

May import `dhtea.core` and `invariants` only: a trace file is read without the
simulator.
"""
