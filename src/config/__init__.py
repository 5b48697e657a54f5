"""params.yaml: its schema (every key once), the value checks, loading and cross-checks."""
