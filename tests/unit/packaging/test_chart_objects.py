"""Key properties of the objects the chart renders: least-privilege RBAC, hardened pods, two
operator replicas electing a leader, the CRD kept on uninstall and equal to deploy/crds, wiring
of the components' environment to the settings their code reads."""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from longtask.core import redisusers, resource, schedule
from longtask.operator import rbac as operator_rbac

from tests.fixtures.packaging import (
    CHART,
    KUBE_VERSION,
    REPO,
    VALUES_FILES,
    find,
    one,
    render,
    run,
    template,
)

Objects = list[dict[str, Any]]
Rule = tuple[str, str, frozenset[str]]

# What the operator says it uses (operator/longtask/operator/rbac.py); the cluster-scoped
# resources among them go into a ClusterRole even when the operator is confined to namespaces.
CLUSTER_SCOPED = {("apiextensions.k8s.io", "customresourcedefinitions"), ("", "namespaces")}
OPERATOR_RULES: set[Rule] = {
    (group, res, frozenset(rule["verbs"]))
    for rule in operator_rbac.RULES
    for group in rule["apiGroups"]
    for res in rule["resources"]
}
# The one ClusterRole the operator may bind (by name): the chart's runner ClusterRole.
RUNNER_CLUSTER_ROLE = "lt-longtask-runner"
OPERATOR_CLUSTER_RULES = {r for r in OPERATOR_RULES if r[:2] in CLUSTER_SCOPED}
OPERATOR_NAMESPACED_RULES = OPERATOR_RULES - OPERATOR_CLUSTER_RULES
GATEWAY_NAMESPACED_RULES: set[Rule] = {
    ("longtask.io", "longtasks", frozenset({"get", "list", "watch", "create", "patch", "delete"})),
    ("longtask.io", "longtasks/status", frozenset({"get"})),
    ("", "events", frozenset({"list"})),  # a task's Kubernetes Events on the dashboard
    ("longtask.io", "longtaskschedules", frozenset({"get", "list", "patch"})),
    ("longtask.io", "longtaskschedules/finalizers", frozenset({"update"})),  # runs' owner refs
    ("longtask.io", "longtaskqueues", frozenset({"get", "list", "patch"})),  # counts, suspend
    ("", "serviceaccounts", frozenset({"get"})),  # a task's own account must be marked
}
GATEWAY_CLUSTER_RULES: set[Rule] = {
    ("authentication.k8s.io", "tokenreviews", frozenset({"create"})),
    ("authorization.k8s.io", "subjectaccessreviews", frozenset({"create"})),
    ("", "namespaces", frozenset({"get"})),  # 404 for an unknown namespace
}
LEASE_RULES: set[Rule] = {
    (group, res, frozenset(rule["verbs"]))
    for rule in operator_rbac.LEASE_RULES
    for group in rule["apiGroups"]
    for res in rule["resources"]
}
LEASE_ROLE = "lt-longtask-operator-leader-election"
RUNNER_RULES: set[Rule] = {
    (group, res, frozenset(rule["verbs"]))
    for rule in operator_rbac.RUNNER_RULES
    for group in rule["apiGroups"]
    for res in rule["resources"]
}


def rules(role: dict[str, Any]) -> set[Rule]:
    """A role's rules as (group, resource, verbs), one per group and resource; a rule naming
    objects may only be the operator's `bind` of the runner's ClusterRole or its reading,
    renewing and watching of its Lease."""
    out: set[Rule] = set()
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule
        if "resourceNames" in rule and rule["resources"] == ["leases"]:
            assert rule["resourceNames"] == ["lt-longtask-operator"]
            assert rule["verbs"] == ["get", "update", "list", "watch"]
        elif "resourceNames" in rule:
            assert rule["resourceNames"] == [RUNNER_CLUSTER_ROLE]
            assert (rule["resources"], rule["verbs"]) == (["clusterroles"], ["bind"])
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                out.add((group, res, frozenset(rule["verbs"])))
    return out


