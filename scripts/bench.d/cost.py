"""scripts/bench cost: what one order costs on the local stack, read from the product's
own counters (orderflow_store_commands_total, orderflow_queue_requests_total, CPU from
/proc), for one `api` and one `worker` process at a steady offered rate.

Knobs: COST_RATE (orders/s offered, 100), COST_SECS (20), IDLE_SECS (60),
IDLE_WARMUP (35: background looks back off while idle, up to ops.idle_scan_max_ms, and
the idle window starts once they have); BENCH_SET (or COST_SET) as in bench.py.

1. Fresh stand-ins; the api and the worker started; a product with ample stock.
2. Idle: both processes' counters over IDLE_SECS with no order, after IDLE_WARMUP: the
   background every process costs before the first customer, per process per second.
3. Load: COST_RATE orders/s for COST_SECS from a paced client; then until every order
   is terminal. Per settled order: SQS requests by action, MongoDB commands by command
   and collection (the idle background over the same time subtracted), API CPU per
   placement and worker CPU per settled order.
4. Cross-checks over the load: MongoDB's own serverStatus opcounters, and SQS requests
   counted by a proxy in front of the emulator, against the product's sums.
"""
import datetime, http.server, os, queue as queues, re, threading, time, urllib.request

import bench

RATE = float(os.environ.get("COST_RATE", "100"))
SECS = float(os.environ.get("COST_SECS", "20"))
IDLE_SECS = float(os.environ.get("IDLE_SECS", "60"))
IDLE_WARMUP = float(os.environ.get("IDLE_WARMUP", "35"))
PROXY_PORT = bench.PORT + 10
UPSTREAM = bench.AWS


