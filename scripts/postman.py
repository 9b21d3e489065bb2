#!/usr/bin/env python3
# Writes postman_collection.json: `python3 scripts/postman.py > postman_collection.json`.
# Every request carries test scripts; scripts/e2e runs the result with newman.
import json, uuid

def req(name, method, path, body=None, auth=None, headers=None, tests="", prerequest=""):
    h = [{"key": "Content-Type", "value": "application/json"}] if body is not None else []
    if auth:
        h.append({"key": "Authorization", "value": "Bearer {{" + auth + "}}"})
    for k, v in (headers or {}).items():
        h.append({"key": k, "value": v})
    item = {
        "name": name,
        "request": {
            "method": method,
            "header": h,
            "url": {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": [p for p in path.split("?")[0].split("/") if p]},
        },
        "event": [],
    }
    if "?" in path:
        q = path.split("?", 1)[1]
        item["request"]["url"]["query"] = [{"key": kv.split("=")[0], "value": kv.split("=", 1)[1]} for kv in q.split("&")]
    if body is not None:
        item["request"]["body"] = {"mode": "raw", "raw": body if isinstance(body, str) else json.dumps(body, indent=2),
                                   "options": {"raw": {"language": "json"}}}
    if prerequest:
        item["event"].append({"listen": "prerequest", "script": {"type": "text/javascript", "exec": prerequest.strip().split("\n")}})
    if tests:
        item["event"].append({"listen": "test", "script": {"type": "text/javascript", "exec": tests.strip().split("\n")}})
    return item

def problem(status, code):
    return f"""
pm.test("status {status}", () => pm.response.to.have.status({status}));
pm.test("problem+json with code {code}", () => {{
  pm.expect(pm.response.headers.get("Content-Type")).to.include("application/problem+json");
  const b = pm.response.json();
  pm.expect(b.code).to.eql("{code}");
  pm.expect(b.status).to.eql({status});
  pm.expect(b.request_id).to.be.a("string");
}});
"""

folders = []

folders.append({"name": "Ops", "item": [
    req("Health", "GET", "/healthz", tests='pm.test("200 ok", () => { pm.response.to.have.status(200); pm.expect(pm.response.json().status).to.eql("ok"); });'),
    req("Ready", "GET", "/readyz", tests='pm.test("200 ready", () => pm.response.to.have.status(200));'),
    req("OpenAPI document", "GET", "/openapi.json", tests='pm.test("documents the order routes", () => { pm.response.to.have.status(200); pm.expect(pm.response.json().paths).to.have.property("/api/orders"); });'),
    req("Unknown route is a 404 problem", "GET", "/api/nowhere", tests=problem(404, "not_found")),
]})

folders.append({"name": "Auth", "item": [
    req("Register", "POST", "/api/auth/register", {"email": "{{email}}", "password": "{{password}}"},
        prerequest='''
// runTag lets a script find this run's emails; by hand, a fresh tag each run.
const tag = pm.variables.get("runTag") || (Date.now() + "-" + Math.floor(Math.random() * 1e6));
pm.collectionVariables.set("email", `newman-${tag}@example.com`);
pm.collectionVariables.set("otherEmail", `newman-other-${tag}@example.com`);
pm.collectionVariables.set("sku", `NEWMAN-${tag}`);
pm.collectionVariables.set("idemKey", `idem-${tag}`);
''',
        tests='''
pm.test("201 created", () => pm.response.to.have.status(201));
const b = pm.response.json();
pm.test("returns the account", () => {
  pm.expect(b.email).to.eql(pm.collectionVariables.get("email"));
  pm.expect(b.role).to.eql("customer");
  pm.expect(b.id).to.be.a("string");
  pm.expect(b).to.not.have.property("password");
});
pm.collectionVariables.set("userId", b.id);
'''),
    req("Register again: email_taken", "POST", "/api/auth/register", {"email": "{{email}}", "password": "{{password}}"}, tests=problem(409, "email_taken")),
    req("Register with a short password: validation_failed", "POST", "/api/auth/register", {"email": "short@example.com", "password": "short"}, tests=problem(422, "validation_failed")),
    req("Login with a wrong password", "POST", "/api/auth/login", {"email": "{{email}}", "password": "wrong-password"}, tests=problem(401, "unauthorized")),
    req("Login", "POST", "/api/auth/login", {"email": "{{email}}", "password": "{{password}}"}, tests='''
pm.test("200 with a token pair", () => pm.response.to.have.status(200));
const b = pm.response.json();
pm.test("bearer tokens", () => { pm.expect(b.token_type).to.eql("Bearer"); pm.expect(b.expires_in).to.be.above(0); });
pm.collectionVariables.set("accessToken", b.access_token);
pm.collectionVariables.set("refreshToken", b.refresh_token);
'''),
    req("Me", "GET", "/api/auth/me", auth="accessToken", tests='''
pm.test("200 me", () => pm.response.to.have.status(200));
pm.test("is the logged-in user", () => pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get("email")));
'''),
    req("Me without a token", "GET", "/api/auth/me", tests=problem(401, "unauthorized")),
    req("Refresh", "POST", "/api/auth/refresh", {"refresh_token": "{{refreshToken}}"}, tests='''
pm.test("200 new pair", () => pm.response.to.have.status(200));
const b = pm.response.json();
pm.test("the refresh token rotated", () => pm.expect(b.refresh_token).to.not.eql(pm.collectionVariables.get("refreshToken")));
pm.collectionVariables.set("rotatedRefreshToken", pm.collectionVariables.get("refreshToken"));
pm.collectionVariables.set("accessToken", b.access_token);
pm.collectionVariables.set("refreshToken", b.refresh_token);
'''),
    req("Refresh with the rotated token again at once: the same new token (a lost answer, a second tab)", "POST", "/api/auth/refresh", {"refresh_token": "{{rotatedRefreshToken}}"}, tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("the same successor", () => pm.expect(pm.response.json().refresh_token).to.eql(pm.collectionVariables.get("refreshToken")));
'''),
    req("Refresh with the new token: the login moves on", "POST", "/api/auth/refresh", {"refresh_token": "{{refreshToken}}"}, tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.collectionVariables.set("refreshToken", pm.response.json().refresh_token);
'''),
    req("Refresh with the rotated token: reuse revokes the login", "POST", "/api/auth/refresh", {"refresh_token": "{{rotatedRefreshToken}}"}, tests=problem(401, "unauthorized")),
    req("Refresh with the newest token now fails too", "POST", "/api/auth/refresh", {"refresh_token": "{{refreshToken}}"}, tests=problem(401, "unauthorized")),
    req("Login again", "POST", "/api/auth/login", {"email": "{{email}}", "password": "{{password}}"}, tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.collectionVariables.set("accessToken", pm.response.json().access_token);
pm.collectionVariables.set("refreshToken", pm.response.json().refresh_token);
'''),
    req("Ask for a password-reset link", "POST", "/api/auth/password-reset", {"email": "{{email}}"}, tests='pm.test("202", () => pm.response.to.have.status(202));'),
    req("Ask for an address without an account: the same answer", "POST", "/api/auth/password-reset", {"email": "nobody-at-all@example.com"}, tests='pm.test("202", () => pm.response.to.have.status(202));'),
    req("Ask with no address: validation_failed", "POST", "/api/auth/password-reset", {"email": "not an address"}, tests=problem(422, "validation_failed")),
    req("Reset with a made-up token: invalid_reset_token", "POST", "/api/auth/password-reset/confirm", {"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "password": "a-brand-new-password"}, tests=problem(400, "invalid_reset_token")),
    req("Reset with a short password: validation_failed", "POST", "/api/auth/password-reset/confirm", {"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "password": "short"}, tests=problem(422, "validation_failed")),
    req("Admin login", "POST", "/api/auth/login", {"email": "{{adminEmail}}", "password": "{{adminPassword}}"}, tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.collectionVariables.set("adminToken", pm.response.json().access_token);
'''),
]})

folders.append({"name": "Products", "item": [
    req("List products", "GET", "/api/products?limit=2", tests='''
pm.test("200 page", () => pm.response.to.have.status(200));
const b = pm.response.json();
pm.test("at most 2 items and a cursor field", () => { pm.expect(b.items.length).to.be.at.most(2); pm.expect(b).to.have.property("next_cursor"); });
'''),
    req("Get a demo product", "GET", "/api/products/SKU-MOUSE", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("shape", () => { const p = pm.response.json(); pm.expect(p.sku).to.eql("SKU-MOUSE"); pm.expect(p.price_cents).to.be.a("number"); pm.expect(p.currency).to.eql("USD"); });
'''),
    req("Unknown product", "GET", "/api/products/NO-SUCH-SKU", tests=problem(404, "not_found")),
    req("Create product (admin)", "POST", "/api/products", {"sku": "{{sku}}", "name": "Newman test lamp", "price_cents": 4500, "stock": 5}, auth="adminToken", tests='''
pm.test("201", () => pm.response.to.have.status(201));
pm.test("stored as sent", () => { const p = pm.response.json(); pm.expect(p.stock).to.eql(5); pm.expect(p.currency).to.eql("USD"); });
'''),
    req("Create it again: sku_taken", "POST", "/api/products", {"sku": "{{sku}}", "name": "Dup", "price_cents": 1, "stock": 1}, auth="adminToken", tests=problem(409, "sku_taken")),
    req("Create as a customer: forbidden", "POST", "/api/products", {"sku": "X-{{sku}}", "name": "Nope", "price_cents": 1, "stock": 1}, auth="accessToken", tests=problem(403, "forbidden")),
    req("Restock (admin)", "PATCH", "/api/products/{{sku}}", {"stock_delta": 5, "price_cents": 4000}, auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("stock and price changed", () => { const p = pm.response.json(); pm.expect(p.stock).to.eql(10); pm.expect(p.price_cents).to.eql(4000); });
'''),
    req("Stock below zero: insufficient_stock", "PATCH", "/api/products/{{sku}}", {"stock_delta": -11}, auth="adminToken", tests=problem(409, "insufficient_stock")),
]})

folders.append({"name": "Orders", "item": [
    req("Place an order", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 2}]}, auth="accessToken", headers={"Idempotency-Key": "{{idemKey}}"}, tests='''
pm.test("202 accepted", () => pm.response.to.have.status(202));
const o = pm.response.json();
pm.test("pending with prices snapshotted", () => {
  pm.expect(o.status).to.eql("pending");
  pm.expect(o.items[0].unit_price_cents).to.eql(4000);
  pm.expect(o.total_cents).to.eql(8000);
  pm.expect(o.user_id).to.eql(pm.collectionVariables.get("userId"));
});
pm.collectionVariables.set("orderId", o.id);
pm.collectionVariables.set("polls", 0);
'''),
    req("Same Idempotency-Key, same body: same order", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 2}]}, auth="accessToken", headers={"Idempotency-Key": "{{idemKey}}"}, tests='''
pm.test("202", () => pm.response.to.have.status(202));
pm.test("the same order", () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get("orderId")));
'''),
    req("Same Idempotency-Key, other body: idempotency_conflict", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 3}]}, auth="accessToken", headers={"Idempotency-Key": "{{idemKey}}"}, tests=problem(422, "idempotency_conflict")),
    req("Unknown SKU: unknown_sku", "POST", "/api/orders", {"items": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, auth="accessToken", tests=problem(422, "unknown_sku")),
    req("More than in stock: insufficient_stock", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 1000}]}, auth="accessToken", tests=problem(409, "insufficient_stock")),
    req("Fractional quantity: validation_failed", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 1.5}]}, auth="accessToken", tests=problem(422, "validation_failed")),
    req("Malformed JSON: invalid_json", "POST", "/api/orders", '{"items": [', auth="accessToken", tests=problem(400, "invalid_json")),
    req("Order without a token", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 1}]}, tests=problem(401, "unauthorized")),
    req("Get the order until it completes", "GET", "/api/orders/{{orderId}}", auth="accessToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
const o = pm.response.json();
const polls = Number(pm.collectionVariables.get("polls"));
if (o.status === "pending" && polls < 40) {
  pm.collectionVariables.set("polls", polls + 1);
  setTimeout(() => {}, 250);
  postman.setNextRequest("Get the order until it completes");
} else {
  pm.test("completed by the worker", () => pm.expect(o.status).to.eql("completed"));
  pm.test("history pending -> completed", () => pm.expect(o.history.map(h => h.status)).to.eql(["pending", "completed"]));
  pm.test("X-Cache header present", () => pm.expect(["hit", "miss"]).to.include(pm.response.headers.get("X-Cache")));
}
'''),
    req("Get it again: served from the cache", "GET", "/api/orders/{{orderId}}", auth="accessToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("X-Cache: hit", () => pm.expect(pm.response.headers.get("X-Cache")).to.eql("hit"));
'''),
    req("Follow its status live: the completed order, then the stream ends", "GET", "/api/orders/{{orderId}}/events", auth="accessToken", headers={"Accept": "text/event-stream"}, tests='''
pm.test("200 text/event-stream", () => {
  pm.response.to.have.status(200);
  pm.expect(pm.response.headers.get("Content-Type")).to.include("text/event-stream");
});
pm.test("one event with the completed order", () => {
  const body = pm.response.text();
  pm.expect(body).to.include("event: order");
  const data = body.split("\\n").filter(l => l.startsWith("data:")).map(l => JSON.parse(l.slice(5)));
  pm.expect(data.length).to.eql(1);
  pm.expect(data[0].id).to.eql(pm.collectionVariables.get("orderId"));
  pm.expect(data[0].status).to.eql("completed");
});
'''),
    req("Follow it having seen its last state: the stream ends at once", "GET", "/api/orders/{{orderId}}/events", auth="accessToken", headers={"Accept": "text/event-stream", "Last-Event-ID": "2"}, tests='''
pm.test("200, no event", () => {
  pm.response.to.have.status(200);
  pm.expect(pm.response.text()).to.not.include("event: order");
});
'''),
    req("Stock was taken once", "GET", "/api/products/{{sku}}", tests='''
pm.test("10 - 2 = 8 left", () => pm.expect(pm.response.json().stock).to.eql(8));
'''),
    req("List my orders", "GET", "/api/orders?limit=20", auth="accessToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("contains the order once", () => pm.expect(pm.response.json().items.filter(o => o.id === pm.collectionVariables.get("orderId")).length).to.eql(1));
'''),
    req("List with limit=0: validation_failed", "GET", "/api/orders?limit=0", auth="accessToken", tests=problem(422, "validation_failed")),
    req("Cancel a completed order: invalid_state", "POST", "/api/orders/{{orderId}}/cancel", auth="accessToken", tests=problem(409, "invalid_state")),
    req("Place an order to cancel", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 1}]}, auth="accessToken", tests='''
pm.test("202", () => pm.response.to.have.status(202));
pm.collectionVariables.set("cancelId", pm.response.json().id);
'''),
    req("Cancel it", "POST", "/api/orders/{{cancelId}}/cancel", auth="accessToken", tests='''
// The embedded worker may settle the order within a millisecond, so either the
// cancel wins (200, cancelled) or the worker did (409 invalid_state): never both.
const b = pm.response.json();
pm.test("one winner", () => {
  if (pm.response.code === 200) {
    pm.expect(b.status).to.eql("cancelled");
    pm.expect(b.history.map(h => h.status)).to.eql(["pending", "cancelled"]);
  } else {
    pm.expect(pm.response.code).to.eql(409);
    pm.expect(b.code).to.eql("invalid_state");
  }
});
'''),
    req("Register another user", "POST", "/api/auth/register", {"email": "{{otherEmail}}", "password": "{{password}}"}, tests='pm.test("201", () => pm.response.to.have.status(201));'),
    req("Login as the other user", "POST", "/api/auth/login", {"email": "{{otherEmail}}", "password": "{{password}}"}, tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.collectionVariables.set("otherToken", pm.response.json().access_token);
'''),
    req("Another user's order is not found", "GET", "/api/orders/{{orderId}}", auth="otherToken", tests=problem(404, "not_found")),
    req("Another user cannot follow it either", "GET", "/api/orders/{{orderId}}/events", auth="otherToken", tests=problem(404, "not_found")),
    req("An admin may read it", "GET", "/api/orders/{{orderId}}", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("it is the first user's", () => pm.expect(pm.response.json().user_id).to.eql(pm.collectionVariables.get("userId")));
'''),
]})

folders.append({"name": "Admin order desk", "item": [
    req("Find a customer's orders (admin), newest first", "GET", "/api/admin/orders?user_id={{userId}}&limit=5", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
const items = pm.response.json().items;
pm.test("only that customer's, newest first", () => {
  pm.expect(items.length).to.be.above(0);
  items.forEach(o => pm.expect(o.user_id).to.eql(pm.collectionVariables.get("userId")));
  for (let i = 1; i < items.length; i++) pm.expect(Date.parse(items[i - 1].created_at) >= Date.parse(items[i].created_at)).to.eql(true);
});
'''),
    req("Find completed orders with the SKU (filters combine)", "GET", "/api/admin/orders?status=completed&sku={{sku}}", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
const items = pm.response.json().items;
pm.test("the completed order is there, and only completed ones with the SKU", () => {
  pm.expect(items.map(o => o.id)).to.include(pm.collectionVariables.get("orderId"));
  items.forEach(o => {
    pm.expect(o.status).to.eql("completed");
    pm.expect(o.items.map(l => l.sku)).to.include(pm.collectionVariables.get("sku"));
  });
});
'''),
    req("Find with an unknown status: validation_failed", "GET", "/api/admin/orders?status=shipped", auth="adminToken", tests=problem(422, "validation_failed")),
    req("Find as a customer: forbidden", "GET", "/api/admin/orders", auth="accessToken", tests=problem(403, "forbidden")),
    req("Look the customer up (admin)", "GET", "/api/admin/users/{{userId}}", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
const u = pm.response.json();
pm.test("id, email, role, created_at", () => {
  pm.expect(u.id).to.eql(pm.collectionVariables.get("userId"));
  pm.expect(u.email).to.eql(pm.collectionVariables.get("email"));
  pm.expect(u.role).to.eql("customer");
  pm.expect(u.created_at).to.be.a("string");
});
'''),
    req("Place an order for the desk to cancel", "POST", "/api/orders", {"items": [{"sku": "{{sku}}", "quantity": 1}]}, auth="accessToken", tests='''
pm.test("202", () => pm.response.to.have.status(202));
pm.collectionVariables.set("deskCancelId", pm.response.json().id);
'''),
    req("Cancel it from the desk (admin)", "POST", "/api/admin/orders/{{deskCancelId}}/cancel", auth="adminToken", tests='''
// As with the customer's cancel, the embedded worker may settle it first.
const b = pm.response.json();
pm.test("one winner", () => {
  if (pm.response.code === 200) {
    pm.expect(b.status).to.eql("cancelled");
    pm.expect(b.history[1].reason).to.eql("cancelled by an administrator");
  } else {
    pm.expect(pm.response.code).to.eql(409);
    pm.expect(b.code).to.eql("invalid_state");
  }
});
'''),
    req("Cancel it again: invalid_state", "POST", "/api/admin/orders/{{deskCancelId}}/cancel", auth="adminToken", tests=problem(409, "invalid_state")),
]})

