#!/usr/bin/env bash
# Checks the operator-facing files under ops/ without a cluster or a running service:
#   - the Prometheus rules (promtool check rules) and their unit tests (promtool test rules), every
#     alert with for, severity, summary, description and a runbook section that exists in ops/RUNBOOK.md;
#   - the Prometheus scrape configuration (promtool check config, which also loads the rules);
#   - the Grafana dashboard: valid JSON, every panel query valid PromQL (checked by promtool);
#   - the metric names the rules and the dashboard use can be listed (ops/check-metrics.py; checking
#     them against real scrapes needs running services and is done by a Swift test);
#   - the Kubernetes manifests, structurally (no kubectl): apiVersion, kind and metadata.name in every
#     document, the Deployments' images, args, ports and probes, the ConfigMaps and Secrets they
#     use, the HPA's target, the PDB's and Services' selectors, the Secret's keys;
#   - the ConfigMaps rendered by the init containers' own script (with stand-in URLs) and, when a built
#     `driftline` is there (DRIFTLINE_BIN, or .build/debug or .build/release), the detector's run
#     through `driftline detect --check-config` (the executor has no such flag); both against
#     schemas/detector-config.v1.json and executor-config.v1.json when schemas/check-examples.py is there.
# Needs promtool (Debian package prometheus) and python3 with PyYAML: ops/install-deps.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null; then
  echo "check-ops: promtool not found (run ops/install-deps.sh: Debian package prometheus)" >&2
  exit 1
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "check-ops: python3 cannot import yaml (run ops/install-deps.sh: pip package pyyaml)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "check-ops: Prometheus rules"
promtool check rules ops/prometheus/driftline-rules.yaml
promtool test rules ops/prometheus/driftline-rules.test.yaml

echo "check-ops: alerts' labels, annotations and runbook sections"
python3 - ops/prometheus/driftline-rules.yaml ops/RUNBOOK.md ops/prometheus/prometheus.yml <<'PY'
import re, sys, yaml
rules_path, runbook_path, config_path = sys.argv[1:4]
with open(runbook_path, encoding="utf-8") as handle:
    runbook = handle.read()

def slug(title):
    # GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")

anchors = {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", runbook, re.M)}
with open(config_path, encoding="utf-8") as handle:
    jobs = {job["job_name"] for job in yaml.safe_load(handle)["scrape_configs"]}
problems = []
with open(rules_path, encoding="utf-8") as handle:
    groups = yaml.safe_load(handle)["groups"]
alerts = 0
for group in groups:
    for rule in group["rules"]:
        if "alert" not in rule:
            continue
        alerts += 1
        name = rule["alert"]
        annotations = rule.get("annotations", {})
        if "for" not in rule:
            problems.append(f"{name}: no 'for'")
        if rule.get("labels", {}).get("severity") not in ("info", "warning", "critical"):
            problems.append(f"{name}: severity label is not info, warning or critical")
        for key in ("summary", "description", "runbook"):
            if not annotations.get(key):
                problems.append(f"{name}: no {key} annotation")
        runbook_link = annotations.get("runbook", "")
        if not runbook_link.startswith("ops/RUNBOOK.md#"):
            problems.append(f"{name}: runbook annotation '{runbook_link}' does not point into ops/RUNBOOK.md")
        elif runbook_link.split("#", 1)[1] not in anchors:
            problems.append(f"{name}: ops/RUNBOOK.md has no section #{runbook_link.split('#', 1)[1]}")
        for job in re.findall(r'job\s*=\s*"([^"]+)"', str(rule["expr"])):
            if job not in jobs:
                problems.append(f"{name}: job '{job}' is not scraped by {config_path}")
if problems:
    sys.exit("check-ops: " + "\ncheck-ops: ".join(problems))
print(f"{alerts} alerts: labels, annotations and runbook sections in order")
PY

echo "check-ops: Prometheus configuration"
promtool check config ops/prometheus/prometheus.yml

echo "check-ops: Grafana dashboard"
python3 -m json.tool ops/grafana/driftline-dashboard.json >/dev/null
# Every panel query as a recording rule, with Grafana's variables replaced, so promtool parses it.
python3 - ops/grafana/driftline-dashboard.json "$work/dashboard-queries.yaml" <<'PY'
import json, re, sys, yaml
with open(sys.argv[1], encoding="utf-8") as handle:
    dashboard = json.load(handle)
problems, rules, ids = [], [], set()
if not 36 <= dashboard.get("schemaVersion", 0) <= 41:
    problems.append(f"schemaVersion {dashboard.get('schemaVersion')} (expected about 39)")
variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
if variables.get("datasource", {}).get("type") != "datasource" or variables["datasource"].get("query") != "prometheus":
    problems.append("no 'datasource' variable of Prometheus data sources")
source_query = variables.get("source", {}).get("query")
source_query = source_query.get("query") if isinstance(source_query, dict) else source_query
if source_query != "label_values(driftline_records_total, source)":
    problems.append("the 'source' variable is not label_values(driftline_records_total, source)")

def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))