def pod_specs(objects: Objects) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}
    ]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def resolved_env(objects: Objects, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet makes it: Secret references replaced by the
    chart's Secrets' values, `$(VAR)` by earlier variables."""
    out: dict[str, str] = {}
    for name, value in env_of(container).items():
        if isinstance(value, dict):
            ref = value["secretKeyRef"]
            secret = one(objects, "Secret", ref["name"])
            value = base64.b64decode(secret["data"][ref["key"]]).decode()
        for earlier, replacement in out.items():
            value = value.replace(f"$({earlier})", replacement)
        out[name] = value
    return out


def test_operator_runs_two_replicas_electing_a_leader_one_pod_at_a_time(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["default"]
    operator = one(objects, "Deployment", "lt-longtask-operator")
    assert operator["spec"]["replicas"] == 2
    assert operator["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    pdb = one(objects, "PodDisruptionBudget", "lt-longtask-operator")
    assert pdb["spec"] == {"minAvailable": 1, "selector": operator["spec"]["selector"]}
    pod = operator["spec"]["template"]["spec"]
    (preferred,) = pod["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert preferred["podAffinityTerm"]["labelSelector"] == operator["spec"]["selector"]
    lease = one(objects, "Role", LEASE_ROLE)
    assert lease["metadata"]["namespace"] == "longtask"
    assert rules(lease) == LEASE_RULES


def test_an_operator_without_election_runs_alone_and_is_replaced_with_recreate(
    helm: Path,
) -> None:
    alone = render(helm, sets=["operator.replicas=1", "operator.leaderElection.enabled=false"])
    operator = one(alone, "Deployment", "lt-longtask-operator")
    assert operator["spec"]["strategy"] == {"type": "Recreate"}
    assert find(alone, "PodDisruptionBudget", "lt-longtask-operator") == []
    assert find(alone, "Role", LEASE_ROLE) == []
    refused = template(helm, None, ["operator.leaderElection.enabled=false"])
    assert refused.returncode != 0
    assert "needs operator.leaderElection.enabled" in refused.stderr


@pytest.mark.parametrize("values", VALUES_FILES)
def test_every_pod_is_hardened_with_resources_and_probes(
    rendered: dict[str, Objects], values: str
) -> None:
    specs = pod_specs(rendered[values])
    assert len(specs) >= 2
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] != 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert "hostNetwork" not in spec and "hostPID" not in spec, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["limits"]["memory"], name
            assert "livenessProbe" in container, name
            assert "readinessProbe" in container or "startupProbe" in container, name


def test_crds_are_the_ones_in_deploy_crds_and_kept_on_uninstall(
    rendered: dict[str, Objects],
) -> None:
    sources = sorted((REPO / "deploy" / "crds").glob("*.yaml"))
    assert len(sources) == len(find(rendered["default"], "CustomResourceDefinition")) >= 2
    for path in sources:
        source = yaml.safe_load(path.read_text())
        crd = one(rendered["default"], "CustomResourceDefinition", source["metadata"]["name"])
        assert crd["spec"] == source["spec"]
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    one(rendered["default"], "CustomResourceDefinition", resource.CRD_NAME)
    one(rendered["default"], "CustomResourceDefinition", schedule.CRD_NAME)


def test_crd_is_left_out_when_not_installed(rendered: dict[str, Objects]) -> None:
    assert find(rendered["external-redis"], "CustomResourceDefinition") == []


def test_status_policy_is_the_one_in_deploy_admission(helm: Path) -> None:
    source = [
        doc
        for doc in yaml.safe_load_all(
            (REPO / "deploy" / "admission" / "status-policy.yaml").read_text()
        )
        if doc
    ]
    objects = render(helm)
    shipped = find(objects, "ValidatingAdmissionPolicy") + find(
        objects, "ValidatingAdmissionPolicyBinding"
    )
    assert [(o["kind"], o["metadata"]["name"], o["spec"]) for o in shipped] == [
        (o["kind"], o["metadata"]["name"], o["spec"]) for o in source
    ]
    policy = source[0]
    variables = {v["name"]: v["expression"] for v in policy["spec"]["variables"]}
    listed = variables["runnerFields"].strip("[]").replace("'", "").split(", ")
    assert set(listed) == resource.RUNNER_STATUS_FIELDS
    without = render(helm, sets=["statusPolicy.install=false"])
    assert find(without, "ValidatingAdmissionPolicy") == []
    assert find(without, "ValidatingAdmissionPolicyBinding") == []


def test_cluster_wide_rbac_is_exactly_what_the_components_use(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["default"]
    assert rules(one(objects, "ClusterRole", "lt-longtask-operator")) == (
        OPERATOR_CLUSTER_RULES | OPERATOR_NAMESPACED_RULES
    )
    assert rules(one(objects, "ClusterRole", "lt-longtask-gateway")) == (
        GATEWAY_CLUSTER_RULES | GATEWAY_NAMESPACED_RULES
    )
    assert rules(one(objects, "ClusterRole", RUNNER_CLUSTER_ROLE)) == RUNNER_RULES
    # The runner's account is the operator's to make, in each namespace where tasks may run.
    assert find(objects, "ServiceAccount", "longtask-runner") == []
    assert find(objects, "Role", RUNNER_CLUSTER_ROLE) == []


def test_namespaced_mode_confines_rights_to_the_watched_namespaces(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["all-features"]
    assert rules(one(objects, "ClusterRole", "lt-longtask-operator")) == OPERATOR_CLUSTER_RULES
    assert rules(one(objects, "ClusterRole", "lt-longtask-gateway")) == GATEWAY_CLUSTER_RULES
    for component, expected in [
        ("operator", OPERATOR_NAMESPACED_RULES),
        ("gateway", GATEWAY_NAMESPACED_RULES),
    ]:
        roles = find(objects, "Role", f"lt-longtask-{component}")
        assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
        assert all(rules(r) == expected for r in roles)
    assert rules(one(objects, "ClusterRole", RUNNER_CLUSTER_ROLE)) == RUNNER_RULES


def test_each_binding_grants_its_role_to_its_own_account(rendered: dict[str, Objects]) -> None:
    for objects in rendered.values():
        for binding in find(objects, "RoleBinding") + find(objects, "ClusterRoleBinding"):
            name = binding["metadata"]["name"]
            assert binding["roleRef"]["name"] == name
            (subject,) = binding["subjects"]
            component = name.removeprefix("lt-longtask-").removesuffix("-leader-election")
            assert subject == {
                "kind": "ServiceAccount",
                "name": f"lt-longtask-{component}",
                "namespace": "longtask",
            }


def test_no_role_reads_secrets_or_grants_exec_or_wildcards(rendered: dict[str, Objects]) -> None:
    for objects in rendered.values():
        for role in find(objects, "Role") + find(objects, "ClusterRole"):
            for group, res, verbs in rules(role):
                assert "*" not in verbs and res != "*" and group != "*"
                assert res not in {"pods/exec", "pods/attach", "serviceaccounts/token"}
                assert not verbs & {"escalate", "impersonate"}
                assert "bind" not in verbs or res == "clusterroles"  # by name: see rules()
                if res == "secrets":  # the operator writes each task's Redis URL, reads none
                    assert verbs == {"create"}
                    assert role["metadata"]["name"] == "lt-longtask-operator"


def test_operator_environment_is_what_its_settings_read(rendered: dict[str, Objects]) -> None:
    from longtask.operator import leadership, settings

    objects = rendered["all-features"]
    operator = one(objects, "Deployment", "lt-longtask-operator")
    container = operator["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    # The history's DSN holds a password: from a Secret.
    assert env["LONGTASK_HISTORY_DSN"] == {
        "secretKeyRef": {"name": "lt-longtask-history", "key": "dsn"}
    }
    read = settings.from_env(resolved_env(objects, container))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert read.metrics_port == ports["metrics"] == 8080
    assert read.liveness_port == ports["health"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert read.namespaces == ("team-a", "team-b")
    redis_url = urllib.parse.urlsplit(read.redis_url)
    assert redis_url.username == redisusers.OPERATOR and len(redis_url.password or "") >= 32
    assert redis_url.netloc.endswith("@lt-longtask-redis.longtask.svc:6379")
    assert read.runner_redis_url == "redis://lt-longtask-redis.longtask.svc:6379/0"
    assert read.task_users and len(read.redis_task_key) >= 32
    assert read.runner_image == "ghcr.io/longtask/longtask-runner:0.1.0"
    assert read.runner_service_account == "longtask-runner"
    assert read.runner_cluster_role == RUNNER_CLUSTER_ROLE
    assert read.namespace_selector == {"matchLabels": {"longtask.io/enabled": "true"}}
    assert read.image_patterns == ("registry.example.com/tasks/*", "docker.io/library/python:3.*")
    assert read.workers == 16  # operator.extraEnv
    assert read.kueue_queue == "team-a"
    assert (read.history.retention_days, read.history.log_lines) == (90, 200)
    plain = one(rendered["default"], "Deployment", "lt-longtask-operator")
    values = env_of(plain["spec"]["template"]["spec"]["containers"][0])
    default = settings.from_env({k: v for k, v in values.items() if isinstance(v, str)})
    assert default.namespace_selector is None
    assert default.kueue_queue == ""
    assert default.image_patterns == ("ghcr.io/longtask/*",)
    assert default.lease == leadership.LeaseSettings(
        enabled=True, name="lt-longtask-operator", namespace="longtask"
    )


def test_gateway_environment_is_what_its_settings_read(
    rendered: dict[str, Objects], monkeypatch: pytest.MonkeyPatch
) -> None:
    from longtask.api import settings

    gateway = one(rendered["default"], "Deployment", "lt-longtask-gateway")
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    for name in env:
        if name == "REDIS_PASSWORD":
            continue  # goes into LONGTASK_REDIS_URL (the kubelet expands $(REDIS_PASSWORD))
        field = name.removeprefix("LONGTASK_").lower()
        assert field in settings.Settings.model_fields, f"the gateway does not read {name}"
    for name, value in resolved_env(rendered["default"], container).items():
        monkeypatch.setenv(name, value)
    read = settings.Settings()
    assert (
        read.metrics_port
        == 9090
        == {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"]
    )
    operator = env_of(
        one(rendered["default"], "Deployment", "lt-longtask-operator")["spec"]["template"]["spec"][
            "containers"
        ][0]
    )
    for name in (
        "LONGTASK_RUNNER_IMAGE",
        "LONGTASK_RUNNER_SERVICE_ACCOUNT",
        "LONGTASK_ALLOWED_IMAGES",
    ):
        assert env[name] == operator[name]  # the gateway refuses at submit what the operator would
    assert read.image_patterns == ("ghcr.io/longtask/*",)
    assert urllib.parse.urlsplit(read.redis_url).username == redisusers.GATEWAY
    assert read.auth_mode is settings.AuthMode.KUBERNETES
    assert read.port == container["ports"][0]["containerPort"] == 8000
    assert read.host == "0.0.0.0"
    secret_ref = env["LONGTASK_STREAM_TOKEN_SECRET"]["secretKeyRef"]
    secret = one(rendered["default"], "Secret", secret_ref["name"])
    assert len(secret["data"][secret_ref["key"]]) >= 32


def test_gateway_probes_and_service(rendered: dict[str, Objects]) -> None:
    gateway = one(rendered["default"], "Deployment", "lt-longtask-gateway")
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    service = one(rendered["default"], "Service", "lt-longtask-gateway")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == gateway["spec"]["selector"]["matchLabels"]


def test_external_redis_comes_from_the_secret_and_no_redis_is_bundled(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["external-redis"]
    assert find(objects, "StatefulSet") == []
    for component, keys in [
        (
            "operator",
            {"LONGTASK_REDIS_URL": "operator-url", "LONGTASK_RUNNER_REDIS_URL": "runner-url"},
        ),
        ("gateway", {"LONGTASK_REDIS_URL": "gateway-url"}),
    ]:
        deployment = one(objects, "Deployment", f"lt-longtask-{component}")
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        for name, key in keys.items():
            assert env[name] == {"secretKeyRef": {"name": "longtask-redis", "key": key}}
    operator = one(objects, "Deployment", "lt-longtask-operator")
    env = env_of(operator["spec"]["template"]["spec"]["containers"][0])
    assert env["LONGTASK_REDIS_TASK_KEY"] == {
        "secretKeyRef": {"name": "longtask-redis", "key": "task-key"}
    }


def test_the_bundled_redis_loads_the_users_of_core_and_the_default_user_off(
    rendered: dict[str, Objects],
) -> None:
    objects = rendered["default"]
    redis = one(objects, "StatefulSet", "lt-longtask-redis")
    container = redis["spec"]["template"]["spec"]["containers"][0]
    script = container["args"][0]
    assert [line for line in script.splitlines() if line.startswith("user ")] == [
        redisusers.DEFAULT_USER,
        " ".join(
            ["user", redisusers.OPERATOR, "on", ">$OPERATOR_PASSWORD", *redisusers.operator_rules()]
        ),
        " ".join(
            ["user", redisusers.GATEWAY, "on", ">$GATEWAY_PASSWORD", *redisusers.gateway_rules()]
        ),
    ]
    assert container["args"][-2:] == ["--aclfile", "/tmp/users.acl"]
    passwords = resolved_env(objects, container)
    for component, user in [("operator", redisusers.OPERATOR), ("gateway", redisusers.GATEWAY)]:
        deployment = one(objects, "Deployment", f"lt-longtask-{component}")
        env = resolved_env(objects, deployment["spec"]["template"]["spec"]["containers"][0])
        url = urllib.parse.urlsplit(env["LONGTASK_REDIS_URL"])
        assert url.username == user
        assert url.password == passwords[f"{component.upper()}_PASSWORD"]
        assert len(url.password or "") >= 32


def test_without_task_users_every_pod_shares_the_url(helm: Path) -> None:
    sets = ["redis.url=redis://redis.example:6379/0", "redis.taskUsers.enabled=false"]
    objects = render(helm, sets=sets)
    operator = one(objects, "Deployment", "lt-longtask-operator")
    env = env_of(operator["spec"]["template"]["spec"]["containers"][0])
    assert env["LONGTASK_REDIS_TASK_USERS"] == "false" and "LONGTASK_REDIS_TASK_KEY" not in env


def test_task_users_with_an_external_redis_need_its_secret(helm: Path) -> None:
    done = template(helm, sets=["redis.url=redis://redis.example:6379/0"])
    assert done.returncode != 0 and "redis.existingSecret.name" in done.stderr


def test_the_history_database_comes_from_a_secret_to_the_operator_and_the_gateway(
    rendered: dict[str, Objects],
) -> None:
    external = rendered["external-redis"]
    for deployment in find(external, "Deployment"):
        env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
        assert env["LONGTASK_HISTORY_DSN"] == {
            "secretKeyRef": {"name": "longtask-history", "key": "dsn"}
        }
    operator = one(external, "Deployment", "lt-longtask-operator")
    assert (
        env_of(operator["spec"]["template"]["spec"]["containers"][0])["LONGTASK_HISTORY_PARAMS"]
        == "digest"
    )
    # The bundled PostgreSQL: its Secret holds the password and a DSN naming its Service.
    secret = one(rendered["default"], "Secret", "lt-longtask-history")
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) >= 32
    assert base64.b64decode(secret["data"]["dsn"]).decode() == (
        f"postgresql://longtask:{password}@lt-longtask-history.longtask.svc:5432/longtask"
    )
    database = one(rendered["default"], "StatefulSet", "lt-longtask-history")
    pod = database["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] != 0
    policy = one(rendered["default"], "NetworkPolicy", "lt-longtask-history")
    (source,) = policy["spec"]["ingress"][0]["from"]
    assert source["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "lt"


def test_bundled_redis_admits_only_longtask_pods(rendered: dict[str, Objects]) -> None:
    policy = one(rendered["default"], "NetworkPolicy", "lt-longtask-redis")
    sources = policy["spec"]["ingress"][0]["from"]
    assert sources[0]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "lt"
    assert sources[1]["podSelector"]["matchLabels"] == {
        resource.LABEL_MANAGED_BY: resource.MANAGED_BY
    }
    assert sources[1]["podSelector"]["matchExpressions"] == [
        {"key": resource.LABEL_UID, "operator": "Exists"}  # an attempt's pod
    ]
    assert sources[1]["namespaceSelector"] == {}  # tasks may run in every namespace
    confined = one(rendered["all-features"], "NetworkPolicy", "lt-longtask-redis")
    assert confined["spec"]["ingress"][0]["from"][1]["namespaceSelector"] == {
        "matchLabels": {"longtask.io/enabled": "true"},
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["team-a", "team-b"]}
        ],
    }


def test_metrics_ports_admit_only_the_named_namespace(
    rendered: dict[str, Objects], helm: Path
) -> None:
    objects = rendered["default"]
    for component, open_port in (("operator", "health"), ("gateway", "http")):
        policy = one(objects, "NetworkPolicy", f"lt-longtask-{component}")
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == (
            component
        )
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        everyone, scrapers = policy["spec"]["ingress"]
        assert everyone == {"ports": [{"port": open_port, "protocol": "TCP"}]}
        assert scrapers == {
            "ports": [{"port": "metrics", "protocol": "TCP"}],
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
        }
        deployment = one(objects, "Deployment", f"lt-longtask-{component}")
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {p["name"] for p in container["ports"]} == {open_port, "metrics"}
    fenced = {"lt-longtask-operator", "lt-longtask-gateway"}

    def policies(*sets: str) -> Objects:
        found = find(render(helm, sets=sets), "NetworkPolicy")
        return [p for p in found if p["metadata"]["name"] in fenced]

    closed = policies("networkPolicy.metricsNamespace=")
    assert [len(p["spec"]["ingress"]) for p in closed] == [1, 1]  # no one may scrape
    assert policies("networkPolicy.enabled=false") == []


def test_ingress_keeps_server_sent_events_unbuffered(rendered: dict[str, Objects]) -> None:
    ingress = one(rendered["all-features"], "Ingress", "lt-longtask-gateway")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ingress["spec"]["tls"] == [
        {"hosts": ["tasks.example.com"], "secretName": "tasks-example-com-tls"}
    ]


def test_gateway_disruption_budget_only_with_several_replicas(
    rendered: dict[str, Objects],
) -> None:
    pdb = one(rendered["all-features"], "PodDisruptionBudget", "lt-longtask-gateway")
    gateway = one(rendered["all-features"], "Deployment", "lt-longtask-gateway")
    assert pdb["spec"]["selector"] == gateway["spec"]["selector"]
    assert find(rendered["external-redis"], "PodDisruptionBudget", "lt-longtask-gateway") == []


def test_service_monitors_name_the_jobs_the_alerts_select(rendered: dict[str, Objects]) -> None:
    monitors = find(rendered["all-features"], "ServiceMonitor")
    jobs = set()
    for monitor in monitors:
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["honorLabels"] is True  # keep the task's `namespace` label
        (relabel,) = endpoint["relabelings"]
        assert relabel["targetLabel"] == "job"
        jobs.add(relabel["replacement"])
        services = [
            s
            for s in find(rendered["all-features"], "Service")
            if all(
                s["metadata"]["labels"].get(k) == v
                for k, v in monitor["spec"]["selector"]["matchLabels"].items()
            )
        ]
        assert len(services) == 1
        assert endpoint["port"] in {p["name"] for p in services[0]["spec"]["ports"]}
    assert jobs == {"longtask-operator", "longtask-gateway"}
    rules_text = (REPO / "deploy" / "prometheus" / "longtask-rules.yaml").read_text()
    assert all(f'job="{job}"' in rules_text for job in jobs)


def test_dashboard_config_map_holds_the_dashboard(rendered: dict[str, Objects]) -> None:
    (config_map,) = find(rendered["all-features"], "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    source = (REPO / "deploy" / "grafana" / "longtask-dashboard.json").read_text()
    assert config_map["data"] == {"longtask-dashboard.json": source}


def test_long_release_names_stay_valid_object_names(helm: Path) -> None:
    release = "a-release-name-that-is-long-enough-to-need-truncation"
    done = run([helm, "template", release, CHART, "--kube-version", KUBE_VERSION])
    assert done.returncode == 0, done.stderr
    for obj in yaml.safe_load_all(done.stdout):
        if obj:
            assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