folders.append({"name": "Webhooks", "item": [
    req("Add a webhook (admin)", "POST", "/api/admin/webhooks", {"url": "http://127.0.0.1:9/orderflow-hook", "events": ["order.completed", "order.failed"]}, auth="adminToken", tests='''
pm.test("201", () => pm.response.to.have.status(201));
const h = pm.response.json();
pm.test("a Standard Webhooks secret, shown once", () => {
  pm.expect(h.secret).to.match(/^whsec_[A-Za-z0-9+/]+=*$/);
  pm.expect(h.events).to.eql(["order.completed", "order.failed"]);
});
pm.collectionVariables.set("hookId", h.id);
pm.collectionVariables.set("hookSecret", h.secret);
'''),
    req("Add one with an ftp URL: validation_failed", "POST", "/api/admin/webhooks", {"url": "ftp://example.com/", "events": ["*"]}, auth="adminToken", tests=problem(422, "validation_failed")),
    req("Add one for an unknown event: validation_failed", "POST", "/api/admin/webhooks", {"url": "http://127.0.0.1:9/", "events": ["order.shipped"]}, auth="adminToken", tests=problem(422, "validation_failed")),
    req("Add one as a customer: forbidden", "POST", "/api/admin/webhooks", {"url": "http://127.0.0.1:9/", "events": ["*"]}, auth="accessToken", tests=problem(403, "forbidden")),
    req("List webhooks (admin)", "GET", "/api/admin/webhooks", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
const mine = pm.response.json().items.find(h => h.id === pm.collectionVariables.get("hookId"));
pm.test("listed, without its secret", () => {
  pm.expect(mine).to.be.an("object");
  pm.expect(mine).to.not.have.property("secret");
});
'''),
    req("Rotate its secret (admin)", "POST", "/api/admin/webhooks/{{hookId}}/rotate-secret", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("a new secret", () => {
  const s = pm.response.json().secret;
  pm.expect(s).to.match(/^whsec_/);
  pm.expect(s).to.not.eql(pm.collectionVariables.get("hookSecret"));
});
'''),
    req("Its delivery log (admin)", "GET", "/api/admin/webhooks/{{hookId}}/deliveries?limit=10", auth="adminToken", tests='''
pm.test("200", () => pm.response.to.have.status(200));
pm.test("a page", () => pm.expect(pm.response.json().items).to.be.an("array"));
'''),
    req("The log with a bad cursor: validation_failed", "GET", "/api/admin/webhooks/{{hookId}}/deliveries?cursor=nope", auth="adminToken", tests=problem(422, "validation_failed")),
    req("Redeliver an unknown event: not_found", "POST", "/api/admin/webhooks/{{hookId}}/events/evt_nope_0/redeliver", auth="adminToken", tests=problem(404, "not_found")),
    req("Remove it (admin)", "DELETE", "/api/admin/webhooks/{{hookId}}", auth="adminToken", tests='pm.test("204", () => pm.response.to.have.status(204));'),
    req("Remove it again: not_found", "DELETE", "/api/admin/webhooks/{{hookId}}", auth="adminToken", tests=problem(404, "not_found")),
]})

