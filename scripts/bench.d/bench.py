#!/usr/bin/env python3
"""Orderflow benchmark driver: starts the release binary on a profile, prepares data,
drives load with wrk, and prints one table (also written to BENCHMARKS.md).

Usage: scripts/bench [embedded|local]   (DURATION=10 CONNECTIONS=64 DRAIN=50000)
"""
import json, os, re, subprocess, sys, time, urllib.request, datetime

MODE = sys.argv[1] if len(sys.argv) > 1 else "embedded"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release", "orderflow")
PORT = int(os.environ.get("BENCH_PORT", "8097"))
BASE = f"http://127.0.0.1:{PORT}"
DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNECTIONS", "64"))
DRAIN = int(os.environ.get("DRAIN", "50000"))
ADMIN = ("admin@bench.local", "bench-admin-password")
HERE = os.path.dirname(os.path.abspath(__file__))


def http(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return r.status, (json.loads(raw) if raw and r.headers.get("content-type", "").endswith("json") else raw.decode())


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])  # utime + stime


def metric(name):
    _, text = http("GET", "/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wrk(path, script=None, args=(), duration=DURATION, conns=CONNS):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", os.path.join(HERE, script)]
    cmd += [BASE + path]
    if args:
        cmd += ["--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "errors": non2xx + errors, "requests": total}


def main():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("ORDERFLOW_") and not k.startswith("ORDERFLOW_TEST_"):
            del env[k]
    env.update({
        "ORDERFLOW_HTTP__BIND": f"127.0.0.1:{PORT}",
        "ORDERFLOW_LOG__LEVEL": "warn",
        "ORDERFLOW_ADAPTERS__MAILER": "log",
        "ORDERFLOW_BOOTSTRAP__ADMIN_EMAIL": ADMIN[0],
        "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD": ADMIN[1],
        "ORDERFLOW_BOOTSTRAP__DEMO_CATALOG": "false",
        # The login workload is one client hammering one account: lift the throttle
        # for it only; argon2 strength stays at its production setting.
        "ORDERFLOW_AUTH__LOGIN_PER_EMAIL": "100000000",
        "ORDERFLOW_AUTH__LOGIN_PER_CLIENT": "100000000",
    })
    args = [BIN]
    if MODE == "local":
        env["ORDERFLOW_PROFILE"] = "local"
        run = f"bench{int(time.time())}"
        env.update({"ORDERFLOW_MONGO__DATABASE": run, "ORDERFLOW_SQS__QUEUE_NAME": run,
                    "ORDERFLOW_SQS__DLQ_NAME": run + "-dlq", "ORDERFLOW_REDIS__KEY_PREFIX": run + ":"})
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(ROOT, "target", f"bench-{MODE}.log"), "w"))
    try:
        while True:
            try:
                if http("GET", "/readyz")[0] == 200:
                    break
            except Exception:
                pass
            if proc.poll() is not None:
                sys.exit("orderflow exited during start-up")
            time.sleep(0.001)
        ready_ms = (time.perf_counter() - started) * 1000
        time.sleep(1)
        idle_kib = rss_kib(proc.pid)

        _, t = http("POST", "/api/auth/login", {"email": ADMIN[0], "password": ADMIN[1]})
        admin = t["access_token"]
        http("POST", "/api/products", {"sku": "BENCH", "name": "Bench", "price_cents": 100, "stock": 1_000_000_000}, admin)
        email = f"bench-{int(time.time())}@example.com"
        http("POST", "/api/auth/register", {"email": email, "password": "bench-password"})
        _, t = http("POST", "/api/auth/login", {"email": email, "password": "bench-password"})
        token = t["access_token"]
        _, o = http("POST", "/api/orders", {"items": [{"sku": "BENCH", "quantity": 1}]}, token)
        for _ in range(500):
            _, cur = http("GET", f"/api/orders/{o['id']}", token=token)
            if cur["status"] != "pending":
                break
            time.sleep(0.01)
        for _ in range(5):  # warm the cache and the connection paths
            http("GET", f"/api/orders/{o['id']}", token=token)
        # One hash costs about one sequential login.
        t0 = time.perf_counter()
        for _ in range(5):
            http("POST", "/api/auth/login", {"email": email, "password": "bench-password"})
        login_ms = (time.perf_counter() - t0) / 5 * 1000

        rows = []
        wrk("/healthz", duration=2)  # warm-up
        ticks0 = cpu_ticks(proc.pid)
        health = wrk("/healthz")
        health["cpu_ms"] = (cpu_ticks(proc.pid) - ticks0) * 10 / max(health["requests"], 1)
        rows.append(("GET /healthz", health))
        for name, path, script, a in [
            ("GET /api/orders/{id} (cached)", f"/api/orders/{o['id']}", "auth_get.lua", [token]),
            ("GET /api/orders?limit=20", "/api/orders?limit=20", "auth_get.lua", [token]),
            ("POST /api/orders", "/api/orders", "place.lua", [token, "BENCH"]),
            ("POST /api/auth/login", "/api/auth/login", "login.lua", [email, "bench-password"]),
        ]:
            ticks0 = cpu_ticks(proc.pid)
            r = wrk(path, script, a)
            r["cpu_ms"] = (cpu_ticks(proc.pid) - ticks0) * 10 / max(r["requests"], 1)
            rows.append((name, r))
        peak_http_kib = rss_kib(proc.pid, "VmHWM")

        # Drain: place DRAIN orders as fast as possible, time until all are terminal.
        done0 = metric("orders_completed_total") + metric("orders_failed_total")
        placed0 = metric("orders_placed_total")
        t0 = time.perf_counter()
        while metric("orders_placed_total") - placed0 < DRAIN:
            wrk("/api/orders", "place.lua", [token, "BENCH"], duration=2)
        placed = metric("orders_placed_total") - placed0
        while metric("orders_completed_total") + metric("orders_failed_total") - done0 < placed:
            time.sleep(0.01)
        drain_s = time.perf_counter() - t0
        drain_rate = placed / drain_s
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    ceiling = rows[0][1]["rps"]
    cores = os.cpu_count()
    lines = [
        f"### {MODE} — {datetime.date.today()} — {cores} cores, {DURATION} s × {CONNS} connections (wrk, same machine)",
        "",
        "| workload | req/s | × /healthz | p50 ms | p99 ms | CPU ms/req | errors/non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows:
        flag = " ⚠" if r["errors"] else ""
        lines.append(f"| {name} | {r['rps']:.0f} | {r['rps'] / ceiling:.2f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['cpu_ms']:.3f} | {r['errors']}{flag} |")
    lines += [
        "",
        f"- one login sequentially (≈ one argon2id hash, 19 MiB, t=2): {login_ms:.1f} ms",
        f"- worker drain: {placed:.0f} orders placed and settled in {drain_s:.1f} s → {drain_rate:.0f} orders/s (placement-bound: placing and processing share the machine)",
        f"- start to /readyz 200: {ready_ms:.0f} ms; RSS idle {idle_kib / 1024:.1f} MiB, peak during the HTTP workloads {peak_http_kib / 1024:.1f} MiB",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    path = os.path.join(ROOT, "BENCHMARKS.md")
    head = "# Benchmarks\n\nProduced by `scripts/bench embedded` / `scripts/bench local`; newest run first.\n\n"
    old = open(path).read()[len(head):] if os.path.exists(path) and open(path).read().startswith(head) else ""
    with open(path, "w") as f:
        f.write(head + table + "\n" + old)


if __name__ == "__main__":
    main()
