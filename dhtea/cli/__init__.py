"""The `dhtea` command line (`main`), with the real-run commands in `real`.

The top layer: it may import any part of dhtea, and nothing imports it.
"""
