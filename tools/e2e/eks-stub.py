#!/usr/bin/env python3
"""What EKS adds to a Kubernetes API server, on 127.0.0.1, for tools/e2e/eks-in-process.sh.

    eks-stub.py DIR CLUSTER PEER_STATE MOTO_URL

- GET /clusters/CLUSTER answers DescribeCluster (moto cannot set a cluster's endpoint): the
  cluster's endpoint and CA are the local API server's (PEER_STATE/server, PEER_STATE/ca.crt),
  read at each request.
- POST /tokenreview is the API server's TokenReview webhook, doing what EKS's authenticator
  does with a `k8s-aws-v1.` token: decode the presigned STS GetCallerIdentity URL, require
  `x-k8s-aws-id` among its signed headers, check its SigV4 signature for CLUSTER (with the test
  credentials' secret key, as STS would: a token signed for another cluster fails here), then
  run the GetCallerIdentity against moto (MOTO_URL, loopback) and map the ARN it answers to a
  user in system:masters.

Writes its port to DIR/port and one line per token review to DIR/reviews. Stops after 300 s."""
import base64, datetime, hashlib, hmac, json, os, sys, threading, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

d, cluster, peer, moto = sys.argv[1:5]
secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "testing")
lock = threading.Lock()


def note(line):
    with lock, open(os.path.join(d, "reviews"), "a") as f:
        f.write(line + "\n")


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def review(token):
    """The username of a valid token, or raises ValueError with the reason."""
    if not token.startswith("k8s-aws-v1."):
        raise ValueError("not a k8s-aws-v1. token")
    b64 = token[len("k8s-aws-v1."):]
    url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    params = dict(q)
    if params.get("Action") != "GetCallerIdentity":
        raise ValueError("not a GetCallerIdentity")
    signed = params.get("X-Amz-SignedHeaders", "").split(";")
    if "x-k8s-aws-id" not in signed:
        raise ValueError("x-k8s-aws-id is not signed")
    when = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 15 * 60:
        raise ValueError("expired")
    cred = params["X-Amz-Credential"].split("/")
    scope = "/".join(cred[1:])
    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted((k, v) for k, v in q if k != "X-Amz-Signature"))
    headers = {"host": u.netloc, "x-k8s-aws-id": cluster}
    canonical = "\n".join(["GET", u.path or "/", query,
                           "".join(f"{h}:{headers[h]}\n" for h in signed), ";".join(signed),
                           hashlib.sha256(b"").hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in cred[1:]:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), params.get("X-Amz-Signature", "")):
        raise ValueError(f"the signature is not for cluster {cluster}")
    # STS answers who signed it (moto, on loopback only). moto's server picks the service from
    # an Authorization header's credential scope, not from a presigned URL's query: the same
    # signature is sent in header form.
    if not moto.startswith(("http://127.", "http://localhost")):
        raise ValueError("moto is not on loopback")
    sts = moto.rstrip("/") + "/?Action=GetCallerIdentity&Version=2011-06-15"
    auth = (f"AWS4-HMAC-SHA256 Credential={params['X-Amz-Credential']}, "
            f"SignedHeaders={params['X-Amz-SignedHeaders']}, Signature={params['X-Amz-Signature']}")
    req = urllib.request.Request(sts, headers={"x-k8s-aws-id": cluster, "X-Amz-Date": params["X-Amz-Date"],
                                               "Authorization": auth})
    body = urllib.request.urlopen(req, timeout=10).read()
    arn = next(e.text for e in ET.fromstring(body).iter() if e.tag.endswith("Arn"))
    return arn


class Handler(BaseHTTPRequestHandler):
    def send(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.split("?")[0] != f"/clusters/{cluster}":
            return self.send(404, {"__type": "ResourceNotFoundException", "message": f"No cluster found for name: {self.path}."})
        server = open(os.path.join(peer, "server")).read().strip()
        ca = base64.b64encode(open(os.path.join(peer, "ca.crt"), "rb").read()).decode()
        self.send(200, {"cluster": {
            "name": cluster, "arn": f"arn:aws:eks:us-west-2:123456789012:cluster/{cluster}",
            "endpoint": server, "certificateAuthority": {"data": ca}, "status": "ACTIVE", "version": "1.20",
            "identity": {"oidc": {"issuer": f"https://oidc.eks.us-west-2.amazonaws.com/id/{cluster.upper()}STUB"}},
            "roleArn": "arn:aws:iam::123456789012:role/eks"}})

    def do_POST(self):
        doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        token = doc.get("spec", {}).get("token", "")
        out = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview"}
        try:
            arn = review(token)
            out["status"] = {"authenticated": True, "user": {"username": arn, "uid": "aws-iam-authenticator:" + arn,
                                                             "groups": ["system:masters"]}}
            note(f"accepted {arn}")
        except Exception as e:  # a bad token is a refusal, never a crash
            why = str(e) or type(e).__name__
            out["status"] = {"authenticated": False, "error": why}
            note(f"refused: {why}")
        self.send(200, out)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
threading.Timer(300, server.shutdown).start()
server.serve_forever()
