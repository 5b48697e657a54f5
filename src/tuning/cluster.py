"""Where the trials run: an existing Ray cluster (tune.address or RAY_ADDRESS) or a local Ray
started for this run that listens on 127.0.0.1 only.

connect() must run before anything imports ray: ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER at
import time, and only that setting keeps a local Ray's node address (and sockets) on loopback.
Ray's usage stats are always off. Token auth is left to Ray (RAY_AUTH_MODE): by default a new local
Ray writes a token to ~/.ray/auth_token; RAY_AUTH_MODE=disabled opts out."""
import os
import sys
from pathlib import Path

import src

LOCAL_ENV = {
    # Single-node mode: Ray takes 127.0.0.1 as the node address and binds its servers there.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}


def on_loopback(address):
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def connect(address=""):
    """Join the cluster at `address` (or RAY_ADDRESS), else start a local Ray on loopback.
    Returns a description {mode, address, nodes, resources} for the log."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # nothing leaves the machine
    address = address or os.environ.get("RAY_ADDRESS", "")
    # A cluster on 127.0.0.1 needs the same setting in this driver, or ray rewrites the address to
    # the machine's interface address, where a loopback-only cluster does not listen.
    if not address or on_loopback(address):
        if "ray" in sys.modules:
            raise RuntimeError("src.tuning.cluster.connect: ray was imported before the local cluster was "
                               "configured; call connect() first so that it binds to 127.0.0.1")
        os.environ.update(LOCAL_ENV)
    import ray

    if address:
        # Cluster workers may not share this filesystem: ship the project's code (src/) with the job.
        ray.init(address=address, runtime_env={"py_modules": [str(Path(src.__file__).parent)]})
    else:
        # "local" always starts a new instance, never joins one that happens to run on this machine.
        ray.init(address="local", include_dashboard=False)
    return {"mode": "existing cluster" if address else "local (loopback)",
            "address": ray.get_runtime_context().gcs_address,
            "resources": {k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU", "memory")},
            "nodes": sorted({node["NodeManagerAddress"] for node in ray.nodes() if node["Alive"]})}


def disconnect():
    import ray

    ray.shutdown()
