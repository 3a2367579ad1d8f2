#!/usr/bin/env python3
"""A webhook receiver for the center's tests (python http.server on loopback).

    webhooksink.py DIR PORT_FILE [STATUS]

Stores each POST body as DIR/NNNN.json (with the request headers in DIR/NNNN.hdr)
and answers STATUS (default 200). Writes the bound port to PORT_FILE once listening.
"""
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

D, PORT_FILE = sys.argv[1], sys.argv[2]
STATUS = int(sys.argv[3]) if len(sys.argv) > 3 else 200
LOCK = threading.Lock()
COUNT = [0]


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with LOCK:
            COUNT[0] += 1
            base = os.path.join(D, "%04d" % COUNT[0])
        with open(base + ".hdr", "w") as f:
            f.write(str(self.headers))
        with open(base + ".json.tmp", "wb") as f:
            f.write(body)
        os.rename(base + ".json.tmp", base + ".json")
        self.send_response(STATUS)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


os.makedirs(D, exist_ok=True)
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
