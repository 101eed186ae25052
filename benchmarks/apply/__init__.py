"""Helpers of benchmarks/bench_apply.py."""
