"""A real PostgreSQL for the tests: Debian's server, started once per session in a throwaway folder.

`initdb` refuses to run as root, so under root the cluster belongs to the `postgres` user (runuser).
It listens on a UNIX socket in its own folder only (no TCP), so sessions running side by side never
meet. Each test gets a fresh database of its own. The server logs as a deployment should
(docs/deploy.md, PostgreSQL): no statements, no parameters and no row values, at any level, so the
privacy tests can read its log for the identifiers they planted.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SERVER_GLOB = "/usr/lib/postgresql/*/bin/initdb"
OWNER = "postgres"
PORT = 5432  # only names the socket file: the socket folder is this session's own

# The logging a deployment should have (docs/deploy.md): errors are logged tersely (no DETAIL, which
# can quote a row's values), without the statement that failed and without its parameters.
PRIVATE_LOGGING = {
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_min_error_statement": "panic",
    "log_error_verbosity": "terse",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
    "log_connections": "off",
    "log_disconnections": "off",
}


def server_bin() -> Path | None:
    """The newest installed server's bin folder, or None when no server is installed."""
    found = sorted(glob.glob(SERVER_GLOB), key=lambda path: int(path.split("/")[-3]))
    return Path(found[-1]).parent if found else None


@dataclass
class Cluster:
    """One running cluster: where its socket and log are, and a fresh database for each test."""

    bin: Path
    root: Path
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str) -> str:
        """A libpq address of a database in this cluster, over its UNIX socket."""
        return f"postgresql://{OWNER}@/{database}?host={self.socket_dir}&port={PORT}"

    def _as_owner(self, args: Sequence[str]) -> list[str]:
        return ["runuser", "-u", OWNER, "--", *args] if os.geteuid() == 0 else list(args)

    def run(self, tool: str, *args: str) -> str:
        """Run one of the server's programs as the cluster's owner; its output, or an error naming the tool."""
        done = subprocess.run(
            self._as_owner([str(self.bin / tool), *args]), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def start(self, *, durable: bool = False) -> None:
        """initdb and start; `durable` keeps the server's defaults for flushing to disk (the benchmark's)."""
        self.run("initdb", "-D", str(self.data), "-U", OWNER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        # The tests check behaviour, not durability: without flushes the cluster is quicker on a busy disk.
        fast = {} if durable else {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "port": str(PORT),
            **fast,
            "max_connections": "200",
            **PRIVATE_LOGGING,
        }
        options = " ".join(f"-c {name}={value}" for name, value in settings.items())
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def new_database(self) -> str:
        """Create an empty database and return its address."""
        name = f"test_{next(self._numbers)}"
        self.run(
            "psql",
            "-h",
            str(self.socket_dir),
            "-p",
            str(PORT),
            "-U",
            OWNER,
            "-d",
            "postgres",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"CREATE DATABASE {name}",
        )
        return self.url(name)

    def dump(self, url: str) -> str:
        """The whole database as `pg_dump` writes it (schema and every row), as text."""
        database = url.split("/")[3].split("?")[0]
        return self.run("pg_dump", "-h", str(self.socket_dir), "-p", str(PORT), "-U", OWNER, database)


def _private_root() -> Path:
    """A temp folder the cluster's owner may write in (initdb wants to own its data folder)."""
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    (root / "socket").mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(OWNER)
        for path in (root, root / "socket"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    root.chmod(0o700)
    return root


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A PostgreSQL cluster for the whole session, stopped and deleted at the end."""
    found = server_bin()
    if found is None:
        pytest.skip(f"no PostgreSQL server is installed (nothing matches {SERVER_GLOB}): apt-get install postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OWNER)
        except KeyError:
            pytest.skip(f"the PostgreSQL server is installed but there is no `{OWNER}` user to run it as")
    cluster = Cluster(found, _private_root())
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            if (cluster.data / "postmaster.pid").exists():
                cluster.stop()
        finally:
            shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """The address of a fresh, empty database for this test alone."""
    return pg_cluster.new_database()
