"""The DVC stages: one thin entry script per stage of dvc.yaml (`python -m stages.<name>`), each reading
its params block, calling the library in src/ and writing its outputs (what they share: stages/plumbing/)."""
