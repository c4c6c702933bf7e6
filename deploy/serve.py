"""``make serve-prod``: Huike's production topology on this machine (docs/deploy.md).

nginx (deploy/nginx.conf, rendered into RUN_DIR) in front of two web workers (wsgi.py, named
w1 and w2; Socket.IO between them through Redis), one job worker and the clock, all on the
DATABASE_URL and REDIS_URL of the environment. The schema is migrated first. A process that
dies is started again after RESTART_DELAY seconds; Ctrl-C or SIGTERM stops them all.

Settings (environment): HOST and PORT, where nginx listens (127.0.0.1:8000); WEB_PORTS, the
two workers' ports (5001,5002); RUN_DIR, nginx's configuration, the pid files and the logs
(instance/serve-prod); RESTART_DELAY (5 seconds); NGINX, the binary (/usr/sbin/nginx).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx.conf"
NODES = ("w1", "w2")  # deploy/nginx.conf routes Socket.IO sessions by these names
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
START_DEADLINE = 60  # seconds for a web worker, then nginx, to answer /healthz
STOP_DEADLINE = 10  # seconds for every process to exit before it is killed


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} serve-prod: {text}", flush=True)


@dataclass
class Process:
    """One supervised process: started again a while after it dies, until we stop."""

    name: str
    argv: list[str]
    env: dict[str, str]
    run_dir: Path
    health_url: str | None = None  # answers /healthz there once it serves
    popen: subprocess.Popen | None = None
    restart_at: float | None = None
    log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log = open(self.run_dir / "logs" / f"{self.name}.log", "ab")  # noqa: SIM115
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        (self.run_dir / f"{self.name}.pid").write_text(f"{self.popen.pid}\n")
        self.restart_at = None

    def watch(self, delay: float) -> None:
        """Notice a death (and schedule the restart), or restart when it is due."""
        if self.restart_at is not None:
            if time.monotonic() >= self.restart_at:
                say(f"starting {self.name} again")
                self.start()
        elif self.popen.poll() is not None:
            say(f"{self.name} exited with {self.popen.returncode}; again in {delay:g} s")
            self.log.close()
            self.restart_at = time.monotonic() + delay

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()


def render_nginx(run_dir: Path, host: str, port: int, web_ports: list[int]) -> Path:
    """deploy/nginx.conf with this run's ports and paths; nginx writes only under run_dir."""
    for folder in ("logs", "nginx"):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    # As root, nginx hands its workers to "nobody" unless told: keep them the current user's.
    user = (
        f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
        if os.geteuid() == 0
        else "# not root: nginx's workers run as the current user"
    )
    values = {
        "USER": user,
        "RUN_DIR": str(run_dir),
        "HOST": host,
        "PORT": str(port),
        "W1_PORT": str(web_ports[0]),
        "W2_PORT": str(web_ports[1]),
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    config = run_dir / "nginx.conf"
    config.write_text(text)
    return config


def healthy(url: str) -> bool:
    try:
        with urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def settings() -> dict:
    env = os.environ
    database_url, redis_url = env.get("DATABASE_URL", ""), env.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        sys.exit(
            "serve-prod runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL "
            "(README, 'Running on PostgreSQL + Redis')"
        )
    web_ports = [int(p) for p in env.get("WEB_PORTS", "5001,5002").split(",")]
    if len(web_ports) != len(NODES):
        sys.exit(f"WEB_PORTS names {len(NODES)} ports, one per web worker")
    return {
        "host": env.get("HOST", "127.0.0.1"),
        "port": int(env.get("PORT", "8000")),
        "web_ports": web_ports,
        "run_dir": Path(env.get("RUN_DIR") or ROOT / "instance" / "serve-prod").resolve(),
        "restart_delay": float(env.get("RESTART_DELAY", "5")),
        "nginx": env.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx",
    }


def processes(config: dict, nginx_conf: Path) -> tuple[list[Process], list[Process]]:
    """The web workers, and the rest: the job worker, the clock and nginx."""
    run_dir = config["run_dir"]
    env = dict(os.environ)
    # Only nginx is reached from outside: the workers listen on the loopback and believe
    # the client address it forwards.
    web = [
        Process(
            name,
            [sys.executable, "wsgi.py"],
            {
                **env,
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "HUIKE_NODE": name,
                "TRUSTED_PROXIES": "1",
            },
            run_dir,
            f"http://127.0.0.1:{port}",
        )
        for name, port in zip(NODES, config["web_ports"], strict=True)
    ]
    nginx = [config["nginx"], "-p", str(run_dir), "-c", str(nginx_conf)]
    nginx += ["-e", str(run_dir / "logs" / "nginx-error.log"), "-g", "daemon off;"]
    return web, [
        Process("jobs", [*FLASK, "huike", "jobs"], env, run_dir),
        Process("clock", [*FLASK, "huike", "clock"], env, run_dir),
        Process("nginx", nginx, env, run_dir, f"http://{config['host']}:{config['port']}"),
    ]


def prepare(config: dict) -> Path:
    """The schema and the plan catalog up to date, and nginx's configuration checked."""
    for command in ("migrate", "catalog"):
        say(f"flask huike {command}")
        subprocess.run([*FLASK, "huike", command], cwd=ROOT, check=True)
    nginx_conf = render_nginx(
        config["run_dir"], config["host"], config["port"], config["web_ports"]
    )
    check = [config["nginx"], "-t", "-q", "-p", str(config["run_dir"]), "-c", str(nginx_conf)]
    subprocess.run([*check, "-e", str(config["run_dir"] / "logs" / "nginx-error.log")], check=True)
    return nginx_conf


def stop_all(running: list[Process]) -> None:
    for process in running:
        process.stop()
    deadline = time.monotonic() + STOP_DEADLINE
    for process in running:
        try:
            process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{process.name} did not stop in time: killed")
            process.popen.kill()
            process.popen.wait()


def answering(processes: list[Process], stopping: list[int]) -> bool:
    """True once each process with a health_url answers there; False if one died first, or
    took too long, or we are stopping."""
    deadline = time.monotonic() + START_DEADLINE
    waiting = [p for p in processes if p.health_url]
    while waiting and not stopping:
        process = waiting[0]
        if process.popen.poll() is not None or time.monotonic() > deadline:
            say(f"{process.name} did not start: see {process.run_dir}/logs/{process.name}.log")
            return False
        if healthy(process.health_url):
            waiting.pop(0)
        else:
            time.sleep(0.2)
    return not waiting


def main() -> int:
    config = settings()
    nginx_conf = prepare(config)
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: stopping.append(number))
    web, others = processes(config, nginx_conf)
    running: list[Process] = []
    try:
        # The web workers first, alone: the site answers sooner than with all four booting.
        for process in web:
            process.start()
            running.append(process)
        if not answering(web, stopping):
            return 0 if stopping else 1
        for process in others:
            process.start()
            running.append(process)
        if not answering(others, stopping):
            return 0 if stopping else 1
        say(
            f"Huike is served at http://{config['host']}:{config['port']} "
            f"(web workers on {config['web_ports']}, logs in {config['run_dir']}/logs)"
        )
        while not stopping:
            for process in running:
                process.watch(config["restart_delay"])
            time.sleep(0.2)
        return 0
    finally:
        say("stopping")
        stop_all([p for p in running if p.restart_at is None])


if __name__ == "__main__":
    sys.exit(main())
