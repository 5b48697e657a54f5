"""Benchmarks: `python -m bench.run` (docs/benchmarks.md). Every target is a ratio measured side by side."""
