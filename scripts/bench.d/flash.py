"""scripts/bench flash: a flash sale on the local stack. One SKU with FLASH_STOCK units
(5000), FLASH_ORDERS one-unit orders (10000): half placed before the workers start,
half while they run; settled by 1 worker process, then (on fresh stand-ins) by 4.

Checks, for each: no oversell (stock 0, exactly FLASH_STOCK completed, the rest
failed), every order terminal, one email per order (the workers' mail counters), and
reports the drain rate, the settlement tries retried because the stock moved under them,
and the ratio of 4 workers' rate to 1's.

Knobs: FLASH_ORDERS, FLASH_STOCK, FLASH_WORKERS ("1 4"), FLASH_LIMIT (s, 600),
FLASH_SQS=localstack to use LocalStack's SQS instead of moto (moto slows down as its
queue fills: every call scans the whole queue).
"""
import datetime, os, subprocess, sys, threading, time

import bench

ORDERS = int(os.environ.get("FLASH_ORDERS", "10000"))
STOCK = int(os.environ.get("FLASH_STOCK", "5000"))
WORKERS = [int(n) for n in os.environ.get("FLASH_WORKERS", "1 4").split()]
LIMIT = float(os.environ.get("FLASH_LIMIT", "600"))
SQS = os.environ.get("FLASH_SQS", "moto")


def start_worker(env, i):
    port = bench.PORT + 30 + i
    log = open(os.path.join(bench.ROOT, "target", f"bench-flash-worker{i}.log"), "w")
    env = dict(env, ORDERFLOW_OPS__BIND=f"127.0.0.1:{port}")
    return subprocess.Popen([bench.BIN, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=log), port


def counter(port, name):
    return bench.metric(name, ops=f"http://127.0.0.1:{port}")


def settled_by(ports):
    """Orders the workers have completed or failed, by their own counters."""
    return sum(counter(p, "orders_completed_total") + counter(p, "orders_failed_total") for p in ports)


def place(token, n):
    """Places `n` one-unit orders of FLASH from 8 client threads; some may be refused
    with 409 once the product's copy shows it sold out, which is an answer too."""
    accepted = [0]
    lock = threading.Lock()

    def loop(k):
        for _ in range(k):
            status, _ = bench.http_status("POST", "/api/orders", {"items": [{"sku": "FLASH", "quantity": 1}]}, token)
            if status == 202:
                with lock:
                    accepted[0] += 1
            elif status != 409:
                sys.exit(f"placing the flash sale's orders: HTTP {status}")
    ts = [threading.Thread(target=loop, args=(n // 8 + (1 if i < n % 8 else 0),)) for i in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return accepted[0]


def run(workers):
    bench.restart_services()
    env = bench.base_env()
    if SQS == "localstack":
        env["ORDERFLOW_AWS__ENDPOINT_URL"] = os.environ.get("ORDERFLOW_TEST_LOCALSTACK_ENDPOINT", "http://127.0.0.1:4567")
    db = env["ORDERFLOW_MONGO__DATABASE"]
    mongo = bench.Mongo()
    api = bench.start("api", env)
    procs = [api]
    try:
        bench.wait_ready(api)
        _, t = bench.http("POST", "/api/auth/login", {"email": bench.ADMIN[0], "password": bench.ADMIN[1]})
        bench.http("POST", "/api/products", {"sku": "FLASH", "name": "Flash", "price_cents": 100, "stock": STOCK}, t["access_token"])
        users = bench.prepare()
        _, token = users["load"]
        accepted = place(token, ORDERS // 2)
        orders = mongo.client[db].orders
        while orders.count_documents({"published": False}) > 0:
            time.sleep(0.2)
        t0 = time.perf_counter()
        ports = []
        for i in range(workers):
            p, port = start_worker(env, i)
            procs.append(p)
            ports.append(port)
        accepted += place(token, ORDERS - ORDERS // 2)
        # Watched through the workers' own counters: counting pending orders in MongoDB
        # scans them, and every 0.2 s that took a fifth of the stand-in at 10,000.
        while settled_by(ports) < accepted and time.perf_counter() - t0 < LIMIT:
            time.sleep(0.5)
        # A new connection: the stand-in closes one left idle that long.
        mongo = bench.Mongo()
        orders = mongo.client[db].orders
        while orders.count_documents({"status": "pending"}) > 0 and time.perf_counter() - t0 < LIMIT:
            time.sleep(2)
        took = time.perf_counter() - t0
        time.sleep(2)  # the last emails
        pending = orders.count_documents({"status": "pending"})
        completed = orders.count_documents({"status": "completed"})
        failed = orders.count_documents({"status": "failed"})
        stock = mongo.client[db].products.find_one({"_id": "FLASH"})["stock"]
        mailed = sum(counter(p, "mail_sends_total") for p in ports)
        conflicts = sum(counter(p, "store_conflict_retries_total") for p in ports)
        commands = sum(counter(p, "store_commands_total") for p in ports)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    settled = completed + failed
    return {
        "workers": workers, "accepted": accepted, "settled": settled, "pending": pending,
        "completed": completed, "failed": failed, "stock": stock, "mailed": mailed,
        "conflicts": conflicts, "took": took, "rate": settled / took, "commands": commands / max(settled, 1),
    }


def main():
    results = [run(n) for n in WORKERS]
    lines = [
        f"### flash — {datetime.date.today()} — commit {bench.commit()} — one SKU with {STOCK} units, {ORDERS} one-unit orders (half before the workers start, half while they run), SQS on {SQS}",
        "",
        "| workers | accepted | completed | failed | pending | stock left | emails | settled/s | conflict retries | worker MongoDB commands per order |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ok = r["completed"] == min(STOCK, r["accepted"]) and r["stock"] == max(0, STOCK - r["accepted"]) and r["pending"] == 0 and r["mailed"] == r["settled"]
        lines.append(
            f"| {r['workers']} | {r['accepted']} | {r['completed']} | {r['failed']} | {r['pending']} | {r['stock']} | {r['mailed']:.0f} | "
            f"{r['rate']:.0f} | {r['conflicts']:.0f} | {r['commands']:.2f} |" + ("" if ok else " ⚠"))
    if len(results) > 1:
        lines += ["", f"{results[-1]['workers']} workers settle at {results[-1]['rate'] / results[0]['rate']:.2f} × the rate of {results[0]['workers']}."]
    lines.append("")
    table = "\n".join(lines)
    print(table)
    bench.prepend(table)
