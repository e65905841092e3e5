"""The local longtask stack: control plane, Redis, local node, CRD, operator and gateway.

`python -m longtask.devstack.stack up|down|run|status` backs `make up`, `make down` and
`make run`; the test fixtures use `Stack.start()` and `Stack.stop()` from here, so tests run on
exactly what a developer runs. `up` writes `.longtask/kubeconfig` and `.longtask/env`
(KUBECONFIG, REDIS_URL with the Redis admin's credentials, LONGTASK_GATEWAY_URL, LONGTASK_TOKEN,
LONGTASK_HISTORY_DSN) and is idempotent. The operator and the gateway get Redis users of their
own (`operator_env`, `gateway_env`), never the admin's. With KUBECONFIG pointing at a real
cluster, `run` and `up` use that cluster instead of starting a control plane and a local node.

The task history is a SQLite file in the state (`history.db`) by default; with
`LONGTASK_HISTORY_BACKEND=postgresql` (or `start_postgresql()`) the stack starts a PostgreSQL
server of its own (`pgserver`) and the operator and gateway use that instead. The stack brings
the database it chose to the newest schema when it starts, before any component.

With `LONGTASK_REDIS_SENTINEL=true` (or `Stack.start(sentinel=True)`) Redis runs as a master, a
replica and three Sentinels (`redissentinel`), and every component gets a `redis+sentinel://` URL.

With `LONGTASK_OPERATORS=2` (or `Stack.start(operators=2)`) two operators run, `operator` and
`operator-2`, electing a leader over a Lease as the chart's replicas do; each names itself in the
Lease by its process name, so a restarted one takes its own unexpired Lease back at once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from longtask.core import redisusers
from longtask.devstack import (
    controlplane,
    logfollow,
    pgserver,
    procs,
    redissentinel,
    redisserver,
)
from longtask.operator import rbac, settings

REPO = controlplane.REPO
CRD_DIR = REPO / "deploy" / "crds"
# Cluster-wide admission policies (who may write a task's status), shipped in the chart too.
ADMISSION_DIR = REPO / "deploy" / "admission"
BIN = Path(sys.executable).parent
DEFAULT_STATE = REPO / ".longtask"


@dataclasses.dataclass
class Stack:
    state_dir: Path
    kubeconfig: Path
    redis_url: str
    redis_port: int
    procs: dict[str, procs.Proc]
    redis_passwords: redisserver.Passwords
    external_cluster: bool = False
    gateway_url: str = ""
    token: str = ""
    operator_metrics_url: str = ""
    history_dsn: str = ""
    postgres_port: int = 0
    postgres_dsn: str = ""
    bin_dir: Path = BIN
    operator_urls: dict[str, str] = dataclasses.field(default_factory=dict)
    """Metrics URL of each operator process, by its name."""
    redis_ports: dict[str, int] = dataclasses.field(default_factory=dict)
    """Port of each Redis process but the first (replica, Sentinels), by its name."""

    # ---- lifecycle ------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        state_dir: Path,
        kubeconfig: Path | None = None,
        operator: bool = False,
        gateway: bool = False,
        node_mode: str | None = None,
        history: str = "sqlite",
        operators: int = 1,
        sentinel: bool = False,
    ) -> Stack:
        """Starts every part; with `kubeconfig` (a real cluster) only Redis and the components.

        `node_mode` is the local node's `--mode` (process, container or auto; default: its own).
        `history` is the history's database: `sqlite` (a file in the state), `postgresql` (a
        server of the stack's own) or empty (no history). `operators` is how many operator
        processes run (with `operator`), electing a leader. `sentinel` adds a replica and three
        Sentinels to Redis, and hands out a Sentinel URL.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        state_dir.chmod(0o700)  # the stack's credentials and data: its owner's only
        started: dict[str, procs.Proc] = {}
        stack: Stack | None = None
        try:
            if kubeconfig is None:
                plane = controlplane.start(state_dir)
                started.update({p.name: p for p in plane.procs})
                kubeconfig = plane.admin_kubeconfig
                node = _start_local_node(plane, state_dir, node_mode)
                started[node.name] = node
            passwords = redisserver.Passwords.generate()
            redis, port = redisserver.start(state_dir, passwords)
            started[redis.name] = redis
            stack = cls(
                state_dir=state_dir,
                kubeconfig=kubeconfig,
                redis_url=redisserver.url(port, redisserver.ADMIN, passwords.admin),
                redis_port=port,
                procs=started,
                redis_passwords=passwords,
                external_cluster=kubeconfig != state_dir / "kubeconfig",
            )
            if sentinel:
                stack.start_sentinels()
            if history == "sqlite":
                stack.history_dsn = f"sqlite:///{state_dir.resolve() / 'history.db'}"
            elif history == "postgresql":
                stack.start_postgresql(use_for_history=True)
            elif history:
                raise ValueError(f"history must be sqlite, postgresql or empty, not {history!r}")
            stack.migrate_history()
            stack.apply_crd()
            stack.apply_admission()
            stack.apply_runner_role()
            if not stack.external_cluster:
                stack.wait_for_node()
            if operator:
                for index in range(operators):
                    stack.start_operator(operator_name(index))
            if gateway:
                stack.start_gateway()
            stack.save()
            return stack
        except BaseException:
            for proc in reversed(list(started.values())):
                procs.stop(proc)
            raise

    def stop(self) -> None:
        # Components first, the control plane last, so nothing logs errors about a missing API.
        order = [
            "gateway",
            *sorted(n for n in self.procs if n.startswith("operator")),
            "localnode",
            "postgresql",
            *sorted(n for n in self.procs if n.startswith("redis-sentinel")),
            "redis-replica",
            "redis",
            "kube-controller-manager",
            "kube-apiserver",
            "etcd",
        ]
        for name in order + [n for n in self.procs if n not in order]:
            if name in self.procs:
                self.stop_component(name)
        if "postgresql" in self.procs:
            pgserver.remove(self.state_dir)  # its data may live outside the state folder

    # ---- environment for clients ----------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """os.environ plus what a client of this stack needs (for subprocesses)."""
        return (
            os.environ
            | self.client_env()
            | {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        )

    def client_env(self) -> dict[str, str]:
        env = {
            "KUBECONFIG": str(self.kubeconfig),
            "REDIS_URL": self.redis_url,
            "LONGTASK_REDIS_URL": self.redis_url,
        }
        if self.gateway_url:
            env["LONGTASK_GATEWAY_URL"] = self.gateway_url
            env["LONGTASK_TOKEN"] = self.token
        if self.history_dsn:
            env["LONGTASK_HISTORY_DSN"] = self.history_dsn
        return env

    def operator_env(self) -> dict[str, str]:
        """`env` with the operator's Redis user, the address tasks use and the key of their
        users' passwords (instead of the admin's credentials)."""
        env = self.env | {
            "LONGTASK_REDIS_URL": self.redis_address(
                redisusers.OPERATOR, self.redis_passwords.operator
            ),
            "LONGTASK_RUNNER_REDIS_URL": self.redis_address(),
            "LONGTASK_REDIS_TASK_KEY": self.redis_passwords.task_key,
        }
        env.pop("REDIS_URL", None)
        return env

    def gateway_env(self) -> dict[str, str]:
        """`env` with the gateway's (read-only) Redis user instead of the admin's."""
        password = self.redis_passwords.gateway
        env = self.env | {"LONGTASK_REDIS_URL": self.redis_address(redisusers.GATEWAY, password)}
        env.pop("REDIS_URL", None)
        return env

    def kubectl(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def pod_log(self, namespace: str, pod: str, container: str) -> str:
        """A container's output as kept by the local node (it has no `kubectl logs`)."""
        found = sorted((self.state_dir / "node" / "pods").glob(f"{namespace}_{pod}_*"))
        if not found:
            return ""
        return (found[-1] / f"{container}.log").read_text(errors="replace")

    # ---- Redis outage drills --------------------------------------------------------------

    def stop_redis(self) -> None:
        procs.stop(self.procs["redis"])

    def start_redis(self) -> None:
        proc, _ = redisserver.start(self.state_dir, self.redis_passwords, self.redis_port)
        self.procs["redis"] = proc
        self.save()

    # ---- Redis Sentinel ----------------------------------------------------------------

    def start_sentinels(self) -> None:
        """A replica and three Sentinels around the stack's Redis; its URLs become theirs."""
        passwords = self.redis_passwords
        replica, self.redis_ports["redis-replica"] = redissentinel.start_replica(
            self.state_dir, self.redis_port, passwords
        )
        self.procs[replica.name] = replica
        for index in range(1, redissentinel.SENTINELS + 1):
            proc, port = redissentinel.start_sentinel(
                self.state_dir, index, self.redis_port, passwords
            )
            self.procs[proc.name] = proc
            self.redis_ports[proc.name] = port
        ports = self.sentinel_ports
        procs.wait_until(
            lambda: all(redissentinel.ready(p) for p in ports), None, "Sentinels", timeout=60
        )
        self.redis_url = self.redis_address(redisserver.ADMIN, passwords.admin)
        self.save()

    def redis_address(self, user: str = "", password: str = "") -> str:
        """The stack's Redis URL for a user: to the server, or to its Sentinels."""
        if self.sentinel_ports:
            return redissentinel.url(self.sentinel_ports, user, password)
        return redisserver.url(self.redis_port, user, password)

    @property
    def sentinel_ports(self) -> list[int]:
        return [p for n, p in sorted(self.redis_ports.items()) if n.startswith("redis-sentinel")]

    def redis_master(self) -> str:
        """The name of the Redis process that is the master now (the Sentinels' view)."""
        port = redissentinel.master_port(self.sentinel_ports[0])
        ports = {"redis": self.redis_port, **self.redis_ports}
        return next(name for name, p in ports.items() if p == port)

    def restart_redis_process(self, name: str) -> None:
        """Start a stopped Redis process again on its port and data (it rejoins as a replica:
        the Sentinels reconfigure it)."""
        if name == "redis":
            self.start_redis()
            return
        port = self.redis_ports[name]
        passwords = self.redis_passwords
        if name == "redis-replica":
            proc, _ = redissentinel.start_replica(self.state_dir, self.redis_port, passwords, port)
        else:
            index = int(name.rsplit("-", 1)[1])
            proc, _ = redissentinel.start_sentinel(
                self.state_dir, index, self.redis_port, passwords, port
            )
        self.procs[name] = proc
        self.save()

    # ---- the history's PostgreSQL ----------------------------------------------------------

    def start_postgresql(self, use_for_history: bool = False) -> str:
        """Start the stack's PostgreSQL (again on the same port and data after a stop); the DSN
        of its database. With `use_for_history` the operator and gateway started later use it."""
        proc = self.procs.get("postgresql")
        if proc is None or not proc.alive():
            password = urllib.parse.urlsplit(self.postgres_dsn).password
            proc, self.postgres_port, self.postgres_dsn = pgserver.start(
                self.state_dir, self.postgres_port or None, password
            )
            self.procs["postgresql"] = proc
        if use_for_history:
            self.history_dsn = self.postgres_dsn
        self.save()
        return self.postgres_dsn

    def migrate_history(self) -> None:
        """Brings the history's database to the newest schema, as `longtask-history migrate`
        does: a gateway started before any operator (or without one) finds its tables. The
        operator's own upgrade at its start is then a no-op (docs/history.md, migrations)."""
        if self.history_dsn and _importable("longtask.history.migrating"):
            from longtask.history import migrating

            migrating.upgrade(self.history_dsn)

    # ---- contents -------------------------------------------------------------------------

    def apply_crd(self) -> None:
        """Every CRD of deploy/crds (LongTask, LongTaskSchedule, …), once each is established."""
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_DIR))
        # Not `kubectl wait`: it fails instead of waiting while the new CRD has no conditions yet.
        procs.wait_until(self._crds_established, None, "the CRDs", timeout=60)
        # Established is not yet served: a list answers 429 "storage is (re)initializing" for
        # a moment, which would fail an operator starting right then.
        procs.wait_until(self._crds_served, None, "the CRDs' storage", timeout=60)

    def _crds_served(self) -> bool:
        kinds = ",".join(
            f"{crd.stem.split('_', 1)[1]}.longtask.io" for crd in sorted(CRD_DIR.glob("*.yaml"))
        )
        try:
            self.kubectl("get", kinds, "--all-namespaces", "--chunk-size=1", "-o", "name")
        except RuntimeError:
            return False
        return True

    def _crds_established(self) -> bool:
        jsonpath = '{range .items[*]}{.status.conditions[?(@.type=="Established")].status} {end}'
        selector = "app.kubernetes.io/name=longtask"
        try:
            found = self.kubectl("get", "crd", "-l", selector, "-o", f"jsonpath={jsonpath}")
        except RuntimeError:
            return False
        wanted = len(list(CRD_DIR.glob("*.yaml")))
        return found.split() == ["True"] * wanted

    def apply_admission(self) -> None:
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ADMISSION_DIR))

    def apply_runner_role(self) -> None:
        """The runner's ClusterRole, which the operator binds to the runner's account in each
        namespace where tasks may run (the chart ships the same rules)."""
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": settings.DEFAULT_RUNNER_CLUSTER_ROLE,
                "labels": {
                    "app.kubernetes.io/name": "longtask",
                    "app.kubernetes.io/component": "runner",
                },
            },
            "rules": rbac.RUNNER_RULES,
        }
        self.kubectl(
            "apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(role)
        )

    def wait_for_node(self) -> None:
        procs.wait_until(
            lambda: "localnode" in self._nodes(),
            self.procs.get("localnode"),
            "local node",
            timeout=60,
        )

    def _nodes(self) -> str:
        try:
            return self.kubectl("get", "nodes", "-o", "name")
        except RuntimeError:
            return ""

    # ---- components -----------------------------------------------------------------------

    def start_operator(self, name: str = "operator") -> None:
        """Start (again) the operator process `name`, on its metrics port of before."""
        if not _importable("longtask.operator.main"):
            print("operator not built yet: skipped", file=sys.stderr)
            return
        url = self.operator_urls.get(name)
        port = int(url.rsplit(":", 1)[1].split("/")[0]) if url else procs.free_port()
        self.operator_urls[name] = f"http://127.0.0.1:{port}/metrics"
        if name == "operator":
            self.operator_metrics_url = self.operator_urls[name]
        env = self.operator_env() | {
            "LONGTASK_METRICS_PORT": str(port),
            "LONGTASK_LEASE_IDENTITY": name,
            "PYTHONUNBUFFERED": "1",
        }
        self.procs[name] = procs.start(
            name, [str(self.bin_dir / "longtask-operator")], self.state_dir / "logs", env
        )

    def start_gateway(self, port: int | None = None) -> None:
        """Starts the gateway in apikey mode; `port` keeps the URL of a gateway restarted."""
        if not _importable("longtask.api.main"):
            print("gateway not built yet: skipped", file=sys.stderr)
            return
        port = port or procs.free_port()
        self.token = self.token or secrets.token_urlsafe(32)
        env = self.gateway_env() | {
            "LONGTASK_AUTH_MODE": "apikey",
            "LONGTASK_API_KEY": self.token,
            "LONGTASK_HOST": "127.0.0.1",
            "LONGTASK_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
        }
        proc = procs.start(
            "gateway", [str(self.bin_dir / "longtask-gateway")], self.state_dir / "logs", env
        )
        self.procs["gateway"] = proc
        self.gateway_url = f"http://127.0.0.1:{port}"
        procs.wait_until(lambda: procs.port_open(port), proc, "gateway", timeout=60)

    def stop_component(self, name: str, kill: bool = False) -> None:
        """Stops one part (SIGKILL at once with `kill`, as a crash would)."""
        proc = self.procs[name]
        if name == "postgresql" and not kill:
            pgserver.stop(proc)
        else:
            procs.stop(proc, grace=0 if kill else 10)

    def restart(self, name: str, kill: bool = False) -> None:
        """Stops and starts one part with the same command line, port and data (drills)."""
        proc = self.procs[name]
        self.stop_component(name, kill)
        if name == "gateway":
            self.start_gateway(int(self.gateway_url.rsplit(":", 1)[1]))
        elif name.startswith("operator"):
            self.start_operator(name)
        elif name == "redis":
            self.start_redis()
        elif name == "postgresql":
            self.start_postgresql()
        else:
            self.procs[name] = procs.start(name, proc.argv, self.state_dir / "logs")
            if name == "kube-apiserver":
                procs.wait_until(self._api_ready, self.procs[name], name, timeout=120)
        self.save()

    def _api_ready(self) -> bool:
        try:
            return self.kubectl("get", "--raw", "/readyz").strip() == "ok"
        except RuntimeError:
            return False

    # ---- persistence ----------------------------------------------------------------------

    def save(self) -> None:
        record: dict[str, Any] = {
            "kubeconfig": str(self.kubeconfig),
            "redis_url": self.redis_url,
            "redis_port": self.redis_port,
            "redis_passwords": dataclasses.asdict(self.redis_passwords),
            "external_cluster": self.external_cluster,
            "gateway_url": self.gateway_url,
            "token": self.token,
            "operator_metrics_url": self.operator_metrics_url,
            "operator_urls": self.operator_urls,
            "redis_ports": self.redis_ports,
            "history_dsn": self.history_dsn,
            "postgres_port": self.postgres_port,
            "postgres_dsn": self.postgres_dsn,
            "procs": {name: dataclasses.asdict(p) for name, p in self.procs.items()},
        }
        path = self.state_dir / "stack.json"
        path.write_text(json.dumps(record, indent=2))
        path.chmod(0o600)
        env_file = self.state_dir / "env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in self.client_env().items()))
        env_file.chmod(0o600)

    @classmethod
    def load(cls, state_dir: Path) -> Stack | None:
        try:
            record = json.loads((state_dir / "stack.json").read_text())
        except (OSError, ValueError):
            return None
        return cls(
            state_dir=state_dir,
            kubeconfig=Path(record["kubeconfig"]),
            redis_url=record["redis_url"],
            redis_port=record["redis_port"],
            procs={n: procs.Proc(**p) for n, p in record["procs"].items()},
            # A stack started before Redis had users has none: it can still be stopped.
            redis_passwords=redisserver.Passwords(
                **record.get(
                    "redis_passwords",
                    dict.fromkeys(("admin", "operator", "gateway", "task_key"), ""),
                )
            ),
            external_cluster=record["external_cluster"],
            gateway_url=record.get("gateway_url", ""),
            token=record.get("token", ""),
            operator_metrics_url=record.get("operator_metrics_url", ""),
            operator_urls=record.get("operator_urls", {}),
            redis_ports=record.get("redis_ports", {}),
            history_dsn=record.get("history_dsn", ""),
            postgres_port=record.get("postgres_port", 0),
            postgres_dsn=record.get("postgres_dsn", ""),
        )

    def healthy(self) -> bool:
        return all(p.alive() for p in self.procs.values())


