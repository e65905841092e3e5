"""Jobs run through the real control plane and the local node: completion, exit codes, SIGTERM
on deletion, and RBAC applied to the pod's own service-account token."""

from __future__ import annotations

import json
import sys

from kubernetes import client
from longtask.devstack.stack import Stack

from tests.fixtures.runner import provision_runner_account
from tests.fixtures.waiting import wait_for

DEADLINE = 60.0


def job(name: str, argv: list[str], account: str = "default") -> client.V1Job:
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    service_account_name=account,
                    termination_grace_period_seconds=20,
                    containers=[client.V1Container(name="main", image="local", command=argv)],
                )
            ),
        ),
    )


def job_condition(batch: client.BatchV1Api, namespace: str, name: str) -> str | None:
    found = batch.read_namespaced_job_status(name, namespace)
    for condition in found.status.conditions or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return str(condition.type)
    return None


def only_pod(core: client.CoreV1Api, namespace: str, job_name: str) -> client.V1Pod | None:
    pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job_name}").items
    return pods[0] if len(pods) == 1 else None


def test_job_running_python_completes_and_keeps_its_output(
    stack: Stack, k8s: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(k8s), client.CoreV1Api(k8s)
    code = "import os; print('hello from', os.environ['HOSTNAME'])"
    batch.create_namespaced_job(namespace, job("hello", [sys.executable, "-c", code]))

    assert (
        wait_for(lambda: job_condition(batch, namespace, "hello"), DEADLINE, "job to finish")
        == "Complete"
    )
    pod = only_pod(core, namespace, "hello")
    assert pod is not None
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert pod.status.phase == "Succeeded"
    assert f"hello from {pod.metadata.name}" in stack.pod_log(
        namespace, str(pod.metadata.name), "main"
    )


def test_job_exiting_7_fails_and_the_pod_shows_exit_code_7(
    k8s: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(k8s), client.CoreV1Api(k8s)
    batch.create_namespaced_job(namespace, job("seven", [sys.executable, "-c", "exit(7)"]))

    assert (
        wait_for(lambda: job_condition(batch, namespace, "seven"), DEADLINE, "job to finish")
        == "Failed"
    )
    pod = only_pod(core, namespace, "seven")
    assert pod is not None and pod.status.phase == "Failed"
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (7, "Error")


def test_deleting_a_running_pod_sends_sigterm_to_its_process(
    stack: Stack, k8s: client.ApiClient, namespace: str
) -> None:
    batch, core = client.BatchV1Api(k8s), client.CoreV1Api(k8s)
    code = (
        "import signal, sys, time\n"
        "def stop(signum, frame):\n"
        "    print('got SIGTERM', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    batch.create_namespaced_job(namespace, job("sleeper", [sys.executable, "-c", code]))
    pod = wait_for(
        lambda: (p := only_pod(core, namespace, "sleeper")) and p.status.phase == "Running" and p,
        DEADLINE,
        "pod to run",
    )
    name = str(pod.metadata.name)
    wait_for(
        lambda: "ready" in stack.pod_log(namespace, name, "main"), DEADLINE, "process to be ready"
    )

    core.delete_namespaced_pod(name, namespace)

    wait_for(
        lambda: "got SIGTERM" in stack.pod_log(namespace, name, "main"),
        DEADLINE,
        "SIGTERM in the log",
    )
    wait_for(
        lambda: all(p.metadata.name != name for p in core.list_namespaced_pod(namespace).items),
        DEADLINE,
        "pod to be gone",
    )


def test_pod_uses_its_service_account_token_and_rbac_applies(
    stack: Stack, k8s: client.ApiClient, namespace: str
) -> None:
    """The runner's account may get a LongTask but not list secrets: checked from inside a pod."""
    batch, core = client.BatchV1Api(k8s), client.CoreV1Api(k8s)
    provision_runner_account(k8s, namespace)
    client.CustomObjectsApi(k8s).create_namespaced_custom_object(
        "longtask.io",
        "v1alpha1",
        namespace,
        "longtasks",
        {
            "apiVersion": "longtask.io/v1alpha1",
            "kind": "LongTask",
            "metadata": {"name": "mine"},
            "spec": {"command": ["true"]},
        },
    )
    script = (
        "kubectl get longtasks.longtask.io mine -o name && echo ALLOWED-GET; "
        "kubectl get secrets 2>&1 | grep -q Forbidden && echo DENIED-SECRETS; "
        "echo WHOAMI; kubectl auth whoami -o json"
    )
    batch.create_namespaced_job(namespace, job("whoami", ["sh", "-c", script], "longtask-runner"))

    assert (
        wait_for(lambda: job_condition(batch, namespace, "whoami"), DEADLINE, "job to finish")
        == "Complete"
    )
    pod = only_pod(core, namespace, "whoami")
    assert pod is not None
    output = stack.pod_log(namespace, str(pod.metadata.name), "main")
    assert "longtask.io/mine" in output and "ALLOWED-GET" in output
    assert "DENIED-SECRETS" in output
    user = json.loads(output.split("WHOAMI\n", 1)[1])["status"]["userInfo"]
    assert user["username"] == f"system:serviceaccount:{namespace}:longtask-runner"
    # The pod's bound token names the pod: the status admission policy relies on it.
    assert user["extra"]["authentication.kubernetes.io/pod-name"] == [pod.metadata.name]
