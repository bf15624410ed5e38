"""Start Debian's PostgreSQL as a throwaway cluster for a test, and remove it afterwards.

The cluster lives in its own temporary folder, listens only on 127.0.0.1 on a free port (no Unix socket, so
nothing under /var/run/postgresql is touched) and is stopped with ``pg_ctl -m immediate`` and deleted at the
end. PostgreSQL refuses to run as root, so when the tests run as root the cluster is owned by, and the
server runs as, the ``postgres`` system user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.mlflow_server import free_port

USER = "storybook"
PASSWORD = "pg-Secret-4711"  # a throwaway cluster's password; tests check it never leaks either
# pg_ctl hands these to the server through a shell: no Unix socket, loopback only, no durability (throwaway).
SETTINGS = ("-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=50")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/<major>/bin), if any."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "initdb").is_file()]
    for name in ("initdb", "pg_ctl"):  # other distributions put them on PATH
        if shutil.which(name) is None:
            break
    else:
        found.append(Path(str(shutil.which("initdb"))).parent)
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str
    password: str
    bin: Path

    def uri(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        made = subprocess.run([str(self.bin / "createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user,
                               name], capture_output=True, timeout=60, env={**os.environ, "PGPASSWORD": self.password})
        if made.returncode != 0:
            raise RuntimeError(f"createdb {name} failed: {made.stderr.decode(errors='replace')[-2000:]}")


def _owner() -> tuple[list[str], int | None, int | None]:
    """The command prefix to run PostgreSQL's programs with, and the uid/gid that must own its files."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root, but there is no 'postgres' user to run PostgreSQL as") from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root, but runuser (util-linux) is missing")
    return [runuser, "-u", "postgres", "--"], account.pw_uid, account.pw_gid


@contextmanager
def postgres_cluster(bin_dir: Path) -> Iterator[Cluster]:
    """A fresh PostgreSQL cluster on 127.0.0.1; yields once it accepts connections."""
    run_as, uid, gid = _owner()
    # Not under pytest's tmp_path: its parents are private to root, and the server may run as 'postgres'.
    base = Path(tempfile.mkdtemp(prefix="storybook-pg-"))
    data, log, pwfile = base / "data", base / "server.log", base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if uid is not None and gid is not None:
        for path in (base, pwfile):
            os.chown(path, uid, gid)
    pwfile.chmod(0o600)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    started = False
    try:
        made = subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--pwfile",
                               str(pwfile), "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C", "--no-sync"],
                              capture_output=True, timeout=120, env=env)
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {(made.stdout + made.stderr).decode(errors='replace')[-3000:]}")
        for attempt in range(5):  # the free port can be taken by someone else before the server binds it
            port = free_port()
            options = f"-p {port} {SETTINGS}"
            result = subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                                     "-t", "60", "-o", options, "start"], capture_output=True, timeout=90, env=env)
            if result.returncode == 0:
                started = True
                break
            if attempt == 4:
                detail = log.read_text()[-3000:] if log.exists() else ""
                raise RuntimeError(f"PostgreSQL did not start: {result.stderr.decode()[-2000:]}\n{detail}")
            time.sleep(0.5)
        yield Cluster("127.0.0.1", port, USER, PASSWORD, bin_dir)
    finally:
        if started:
            stopped = subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                                      "-t", "30", "stop"], capture_output=True, timeout=60, env=env)
            pid_file = data / "postmaster.pid"
            if stopped.returncode != 0 and pid_file.is_file():  # never leave a server behind
                with contextlib.suppress(ValueError, OSError):
                    os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
