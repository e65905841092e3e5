"""The pure parts of the local node's container mode: security context, users, images, volumes
and the `podman run` command line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from kubernetes_asyncio import client
from longtask.devstack import containers, kubeconfigs, podstatus


def make_pod(
    pod_sc: client.V1PodSecurityContext | None = None,
    container_sc: client.V1SecurityContext | None = None,
    volumes: list[client.V1Volume] | None = None,
    mounts: list[client.V1VolumeMount] | None = None,
    command: list[str] | None = None,
    args: list[str] | None = None,
) -> tuple[client.V1Pod, client.V1Container]:
    spec = client.V1Container(
        name="runner",
        image="longtask/runner:0.1.0",
        command=command,
        args=args,
        security_context=container_sc,
        volume_mounts=mounts,
    )
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="task-1-abcde", namespace="ns", uid="0123456789abcdef"),
        spec=client.V1PodSpec(containers=[spec], security_context=pod_sc, volumes=volumes),
    )
    return pod, spec


def test_container_settings_win_over_the_pod_and_groups_are_collected() -> None:
    pod, spec = make_pod(
        client.V1PodSecurityContext(
            run_as_user=1000, run_as_group=1000, fs_group=2000, supplemental_groups=[3000, 2000]
        ),
        client.V1SecurityContext(
            run_as_user=65532,
            run_as_non_root=True,
            read_only_root_filesystem=True,
            allow_privilege_escalation=False,
            capabilities=client.V1Capabilities(drop=["ALL"]),
        ),
    )
    sec = containers.security(pod, spec)
    assert (sec.user, sec.group) == (65532, 1000)
    assert sec.extra_groups == (2000, 3000)
    assert sec.run_as_non_root and sec.read_only_root and sec.no_new_privileges
    assert sec.cap_drop == ("ALL",) and not sec.privileged


def test_no_security_context_is_root_defaults() -> None:
    pod, spec = make_pod()
    assert containers.security(pod, spec) == containers.Security()


@pytest.mark.parametrize(
    ("sec", "image_user", "expected"),
    [
        (containers.Security(user=65532, group=65532), "", ("65532:65532", 65532)),
        (containers.Security(run_as_non_root=True), "10001:10001", ("10001:10001", 10001)),
        (containers.Security(group=5), "10001", ("10001:5", 10001)),
        (containers.Security(), "", ("", 0)),
        (containers.Security(), "app", ("app", None)),
    ],
)
def test_effective_user(
    sec: containers.Security, image_user: str, expected: tuple[str, int | None]
) -> None:
    assert containers.effective_user(sec, image_user) == expected


@pytest.mark.parametrize(
    ("sec", "image_user", "why"),
    [
        (containers.Security(run_as_non_root=True), "", "will run as root"),
        (containers.Security(run_as_non_root=True, user=0), "10001", "will run as root"),
        (containers.Security(run_as_non_root=True), "0:0", "will run as root"),
        (containers.Security(run_as_non_root=True), "app", "non-numeric user"),
    ],
)
def test_run_as_non_root_refuses_root_and_unverifiable_users(
    sec: containers.Security, image_user: str, why: str
) -> None:
    with pytest.raises(containers.ContainerConfigError, match=why):
        containers.effective_user(sec, image_user)


@pytest.mark.parametrize(
    ("ref", "local"),
    [
        ("longtask/runner:0.1.0", "localhost/longtask/longtask-runner:9.9"),
        ("longtask/longtask-runner:dev", "localhost/longtask/longtask-runner:9.9"),
        ("ghcr.io/acme/longtask-gateway@sha256:ab", "localhost/longtask/longtask-gateway:9.9"),
        (
            "registry.local:5000/longtask/longtask-operator",
            "localhost/longtask/longtask-operator:9.9",
        ),
    ],
)
def test_longtask_images_map_to_the_local_builds(ref: str, local: str) -> None:
    assert containers.image_candidates(ref, "9.9") == [ref, local]


@pytest.mark.parametrize("ref", ["busybox:1.36", "acme/runner:1", "longtask/worker:1"])
def test_other_images_are_used_as_named(ref: str) -> None:
    assert containers.image_candidates(ref, "9.9") == [ref]


def test_run_args_carry_the_pod_settings_and_no_env_values() -> None:
    _, spec = make_pod(command=["sh", "-c"], args=["echo $SECRET"])
    spec.working_dir = "/work"
    sec = containers.Security(
        read_only_root=True, no_new_privileges=True, cap_drop=("ALL",), extra_groups=(7,)
    )
    args = containers.run_args(
        name="lt_x",
        image="localhost/longtask/longtask-runner:0.1.0",
        spec=spec,
        user="65532:65532",
        sec=sec,
        env_names=["SECRET"],
        inline_env={"PATH": "/bin"},
        mounts=[containers.Mount(Path("/host/scratch"), "/tmp")],
        hostname="task-1-abcde",
        labels={"k": "v"},
    )
    joined = " ".join(args)
    assert args[:3] == ["run", "--rm", "--name"]
    assert "--network host" in joined and "--pull never" in joined
    assert "--read-only --read-only-tmpfs=false" in joined
    assert "--user 65532:65532" in joined and "--group-add 7" in joined
    assert "--security-opt no-new-privileges" in joined and "--cap-drop ALL" in joined
    assert "--volume /host/scratch:/tmp" in joined and "--workdir /work" in joined
    assert "--env SECRET" in joined and "--env PATH=/bin" in joined
    entrypoint = args[args.index("--entrypoint") + 1]
    assert json.loads(entrypoint) == ["sh", "-c"]
    assert args[-2:] == ["localhost/longtask/longtask-runner:0.1.0", "echo $SECRET"]


def test_without_a_command_the_image_entrypoint_stays() -> None:
    _, spec = make_pod()
    args = containers.run_args(
        name="n",
        image="img",
        spec=spec,
        user="",
        sec=containers.Security(),
        env_names=[],
        inline_env={},
        mounts=[],
        hostname="h",
        labels={},
    )
    assert "--entrypoint" not in args and "--read-only" not in args and "--user" not in args
    assert args[-1] == "img"


def test_empty_dir_is_a_world_writable_folder(tmp_path: Path) -> None:
    pod, spec = make_pod(
        volumes=[client.V1Volume(name="scratch", empty_dir=client.V1EmptyDirVolumeSource())],
        mounts=[client.V1VolumeMount(name="scratch", mount_path="/tmp")],
    )
    mounts, private = containers.volume_mounts(pod, spec, tmp_path, None)
    assert mounts == [containers.Mount(tmp_path / "volumes" / "scratch", "/tmp")]
    assert stat.S_IMODE((tmp_path / "volumes" / "scratch").stat().st_mode) == 0o777
    assert private == []


def test_other_volume_kinds_are_refused(tmp_path: Path) -> None:
    pod, spec = make_pod(
        volumes=[
            client.V1Volume(name="host", host_path=client.V1HostPathVolumeSource(path="/etc"))
        ],
        mounts=[client.V1VolumeMount(name="host", mount_path="/host")],
    )
    with pytest.raises(containers.ContainerConfigError, match="emptyDir"):
        containers.volume_mounts(pod, spec, tmp_path, None)


def test_service_account_volume_is_filled_from_the_pods_kubeconfig(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
    kubeconfig = kubeconfigs.with_token(
        tmp_path / "kubeconfig", "https://127.0.0.1:6443", ca, "the-token", "ns"
    )
    projected = client.V1ProjectedVolumeSource(
        sources=[
            client.V1VolumeProjection(
                service_account_token=client.V1ServiceAccountTokenProjection(path="token")
            ),
            client.V1VolumeProjection(
                config_map=client.V1ConfigMapProjection(name="kube-root-ca.crt")
            ),
            client.V1VolumeProjection(downward_api=client.V1DownwardAPIProjection()),
        ]
    )
    pod, spec = make_pod(
        volumes=[client.V1Volume(name="kube-api-access-x", projected=projected)],
        mounts=[
            client.V1VolumeMount(
                name="kube-api-access-x",
                mount_path="/var/run/secrets/kubernetes.io/serviceaccount",
                read_only=True,
            )
        ],
    )
    mounts, private = containers.volume_mounts(pod, spec, tmp_path, kubeconfig)
    folder = tmp_path / "volumes" / "kube-api-access-x"
    assert mounts == [
        containers.Mount(folder, "/var/run/secrets/kubernetes.io/serviceaccount", True)
    ]
    assert (folder / "token").read_text() == "the-token"
    assert (folder / "ca.crt").read_text() == ca.read_text()
    assert (folder / "namespace").read_text() == "ns"
    assert sorted(p.name for p in private) == ["ca.crt", "namespace", "token"]


def test_container_names_are_unique_per_pod_and_valid() -> None:
    pod, _ = make_pod()
    name = containers.container_name(pod, "runner")
    assert name == "lt_ns_task-1-abcde_runner_01234567"


def test_ulimits_never_exceed_the_nodes_own() -> None:
    import resource

    args = containers.limits()
    nofile = args[args.index("--ulimit") + 1]
    soft, hard = (int(v) for v in nofile.removeprefix("nofile=").split(":"))
    assert (soft, hard) == resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = args[-1].removeprefix("nproc=").split(":")
    assert all(int(v) <= containers.NPROC_MAX for v in nproc)


@pytest.mark.parametrize(("returncode", "code"), [(0, 0), (143, 143), (-15, 143), (-9, 137)])
def test_exit_codes_of_signalled_processes_are_128_plus_the_signal(
    returncode: int, code: int
) -> None:
    assert podstatus.exit_code(returncode) == code


def test_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(containers.MODE_ENV, raising=False)
    assert containers.default_mode() == "process"
    monkeypatch.setenv(containers.MODE_ENV, "auto")
    assert containers.default_mode() == "auto"
    monkeypatch.setenv(containers.MODE_ENV, "docker")
    with pytest.raises(SystemExit):
        containers.default_mode()


async def test_process_mode_needs_no_podman(tmp_path: Path) -> None:
    assert await containers.choose("process", tmp_path) is None


def test_nodes_sharing_one_podman_storage_label_their_containers_apart(tmp_path: Path) -> None:
    first, second = containers.node_id(tmp_path / "a"), containers.node_id(tmp_path / "b")
    assert first != second
    assert first == containers.node_id(tmp_path / "a")
