#!/usr/bin/env python3
"""The deploy files agree with the application's configuration and with each other:
probes on the ops port, grace periods that cover the drain, the queue's visibility
and redrive matching the worker's settings, least-privilege policies, pinned images.
Each rule is one `expect`; every broken one is listed, then the script exits 1."""
import re, sys, tomllib
from pathlib import Path
import yaml
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
failures = []


def expect(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def merged(*files):
    out = {}
    for f in files:
        for section, values in tomllib.loads((ROOT / f).read_text()).items():
            out.setdefault(section, {}).update(values)
    return out


conf = merged("config/default.toml", "config/production.toml")
drain_ms, grace_ms = conf["http"]["drain_delay_ms"], conf["http"]["shutdown_grace_ms"]
ops_port = int(conf["ops"]["bind"].rsplit(":", 1)[1])
http_port = int(conf["http"]["bind"].rsplit(":", 1)[1])
MARGIN_MS = 5000

k8s = {}
for f in sorted((ROOT / "deploy/kubernetes").glob("*.yaml")):
    for doc in yaml.safe_load_all(f.read_text()):
        if doc and "kind" in doc and doc["kind"] != "Kustomization":
            k8s[(doc["kind"], doc["metadata"]["name"])] = doc

config_map = k8s[("ConfigMap", "orderflow")]["data"]
for name, role, needs_drain in (("orderflow-api", "api", True), ("orderflow-worker", "worker", False)):
    pod = k8s[("Deployment", name)]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    expect(c["args"] == [role], f"{name} runs `orderflow {role}`")
    expect(ports.get("ops") == ops_port, f"{name}: container port 'ops' is ops.bind's {ops_port}")
    if needs_drain:
        expect(ports.get("http") == http_port, f"{name}: container port 'http' is http.bind's {http_port}")
    expect(c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}, f"{name}: liveness is /healthz on the ops port")
    expect(c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}, f"{name}: readiness is /readyz on the ops port")
    expect(pod.get("enableServiceLinks") is False, f"{name}: no service-link variables")
    need = (drain_ms if needs_drain else 0) + grace_ms + MARGIN_MS
    expect(pod["terminationGracePeriodSeconds"] * 1000 >= need,
           f"{name}: terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} s covers "
           f"{'the drain ' + str(drain_ms) + ' ms + ' if needs_drain else ''}the grace {grace_ms} ms + {MARGIN_MS} ms")
    expect(c["securityContext"].get("readOnlyRootFilesystem") and pod["securityContext"]["runAsUser"] == 10001,
           f"{name}: non-root (the image's uid 10001), read-only root filesystem")
    refs = {e.get("configMapRef", {}).get("name") or e.get("secretRef", {}).get("name") for e in c["envFrom"]}
    expect(refs == {"orderflow"}, f"{name}: settings from the orderflow ConfigMap and Secret")

expect(config_map.get("ORDERFLOW_PROFILE") == "production", "the ConfigMap selects the production profile")
secret = k8s[("Secret", "orderflow")]["stringData"]
expect(len(secret["ORDERFLOW_AUTH__JWT_SECRET"].encode()) < 32 and len(secret["ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD"]) < 8,
       "the committed Secret's placeholders are values the process refuses")
ann = k8s[("Ingress", "orderflow")]["metadata"]["annotations"]
expect(ann["alb.ingress.kubernetes.io/healthcheck-path"] == "/readyz", "the ALB checks /readyz")
detect_s = int(ann["alb.ingress.kubernetes.io/healthcheck-interval-seconds"]) * int(ann["alb.ingress.kubernetes.io/unhealthy-threshold-count"])
expect(detect_s * 1000 <= drain_ms, f"the ALB marks a draining target unhealthy ({detect_s} s) within the drain delay ({drain_ms} ms)")
expect(k8s[("HorizontalPodAutoscaler", "orderflow-api")]["spec"]["scaleTargetRef"]["name"] == "orderflow-api", "the HPA scales the API")

cfn = cfn_yaml.load(str(ROOT / "deploy/aws/orderflow.yaml"))
params = cfn["Parameters"]
expect(params["QueueName"]["Default"] == conf["sqs"]["queue_name"] == config_map["ORDERFLOW_SQS__QUEUE_NAME"],
       "the queue's name agrees: template, sqs.queue_name, ConfigMap")
expect(params["DeadLetterQueueName"]["Default"] == conf["sqs"]["dlq_name"] == config_map["ORDERFLOW_SQS__DLQ_NAME"],
       "the dead-letter queue's name agrees: template, sqs.dlq_name, ConfigMap")
expect(params["VisibilityTimeoutSeconds"]["Default"] * 1000 == conf["sqs"]["visibility_timeout_ms"],
       "the queue's visibility timeout (seconds) is sqs.visibility_timeout_ms")
expect(params["MaxReceiveCount"]["Default"] == conf["sqs"]["max_receives"], "the redrive's maxReceiveCount is sqs.max_receives")
expect(params["ConfigurationSetName"]["Default"] == config_map["ORDERFLOW_SES__CONFIGURATION_SET"], "the SES configuration set agrees")
expect(params["SenderAddress"]["Default"] == config_map["ORDERFLOW_SES__FROM"], "the SES sender agrees with ses.from")
expect(not conf["sqs"]["create_queues"], "production does not create queues (the template does)")


def actions(policy):
    out = set()
    for st in cfn["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]:
        a = st["Action"]
        out |= set(a if isinstance(a, list) else [a])
    return out


api = actions("ApiPolicy")
expect(api == {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "ses:SendEmail"},
       f"the api policy publishes and mails reset links, nothing else: {sorted(api)}")
worker = actions("WorkerPolicy")
expect("sqs:SendMessage" not in worker and "ses:SendEmail" in worker, f"the worker policy consumes and mails, never publishes: {sorted(worker)}")
ses = [s for p in ("ApiPolicy", "WorkerPolicy") for s in cfn["Resources"][p]["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "ses:SendEmail"]
expect(len(ses) == 2 and all("ses:FromAddress" in s.get("Condition", {}).get("StringEquals", {}) for s in ses),
       "the api and the worker may send only from ses.from")
expect(not any("*" in str(s.get("Resource")) for p in ("ApiPolicy", "WorkerPolicy", "OperatorPolicy")
               for s in cfn["Resources"][p]["Properties"]["PolicyDocument"]["Statement"]), "no policy names every resource")

compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
for name, svc in compose["services"].items():
    if "image" in svc:
        image = svc["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        expect(bool(re.fullmatch(r"v?\d+\.\d+\.\d+", tag)), f"compose: {name} pins its image to a release ({image})")

if failures:
    sys.exit(f"deploy-check: {len(failures)} rule(s) broken")
