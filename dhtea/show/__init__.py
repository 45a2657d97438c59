"""Showing runs: text timelines, bugs in words, SVG ring pictures and sequence
diagrams, and the self-contained HTML report.

Everything here works from a run's record or a trace file: it may import
`dhtea.core`, `dhtea.traces` and `invariants`, never a driver.
"""
