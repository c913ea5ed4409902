"""Benchmarks: scripts that measure speed and memory (never timed assertions in tests)."""