for panel in panels(dashboard.get("panels", [])):
    if panel.get("id") in ids:
        problems.append(f"panel id {panel.get('id')} used twice")
    ids.add(panel.get("id"))
    if panel.get("type") == "row":
        continue
    if panel.get("datasource", {}).get("uid") != "${datasource}":
        problems.append(f"panel '{panel.get('title')}' does not use the ${{datasource}} variable")
    if not panel.get("targets"):
        problems.append(f"panel '{panel.get('title')}' has no queries")
    for target in panel.get("targets", []):
        expr = target.get("expr", "")
        expr = re.sub(r"\$__(rate_)?interval|\$__range", "5m", expr)
        expr = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", ".*", expr)
        rules.append({"record": f"dashboard:panel_{panel.get('id')}:{target.get('refId', 'A')}", "expr": expr})
if problems:
    sys.exit("check-ops: " + "\ncheck-ops: ".join(problems))
with open(sys.argv[2], "w", encoding="utf-8") as handle:
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, handle)
print(f"{len(ids)} panels, {len(rules)} queries")
PY
promtool check rules "$work/dashboard-queries.yaml" >/dev/null || { promtool check rules "$work/dashboard-queries.yaml"; exit 1; }
echo "check-ops: the dashboard's queries parse"
python3 ops/check-metrics.py --names-only ops/prometheus/driftline-rules.yaml ops/grafana/driftline-dashboard.json >"$work/names"
echo "check-ops: $(wc -l <"$work/names") metric names used by the rules and the dashboard"

