#!/usr/bin/env python3
"""Prints signing test vectors made by the Standard Webhooks reference library
(PyPI `standardwebhooks`), for adapters/auth/tests/standard_webhooks_vectors.json:

    pip install standardwebhooks==1.1.0
    python3 scripts/webhook-vectors.py > adapters/auth/tests/standard_webhooks_vectors.json
"""
import base64
import json
from datetime import datetime, timezone

import standardwebhooks

CASES = [
    # (key bytes, message id, unix timestamp, body)
    (bytes(range(24)), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
    (bytes(range(32)), "evt_0192b1f2a3c47d8e9f0a1b2c3d4e5f60_0", 1764547200,
     '{"type":"order.placed","timestamp":"2026-12-01T00:00:00.000Z","data":{"order":{"id":"x"}}}'),
    (b"\xff" * 64, "evt_0192b1f2a3c47d8e9f0a1b2c3d4e5f60_1", 2000000000,
     '{"type":"order.completed","data":{"order":{"name":"caf\u00e9 \u2603"}}}'),
    (bytes([7] * 40), "id with spaces", 0, ""),
]

vectors = []
for key, msg_id, ts, body in CASES:
    secret = "whsec_" + base64.b64encode(key).decode()
    hook = standardwebhooks.Webhook(secret)
    signature = hook.sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)
    vectors.append({"secret": secret, "id": msg_id, "timestamp": ts, "body": body,
                    "signature": signature})
print(json.dumps({"library": "standardwebhooks (PyPI) " + "1.1.0", "vectors": vectors}, indent=2,
                 ensure_ascii=False))