folders.append({"name": "Logout", "item": [
    req("Change the password with a wrong current one: wrong_password", "POST", "/api/auth/password", {"current_password": "not-the-password", "new_password": "another horse battery"}, auth="accessToken", tests=problem(403, "wrong_password")),
    req("Change the password", "POST", "/api/auth/password", {"current_password": "{{password}}", "new_password": "another horse battery"}, auth="accessToken", tests='pm.test("204", () => pm.response.to.have.status(204));'),
    req("The caller's login goes on", "GET", "/api/auth/me", auth="accessToken", tests='pm.test("200", () => pm.response.to.have.status(200));'),
    req("Logout", "POST", "/api/auth/logout", {"refresh_token": "{{refreshToken}}"}, tests='pm.test("204", () => pm.response.to.have.status(204));'),
    req("Refresh after logout fails", "POST", "/api/auth/refresh", {"refresh_token": "{{refreshToken}}"}, tests=problem(401, "unauthorized")),
]})

collection = {
    "info": {
        "_postman_id": "6f1c2b0e-8d4a-4c1e-9b7a-0rderf10w000",
        "name": "Orderflow",
        "description": "Every Orderflow endpoint with test scripts. Start the service (`cargo run --release`), then run in Postman or `newman run postman_collection.json`. Variables: baseUrl, adminEmail/adminPassword (the embedded profile's documented admin).",
        "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
    },
    "item": folders,
    "variable": [
        {"key": "baseUrl", "value": "http://127.0.0.1:8080"},
        {"key": "runTag", "value": ""},
        {"key": "password", "value": "correct horse battery"},
        {"key": "adminEmail", "value": "admin@orderflow.local"},
        {"key": "adminPassword", "value": "orderflow-admin-dev"},
        {"key": "email", "value": ""},
        {"key": "otherEmail", "value": ""},
        {"key": "sku", "value": ""},
        {"key": "idemKey", "value": ""},
        {"key": "userId", "value": ""},
        {"key": "accessToken", "value": ""},
        {"key": "refreshToken", "value": ""},
        {"key": "rotatedRefreshToken", "value": ""},
        {"key": "adminToken", "value": ""},
        {"key": "otherToken", "value": ""},
        {"key": "orderId", "value": ""},
        {"key": "cancelId", "value": ""},
        {"key": "polls", "value": "0"},
        {"key": "hookId", "value": ""},
        {"key": "hookSecret", "value": ""},
    ],
}
collection["info"]["_postman_id"] = "6f1c2b0e-8d4a-4c1e-9b7a-5e1f0a7d2c11"
print(json.dumps(collection, indent=2))