def operator_name(index: int) -> str:
    """`operator`, `operator-2`, …: the process names of the stack's operators."""
    return "operator" if index == 0 else f"operator-{index + 1}"


def _start_local_node(
    plane: controlplane.ControlPlane, state_dir: Path, mode: str | None
) -> procs.Proc:
    """The local node (`localnode`) serving `plane`, as a process of its own."""
    return procs.start(
        "localnode",
        [
            sys.executable,
            "-m",
            "longtask.devstack.localnode",
            f"--kubeconfig={plane.admin_kubeconfig}",
            f"--server={plane.server}",
            f"--ca-file={plane.ca_cert}",
            f"--state={state_dir / 'node'}",
            *([f"--mode={mode}"] if mode else []),
        ],
        state_dir / "logs",
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _external_kubeconfig(state: Path) -> Path | None:
    """KUBECONFIG of a real cluster, unless it is the one this stack writes itself."""
    value = os.environ.get("KUBECONFIG", "")
    if not value:
        return None
    path = Path(value).resolve()
    return None if path == (state / "kubeconfig").resolve() else path


def up(state: Path) -> Stack:
    existing = Stack.load(state)
    if existing and existing.healthy():
        print(f"longtask stack already up; source {state / 'env'}")
        return existing
    if existing:
        existing.stop()
    if state.exists():
        pgserver.remove(state)
        shutil.rmtree(state)
    began = time.monotonic()
    history = os.environ.get("LONGTASK_HISTORY_BACKEND", "sqlite")
    operators = int(os.environ.get("LONGTASK_OPERATORS", "1") or 1)
    sentinel = os.environ.get("LONGTASK_REDIS_SENTINEL", "").lower() in ("1", "true", "yes")
    stack = Stack.start(
        state,
        _external_kubeconfig(state),
        operator=True,
        gateway=True,
        history=history,
        operators=operators,
        sentinel=sentinel,
    )
    print(f"longtask stack up in {time.monotonic() - began:.1f}s")
    for key, value in stack.client_env().items():
        # Secrets stay in the env file (the owner's only), not on the terminal.
        shown = "…" if key == "LONGTASK_TOKEN" else re.sub(r"(://[^:/@]+:)[^@]+@", r"\1…@", value)
        print(f"  {key}={shown}")
    print(f"Use it: set -a; source {state / 'env'}; set +a")
    return stack


def down(state: Path) -> None:
    stack = Stack.load(state)
    if stack:
        stack.stop()
    if state.exists():
        pgserver.remove(state)
        shutil.rmtree(state)
    print("longtask stack down")


def dashboard_url(stack: Stack, namespace: str = "default") -> str:
    """The dashboard's overview, with the key in the fragment (never sent to the server; the
    page keeps it for the tab and takes it out of the address)."""
    token = urllib.parse.quote(stack.token, safe="")
    return f"{stack.gateway_url}/#/overview/{namespace}?token={token}"


def where_to_go(stack: Stack, state: Path) -> list[str]:
    """What `run` prints once the stack is up: the dashboard, and the line for a shell."""
    lines = []
    if stack.gateway_url:
        lines.append(f"Dashboard:          {dashboard_url(stack)}")
    lines.append(f"kubectl, longtask:  set -a; source {state / 'env'}; set +a")
    return lines


# What stops `run`: Ctrl-C, and a polite kill (SIGTERM).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run(state: Path) -> None:
    stack = up(state)
    # The handlers only note the signal; the follower asks between lines and stops. They are
    # installed whatever was inherited: a background job of a shell without job control (a CI
    # script's `make test &`) starts with SIGINT ignored, which Python keeps (no
    # KeyboardInterrupt), and Ctrl-C would then leave the stack running.
    stopping: list[int] = []
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda received, _frame: stopping.append(received))
    try:
        print()
        for line in where_to_go(stack, state):
            print(line)
        print("Following the logs; Ctrl-C stops the stack.\n", flush=True)
        files = [(name, Path(p.log)) for name, p in stack.procs.items()]
        follower = logfollow.Follower(files, sys.stdout, logfollow.colour_wanted(sys.stdout))
        follower.run(keep_going=lambda: not stopping)
    finally:
        # A second Ctrl-C must not leave half a stack behind.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        with contextlib.suppress(OSError):  # a closed terminal or pipe: stop the stack all the same
            print("\nStopping…", flush=True)
        down(state)


def main() -> None:
    parser = argparse.ArgumentParser(description="The local longtask stack.")
    parser.add_argument("command", choices=["up", "down", "run", "status"])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE)
    args = parser.parse_args()
    if args.command == "up":
        up(args.state)
    elif args.command == "down":
        down(args.state)
    elif args.command == "run":
        run(args.state)
    else:
        stack = Stack.load(args.state)
        if not stack:
            sys.exit("longtask stack is not up")
        for name, proc in stack.procs.items():
            print(f"{name:26} pid {proc.pid:<8} {'running' if proc.alive() else 'STOPPED'}")
        sys.exit(0 if stack.healthy() else 1)


if __name__ == "__main__":
    main()
