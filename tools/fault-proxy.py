#!/usr/bin/env python3
"""fault-proxy.py - a loopback-only HTTP(S) proxy in front of a local peer (moto, or the
kube-apiserver of tools/kube-peer.sh) that injects faults, for tests (issue 21).

Named faults (defect 12: lost answers), for the query protocol's `Action=` (IAM, STS):
  --drop-answer A[,B...]   forward the first request of action A to the upstream (it is
                           carried out), then close the client's connection without an answer
  --drop-request A[,...]   close the connection of the first request of action A without
                           forwarding it (it is never carried out)
  --twice A[,...]          forward the first request of action A twice and answer with the
                           second answer (a retry of a request that was carried out)
  --times N                how many requests of each action are faulted (default 1)

Faults at a seeded rate (the fault-injection trials), on any request:
  --rate R                 the fraction of requests (0..1) that meet a fault
  --seed S                 the seed (default 1). Whether a request meets a fault, and which, is
                           a function of the seed, the request (method, path, body) and how many
                           times the same request came before: the same run meets the same faults
                           whatever the order in which concurrent requests arrive.
  --faults K[,K...]        the kinds drawn from (default all): throttle (AWS `Throttling` 400 /
                           EKS `ThrottlingException` 429 / Kubernetes 429), 429 (with
                           Retry-After: 1), 5xx (500 or 503), reset-before (the connection
                           closed before the request is forwarded: never carried out),
                           reset-after (forwarded and carried out, then the connection closed:
                           the answer is lost)
  --log FILE               one line per faulted request: kind, method, path, action

Upstream and listening:
  --upstream URL           http://127.0.0.1:PORT or https://127.0.0.1:PORT (loopback only)
  --upstream-ca FILE       the CA that signs an https upstream's certificate (verified)
  --tls-cert F --tls-key K serve TLS with this certificate (e.g. one for IP 127.0.0.1 signed by
                           the kube peer's CA, so that a client's strict name check passes)
  --lifetime S             the proxy exits after S seconds whatever happens (default 120)

It listens on 127.0.0.1 on a free port and prints the port on stdout. Streamed answers (a
Kubernetes watch, chunked or unsized) are passed on as they come. Each fault is logged on stderr.
"""
import argparse, hashlib, http.client, http.server, json, os, socket, ssl, sys, threading, urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--upstream", required=True)
p.add_argument("--upstream-ca", default="")
p.add_argument("--tls-cert", default="")
p.add_argument("--tls-key", default="")
p.add_argument("--drop-answer", default="")
p.add_argument("--drop-request", default="")
p.add_argument("--twice", default="")
p.add_argument("--times", type=int, default=1)
p.add_argument("--rate", type=float, default=0.0)
p.add_argument("--seed", default="1")
p.add_argument("--faults", default="throttle,429,5xx,reset-before,reset-after")
p.add_argument("--log", default="")
p.add_argument("--lifetime", type=float, default=120)
args = p.parse_args()

up = urllib.parse.urlsplit(args.upstream)
if up.scheme not in ("http", "https") or up.hostname not in ("127.0.0.1", "localhost"):
    sys.exit("fault-proxy: the upstream must be http(s)://127.0.0.1:PORT")
KINDS = ("throttle", "429", "5xx", "reset-before", "reset-after")
kinds = [k for k in args.faults.split(",") if k]
if any(k not in KINDS for k in kinds) or not kinds:
    sys.exit("fault-proxy: --faults takes " + ",".join(KINDS))
if not 0 <= args.rate <= 1:
    sys.exit("fault-proxy: --rate is a fraction from 0 to 1")
threading.Timer(args.lifetime, lambda: os._exit(0)).start()

upstream_ctx = None
if up.scheme == "https":
    upstream_ctx = ssl.create_default_context(cafile=args.upstream_ca or None)

def actions(s):
    return {a for a in s.split(",") if a}
faults = {"drop-answer": actions(args.drop_answer), "drop-request": actions(args.drop_request), "twice": actions(args.twice)}
counts = {}
seen = {}
lock = threading.Lock()
logf = open(args.log, "a", buffering=1) if args.log else None
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}

