"""A shared DVC remote for real: push a committed pipeline run, clone the git repo elsewhere, pull,
and get byte-identical data, crops, models and submission with nothing left to reproduce (`dvc status`;
for the local remote also a `dvc repro evaluate` that runs no stage). Once through a local-folder
remote and once through SSH to a real sshd on 127.0.0.1 (dvc-ssh)."""
import hashlib

import pytest

from tests.helpers import sshd
from tests.helpers.plot_workspace import committed_workspace, run

pytestmark = pytest.mark.system

SHARED = ("data", "crops", "models", "submission", "ensemble", "folds")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return committed_workspace(tmp_path_factory)


def digests(root):
    """{relative path: md5} of every file under the shared output folders (links followed)."""
    files = {}
    for folder in SHARED:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.name != ".gitignore":
                files[str(path.relative_to(root))] = hashlib.md5(path.read_bytes()).hexdigest()
    return files


def round_trip(workspace, clone, remote_url, *config):
    """Push workspace's outputs to remote_url, git clone into clone, pull there; compare."""
    run(["dvc", "remote", "add", "--local", "-f", "-d", "shared", remote_url], workspace)
    for args in config:
        run(["dvc", "remote", "modify", "--local", "shared", *args], workspace)
    out = run(["dvc", "push"], workspace)
    assert "pushed" in out or "Everything is up to date" in out, out
    run(["git", "clone", "-q", workspace, clone], clone.parent)
    # The remote's settings are local (credentials never go into git): give the clone the same.
    run(["dvc", "remote", "add", "--local", "-d", "shared", remote_url], clone)
    for args in config:
        run(["dvc", "remote", "modify", "--local", "shared", *args], clone)
    assert not (clone / "models/all/fold_0").exists()  # only git's files came with the clone
    run(["dvc", "pull", "--with-deps", "evaluate"], clone)  # plain `dvc pull` also wants tune's outputs
    expected = digests(workspace)
    assert any(p.startswith("models/") for p in expected) and any(p.startswith("submission/") for p in expected)
    assert digests(clone) == expected
    status = run(["dvc", "status", "--with-deps", "evaluate"], clone)
    assert "up to date" in status, status


def test_local_folder_remote_round_trip(workspace, tmp_path):
    (tmp_path / "remote").mkdir()
    round_trip(workspace, tmp_path / "clone", str(tmp_path / "remote"))
    assert "Running stage" not in run(["dvc", "repro", "evaluate"], tmp_path / "clone")
    assert any((tmp_path / "remote" / "files" / "md5").iterdir())


def test_ssh_remote_round_trip(workspace, tmp_path):
    why = sshd.missing()
    if why:
        pytest.skip(why)
    with sshd.sshd(tmp_path / "sshd") as (user, port, key):
        remote_dir = tmp_path / "ssh_remote"
        remote_dir.mkdir()
        round_trip(workspace, tmp_path / "clone", f"ssh://{user}@127.0.0.1:{port}{remote_dir}",
                   ["keyfile", str(key)])
        assert any((remote_dir / "files" / "md5").iterdir())
        assert "Accepted publickey" in (tmp_path / "sshd" / "sshd.log").read_text()
