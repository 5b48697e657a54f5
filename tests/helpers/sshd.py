"""A throwaway OpenSSH server on 127.0.0.1 for tests: its own host key, one authorised ed25519 user key,
public-key login only, SFTP served in-process. Needs Debian's openssh-server (tests/helpers/system_deps.sh)."""
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")


def missing():
    """Why an sshd cannot be started here, or "" when it can."""
    if not SSHD.exists():
        return f"{SSHD} not installed (tests/helpers/system_deps.sh installs openssh-server when run as root)"
    if not shutil.which("ssh-keygen"):
        return "ssh-keygen not installed"
    return ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@contextmanager
def sshd(folder):
    """Start sshd; yields (user, port, user_key_path). Stopped (by its pid file) on exit."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keygen(folder / "host_key")
    keygen(folder / "user_key")
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    port, pidfile, log = free_port(), folder / "sshd.pid", folder / "sshd.log"
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "StrictModes no", "UsePAM no",
        f"PidFile {pidfile}", "Subsystem sftp internal-sftp", ""]))
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege-separation dir sshd insists on
    subprocess.run([str(SSHD), "-f", str(config), "-E", str(log)], check=True)  # daemonises
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists() or not _listening(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.1)
        yield getpass.getuser(), port, folder / "user_key"
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)


def _listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
