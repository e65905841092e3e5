"""A local node for development and tests: runs pods' containers as local processes.

It registers a Node and keeps it Ready, binds pending pods to itself (there is no scheduler in
the local control plane), and runs each container's `command` + `args` as a process with the
pod's environment: plain values, downward-API fields, ConfigMap and Secret references. Each pod
gets a service-account token from the TokenRequest API, bound to the pod, handed to the process
as a per-pod kubeconfig in `KUBECONFIG` (processes on one machine cannot share the in-cluster
token path), so RBAC applies to the process exactly as in a cluster. The runner image is mapped
to the locally installed runner: the virtualenv's bin folder comes first on the pod's PATH, and a
container of a runner image without a command runs `longtask-runner`. It reports Running, then
Succeeded/Failed with the exit code and reason in the container status, keeps each container's
output in a log file, and when a pod is deleted sends SIGTERM to the container's main process,
waits the grace period, sends SIGKILL to the container's whole process tree and completes the
deletion.

Process mode keeps tasks apart as far as processes can (see `podinit` and `sandboxes`): each
container runs under an init that is a child subreaper, so its `setsid` children and
double-forked daemons end with it; when the node runs as root each pod runs as a user of its own,
in folders only it can enter, with `no_new_privs`, so it cannot read the stack's credentials
(the state folder is its owner's only) or another pod's environment. What it cannot: without
root every pod runs as the node's user and can read what the node can (the admin kubeconfig,
the CA key, the Redis admin's password), and a task that kills its init escapes the tree
(a warning says so at start); in any case a pod sees the host's world-readable files, the process
list and every loopback port. Container mode isolates; see deploy/images/README.md.

What it does not emulate: images and their file systems (the host's files are used), the pod's
user and security context (a pod's own user replaces `runAsUser`), resource limits, volumes other
than `emptyDir` (an emptyDir mounted at /tmp becomes the process's TMPDIR), probes, restart
policies other than Never, init and sidecar containers, networking (everything is 127.0.0.1),
`kubectl logs`/`exec` (the log files are under the state folder instead).

Container mode (`--mode container`, or `auto`: containers when podman and runc work and the
runner image is built, else processes; default from LONGTASK_NODE_MODE, else `process`) runs each
container from its image with podman instead: images, users, the security context and the
read-only root filesystem are then real; see `containers.py`.

The containers' environment is built in `podenv`, the pod status documents in `podstatus`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException
from longtask.devstack import containers as podman
from longtask.devstack import podenv, podinit, podstatus, sandboxes
from longtask.devstack.podstatus import Container, now

log = logging.getLogger("localnode")

NODE_NAME = "localnode"
HEARTBEAT_SECONDS = 10
RESYNC_SECONDS = 30
MERGE_PATCH = "application/merge-patch+json"
RUNNER_COMMAND = ["longtask-runner"]
# The container's init (podinit.py), run as a script: without `site` it starts in milliseconds.
PODINIT = [sys.executable, "-I", "-S", str(Path(podinit.__file__).resolve())]
# What a pod's own user must reach: the Python installation, the virtualenv, the sources.
EXPOSED = sorted({sys.base_prefix, sys.prefix, str(Path(__file__).resolve().parents[4])})


class LocalNode:
    def __init__(
        self,
        api: client.ApiClient,
        state: Path,
        server: str,
        ca_file: Path,
        node_name: str = NODE_NAME,
        engine: podman.Podman | None = None,
    ) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.state = state
        self.server = server
        self.ca_file = ca_file
        self.node_name = node_name
        # Container mode when set: podman runs each container from its image.
        self.engine = engine
        # Pod UID → its containers; an entry exists from the moment a pod's start begins, so that
        # a second event for the same pod never starts it twice.
        self.pods: dict[str, list[Container]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        # Pods whose deletion began, so that a start still in progress kills what it started.
        self.deleting: set[str] = set()
        self.path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        # Process mode: each pod's folder and user (see sandboxes).
        self.sandboxes = sandboxes.Sandboxes() if engine is None else None
        if self.sandboxes is not None:
            check_users(self.sandboxes)
        self.environment = podenv.PodEnvironment(self.core, server, ca_file, self.path)

    # ---- node -----------------------------------------------------------------------------

    async def register(self) -> None:
        body = client.V1Node(
            metadata=client.V1ObjectMeta(
                name=self.node_name,
                labels={
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "longtask.io/local-node": "true",
                },
            )
        )
        try:
            await self.core.create_node(body)
        except ApiException as error:
            if error.status != 409:
                raise
        await self.heartbeat()

    async def heartbeat(self) -> None:
        cores = str(os.cpu_count() or 1)
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"
        stamp = now()
        status = {
            "capacity": {"cpu": cores, "memory": memory, "pods": "1000"},
            "allocatable": {"cpu": cores, "memory": memory, "pods": "1000"},
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": self.node_name},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "LocalNodeReady",
                    "message": "the local node runs pods as processes",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                }
            ],
            "nodeInfo": {
                "machineID": "local",
                "systemUUID": "local",
                "bootID": "local",
                "kernelVersion": platform.release(),
                "osImage": f"longtask local node ({'containers' if self.engine else 'processes'})",
                "containerRuntimeVersion": "process://local",
                "kubeletVersion": "v0.0.0-localnode",
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        await self.core.patch_node_status(
            self.node_name,
            {"status": status},
            _content_type=MERGE_PATCH,  # type: ignore[call-arg]  # accepted via **kwargs
        )

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.heartbeat()
            except Exception as error:  # keep beating through API outages
                log.warning("node heartbeat failed: %s", error)

    # ---- pods -----------------------------------------------------------------------------

    async def pods_loop(self) -> None:
        """List and watch every pod; reconcile each one seen. Relists on any watch failure."""
        while True:
            try:
                listing = await self.core.list_pod_for_all_namespaces()
                for pod in listing.items:
                    await self.reconcile(pod)
                version = listing.metadata.resource_version
                async with watch.Watch() as stream:
                    async for event in stream.stream(
                        self.core.list_pod_for_all_namespaces,
                        resource_version=version,
                        timeout_seconds=RESYNC_SECONDS,
                        allow_watch_bookmarks=True,
                    ):
                        if event["type"] in ("ADDED", "MODIFIED"):
                            await self.reconcile(event["object"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("pod watch interrupted (%s); relisting", error)
                await asyncio.sleep(1)

    async def reconcile(self, pod: client.V1Pod) -> None:
        meta, spec = pod.metadata, pod.spec
        if not spec.node_name:
            # A scheduler leaves pods with scheduling gates alone (the API refuses their binding).
            if meta.deletion_timestamp is None and not spec.scheduling_gates:
                await self.bind(pod)
            return
        if spec.node_name != self.node_name:
            return
        if meta.deletion_timestamp is not None:
            self.spawn(self.terminate(pod))
            return
        phase = pod.status.phase if pod.status else None
        if meta.uid in self.pods or phase in ("Succeeded", "Failed"):
            return
        if phase == "Running":
            # Running by the status but not by us: the node restarted under it.
            self.pods[meta.uid] = []
            self.spawn(self.report_lost(pod))
            return
        self.pods[meta.uid] = []
        self.spawn(self.start(pod))

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.finished)

    def finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pod handling failed", exc_info=task.exception())

    async def bind(self, pod: client.V1Pod) -> None:
        body = client.V1Binding(
            metadata=client.V1ObjectMeta(name=pod.metadata.name, uid=pod.metadata.uid),
            target=client.V1ObjectReference(kind="Node", name=self.node_name, api_version="v1"),
        )
        try:
            await self.core.create_namespaced_pod_binding(
                pod.metadata.name, pod.metadata.namespace, body, _preload_content=False
            )
        except ApiException as error:
            if error.status not in (404, 409):  # gone or already bound
                log.warning("binding %s failed: %s", pod.metadata.name, error)

    def pod_dir(self, pod: client.V1Pod) -> Path:
        meta = pod.metadata
        folder = self.state / "pods" / f"{meta.namespace}_{meta.name}_{meta.uid}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    async def start(self, pod: client.V1Pod) -> None:
        meta = pod.metadata
        folder = self.pod_dir(pod)
        containers: list[Container] = []
        sandbox = None
        try:
            if self.sandboxes is None:
                base_env = await self.environment.node(pod, folder)
            else:
                sandbox = self.sandboxes.make(meta.namespace, meta.name, meta.uid)
                base_env = await self.environment.node(pod, sandbox.folder)
                sandbox.own()
            for spec in pod.spec.containers:
                own_env = await self.environment.container(pod, spec)
                container = Container(
                    meta.namespace, meta.name, meta.uid, spec.name, spec.image or "", now()
                )
                output = append_log(folder / f"{spec.name}.log")
                if self.engine is not None:
                    container.process = await self.engine.run(
                        pod, spec, base_env, own_env, folder, output
                    )
                else:
                    assert sandbox is not None
                    container.process = await asyncio.create_subprocess_exec(
                        *init_argv(sandbox.user),
                        *self.argv(spec),
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=output,
                        stderr=asyncio.subprocess.STDOUT,
                        env=base_env | own_env,
                        cwd=spec.working_dir if spec.working_dir else str(sandbox.folder),
                        start_new_session=True,
                    )
                containers.append(container)
                if meta.uid in self.deleting:
                    raise RuntimeError("pod deleted while starting")
        except Exception as error:
            log.warning("pod %s/%s cannot start: %s", meta.namespace, meta.name, error)
            for container in containers:
                if container.process and container.process.returncode is None:
                    if self.engine is not None:
                        await self.engine.stop(pod, container.name, 0)
                    else:
                        podinit.kill_tree(container.process.pid)
                    container.process.kill()
            await self.patch_status(pod, podstatus.failed_to_start(pod, str(error)))
            return
        self.pods[meta.uid] = containers
        log.info("pod %s/%s running (%d process(es))", meta.namespace, meta.name, len(containers))
        await self.patch_status(pod, podstatus.running(pod, containers))
        codes = await asyncio.gather(*(self.wait(c) for c in containers))
        await self.patch_status(pod, podstatus.terminated(pod, containers))
        log.info("pod %s/%s finished with exit codes %s", meta.namespace, meta.name, codes)

    async def wait(self, container: Container) -> int:
        assert container.process is not None
        container.exit_code = podstatus.exit_code(await container.process.wait())
        return container.exit_code

    def argv(self, spec: client.V1Container) -> list[str]:
        command = list(spec.command or [])
        if not command:
            if "runner" in (spec.image or "") and "longtask" in (spec.image or ""):
                command = list(RUNNER_COMMAND)
            else:
                raise ValueError(
                    f"container {spec.name!r} has no command and image {spec.image!r} is "
                    "unknown to the local node (it cannot read image entrypoints)"
                )
        argv = command + list(spec.args or [])
        resolved = shutil.which(argv[0], path=self.path)
        if resolved is None:
            raise FileNotFoundError(f"executable {argv[0]!r} not found on the local node")
        return [resolved, *argv[1:]]

    # ---- status ---------------------------------------------------------------------------

    async def patch_status(self, pod: client.V1Pod, status: dict[str, Any]) -> None:
        for attempt in range(30):
            try:
                await self.core.patch_namespaced_pod_status(
                    pod.metadata.name,
                    pod.metadata.namespace,
                    {"status": status},
                    _content_type=MERGE_PATCH,  # type: ignore[call-arg]  # accepted via **kwargs
                )
                return
            except ApiException as error:
                if error.status == 404:
                    return
                log.warning("status of %s: %s", pod.metadata.name, error.reason)
            except Exception as error:  # API server briefly away: retry
                log.warning("status of %s: %s", pod.metadata.name, error)
            await asyncio.sleep(min(0.2 * 2**attempt, 5))

    async def report_lost(self, pod: client.V1Pod) -> None:
        await self.patch_status(pod, podstatus.lost(pod))

    # ---- deletion -------------------------------------------------------------------------

    async def terminate(self, pod: client.V1Pod) -> None:
        """Graceful deletion: SIGTERM, the grace period, SIGKILL, then remove the pod object."""
        meta = pod.metadata
        self.deleting.add(meta.uid)
        containers = self.pods.get(meta.uid, [])
        running = [
            c
            for c in containers
            if c.process is not None and c.process.returncode is None and not c.terminating
        ]
        already = any(c.terminating for c in containers)
        if already:
            return
        grace = meta.deletion_grace_period_seconds
        grace = 30 if grace is None else grace
        for c in running:
            c.terminating = True
        if running and self.engine is not None:
            log.info("pod %s/%s deleted: podman stop -t %d", meta.namespace, meta.name, grace)
            await asyncio.gather(*(self.engine.stop(pod, c.name, grace) for c in running))
            await asyncio.gather(*(c.process.wait() for c in running if c.process))
        elif running:
            for c in running:
                assert c.process is not None
                log.info(
                    "pod %s/%s deleted: SIGTERM to pid %d", meta.namespace, meta.name, c.process.pid
                )
                with contextlib.suppress(ProcessLookupError):
                    c.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(c.process.wait() for c in running if c.process)), grace
                )
            for c in running:
                assert c.process is not None
                if c.process.returncode is None:
                    # The tree, not its init: the init then reports the main process's end.
                    podinit.kill_tree(c.process.pid)
                    await c.process.wait()
        if running:
            # The final container states before the pod object goes, as a kubelet reports them.
            for c in running:
                if c.exit_code is None and c.process and c.process.returncode is not None:
                    c.exit_code = podstatus.exit_code(c.process.returncode)
            await self.patch_status(pod, podstatus.terminated(pod, containers))
        try:
            await self.core.delete_namespaced_pod(
                meta.name,
                meta.namespace,
                grace_period_seconds=0,
                body=client.V1DeleteOptions(
                    grace_period_seconds=0, preconditions=client.V1Preconditions(uid=meta.uid)
                ),
            )
        except ApiException as error:
            if error.status not in (404, 409):
                log.warning("finishing deletion of %s: %s", meta.name, error.reason)
        self.pods.pop(meta.uid, None)
        if self.sandboxes is not None:
            self.sandboxes.remove(meta.namespace, meta.name, meta.uid)

    async def shutdown(self) -> None:
        """Stops every process (SIGTERM, then SIGKILL): the node is going away."""
        if self.engine is not None:
            await self.engine.remove_all()  # podman rm -f: SIGTERM, SIGKILL after a few seconds
        processes = [
            c.process
            for cs in self.pods.values()
            for c in cs
            if c.process is not None and c.process.returncode is None
        ]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if processes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), 10)
        for process in processes:
            if process.returncode is None:
                podinit.kill_tree(process.pid)
        if processes:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), 10)
        if self.sandboxes is not None:
            self.sandboxes.close()

    async def run(self) -> None:
        await self.register()
        log.info("node %s registered; watching pods", self.node_name)
        if self.sandboxes is not None and not self.sandboxes.isolated:
            log.warning(
                "process mode without root: pods run as this node's user and can read what it "
                "can (the stack's admin kubeconfig, CA key and Redis admin password); the "
                "container mode isolates them"
            )
        await asyncio.gather(self.heartbeats(), self.pods_loop())


def init_argv(user: tuple[int, int] | None) -> list[str]:
    """podinit's command line, up to the container's own argv."""
    if user is None:
        return [*PODINIT, "--"]
    exposed = [arg for path in EXPOSED for arg in ("--expose", path)]
    return [*PODINIT, "--user", f"{user[0]}:{user[1]}", *exposed, "--"]


def check_users(boxes: sandboxes.Sandboxes) -> None:
    """Per-pod users only where they can run Python: else pods share the node's user."""
    user = boxes.probe_user()
    if user is None:
        return
    done = subprocess.run(
        [*init_argv(user), sys.executable, "-I", "-S", "-c", ""],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        check=False,
    )
    if done.returncode != 0:
        log.warning("pods cannot run as users of their own here: %s", done.stderr.strip())
        boxes.share_users()


def append_log(path: Path) -> Any:
    """The container's log file, opened for appending; the child process owns it from here."""
    return open(path, "ab")


async def main_async(args: argparse.Namespace) -> None:
    engine = await podman.choose(args.mode, Path(args.state))
    api = await config.new_client_from_config(config_file=args.kubeconfig)
    node = LocalNode(api, Path(args.state), args.server, Path(args.ca_file), args.node_name, engine)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    runner = loop.create_task(node.run())
    await asyncio.wait(
        [runner, loop.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    runner.cancel()
    await node.shutdown()
    await api.close()
    if runner.done() and not runner.cancelled() and runner.exception():
        raise runner.exception()  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--server", required=True, help="API server URL for pods' kubeconfigs")
    parser.add_argument("--ca-file", required=True, help="cluster CA for pods' kubeconfigs")
    parser.add_argument("--state", required=True, help="folder for pod logs and scratch space")
    parser.add_argument("--node-name", default=NODE_NAME)
    parser.add_argument(
        "--mode",
        choices=podman.MODES,
        default=podman.default_mode(),
        help=f"how containers run (default: ${podman.MODE_ENV}, else process)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
