#!/usr/bin/env python3
"""Runs the image as an operator would and checks it (see scripts/image).

Usage: check.py IMAGE HTTP_PORT OPS_PORT
"""
import json, subprocess, sys, time, urllib.request, uuid

IMAGE, HTTP_PORT, OPS_PORT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
SECRET = "image-check-jwt-secret-" + uuid.uuid4().hex
ADMIN = ("admin@orderflow.local", "image-check-admin-" + uuid.uuid4().hex[:8])
GRACE_S = 30
failures = []


def podman(*args, check=True):
    r = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"image: podman {' '.join(args)} failed: {r.stderr.strip()}")
    return r


def expect(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def http(method, url, body=None, token=None):
    req = urllib.request.Request(url, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_http(url, within=60):
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            if http("GET", url)[0] == 200:
                return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


def run(name, *args):
    podman("rm", "-f", name, check=False)
    podman("run", "-d", "--name", name,
           "-e", f"ORDERFLOW_AUTH__JWT_SECRET={SECRET}",
           "-e", f"ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD={ADMIN[1]}", *args)


def health_status(name):
    r = podman("healthcheck", "run", name, check=False)
    return r.returncode, (r.stdout + r.stderr).strip()


size = int(podman("image", "inspect", IMAGE, "--format", "{{.Size}}").stdout.strip())
print(f"image: {IMAGE} is {size / 1024 / 1024:.1f} MiB")

# Without secrets, a container reachable from outside refuses to start, naming what to set.
podman("rm", "-f", "orderflow-refused", check=False)
r = subprocess.run(["podman", "run", "--name", "orderflow-refused", IMAGE], capture_output=True, text=True, timeout=60)
expect(r.returncode == 2 and "ORDERFLOW_AUTH__JWT_SECRET" in r.stderr,
       "without a JWT secret the image refuses to start and names ORDERFLOW_AUTH__JWT_SECRET")
podman("rm", "-f", "orderflow-refused", check=False)

run("orderflow-check", "-p", f"127.0.0.1:{HTTP_PORT}:8080", "-p", f"127.0.0.1:{OPS_PORT}:9090", IMAGE)
try:
    base, ops = f"http://127.0.0.1:{HTTP_PORT}", f"http://127.0.0.1:{OPS_PORT}"
    expect(wait_http(f"{ops}/readyz"), "ready through the published ops port")
    expect(http("GET", f"{base}/healthz")[0] == 200, "the API answers through the published port")
    uid = podman("exec", "orderflow-check", "id", "-u").stdout.strip()
    top = podman("top", "orderflow-check", "user", "comm").stdout
    expect(uid == "10001" and "root" not in top, f"runs as uid {uid}, not root ({top.split()})")

    _, login = http("POST", f"{base}/api/auth/login", {"email": ADMIN[0], "password": ADMIN[1]})
    admin = login["access_token"]
    sku = "IMG-" + uuid.uuid4().hex[:6].upper()
    st, _ = http("POST", f"{base}/api/products", {"sku": sku, "name": "Image check", "price_cents": 500, "stock": 3}, admin)
    expect(st == 201, "an admin creates a product")
    email = f"image-{uuid.uuid4().hex[:8]}@example.com"
    http("POST", f"{base}/api/auth/register", {"email": email, "password": "a-strong-password"})
    _, tokens = http("POST", f"{base}/api/auth/login", {"email": email, "password": "a-strong-password"})
    st, order = http("POST", f"{base}/api/orders", {"items": [{"sku": sku, "quantity": 1}]}, tokens["access_token"])
    expect(st == 202, "an order is accepted")
    status = "pending"
    for _ in range(100):
        _, o = http("GET", f"{base}/api/orders/{order['id']}", token=tokens["access_token"])
        status = o["status"]
        if status != "pending":
            break
        time.sleep(0.1)
    expect(status == "completed", f"the order completes ({status})")
    mails = ""
    for _ in range(50):
        mails = podman("exec", "orderflow-check", "sh", "-c", "ls -l /app/var/mail").stdout
        if f"order-{order['id']}-completed.eml" in mails:
            break
        time.sleep(0.1)
    expect(f"order-{order['id']}-completed.eml" in mails and " orderflow " in mails,
           "its .eml is written to /app/var/mail, owned by the orderflow user")

    for args in (["healthcheck"], ["healthcheck", "--ready"]):
        r = podman("exec", "orderflow-check", "orderflow", *args, check=False)
        expect(r.returncode == 0, f"`orderflow {' '.join(args)}` in the container exits 0 ({r.stdout.strip()})")
    code, out = health_status("orderflow-check")
    expect(code == 0, f"the image's HEALTHCHECK reports healthy ({out or 'healthy'})")
    text = urllib.request.urlopen(f"{ops}/metrics", timeout=5).read().decode()
    expect("orderflow_orders_completed_total 1" in text, "/metrics on the published ops port counts the order")

    started = time.time()
    podman("stop", "-t", str(GRACE_S), "orderflow-check")
    took = time.time() - started
    exit_code = podman("inspect", "orderflow-check", "--format", "{{.State.ExitCode}}").stdout.strip()
    expect(exit_code == "0" and took < GRACE_S, f"SIGTERM stops it with exit {exit_code} in {took:.1f} s (grace {GRACE_S} s)")
    logs = podman("logs", "orderflow-check").stderr + podman("logs", "orderflow-check").stdout
    expect('"message":"stopped cleanly"' in logs, "its JSON log says it stopped cleanly")
finally:
    podman("rm", "-f", "orderflow-check", check=False)

# A worker container: no API, but its ops listener answers the image's HEALTHCHECK.
run("orderflow-worker-check", IMAGE, "worker")
try:
    ok = False
    for _ in range(50):
        code, _ = health_status("orderflow-worker-check")
        if code == 0:
            ok = True
            break
        time.sleep(0.2)
    expect(ok, "a worker container passes the image's HEALTHCHECK")
    r = podman("exec", "orderflow-worker-check", "orderflow", "healthcheck", "--ready", check=False)
    expect(r.returncode == 0, "and reports ready")
    podman("stop", "-t", str(GRACE_S), "orderflow-worker-check")
    code = podman("inspect", "orderflow-worker-check", "--format", "{{.State.ExitCode}}").stdout.strip()
    expect(code == "0", f"the worker exits {code} on SIGTERM")
finally:
    podman("rm", "-f", "orderflow-worker-check", check=False)

if failures:
    sys.exit(f"image: {len(failures)} check(s) failed: {failures}")
print(f"image: all checks passed ({size / 1024 / 1024:.1f} MiB)")