def draw(method, path, body):
    """The seeded fault of this request, or None."""
    if args.rate <= 0 or path.startswith("/moto-api/"):
        return None
    key = hashlib.sha256(b"%s %s\n" % (method.encode(), path.encode()) + body).hexdigest()
    with lock:
        n = seen.get(key, 0)
        seen[key] = n + 1
    h = hashlib.sha256(("%s|%s|%d" % (args.seed, key, n)).encode()).digest()
    if int.from_bytes(h[:8], "big") / 2.0**64 >= args.rate:
        return None
    return kinds[int.from_bytes(h[8:12], "big") % len(kinds)]

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def connect(self):
        if up.scheme == "https":
            return http.client.HTTPSConnection(up.hostname, up.port or 443, timeout=120, context=upstream_ctx)
        return http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)

    def forward(self, body):
        c = self.connect()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        c.request(self.command, self.path, body=body if body else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        out = (r.status, r.reason, [(k, v) for k, v in r.getheaders() if k.lower() not in HOP], data)
        c.close()
        return out

    def drop(self):
        self.close_connection = True
        try: self.connection.shutdown(socket.SHUT_RDWR)
        except OSError: pass

    def answer(self, status, reason, headers, data):
        self.send_response(status, reason)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def synthetic(self, kind, action):
        """The answer a throttled or failing AWS service or API server gives."""
        kube = up.scheme == "https"
        if kind == "5xx":
            status = 503 if int(hashlib.sha256(self.path.encode()).hexdigest(), 16) % 2 else 500
        else:
            status = 429
        retry = [("Retry-After", "1")] if kind == "429" or (kube and status != 500) else []
        if kube:
            reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}[status]
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "fault-proxy: injected %s" % kind, "reason": reason, "code": status}).encode()
            return status, [("Content-Type", "application/json")] + retry, body
        code = {429: "Throttling", 500: "InternalFailure", 503: "ServiceUnavailable"}[status]
        if action:   # the query protocol (IAM, STS): an XML error; AWS throttles with a 400
            if kind == "throttle": status = 400
            body = ("<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>fault-proxy: injected %s"
                    "</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
                    % ("Sender" if status < 500 else "Receiver", code, kind)).encode()
            return status, [("Content-Type", "text/xml")] + retry, body
        code = {"Throttling": "ThrottlingException", "InternalFailure": "ServerException"}.get(code, code)
        body = json.dumps({"message": "fault-proxy: injected %s" % kind}).encode()
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)] + retry, body

    def stream(self, body):
        """Forwards the request and passes the answer on as it comes (watches)."""
        c = self.connect()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        c.request(self.command, self.path, body=body if body else None, headers=headers)
        r = c.getresponse()
        sized = r.getheader("Content-Length") is not None and r.getheader("Transfer-Encoding") is None
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP: self.send_header(k, v)
        if sized:
            data = r.read()
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                while True:
                    chunk = r.read1(65536)
                    if not chunk: break
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        c.close()
        self.close_connection = True

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
        if fault is None:
            fault = draw(self.command, self.path, body)
        if fault:
            line = "fault-proxy: %s %s %s %s" % (fault, self.command, self.path.split("?")[0], action)
            print(line, file=sys.stderr, flush=True)
            if logf: logf.write(line + "\n")
        try:
            if fault in ("drop-request", "reset-before"):
                return self.drop()
            if fault in ("throttle", "429", "5xx"):
                status, headers, data = self.synthetic(fault, action)
                return self.answer(status, None, headers, data)
            if fault in ("drop-answer", "reset-after"):
                self.forward(body)
                return self.drop()
            if fault == "twice":
                self.forward(body)
                return self.answer(*self.forward(body))
            return self.stream(body)
        except (OSError, http.client.HTTPException) as e:
            # Not an injected fault: the upstream failed (or the client left). Logged as such.
            line = "fault-proxy: upstream-error %s %s %s (%s)" % (self.command, self.path.split("?")[0], action, e)
            print(line, file=sys.stderr, flush=True)
            if logf: logf.write(line + "\n")
            return self.drop()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    def get_request(self):
        sock, addr = super().get_request()
        if args.tls_cert:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            ctx.set_alpn_protocols(["http/1.1"])
            sock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr
    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(30)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

s = Server(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
