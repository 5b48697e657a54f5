"""The committed data.dvc tracks the default sample: regenerating it gives a clean `dvc status`."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.pipeline


def test_regenerated_default_sample_matches_committed_data_dvc(tmp_path):
    for name in ("data.dvc", ".dvc/config", ".dvc/.gitignore", ".dvcignore"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "CI": "1",
           "PYTHONPATH": str(REPO)}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "stages.make_sample", "--out", "data"], cwd=tmp_path, env=env, check=True)
    # `dvc add` rehashes the folder and rewrites data.dvc: unchanged means byte-identical data.
    subprocess.run(["dvc", "add", "-q", "data"], cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "data.dvc").read_text() == (REPO / "data.dvc").read_text()
