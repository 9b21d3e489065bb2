#!/usr/bin/env python3
"""A webhook endpoint for scripts/e2e: answers 500 to the first FAIL_FIRST requests,
then 204, and appends every request (headers, body, answer) to a JSON-lines file.

    webhook_receiver.py PORT LOG [FAIL_FIRST]
"""
import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 3
lock = threading.Lock()
seen = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            status = 500 if seen < fail_first else 204
            seen += 1
            with open(log, "a") as f:
                f.write(json.dumps({
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": base64.b64encode(body).decode(),
                    "status": status,
                }) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
