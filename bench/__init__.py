"""Benchmarks: `python -m bench.run` (see README "Benchmarks"). Every target is a ratio measured side by side."""