class SqsCounter(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the emulator and counts it by its X-Amz-Target
    (SQS's JSON protocol names the action there)."""
    counts: dict = {}
    lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        action = (self.headers.get("x-amz-target") or "query").rsplit(".", 1)[-1]
        with self.lock:
            self.counts[action] = self.counts.get(action, 0) + 1
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method="POST")
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, headers, payload = r.status, r.headers.items(), r.read()
        except urllib.error.HTTPError as e:
            status, headers, payload = e.code, e.headers.items(), e.read()
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def scrape(role):
    """Every counter of one process: {series: value}, series as rendered."""
    _, text = bench.http("GET", "/metrics", base=f"http://127.0.0.1:{bench.OPS_PORTS[role]}")
    out = {}
    for line in text.splitlines():
        if line.startswith("orderflow_") and " " in line:
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def family(counters, name):
    """The samples of one family: {labels: value}."""
    out = {}
    for series, v in counters.items():
        if series == name:
            out[""] = v
        elif series.startswith(name + "{"):
            out[series[len(name) + 1:-1]] = v
    return out


def delta(after, before, name):
    a, b = family(after, name), family(before, name)
    return {k: v - b.get(k, 0.0) for k, v in a.items() if v - b.get(k, 0.0) > 0}


def label(labels, key):
    m = re.search(key + r'="([^"]*)"', labels)
    return m.group(1) if m else ""


def paced(token, rate, secs):
    """Offers `rate` orders/s for `secs` from a pool of client threads; returns how many
    were accepted and how many got any other answer."""
    n = int(rate * secs)
    jobs = queues.Queue()
    t0 = time.perf_counter() + 0.2
    for i in range(n):
        jobs.put(t0 + i / rate)
    ok, bad = [0], [0]
    lock = threading.Lock()

    def loop():
        while True:
            try:
                at = jobs.get_nowait()
            except queues.Empty:
                return
            wait = at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                status, _ = bench.http("POST", "/api/orders", {"items": [{"sku": "BENCH", "quantity": 1}]}, token)
            except Exception:
                status = 0
            with lock:
                (ok if status == 202 else bad)[0] += 1
    threads = [threading.Thread(target=loop) for _ in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return ok[0], bad[0]


def main():
    bench.restart_services()
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", PROXY_PORT), SqsCounter)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    env = bench.base_env()
    env["ORDERFLOW_AWS__ENDPOINT_URL"] = f"http://127.0.0.1:{PROXY_PORT}"
    db = env["ORDERFLOW_MONGO__DATABASE"]
    mongo = bench.Mongo()
    api = bench.start("api", env)
    procs = [api]
    try:
        bench.wait_ready(api)
        worker = bench.start("worker", env)
        procs.append(worker)
        users = bench.prepare()
        _, token = users["load"]
        # Start-up work (indexes, first scans) is over, and the idle looks have backed
        # off, once both have run a while.
        time.sleep(IDLE_WARMUP)

        idle0 = {r: scrape(r) for r in ("api", "worker")}
        ticks0 = {r: bench.cpu_ticks(p.pid) for r, p in (("api", api), ("worker", worker))}
        time.sleep(IDLE_SECS)
        idle1 = {r: scrape(r) for r in ("api", "worker")}
        ticks1 = {r: bench.cpu_ticks(p.pid) for r, p in (("api", api), ("worker", worker))}
        idle = {}
        for r in ("api", "worker"):
            idle[r] = {
                "store": {k: v / IDLE_SECS for k, v in delta(idle1[r], idle0[r], "orderflow_store_commands_total").items()},
                "queue": {k: v / IDLE_SECS for k, v in delta(idle1[r], idle0[r], "orderflow_queue_requests_total").items()},
                "cpu_ms_s": (ticks1[r] - ticks0[r]) * 10 / IDLE_SECS,
            }
        print(f"idle: {idle}", flush=True)

        before = {r: scrape(r) for r in ("api", "worker")}
        ticks0 = {r: bench.cpu_ticks(p.pid) for r, p in (("api", api), ("worker", worker))}
        ops0 = mongo.client.admin.command("serverStatus")["opcounters"]
        with SqsCounter.lock:
            proxied0 = dict(SqsCounter.counts)
        t0 = time.perf_counter()
        accepted, refused = paced(token, RATE, SECS)
        offered_s = time.perf_counter() - t0
        placed_ticks = bench.cpu_ticks(api.pid) - ticks0["api"]
        deadline = time.perf_counter() + 180
        while mongo.pending(db) > 0 and time.perf_counter() < deadline:
            time.sleep(0.5)
        left = mongo.pending(db)
        # Let owed emails and the last acks go out before the counters are read.
        time.sleep(2)
        elapsed = time.perf_counter() - t0
        after = {r: scrape(r) for r in ("api", "worker")}
        ticks1 = {r: bench.cpu_ticks(p.pid) for r, p in (("api", api), ("worker", worker))}
        ops1 = mongo.client.admin.command("serverStatus")["opcounters"]
        with SqsCounter.lock:
            proxied1 = dict(SqsCounter.counts)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        proxy.shutdown()

    settled = sum(delta(after["worker"], before["worker"], n).get("", 0) for n in ("orderflow_orders_completed_total", "orderflow_orders_failed_total"))
    settled = max(settled, 1)
    store, queue = {}, {}
    for r in ("api", "worker"):
        for k, v in delta(after[r], before[r], "orderflow_store_commands_total").items():
            key = (label(k, "command"), label(k, "collection") or "-")
            store[key] = store.get(key, 0) + v - idle[r]["store"].get(k, 0) * elapsed
        for k, v in delta(after[r], before[r], "orderflow_queue_requests_total").items():
            key = label(k, "action")
            queue[key] = queue.get(key, 0) + v - idle[r]["queue"].get(k, 0) * elapsed
    store_raw = sum(sum(delta(after[r], before[r], "orderflow_store_commands_total").values()) for r in ("api", "worker"))
    queue_raw = sum(sum(delta(after[r], before[r], "orderflow_queue_requests_total").values()) for r in ("api", "worker"))
    server_ops = sum(ops1[k] - ops0[k] for k in ("insert", "query", "update", "delete", "getmore", "command"))
    proxied = sum(proxied1.values()) - sum(proxied0.values())
    mails = sum(delta(after["worker"], before["worker"], "orderflow_mail_sends_total").values())
    conflicts = sum(delta(after["worker"], before["worker"], "orderflow_store_conflict_retries_total").values())
    api_cpu = placed_ticks * 10 / max(accepted, 1)
    worker_cpu = (ticks1["worker"] - ticks0["worker"] - idle["worker"]["cpu_ms_s"] * elapsed / 10) * 10 / settled

    total_store = sum(store.values()) / settled
    total_queue = sum(queue.values()) / settled
    lines = [
        f"### cost — {datetime.date.today()} — commit {bench.commit()} — one `api` + one `worker` on the local stack, {RATE:.0f} orders/s offered for {SECS:.0f} s",
        "",
        f"{accepted} orders accepted ({refused} refused) in {offered_s:.1f} s; {settled:.0f} settled, {left} still pending after {elapsed:.0f} s; "
        f"{mails:.0f} emails sent; {conflicts:.0f} settlement retries. Per settled order, the idle background over the same {elapsed:.0f} s subtracted:",
        "",
        "| per settled order | count |",
        "|---|---:|",
        f"| **SQS requests** | **{total_queue:.2f}** |",
    ]
    lines += [f"| … {a} | {v / settled:.3f} |" for a, v in sorted(queue.items(), key=lambda kv: -kv[1])]
    lines.append(f"| **MongoDB commands** | **{total_store:.2f}** |")
    lines += [f"| … {c} {coll} | {v / settled:.3f} |" for (c, coll), v in sorted(store.items(), key=lambda kv: -kv[1])]
    lines += [
        f"| API CPU ms per placement | {api_cpu:.3f} |",
        f"| worker CPU ms per settled order | {worker_cpu:.3f} |",
        "",
        "Idle, no order (per process, per second):",
        "",
        "| process | MongoDB commands/s | SQS requests/s | CPU ms/s |",
        "|---|---:|---:|---:|",
    ]
    for r in ("api", "worker"):
        st = idle[r]["store"]
        by = ", ".join(f"{label(k, 'command')} {label(k, 'collection')} {v:.2f}" for k, v in sorted(st.items(), key=lambda kv: -kv[1]))
        lines.append(f"| {r} | {sum(st.values()):.2f} ({by or 'none'}) | {sum(idle[r]['queue'].values()):.2f} | {idle[r]['cpu_ms_s']:.1f} |")
    lines += [
        "",
        f"Cross-checks over the load (idle included, not subtracted): the processes counted {store_raw:.0f} MongoDB commands, "
        f"the server's serverStatus opcounters rose by {server_ops} (this script's own reads included); they counted {queue_raw:.0f} SQS requests, "
        f"a proxy in front of the emulator forwarded {proxied}.",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    bench.prepend(table)
