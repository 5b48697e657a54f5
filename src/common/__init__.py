"""Shared utilities every layer may use: atomic writes, error types, progress bars, the torch device,
the by-name factory."""