echo "check-ops: Kubernetes manifests"
python3 - "$work" ops/kubernetes/*.yaml <<'PY'
import os, re, sys, yaml
work, paths = sys.argv[1], sys.argv[2:]
documents, problems = [], []
for path in paths:
    with open(path, encoding="utf-8") as handle:
        for index, document in enumerate(yaml.safe_load_all(handle)):
            if document is None:
                continue
            where = f"{path} document {index + 1}"
            for key in ("apiVersion", "kind"):
                if not document.get(key):
                    problems.append(f"{where}: no {key}")
            if not (document.get("metadata") or {}).get("name"):
                problems.append(f"{where}: no metadata.name")
            documents.append((where, document))

def named(kind, name):
    return [d for _, d in documents if d.get("kind") == kind and d.get("metadata", {}).get("name") == name]

deployments = {d["metadata"]["name"]: (where, d) for where, d in documents if d.get("kind") == "Deployment"}
for expected in ("driftline-detector", "driftline-executor"):
    if expected not in deployments:
        problems.append(f"no Deployment {expected}")
secrets = set()
for name, (where, deployment) in deployments.items():
    spec = deployment.get("spec", {})
    template = spec.get("template", {})
    pod = template.get("spec", {})
    selector = spec.get("selector", {}).get("matchLabels", {})
    labels = template.get("metadata", {}).get("labels", {})
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        problems.append(f"{where}: the selector does not match the pod template's labels")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for volume in volumes.values():
        if "configMap" in volume and not named("ConfigMap", volume["configMap"]["name"]):
            problems.append(f"{where}: volume {volume['name']} names ConfigMap {volume['configMap']['name']}, which no manifest defines")
    containers = pod.get("containers", [])
    if not containers:
        problems.append(f"{where}: no containers")
    for container in pod.get("initContainers", []) + containers:
        cname = f"{where} container {container.get('name')}"
        if not container.get("image"):
            problems.append(f"{cname}: no image")
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                problems.append(f"{cname}: mounts {mount['name']}, which is not a volume of the pod")
        for variable in container.get("env", []):
            ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                secrets.add(f"{ref['name']}/{ref['key']}")
    for container in containers:
        cname = f"{where} container {container.get('name')}"
        args = container.get("args") or []
        if not args:
            problems.append(f"{cname}: no args")
            continue
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (container.get(probe) or {}).get("httpGet", {})
            if get.get("path") != path:
                problems.append(f"{cname}: {probe} is not GET {path}")
            if get.get("port") not in ports and get.get("port") not in ports.values():
                problems.append(f"{cname}: {probe} port {get.get('port')} is not a container port")
        if not container.get("resources", {}).get("requests"):
            problems.append(f"{cname}: no resource requests")
        annotations = template.get("metadata", {}).get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true" or int(annotations.get("prometheus.io/port", 0)) not in ports.values():
            problems.append(f"{where}: prometheus.io/scrape and prometheus.io/port do not name a container port")
        # The configuration file the args name: its ConfigMap key, and its http.listen port.
        if "--config" in args:
            config_path = args[args.index("--config") + 1]
            mounted = [m for m in container.get("volumeMounts", []) if config_path.startswith(m["mountPath"].rstrip("/") + "/")]
            if not mounted:
                problems.append(f"{cname}: --config {config_path} is on no mounted volume")
            key = config_path.rsplit("/", 1)[1]
            maps = [d for _, d in documents if d.get("kind") == "ConfigMap" and key in (d.get("data") or {})]
            if not maps:
                problems.append(f"{cname}: no ConfigMap has the key {key}")
            for config_map in maps:
                config = yaml.safe_load(config_map["data"][key])
                listen = str((config.get("http") or {}).get("listen", ""))
                if not listen.startswith("0.0.0.0:") or int(listen.rsplit(":", 1)[1]) not in ports.values():
                    problems.append(f"{config_map['metadata']['name']}: http.listen '{listen}' is not 0.0.0.0 on a container port of {name}")
                # For rendering below exactly as the init container does, in a directory of its own.
                for mount in (pod.get("initContainers") or [{}])[0].get("volumeMounts", []):
                    if volumes.get(mount["name"], {}).get("configMap", {}).get("name") == config_map["metadata"]["name"]:
                        os.makedirs(f"{work}/{name}/template", exist_ok=True)
                        os.makedirs(f"{work}/{name}/config", exist_ok=True)
                        with open(f"{work}/{name}/template/{key}", "w", encoding="utf-8") as handle:
                            handle.write(config_map["data"][key])
    for init in pod.get("initContainers", []):
        if init.get("name") != "render-config":
            continue
        script = init.get("command", [])[-1:] == ["-c"] and init.get("args", [""])[0]
        if not script:
            problems.append(f"{where}: the render-config init container is not /bin/sh -c SCRIPT")
            continue
        for mount in init.get("volumeMounts", []):
            volume = volumes.get(mount["name"], {})
            local = "template" if "configMap" in volume else "config"
            script = script.replace(mount["mountPath"].rstrip("/") + "/", f"{work}/{name}/{local}/")
        with open(f"{work}/{name}/render.sh", "w", encoding="utf-8") as handle:
            handle.write(script)

expected_args = {"driftline-detector": ["detect", "--config", "/etc/driftline/driftline.yaml"],
                 "driftline-executor": ["execute", "--config", "/etc/driftline/executor.yaml"]}
for name, args in expected_args.items():
    if name in deployments:
        got = deployments[name][1]["spec"]["template"]["spec"]["containers"][0].get("args")
        if got != args:
            problems.append(f"Deployment {name}: args {got}, expected {args}")
for where, hpa in [(w, d) for w, d in documents if d.get("kind") == "HorizontalPodAutoscaler"]:
    target = hpa.get("spec", {}).get("scaleTargetRef", {})
    if target.get("kind") != "Deployment" or target.get("name") != "driftline-detector":
        problems.append(f"{where}: scaleTargetRef is not the driftline-detector Deployment")
    if hpa.get("apiVersion") != "autoscaling/v2":
        problems.append(f"{where}: not autoscaling/v2")
    spec = hpa.get("spec", {})
    if not 1 <= spec.get("minReplicas", 1) <= spec.get("maxReplicas", 0):
        problems.append(f"{where}: minReplicas/maxReplicas out of order")
for where, budget in [(w, d) for w, d in documents if d.get("kind") == "PodDisruptionBudget"]:
    selector = budget.get("spec", {}).get("selector", {}).get("matchLabels", {})
    if not any(all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items()) for _, d in deployments.values()):
        problems.append(f"{where}: selects no Deployment's pods")
for where, service in [(w, d) for w, d in documents if d.get("kind") == "Service"]:
    selector = service.get("spec", {}).get("selector", {})
    if not any(all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items()) for _, d in deployments.values()):
        problems.append(f"{where}: selects no Deployment's pods")
# The Secret is made with kubectl, as ops/RUNBOOK.md and detector.yaml show: the keys must be those.
for path in ("ops/RUNBOOK.md", "ops/kubernetes/detector.yaml"):
    with open(path, encoding="utf-8") as handle:
        documented = set(re.findall(r"--from-literal=([\w.-]+)=", handle.read()))
    for secret in sorted(secrets):
        if secret.split("/", 1)[1] not in documented:
            problems.append(f"Secret key {secret} is not among the keys {path} creates ({', '.join(sorted(documented))})")
if problems:
    sys.exit("check-ops: " + "\ncheck-ops: ".join(problems))
print(f"{len(documents)} documents in {len(paths)} files in order; Secrets used: {', '.join(sorted(secrets)) or 'none'}")
PY

driftline=${DRIFTLINE_BIN:-}
if [ -z "$driftline" ]; then
  for candidate in .build/debug/driftline .build/release/driftline; do
    if [ -x "$candidate" ]; then driftline=$candidate; break; fi
  done
fi
# The ConfigMaps rendered by the init containers' own scripts, with stand-in URLs (a password
# with characters sed or awk would treat specially).
for deployment in driftline-detector driftline-executor; do
  DRIFTLINE_METADATA_URL='postgres://driftline:p%40ss&1@metadata-db:5432/driftline' \
  DRIFTLINE_TARGET_URL='postgres://planner:p&|2@app-db:5432/app?sslmode=require' \
    sh "$work/$deployment/render.sh"
done
python3 - "$work" <<'PY'
import glob, sys, yaml
paths = sorted(glob.glob(f"{sys.argv[1]}/*/config/*.yaml"))
if len(paths) != 2:
    sys.exit(f"check-ops: expected the detector's and the executor's rendered configuration, found {len(paths)} files")
for path in paths:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    config = yaml.safe_load(text)
    if "${" in text or config["metadata"]["store"] != "postgres://driftline:p%40ss&1@metadata-db:5432/driftline":
        sys.exit(f"check-ops: {path}: the rendered configuration still has placeholders or a wrong metadata.store")
print("the init containers render both configurations")
PY
# Both rendered configurations against their JSON Schemas (the executor's only check short of starting it).
if [ -f schemas/check-examples.py ]; then
  cp "$work/driftline-detector/config/driftline.yaml" "$work/detector-config.kubernetes.yaml"
  cp "$work/driftline-executor/config/executor.yaml" "$work/executor-config.kubernetes.yaml"
  python3 schemas/check-examples.py "$work/detector-config.kubernetes.yaml" "$work/executor-config.kubernetes.yaml" >/dev/null \
    || { python3 schemas/check-examples.py "$work/detector-config.kubernetes.yaml" "$work/executor-config.kubernetes.yaml"; exit 1; }
  echo "check-ops: both ConfigMaps match schemas/detector-config.v1.json and executor-config.v1.json"
else
  echo "check-ops: no schemas/check-examples.py: the ConfigMaps were not checked against the configuration schemas"
fi
if [ -n "$driftline" ]; then
  "$driftline" detect --config "$work/driftline-detector/config/driftline.yaml" --check-config >/dev/null
  echo "check-ops: the detector's ConfigMap passes driftline detect --check-config ($driftline)"
else
  echo "check-ops: no built driftline (set DRIFTLINE_BIN): the detector's ConfigMap was not run through --check-config"
fi
echo "check-ops: all checks passed"
