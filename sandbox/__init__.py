"""Loopback emulators of the vendor APIs, for tests, the demo and the benchmarks.

Never imported by product code.
"""
