"""Benchmarks: run as scripts or modules, never as tests."""
