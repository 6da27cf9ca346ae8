#!/usr/bin/env python3
"""fault-proxy.py - a loopback-only HTTP proxy in front of a local AWS peer (moto) that
injects the faults of issue 21 defect 12, for tests:

  --drop-answer A[,B...]   forward the first request of action A to the upstream (it is
                           carried out), then close the client's connection without an answer
  --drop-request A[,...]   close the connection of the first request of action A without
                           forwarding it (it is never carried out)
  --twice A[,...]          forward the first request of action A twice and answer with the
                           second answer (a retry of a request that was carried out)
  --times N                how many requests of each action are faulted (default 1)
  --lifetime S             the proxy exits after S seconds whatever happens (default 120)

The action is the query protocol's `Action=` (IAM, STS). It listens on 127.0.0.1 on a free
port, prints the port on stdout, and forwards only to a 127.0.0.1 upstream. Each fault is
logged on stderr.
"""
import argparse, http.client, http.server, os, sys, threading, urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--upstream", required=True)
p.add_argument("--drop-answer", default="")
p.add_argument("--drop-request", default="")
p.add_argument("--twice", default="")
p.add_argument("--times", type=int, default=1)
p.add_argument("--lifetime", type=float, default=120)
args = p.parse_args()

up = urllib.parse.urlsplit(args.upstream)
if up.scheme != "http" or up.hostname not in ("127.0.0.1", "localhost"):
    sys.exit("fault-proxy: the upstream must be http://127.0.0.1:PORT")
threading.Timer(args.lifetime, lambda: os._exit(0)).start()

def actions(s):
    return {a for a in s.split(",") if a}
faults = {"drop-answer": actions(args.drop_answer), "drop-request": actions(args.drop_request), "twice": actions(args.twice)}
counts = {}
lock = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def forward(self, body):
        c = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        c.request(self.command, self.path, body=body if body else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        out = (r.status, r.reason, [(k, v) for k, v in r.getheaders() if k.lower() not in HOP], data)
        c.close()
        return out

    def drop(self):
        self.close_connection = True
        import socket
        try: self.connection.shutdown(socket.SHUT_RDWR)
        except OSError: pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(n) if n else b""
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        fault = None
        with lock:
            for kind, names in faults.items():
                if action in names and counts.get((kind, action), 0) < args.times:
                    counts[(kind, action)] = counts.get((kind, action), 0) + 1
                    fault = kind
                    break
        if fault:
            print("fault-proxy: %s %s" % (fault, action), file=sys.stderr, flush=True)
        if fault == "drop-request":
            return self.drop()
        status, reason, headers, data = self.forward(body)
        if fault == "drop-answer":
            return self.drop()
        if fault == "twice":
            status, reason, headers, data = self.forward(body)
        self.send_response(status, reason)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
