"""Safety: no unsafe deserialisation in the code, credentials kept out of git, and stages that run with
the network blocked (the MTCNN weights ship in the package; nothing is downloaded at run time)."""
import ast
import json
import subprocess
import textwrap

import pytest

from tests.helpers.workspace import REPO, make_workspace, reference_data, run_stage

pytestmark = pytest.mark.pipeline

SOURCES = sorted(p for folder in ("src", "stages") for p in (REPO / folder).rglob("*.py"))

# Loaded by Python at start-up from PYTHONPATH: every non-local connection or name lookup fails and is logged.
NETWORK_GUARD = textwrap.dedent('''
    import os
    import socket

    _LOG = os.environ["NETWORK_GUARD_LOG"]
    _LOCAL = ("localhost", "127.0.0.1", "::1", "", None)


    def _local(host):
        return host in _LOCAL or str(host).startswith("127.")


    def _blocked(what):
        with open(_LOG, "a") as log:
            log.write(f"{os.getpid()} {what}\\n")
        return OSError(f"network blocked by test: {what}")


    def _guard(original):
        def connect(self, address):
            if self.family != getattr(socket, "AF_UNIX", None) and not _local(address[0]):
                raise _blocked(f"connect {address!r}")
            return original(self, address)
        return connect


    def _getaddrinfo(host, *args, _original=socket.getaddrinfo, **kwargs):
        if not _local(host.decode() if isinstance(host, bytes) else host):
            raise _blocked(f"getaddrinfo {host!r}")
        return _original(host, *args, **kwargs)


    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
    socket.getaddrinfo = _getaddrinfo
''')


def calls(path, match):
    tree = ast.parse(path.read_text(), filename=str(path))
    return [(node, f"{path.relative_to(REPO)}:{node.lineno}") for node in ast.walk(tree)
            if isinstance(node, ast.Call) and match(ast.unparse(node.func))]


def test_every_torch_load_is_weights_only():
    found = [c for path in SOURCES for c in calls(path, lambda f: f == "torch.load" or f.endswith(".load")
                                                         and "torch" in f)]
    assert found, "expected torch.load calls in src/ (the fold models and checkpoints)"
    unsafe = [where for node, where in found
              if not any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                         for k in node.keywords)]
    assert unsafe == [], f"torch.load without weights_only=True: {unsafe}"
    # Also by text, in case torch is imported under another name.
    text_hits = [f"{p.relative_to(REPO)}:{i}" for p in SOURCES for i, line in enumerate(p.read_text().splitlines(), 1)
                 if "torch.load(" in line and "weights_only=True" not in line]
    assert text_hits == []


def test_no_unsafe_yaml_or_pickle_loading():
    banned = ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all",
              "pickle.load", "pickle.loads")
    # The one yaml.load allowed: params.yaml through src.config.params.ParamsLoader, a SafeLoader that also
    # reads DVC's `1e-05` floats (the FullLoader and UnsafeLoader are no SafeLoaders).
    import yaml
    from src.config.params import ParamsLoader
    assert issubclass(ParamsLoader, yaml.SafeLoader) and ParamsLoader.yaml_constructors == yaml.SafeLoader.yaml_constructors

    def safe_loader(node):
        return ast.unparse(node.func) == "yaml.load" and [(k.arg, ast.unparse(k.value)) for k in node.keywords] == [
            ("Loader", "ParamsLoader")]
    found = [where for path in SOURCES for node, where in calls(path, lambda f: f in banned) if not safe_loader(node)]
    assert found == [], f"unsafe deserialisation: {found}"
    allow_pickle = [where for path in SOURCES for node, where in calls(path, lambda f: f.endswith("load"))
                    if any(k.arg == "allow_pickle" and getattr(k.value, "value", None) is not False
                           for k in node.keywords)]
    assert allow_pickle == []


def test_credentials_file_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".dvc/config.local"], cwd=REPO)
    assert ignored.returncode == 0, ".dvc/config.local (remote credentials) must be ignored by git"
    tracked = subprocess.run(["git", "ls-files", ".dvc/config.local"], cwd=REPO, capture_output=True, text=True)
    assert tracked.stdout == ""
    assert "/config.local" in (REPO / ".dvc/.gitignore").read_text().splitlines()


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """A workspace (MTCNN detector, the packaged ImageNet weights, 1 epoch) and the environment that blocks
    the network."""
    root = tmp_path_factory.mktemp("offline")
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    ws = make_workspace(root / "repo", {"face_crop": {"detector": "mtcnn", "size": [32, 24], "batch_size": 8},
                                        "split": {"k": 2},
                                        "train": {"folds": [0, 1], "epochs": 1, "batch_size": 8,
                                                  "model": "efficientnet_lite0", "pretrained": "packaged"}},
                       git=False)
    reference_data(ws / "data", size=(96, 128))
    log = root / "network.log"
    # NO_ALBUMENTATIONS_UPDATE="" as a user without it has: the repo must switch the check off itself.
    blocked = {"PYTHONPATH": str(guard), "NETWORK_GUARD_LOG": str(log), "NO_ALBUMENTATIONS_UPDATE": ""}
    probe = ("import urllib.request\n"
             "try:\n    urllib.request.urlopen('https://pypi.org/simple/', timeout=5)\n"
             "except OSError as e:\n    print('blocked:', e)\n")
    probed = run_stage(["python", "-c", probe], ws, blocked)
    log.rename(root / "probe.log")
    runs = [run_stage(["python", *stage], ws, blocked) for stage in STAGES]
    return ws, probed, (root / "probe.log").read_text(), runs, log.read_text() if log.exists() else ""


STAGES = (["-m", "stages.face_crop"], ["-m", "stages.weights"], ["-m", "stages.split"],
          ["-m", "stages.train", "--fold", "0"])
# albumentations asks pypi.org for its latest version on every import (a 2 s timeout; it swallows the
# error). It is the only network use and is not a download; NO_ALBUMENTATIONS_UPDATE=1 switches it off.
ALBUMENTATIONS_CHECK = "getaddrinfo 'pypi.org'"


def test_the_guard_blocks_the_network(offline):
    _, probed, probe_log, _, _ = offline
    assert "network blocked by test" in probed.stdout, probed.stdout + probed.stderr
    assert "pypi.org" in probe_log


def test_face_crop_with_mtcnn_and_training_run_offline(offline):
    ws, _, _, runs, attempts = offline
    for stage, done in zip(STAGES, runs):
        assert done.returncode == 0, f"{stage}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    crops = json.loads((ws / "metrics/face_crop.json").read_text())
    assert crops["train"]["images"] == 84  # MTCNN ran (its weights come from the package)
    assert (ws / "models/all/fold_0/model.pt").exists()
    assert json.loads((ws / "weights/source.json").read_text())["tensors"] == 296  # the packaged ImageNet weights
    # Nothing but albumentations' version check tried the network: no weights were downloaded.
    others = [line for line in attempts.splitlines() if ALBUMENTATIONS_CHECK not in line]
    assert others == [], f"network attempts:\n{attempts}"


def test_stages_make_no_network_attempt_at_all(offline):
    *_, attempts = offline
    assert attempts == ""
