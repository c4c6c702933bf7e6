"""Server side of the chat benchmark: a fresh database, a real server process (``wsgi.py`` or
the bare relay), a shop signed up through the real form, and the process's memory and CPU.

Nothing here imports the app: the load generator stays a plain client process."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key"  # fixed: every run signs tokens the same way
APP_ROLE = "huike_app"
PLATFORM_ROLE = "huike_platform"
# Raised far above a real shop's limits: the benchmark is one address and a few visitors
# sending hundreds of messages a second (the defaults are in app/chat/flood.py).
FLOOD_LIMITS = {
    "connect": "1000000/minute",
    "hello": "1000000/minute",
    "message": "1000000/minute",
    "draft": "1000000/minute",
    "event": "1000000/minute",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_fd_limit(wanted: int) -> int:
    """Lift this process's soft file-descriptor limit (children inherit it); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def apply_preset(args, argv: list[str] | None, preset: tuple[tuple[str, object], ...]) -> None:
    """``--quick``: each preset value, unless its flag was given on the command line."""
    given = set(argv if argv is not None else sys.argv[1:])
    for flag, value in preset:
        if flag not in given:
            setattr(args, flag.lstrip("-").replace("-", "_"), value)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the database ----------------------------------------------------------------------


@dataclass
class Database:
    backend: str  # "sqlite" | "postgresql"
    app_url: str  # what the server connects as
    owner_url: str  # what migrations run as
    instance: Path
    admin_url: str | None = None
    name: str | None = None

    @classmethod
    def create(
        cls, backend: str, pg_admin_url: str, root: Path = ROOT, migrate: bool = True
    ) -> Database:
        """``migrate=False``: the caller runs ``init`` inside the ``try`` that drops it again."""
        instance = Path(tempfile.mkdtemp(prefix="huike-bench-"))
        if backend == "sqlite":
            url = f"sqlite:///{instance / 'huike.db'}"
            database = cls("sqlite", url, url, instance)
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            name = f"huike_bench_{uuid.uuid4().hex[:8]}"
            admin_sa = pg_admin_url.replace("postgresql://", "postgresql+psycopg2://", 1)
            admin = create_engine(admin_sa, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
                for name_ in (APP_ROLE, PLATFORM_ROLE):  # the migrations name both
                    role = conn.scalar(
                        text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name_}
                    )
                    if not role:
                        conn.execute(text(f"CREATE ROLE {name_} LOGIN NOSUPERUSER NOBYPASSRLS"))
            admin.dispose()
            owner = make_url(pg_admin_url).set(database=name)
            app = owner.set(username=APP_ROLE, password=None)
            database = cls(
                "postgresql",
                app.render_as_string(hide_password=False),
                owner.render_as_string(hide_password=False),
                instance,
                pg_admin_url,
                name,
            )
        if migrate:
            database.init(root)
        return database

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.app_url,
            "MIGRATIONS_DATABASE_URL": self.owner_url,
            "HUIKE_INSTANCE": str(self.instance),
            "SECRET_KEY": SECRET_KEY,
            "LOG_LEVEL": "WARNING",
        }

    def init(self, root: Path = ROOT) -> None:
        """Schema, plan catalog and demo shop, as ``make run`` does it (with ``root``'s code)."""
        env = {**os.environ, **self.env()}
        env.pop("REDIS_URL", None)
        done = subprocess.run(
            [str(python_of(root).parent / "flask"), "--app", "app", "huike", "init"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"huike init failed:\n{done.stdout}\n{done.stderr}")

    def drop(self) -> None:
        if self.backend == "postgresql":
            from sqlalchemy import create_engine, text

            admin_sa = self.admin_url.replace("postgresql://", "postgresql+psycopg2://", 1)
            admin = create_engine(admin_sa, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": self.name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"'))
            admin.dispose()
        shutil.rmtree(self.instance, ignore_errors=True)


# --- the server process ----------------------------------------------------------------


def python_of(root: Path) -> Path:
    """The interpreter of the checkout at ``root`` (its own .venv, as ``make install`` builds
    it), so a server of another commit runs with that commit's packages."""
    if root.resolve() == ROOT:
        return Path(sys.executable)
    return root / ".venv" / "bin" / "python"


@dataclass
class Server:
    """``python wsgi.py`` (kind "huike") or ``python -m tests.bench.bare_relay`` (kind "bare"),
    from the checkout at ``root``, under tests/bench/server_probe.py, which writes what stalls
    the server to ``probe_path``."""

    kind: str
    async_mode: str
    env: dict[str, str]
    log_path: Path
    root: Path = ROOT
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def probe_path(self) -> Path:
        return self.log_path.with_suffix(".probe.jsonl")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        # Redis only when the benchmark asks for it (in ``env``), never from the shell's.
        inherited = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env = {
            **inherited,
            **self.env,
            "PORT": str(self.port),
            "ASYNC_MODE": self.async_mode,
            "BENCH_PROBE_LOG": str(self.probe_path),
        }
        probe = [str(python_of(self.root)), str(ROOT / "tests" / "bench" / "server_probe.py")]
        if self.kind == "huike":
            argv = [*probe, "wsgi.py"]
        else:
            argv = [*probe, "-m", "tests.bench.bare_relay"]
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            argv,
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start:\n{self.log_tail()}")
            try:
                with urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kb(self) -> int | None:
        """VmRSS of the server process, in KiB."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        return int(found.group(1)) if found else None

    def threads(self) -> int | None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        found = re.search(r"^Threads:\s+(\d+)", status, re.M)
        return int(found.group(1)) if found else None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far."""
        if not self.alive():
            return None
        return _cpu_of(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()


def huike_env(database: Database, max_connections: int) -> dict[str, str]:
    return {
        **database.env(),
        "FLOOD_LIMITS": json.dumps(FLOOD_LIMITS),
        "MAX_CONNECTIONS": str(max_connections),
    }


# --- a shop and its agent ---------------------------------------------------------------


def sign_up(url: str, label: str) -> tuple[str, str]:
    """A new shop through the real signup form (as tests/live.py does): the signed-in owner's
    cookie header and the shop's site key."""
    session = requests.Session()
    page = session.get(f"{url}/signup", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{url}/signup",
        data={
            "csrf_token": token,
            "shop_name": f"Bench {label}",
            "name": f"Agent {label}",
            "email": f"{label}@bench.example.com",
            "password": "a-good-password",
        },
        timeout=30,
    )
    if response.status_code != 200 or "/console/" not in response.url:
        raise RuntimeError(f"signup failed: {response.status_code} {response.text[:300]}")
    site_key = re.search(r"/w/([\w-]+)\.js", response.text).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return cookie, site_key


def _cpu_of(pid: str | int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def machine_busy(seconds: float = 2.0) -> float:
    """How busy the whole machine is (% of all its CPUs) over the next ``seconds``."""
    busy0, total0 = machine_jiffies()
    time.sleep(seconds)
    busy1, total1 = machine_jiffies()
    return round(100 * (busy1 - busy0) / max(1, total1 - total0), 1)


def wait_quiet(limit: float, threshold: float = 15.0) -> float:
    """Wait (at most ``limit`` s) until the machine is under ``threshold`` % busy: other work on
    the same CPUs would be measured as the server's slowness. The last reading."""
    deadline = time.monotonic() + limit
    busy = machine_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


class CpuWindow:
    """CPU used over a stretch of the run, in % of one core: by the server, the PostgreSQL
    backends of its database, the load generator (this process), the agent, and every other
    process on the machine (whose work would be measured as the server's slowness)."""

    def __init__(self, server: Server, agent_pid: int | None, database_name: str | None) -> None:
        self.roles = {os.getpid(): "generator"}
        if server.process is not None:
            self.roles[server.process.pid] = "server"
        if agent_pid:
            self.roles[agent_pid] = "agent"
        self.database_name = database_name
        self.started = time.monotonic()
        self.before = self._sample()

    def _role(self, pid: int) -> str:
        if pid in self.roles:
            return self.roles[pid]
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return "other"
        if self.database_name and title.startswith("postgres:") and self.database_name in title:
            return "postgres"
        return "other"

    def _sample(self) -> dict[int, tuple[str, float]]:
        sample = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                pid = int(entry.name)
                sample[pid] = (self._role(pid), _cpu_of(pid))
        return sample

    def stop(self) -> dict:
        after, seconds = self._sample(), max(1e-9, time.monotonic() - self.started)
        used = dict.fromkeys(("server", "postgres", "generator", "agent", "other"), 0.0)
        for pid, (role, cpu) in after.items():
            used[role] += cpu - self.before.get(pid, (role, 0.0))[1]  # ended ones: lost
        figures = {role: round(100 * value / seconds) for role, value in used.items()}
        figures["server_seconds"] = round(used["server"], 2)
        return figures


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"^MemTotal:\s+(\d+)", meminfo, re.M).group(1))
    cpu = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        cpu = found.group(1).strip() if found else ""
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
    }


class PgWaits:
    """Samples ``pg_stat_activity`` of the server's database every 50 ms in a thread of its own:
    how many of its backends were busy, and what the busy ones waited on (``wait_event``)."""

    def __init__(self, admin_url: str, database_name: str) -> None:
        import threading
        from collections import Counter

        self.admin_url, self.database_name = admin_url, database_name
        self.samples, self.busy, self.waits = 0, Counter(), Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg2

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            while not self._stop.wait(0.05):
                cur.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.database_name,),
                )
                busy = 0
                for state, wait_type, wait in cur.fetchall():
                    if state == "active":
                        busy += 1
                        self.waits[f"{wait_type}:{wait}" if wait else "on CPU"] += 1
                self.busy[busy] += 1
                self.samples += 1
        conn.close()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(timeout=5)
        return {
            "samples": self.samples,
            "busy_backends": dict(sorted(self.busy.items())),
            "waits": dict(self.waits.most_common(8)),
        }


def met(value, goal) -> str:
    """A figure against its ceiling, for the benchmarks' tables (none measured: missed)."""
    return "✅" if value is not None and value <= goal else "❌"


def write_block(docs: Path, begin: str, end: str, section: str, block: str) -> None:
    """Replace the figures between ``begin`` and ``end`` in ``docs`` (the hand-written text
    around them stays), or add ``section`` with them at the end of the file."""
    text = docs.read_text()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{section}\n\n{block}\n"
    docs.write_text(text)
