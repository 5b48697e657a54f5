"""The tune stage on an existing Ray cluster: a real `ray start --head` on 127.0.0.1 (a child of
this test, in its own process group), reached through RAY_ADDRESS.

`ray stop` is never used: it stops every Ray process of the user, not just this cluster."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tests.test_tune import REPO, TINY_TUNE, make_workspace

pytestmark = pytest.mark.system

LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}
CLUSTER_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_of(root_pids, temp_dir):
    """The cluster's processes: descendants of root_pids, plus any process whose command line, working
    directory or open files lie in the cluster's temp dir (workers that started their own session)."""
    found = {}
    for pid in root_pids:
        try:
            root = psutil.Process(pid)
            found.update({p.pid: p for p in [root, *root.children(recursive=True)]})
        except psutil.NoSuchProcess:
            pass
    for p in psutil.process_iter():
        try:
            if p.pid in found or p.pid == os.getpid():  # this test holds the cluster's log file open
                continue
            if (any(temp_dir in part for part in p.cmdline()) or p.cwd().startswith(temp_dir)
                    or any(f.path.startswith(temp_dir) for f in p.open_files())):
                found[p.pid] = p
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return list(found.values())


def listening(processes):
    """(process name, ip, port) of every listening TCP socket and bound UDP socket of processes."""
    seen = set()
    for p in processes:
        try:
            for c in p.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN or (c.type == socket.SOCK_DGRAM and c.laddr):
                    seen.add((p.name(), c.laddr.ip, c.laddr.port))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return seen


@pytest.fixture
def ray_cluster():
    """A head node on 127.0.0.1 with 2 CPUs; yields (address, temp_dir, process)."""
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="rt_", dir="/tmp")  # short: Ray's unix socket paths have a length limit
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, **CLUSTER_ENV}
    log = open(Path(temp_dir) / "ray_start.log", "w")
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         "--port", str(port), "--temp-dir", temp_dir, "--include-dashboard=false", "--num-cpus", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 90
        while True:
            assert head.poll() is None, (Path(temp_dir) / "ray_start.log").read_text()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.time() < deadline, "ray start --head did not accept connections within 90 s"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", temp_dir, head
    finally:
        # SIGTERM the group and give Ray time to shut down: raylet and workers end within about 10 s here,
        # but `ray start --block`, gcs_server and an agent outlive SIGTERM, so SIGKILL the group then.
        for sig, wait in ((signal.SIGTERM, 12), (signal.SIGKILL, 10)):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                pass
            if wait_gone(head, temp_dir, wait):
                break
        left = processes_of([], temp_dir)
        for p in left:  # only this cluster's processes (found by its temp dir), never `ray stop`
            p.kill()
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left, f"Ray processes of the test cluster left running: {[(p.pid, p.name()) for p in left]}"


def wait_gone(head, temp_dir, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if head.poll() is not None and not processes_of([], temp_dir):
            return True
        time.sleep(0.5)
    return False


def test_tune_stage_runs_its_trials_on_an_existing_cluster(ray_cluster, tmp_path):
    address, temp_dir, head = ray_cluster
    tune = {**TINY_TUNE, "num_samples": 2, "max_t": 1, "grace_period": 1, "space": {"lr": {"loguniform": [0.003, 0.03]}}}
    workspace = make_workspace(tmp_path, tune=tune)
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_ADDRESS": address, "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled"}
    stage = subprocess.Popen([sys.executable, "-m", "stages.tune"], cwd=workspace, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sockets = set()
    deadline = time.time() + 240
    while stage.poll() is None and time.time() < deadline:
        # Sampled while the trials run: the cluster's processes (workers included) and the stage's driver.
        sockets |= listening(processes_of([head.pid, stage.pid], temp_dir))
        time.sleep(0.5)
    if stage.poll() is None:
        stage.kill()
    output = stage.communicate()[0]
    assert stage.returncode == 0, output[-4000:]

    assert f"tune: Ray existing cluster at {address}, nodes ['127.0.0.1']" in output
    trials = pd.read_csv(workspace / "tune" / "trials.csv")
    assert len(trials) == 2 and (trials["status"] == "TERMINATED").all() and (trials["node_ip"] == "127.0.0.1").all()
    assert (trials["epochs_run"] == 1).all() and trials["best_f1"].between(0, 1).all()
    # The local cluster still runs after the stage: its sockets, then all seen, are on loopback only.
    sockets |= listening(processes_of([head.pid], temp_dir))
    names = {name for name, _, _ in sockets}
    assert {"gcs_server", "raylet"} <= names, sockets
    assert all(ip in LOOPBACK for _, ip, _ in sockets), sorted(sockets)
    print(f"listening sockets of the cluster and the stage: {sorted(sockets)}")
