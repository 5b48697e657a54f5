"""Shared fixtures and the three test tiers (pyproject.toml registers the markers):

- unit: in-process checks of one module, seconds each (`make test-fast` runs only these);
- pipeline: training real models for epochs, or real stages and `dvc` commands in a tiny user's
  repo (tests/helpers/workspace.py): tens of seconds to minutes each;
- system: beyond one pipeline run: a browser, an SSH server, a Ray cluster, killed processes,
  benchmarks, a teammate's clone.

A module of one tier says so with `pytestmark = pytest.mark.<tier>`; in a module of unit tests, the
slower tests carry their own tier mark. A test with no tier mark is a unit test. `make test` (CI)
runs all three tiers."""
import pytest
import torch

TIERS = ("unit", "pipeline", "system")


def pytest_collection_modifyitems(items):
    for item in items:
        tiers = [tier for tier in TIERS if item.get_closest_marker(tier)]
        if len(tiers) > 1:
            raise pytest.UsageError(f"{item.nodeid}: one tier per test, got {tiers}")
        if not tiers:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models on tiny images train far faster on one torch thread (no thread sync, shared CPUs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
