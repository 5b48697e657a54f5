"""Helpers of the test suite (not tests): user workspaces, fake data layouts, a local sshd, module tracing."""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the project's checkout
