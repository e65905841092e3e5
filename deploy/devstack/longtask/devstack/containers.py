"""Container mode of the local node: each pod container runs from its image with podman and runc.

The local node hands a container here instead of starting it as a host process when it runs in
container mode (`--mode container`, or `auto` when podman and runc work and the runner image is
built). What a kubelet would do, done with `podman --runtime runc run`:

1. Image: used when present in local podman storage; otherwise the longtask images are mapped to
   the ones `make images` built (`longtask/runner:0.1.0` and `longtask/longtask-runner:dev` both
   → `localhost/longtask/longtask-runner:<version>`). Nothing is ever pulled: no registry.
2. Command and args replace the image's ENTRYPOINT and CMD as in Kubernetes (a command without
   args drops the CMD); an empty command keeps the image's own entry point.
3. Security context (container over pod): user and group, `fsGroup` and supplemental groups as
   extra groups, `runAsNonRoot` enforced before anything starts (a root user or a non-numeric
   image user is refused, as the kubelet does), `readOnlyRootFilesystem` as `--read-only` without
   podman's writable tmpfs mounts (so a missing scratch volume fails here as in a cluster),
   dropped and added capabilities, `allowPrivilegeEscalation: false` as no-new-privileges.
4. Volumes: `emptyDir` as a bind mount of a per-pod folder (mode 0777, like the kubelet's).
   The per-pod kubeconfig (the pod's own service-account token) is mounted read-only and owned by
   the container's user; KUBECONFIG points at it. The service-account volume that admission adds
   (`kube-api-access-*`: token, ca.crt, namespace) is filled from the same kubeconfig, so that
   in-cluster configuration works too. Other volume kinds are refused.
5. Environment: the pod's variables are passed by name (`-e NAME`, values in podman's own
   environment), so that no value (a secret) appears on a command line.
6. Host network: the control plane and Redis listen on loopback.
7. Stop: `podman stop -t <grace>`: the image's stop signal (SIGTERM) to PID 1, SIGKILL after the
   grace period. `podman run` stays attached, so its exit code is the container's and its output
   goes to the pod's log file.
8. Resource limits: podman cannot raise the host's, so `nofile` is the node's own and `nproc`
   at most 32768 (larger values are refused on these machines). Requests and limits of the pod
   are not applied.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import resource
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from kubernetes_asyncio import client

log = logging.getLogger("localnode.containers")

RUNTIME = "runc"
MODES = ("auto", "process", "container")
MODE_ENV = "LONGTASK_NODE_MODE"
# Where the pod's kubeconfig appears inside the container.
KUBECONFIG_MOUNT = "/var/run/secrets/longtask.io/kubeconfig"
# Local tags of the images `make images` builds (deploy/images/build.sh).
LOCAL_REPOSITORY = "localhost/longtask/longtask-"
COMPONENTS = ("runner", "operator", "gateway")
NODE_LABEL = "io.longtask.local-node"
POD_UID_LABEL = "io.longtask.pod-uid"
NPROC_MAX = 32768
# Host variables the podman client itself needs; a pod variable of the same name goes inline.
CLIENT_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "XDG_RUNTIME_DIR", "CONTAINERS_CONF")
# Everything else the local node puts into a process's environment stays on the host side.
NODE_ENV_KEPT = ("HOSTNAME", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


class ContainerConfigError(Exception):
    """The pod cannot run as specified (the kubelet's CreateContainerConfigError)."""


class ImageError(Exception):
    """The image is not in local storage and cannot be pulled (ErrImageNeverPull)."""


@dataclasses.dataclass(frozen=True)
class Security:
    """The effective security context of one container (its own settings over the pod's)."""

    user: int | None = None
    group: int | None = None
    extra_groups: tuple[int, ...] = ()
    run_as_non_root: bool = False
    read_only_root: bool = False
    no_new_privileges: bool = False
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()


def security(pod: client.V1Pod, spec: client.V1Container) -> Security:
    pod_sc = pod.spec.security_context or client.V1PodSecurityContext()
    own = spec.security_context or client.V1SecurityContext()

    def pick(name: str) -> Any:
        value = getattr(own, name, None)
        return getattr(pod_sc, name, None) if value is None else value

    groups = [g for g in [pod_sc.fs_group, *(pod_sc.supplemental_groups or [])] if g is not None]
    caps = own.capabilities or client.V1Capabilities()
    return Security(
        user=pick("run_as_user"),
        group=pick("run_as_group"),
        extra_groups=tuple(dict.fromkeys(int(g) for g in groups)),
        run_as_non_root=bool(pick("run_as_non_root")),
        read_only_root=bool(own.read_only_root_filesystem),
        no_new_privileges=own.allow_privilege_escalation is False,
        privileged=bool(own.privileged),
        cap_add=tuple(caps.add or ()),
        cap_drop=tuple(caps.drop or ()),
    )


def effective_user(sec: Security, image_user: str) -> tuple[str, int | None]:
    """The `--user` value and the numeric uid it runs as (None when the image names a user).

    Enforces runAsNonRoot as the kubelet does: a uid of 0 is refused, and so is an image user
    given by name, whose uid cannot be verified without reading the image's /etc/passwd.
    """
    name, _, image_group = image_user.partition(":")
    if sec.user is not None:
        uid: int | None = sec.user
        user = str(sec.user)
    elif not name:
        uid, user = 0, ""
    elif name.isdigit():
        uid, user = int(name), name
    else:
        uid, user = None, name
    if sec.run_as_non_root:
        if uid == 0:
            raise ContainerConfigError("container has runAsNonRoot and image will run as root")
        if uid is None:
            raise ContainerConfigError(
                f"container has runAsNonRoot and image has non-numeric user ({name}), "
                "cannot verify user is non-root"
            )
    group = str(sec.group) if sec.group is not None else image_group
    if user and group:
        user = f"{user}:{group}"
    elif group:
        user = f"{0 if uid is None else uid}:{group}"
    return user, uid


def image_candidates(ref: str, version: str) -> list[str]:
    """`ref` itself, then the local build of the longtask component it names (if any)."""
    found = [ref]
    path = ref.split("@", 1)[0]
    last = path.rsplit("/", 1)[-1]
    repository = last.split(":", 1)[0]
    component = repository.removeprefix("longtask-")
    if component in COMPONENTS and "longtask" in path:
        found.append(f"{LOCAL_REPOSITORY}{component}:{version}")
    return found


def container_name(pod: client.V1Pod, container: str) -> str:
    meta = pod.metadata
    name = f"lt_{meta.namespace}_{meta.name}_{container}_{meta.uid[:8]}"
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", name)


def limits() -> list[str]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = [
        min(v if v >= 0 else NPROC_MAX, NPROC_MAX)
        for v in resource.getrlimit(resource.RLIMIT_NPROC)
    ]
    return [
        "--ulimit",
        f"nofile={nofile[0]}:{nofile[1]}",
        "--ulimit",
        f"nproc={nproc[0]}:{nproc[1]}",
    ]


@dataclasses.dataclass(frozen=True)
class Mount:
    host: Path
    path: str
    read_only: bool = False

    def option(self) -> str:
        return f"{self.host}:{self.path}" + (":ro" if self.read_only else "")


def run_args(
    *,
    name: str,
    image: str,
    spec: client.V1Container,
    user: str,
    sec: Security,
    env_names: Sequence[str],
    inline_env: Mapping[str, str],
    mounts: Sequence[Mount],
    hostname: str,
    labels: Mapping[str, str],
) -> list[str]:
    """The `podman run` arguments (after `podman --runtime runc`) of one container."""
    args = ["run", "--rm", "--name", name, "--pull", "never", "--network", "host"]
    args += ["--hostname", hostname, "--log-driver", "none", *limits()]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    if user:
        args += ["--user", user]
    for group in sec.extra_groups:
        args += ["--group-add", str(group)]
    if sec.read_only_root:
        # podman would mount writable tmpfs on /tmp, /var/tmp and /run; a cluster does not.
        args += ["--read-only", "--read-only-tmpfs=false"]
    if sec.no_new_privileges:
        args += ["--security-opt", "no-new-privileges"]
    if sec.privileged:
        args.append("--privileged")
    for cap in sec.cap_drop:
        args += ["--cap-drop", cap]
    for cap in sec.cap_add:
        args += ["--cap-add", cap]
    for mount in mounts:
        args += ["--volume", mount.option()]
    for key in env_names:
        args += ["--env", key]
    for key, value in inline_env.items():
        args += ["--env", f"{key}={value}"]
    if spec.working_dir:
        args += ["--workdir", spec.working_dir]
    if spec.command:
        args += ["--entrypoint", json.dumps(list(spec.command))]
    return [*args, image, *(spec.args or [])]


def is_service_account_volume(volume: client.V1Volume) -> bool:
    """The projected volume the ServiceAccount admission plugin adds (token, CA, namespace)."""
    projected = volume.projected
    if projected is None or not projected.sources:
        return False
    return any(s.service_account_token is not None for s in projected.sources) and all(
        s.service_account_token is not None
        or s.downward_api is not None
        or (s.config_map is not None and s.config_map.name == "kube-root-ca.crt")
        for s in projected.sources
    )


def service_account_files(kubeconfig: Path, namespace: str, folder: Path) -> Path:
    """token, ca.crt and namespace, as a pod sees them, from the pod's own kubeconfig."""
    document = json.loads(kubeconfig.read_text())  # written by `kubeconfigs`
    folder.mkdir(parents=True, exist_ok=True)
    ca = document["clusters"][0]["cluster"]["certificate-authority-data"]
    files = {
        "token": document["users"][0]["user"]["token"],
        "ca.crt": base64.b64decode(ca).decode(),
        "namespace": namespace,
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def volume_mounts(
    pod: client.V1Pod, spec: client.V1Container, folder: Path, kubeconfig: Path | None
) -> tuple[list[Mount], list[Path]]:
    """Bind mounts for the container's volumes, and the files to hand to the container's user.

    emptyDir volumes are folders `folder/volumes/<name>`; the service-account volume is filled
    from the pod's kubeconfig; other kinds are refused.
    """
    volumes = {v.name: v for v in pod.spec.volumes or []}
    mounts: list[Mount] = []
    private: list[Path] = []
    for mount in spec.volume_mounts or []:
        volume = volumes.get(mount.name)
        if mount.sub_path:
            raise ContainerConfigError(f"volume {mount.name!r}: subPath is not supported")
        host = folder / "volumes" / mount.name
        if volume is not None and volume.empty_dir is not None:
            host.mkdir(parents=True, exist_ok=True)
            host.chmod(0o777)  # the kubelet's emptyDir mode: any container user can write
        elif volume is not None and kubeconfig and is_service_account_volume(volume):
            service_account_files(kubeconfig, pod.metadata.namespace, host)
            private += sorted(host.iterdir())
        else:
            raise ContainerConfigError(
                f"volume {mount.name!r}: the local node supports emptyDir volumes and the "
                "service-account token volume only"
            )
        mounts.append(Mount(host, mount.mount_path, bool(mount.read_only)))
    return mounts, private


class Podman:
    """Runs and stops pod containers with `podman --runtime runc`."""

    def __init__(self, node_id: str, binary: str = "podman") -> None:
        # Labels this node's containers: several local stacks may share one podman storage.
        self.node_id = node_id
        self.binary = binary
        self.version = importlib.metadata.version("longtask")

    def command(self, *args: str) -> list[str]:
        return [self.binary, "--runtime", RUNTIME, *args]

    async def output(self, *args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            *self.command(*args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode(errors="replace").strip()

    async def unusable(self, need_image: bool) -> str | None:
        """Why container mode cannot work here, or None when it can."""
        for binary in (self.binary, RUNTIME):
            if shutil.which(binary) is None:
                return f"{binary} is not installed (deploy/images/install-deps.sh installs it)"
        code, out = await self.output("info", "--format", "{{.Host.OCIRuntime.Name}}")
        if code != 0:
            return f"podman does not work: {out[-500:]}"
        if need_image:
            runner = f"{LOCAL_REPOSITORY}runner:{self.version}"
            if not await self.image_exists(runner):
                return f"the runner image {runner} is not built (make images)"
        return None

    async def image_exists(self, ref: str) -> bool:
        code, _ = await self.output("image", "exists", ref)
        return code == 0

    async def resolve(self, ref: str) -> str:
        for candidate in image_candidates(ref, self.version):
            if await self.image_exists(candidate):
                return candidate
        raise ImageError(
            f"image {ref!r} is not in local podman storage and no registry is reachable "
            "(make images builds the longtask images)"
        )

    async def image_user(self, image: str) -> str:
        code, out = await self.output("image", "inspect", "--format", "{{.Config.User}}", image)
        if code != 0:
            raise ImageError(f"cannot inspect image {image}: {out[-300:]}")
        return out

    async def give(self, path: Path, uid: int | None, gid: int | None) -> None:
        """Makes `path` the container user's own, readable by nobody else."""
        if uid is None:
            os.chmod(path, 0o644)  # an image user by name: its uid is unknown here
            return
        owner = f"{uid}:{gid if gid is not None else uid}"
        if os.geteuid() == 0:
            os.chown(path, uid, gid if gid is not None else uid)
        else:  # rootless podman: the container's uid is a subordinate uid of ours
            code, out = await self.output("unshare", "chown", owner, str(path))
            if code != 0:
                raise ContainerConfigError(f"cannot hand {path.name} to uid {uid}: {out}")
        os.chmod(path, 0o400)

    async def run(
        self,
        pod: client.V1Pod,
        spec: client.V1Container,
        node_env: Mapping[str, str],
        own_env: Mapping[str, str],
        folder: Path,
        log_file: IO[bytes],
    ) -> asyncio.subprocess.Process:
        """Starts one container attached (its output into `log_file`); returns the podman client."""
        image = await self.resolve(spec.image or "")
        sec = security(pod, spec)
        user, uid = effective_user(sec, await self.image_user(image))
        kubeconfig = Path(node_env["KUBECONFIG"]) if "KUBECONFIG" in node_env else None
        mounts, private = volume_mounts(pod, spec, folder, kubeconfig)
        env = {k: node_env[k] for k in NODE_ENV_KEPT if k in node_env}
        if kubeconfig is not None:
            private.append(kubeconfig)
            mounts.append(Mount(kubeconfig, KUBECONFIG_MOUNT, read_only=True))
            env["KUBECONFIG"] = KUBECONFIG_MOUNT
        for path in private:
            await self.give(path, uid, sec.group)
        env.update(own_env)
        client_env = {k: os.environ[k] for k in CLIENT_ENV if k in os.environ}
        inline = {k: v for k, v in env.items() if k in client_env}
        by_name = [k for k in env if k not in inline]
        args = run_args(
            name=container_name(pod, spec.name),
            image=image,
            spec=spec,
            user=user,
            sec=sec,
            env_names=by_name,
            inline_env=inline,
            mounts=mounts,
            hostname=pod.metadata.name,
            labels={NODE_LABEL: self.node_id, POD_UID_LABEL: pod.metadata.uid},
        )
        log.info(
            "pod %s/%s: container %s from %s as %r",
            pod.metadata.namespace,
            pod.metadata.name,
            spec.name,
            image,
            user or "image user",
        )
        return await asyncio.create_subprocess_exec(
            *self.command(*args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            env=client_env | {k: env[k] for k in by_name},
            start_new_session=True,
        )

    async def stop(self, pod: client.V1Pod, container: str, grace: int) -> None:
        """SIGTERM to the container's PID 1, SIGKILL after `grace` seconds."""
        code, out = await self.output(
            "stop", "--ignore", "-t", str(grace), container_name(pod, container)
        )
        if code != 0:
            log.warning("podman stop %s: %s", container_name(pod, container), out[-300:])

    async def remove_all(self) -> None:
        """Removes every container of this node (at shutdown, and leftovers at start)."""
        code, out = await self.output("ps", "-aq", "--filter", f"label={NODE_LABEL}={self.node_id}")
        ids = out.split() if code == 0 else []
        if ids:
            await self.output("rm", "-f", "-t", "5", *ids)


def node_id(state: Path) -> str:
    """Identifies one local node among those sharing this machine: by its state folder."""
    return hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:16]


async def choose(mode: str, state: Path) -> Podman | None:
    """The container engine for `mode`, or None for process mode (said in the log)."""
    if mode == "process":
        log.info("process mode: pods' containers run as host processes (requested)")
        return None
    engine = Podman(node_id(state))
    reason = await engine.unusable(need_image=mode == "auto")
    if reason is None:
        await engine.remove_all()
        log.info("container mode: pods' containers run with podman --runtime %s", RUNTIME)
        return engine
    if mode == "container":
        raise SystemExit(f"container mode is not available: {reason}")
    log.warning("container mode is not available (%s): falling back to process mode", reason)
    return None


def default_mode() -> str:
    value = os.environ.get(MODE_ENV, "process").strip() or "process"
    if value not in MODES:
        raise SystemExit(f"{MODE_ENV} must be one of {', '.join(MODES)}, got {value!r}")
    return value


def usable_now() -> str | None:
    """Synchronous check for tests and scripts: why podman + runc cannot run containers here."""
    for binary in ("podman", RUNTIME):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (deploy/images/install-deps.sh)"
    done = subprocess.run(
        ["podman", "--runtime", RUNTIME, "info"], capture_output=True, text=True, timeout=60
    )
    return None if done.returncode == 0 else f"podman does not work: {done.stderr[-500:]}"
