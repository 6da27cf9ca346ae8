#!/usr/bin/env python3
"""The EKS operations moto 5.2.1 does not answer, on 127.0.0.1, for tests only.

    eks-api-stub.py DIR MOTO_URL [--addons FILE] [--page-cap N] [--ttl SECONDS]

Point sgk (and the real `aws`) at it with AWS_ENDPOINT_URL_EKS=$(cat DIR/url) (or
`aws eks … --endpoint-url URL`); IAM and STS stay on moto (AWS_ENDPOINT_URL).

It answers, from botocore's EKS model (2017-11-01), with the model's field names, types, HTTP
status codes and errors (the error's name in the `x-amzn-ErrorType` header, the shape's members
in a JSON body), keeping its state in memory:

    POST   /clusters/NAME/pod-identity-associations        CreatePodIdentityAssociation
    GET    /clusters/NAME/pod-identity-associations        ListPodIdentityAssociations
           (?namespace=&serviceAccount=&maxResults=&nextToken=)
    GET    /clusters/NAME/pod-identity-associations/ID     DescribePodIdentityAssociation
    POST   /clusters/NAME/pod-identity-associations/ID     UpdatePodIdentityAssociation
    DELETE /clusters/NAME/pod-identity-associations/ID     DeletePodIdentityAssociation
    GET    /clusters/NAME/addons/ADDON                     DescribeAddon

The clusters themselves are moto's: ListClusters, CreateCluster, DescribeCluster and
DeleteCluster (`/clusters`, `/clusters/NAME`) are forwarded to MOTO_URL unchanged (moto picks
the region from the request's signature, as for a request sent to it directly), and every
operation above first asks moto whether the cluster exists in the request's region (a cluster
moto does not know is `ResourceNotFoundException`, as EKS says it). MOTO_URL must be a loopback
http URL: anything else is refused at start. Nothing else is forwarded anywhere: any other
path is a 404 `NotFoundException` in the EKS error shape.

Add-ons: none is installed unless seeded, from --addons FILE (JSON
`{"CLUSTER or *": {"ADDON": "STATUS" or {"status": …, "addonVersion": …, "issues": [{"code": …,
"message": …}]}}}`) or at run time by a control request (not an EKS path):

    PUT    /stub/addons/CLUSTER/ADDON?status=ACTIVE[&issue=CODE][&version=V]   installs it
    DELETE /stub/addons/CLUSTER/ADDON                                           removes it

`--page-cap N` makes ListPodIdentityAssociations answer at most N per page (EKS may answer
fewer than maxResults; clients must follow nextToken), so tests see pagination with few items.

Writes its port to DIR/port and its URL to DIR/url (atomically, once it listens), appends one
line per request to DIR/requests (`METHOD PATH STATUS`, control requests included), and stops
by itself after --ttl seconds (default 900)."""
import argparse, base64, json, os, random, re, signal, string, sys, threading, time, uuid
import http.client, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("moto")
ap.add_argument("--addons")
ap.add_argument("--page-cap", type=int, default=100)
ap.add_argument("--ttl", type=float, default=900)
args = ap.parse_args()

# A parent may have blocked or ignored the signals that stop it (a test runner's threads do, and
# a child inherits both): it stops on SIGTERM, SIGINT and SIGHUP whatever started it.
STOP = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP)
for sig in STOP:
    signal.signal(sig, signal.SIG_DFL)

moto = urllib.parse.urlsplit(args.moto)
if moto.scheme != "http" or moto.hostname not in ("127.0.0.1", "localhost", "::1"):
    sys.exit(f"eks-api-stub: MOTO_URL must be a loopback http URL, not {args.moto}")

lock = threading.Lock()
associations = {}   # cluster ARN -> {association id -> association}
tokens = {}         # (cluster ARN, clientRequestToken) -> association id
addons = {}         # cluster name or "*" -> {addon name -> addon spec}
ROLE_ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ADDON_STATUS = {"CREATING", "ACTIVE", "CREATE_FAILED", "UPDATING", "DELETING", "DELETE_FAILED", "DEGRADED", "UPDATE_FAILED"}
ISSUE_CODES = {"AccessDenied", "InternalFailure", "ClusterUnreachable", "InsufficientNumberOfReplicas", "ConfigurationConflict",
               "AdmissionRequestDenied", "UnsupportedAddonModification", "K8sResourceNotFound", "AddonSubscriptionNeeded",
               "AddonPermissionFailure"}
# The model's HTTP status of each error shape it answers.
ERRORS = {"ResourceNotFoundException": 404, "ResourceInUseException": 409, "InvalidParameterException": 400,
          "InvalidRequestException": 400, "NotFoundException": 404, "ServerException": 500}


class Fail(Exception):
    def __init__(self, kind, message, **members):
        super().__init__(message)
        self.kind, self.message, self.members = kind, message, members


def addon_spec(value):
    spec = {"status": value} if isinstance(value, str) else dict(value)
    if spec.get("status") not in ADDON_STATUS:
        raise ValueError(f"add-on status {spec.get('status')!r} is not one of {sorted(ADDON_STATUS)}")
    for i in spec.get("issues", []):
        if i.get("code") not in ISSUE_CODES:
            raise ValueError(f"add-on issue code {i.get('code')!r} is not one of {sorted(ISSUE_CODES)}")
    return spec


if args.addons:
    for cluster, named in json.load(open(args.addons)).items():
        addons[cluster] = {name: addon_spec(v) for name, v in named.items()}


def now():
    return round(time.time(), 3)


def new_id():
    return "a-" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(17))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, status):
        with lock, open(os.path.join(args.dir, "requests"), "a") as f:
            f.write(f"{self.command} {self.path} {status}\n")

    def reply(self, status, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.note(status)

    def fail(self, f):
        doc = {"message": f.message}
        doc.update({k: v for k, v in f.members.items() if v is not None})
        self.reply(ERRORS[f.kind], doc, [("x-amzn-ErrorType", f.kind)])

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # --- moto ---------------------------------------------------------------------------------

    def moto_request(self, method, path, body=b""):
        c = http.client.HTTPConnection(moto.hostname, moto.port or 80, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length", "transfer-encoding", "expect")}
        headers["Content-Length"] = str(len(body))
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()

    def forward(self, body):
        status, headers, data = self.moto_request(self.command, self.path, body)
        self.send_response(status)
        for k, v in headers:
            if k.lower() in ("content-type", "x-amzn-errortype", "x-amzn-requestid"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.note(status)

    def cluster(self, name):
        """moto's cluster NAME in the request's region (its ARN), or Fail."""
        status, _, data = self.moto_request("GET", "/clusters/" + urllib.parse.quote(name, safe=""))
        if status == 200:
            return json.loads(data)["cluster"]["arn"]
        if status == 404:
            raise Fail("ResourceNotFoundException", f"No cluster found for name: {name}.", clusterName=name)
        raise Fail("ServerException", f"moto answered DescribeCluster {name} with HTTP {status}", clusterName=name)

    # --- routing ------------------------------------------------------------------------------

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in u.path.split("/")[1:]]
        query = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        body = self.body()
        try:
            if parts and parts[0] == "stub":
                return self.control(parts[1:], query)
            if parts[:1] == ["clusters"] and len(parts) <= 2 and parts[-1] != "":
                return self.forward(body)
            if len(parts) >= 3 and parts[0] == "clusters":
                name = parts[1]
                rest = parts[2:]
                if rest == ["pod-identity-associations"] and self.command in ("POST", "GET"):
                    arn = self.cluster(name)
                    return self.create(arn, name, body) if self.command == "POST" else self.list(arn, name, query)
                if len(rest) == 2 and rest[0] == "pod-identity-associations" and self.command in ("GET", "POST", "DELETE"):
                    arn = self.cluster(name)
                    return {"GET": self.describe, "POST": self.update, "DELETE": self.delete}[self.command](arn, name, rest[1], body)
                if len(rest) == 2 and rest[0] == "addons" and self.command == "GET":
                    return self.addon(self.cluster(name), name, rest[1])
            raise Fail("NotFoundException", f"the EKS test stub does not answer {self.command} {u.path}")
        except Fail as f:
            self.fail(f)
        except (ValueError, KeyError, TypeError) as e:
            self.fail(Fail("InvalidParameterException", f"invalid request: {e}"))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = route

    # --- control ------------------------------------------------------------------------------

    def control(self, parts, query):
        if len(parts) == 3 and parts[0] == "addons" and self.command in ("PUT", "POST"):
            spec = {"status": query.get("status", "ACTIVE")}
            if query.get("version"):
                spec["addonVersion"] = query["version"]
            if query.get("issue"):
                spec["issues"] = [{"code": query["issue"], "message": query.get("message", f"{query['issue']} (set by the test stub)")}]
            with lock:
                addons.setdefault(parts[1], {})[parts[2]] = addon_spec(spec)
            return self.reply(200, {"ok": True})
        if len(parts) == 3 and parts[0] == "addons" and self.command == "DELETE":
            with lock:
                addons.get(parts[1], {}).pop(parts[2], None)
            return self.reply(200, {"ok": True})
        raise Fail("NotFoundException", f"no control request {self.command} /stub/{'/'.join(parts)}")

    # --- Pod Identity -------------------------------------------------------------------------

    @staticmethod
    def role(value, required):
        if value is None and not required:
            return None
        if not isinstance(value, str) or not ROLE_ARN.match(value):
            raise Fail("InvalidParameterException", f"roleArn {value!r} is not a valid IAM role ARN")
        return value

    def create(self, cluster_arn, name, raw):
        doc = json.loads(raw or b"{}")
        for field in ("namespace", "serviceAccount", "roleArn"):
            if not isinstance(doc.get(field), str) or not doc[field]:
                raise Fail("InvalidParameterException", f"{field} is required", clusterName=name)
        self.role(doc["roleArn"], True)
        target = self.role(doc.get("targetRoleArn"), False)
        tags = doc.get("tags") or {}
        if not isinstance(tags, dict) or len(tags) > 50:
            raise Fail("InvalidParameterException", "tags must be a map of at most 50 entries", clusterName=name)
        with lock:
            mine = associations.setdefault(cluster_arn, {})
            token = doc.get("clientRequestToken")
            if token and (cluster_arn, token) in tokens:
                a = mine.get(tokens[(cluster_arn, token)])
                if a and (a["namespace"], a["serviceAccount"], a["roleArn"]) == (doc["namespace"], doc["serviceAccount"], doc["roleArn"]):
                    return self.reply(200, {"association": a})
                raise Fail("InvalidRequestException", "the clientRequestToken was used for another request", clusterName=name)
            for a in mine.values():
                if (a["namespace"], a["serviceAccount"]) == (doc["namespace"], doc["serviceAccount"]):
                    raise Fail("ResourceInUseException", f"Association already exists: {a['associationId']}", clusterName=name)
            aid = new_id()
            t = now()
            a = {"clusterName": name, "namespace": doc["namespace"], "serviceAccount": doc["serviceAccount"],
                 "roleArn": doc["roleArn"],
                 "associationArn": cluster_arn.replace(":cluster/", ":podidentityassociation/", 1) + "/" + aid,
                 "associationId": aid, "tags": tags, "createdAt": t, "modifiedAt": t,
                 "disableSessionTags": bool(doc.get("disableSessionTags", False))}
            if target:
                a["targetRoleArn"] = target
                a["externalId"] = str(uuid.uuid4())
            if doc.get("policy"):
                a["policy"] = doc["policy"]
            mine[aid] = a
            if token:
                tokens[(cluster_arn, token)] = aid
        self.reply(200, {"association": a})

    def find(self, cluster_arn, name, aid):
        a = associations.get(cluster_arn, {}).get(aid)
        if a is None:
            raise Fail("ResourceNotFoundException", f"No Pod Identity Association found with id: {aid} in cluster: {name}.", clusterName=name)
        return a

    def describe(self, cluster_arn, name, aid, _):
        with lock:
            a = self.find(cluster_arn, name, aid)
        self.reply(200, {"association": a})

    def update(self, cluster_arn, name, aid, raw):
        doc = json.loads(raw or b"{}")
        role = self.role(doc.get("roleArn"), False)
        target = self.role(doc.get("targetRoleArn"), False)
        with lock:
            a = self.find(cluster_arn, name, aid)
            if role:
                a["roleArn"] = role
            if target is not None:
                a["targetRoleArn"] = target
            if "disableSessionTags" in doc:
                a["disableSessionTags"] = bool(doc["disableSessionTags"])
            if "policy" in doc:
                a["policy"] = doc["policy"]
            a["modifiedAt"] = now()
        self.reply(200, {"association": a})

    def delete(self, cluster_arn, name, aid, _):
        with lock:
            a = self.find(cluster_arn, name, aid)
            del associations[cluster_arn][aid]
        self.reply(200, {"association": a})

    def list(self, cluster_arn, name, query):
        size = 100
        if "maxResults" in query:
            try:
                size = int(query["maxResults"])
            except ValueError:
                size = 0
            if not 1 <= size <= 100:
                raise Fail("InvalidParameterException", "maxResults must be between 1 and 100", clusterName=name)
        size = min(size, args.page_cap)
        start = 0
        if query.get("nextToken"):
            try:
                start = int(base64.urlsafe_b64decode(query["nextToken"].encode()).decode().removeprefix("offset:"))
            except Exception:
                raise Fail("InvalidParameterException", "The nextToken is not valid", clusterName=name)
        with lock:
            rows = [a for a in associations.get(cluster_arn, {}).values()
                    if query.get("namespace") in (None, a["namespace"]) and query.get("serviceAccount") in (None, a["serviceAccount"])]
        page = rows[start:start + size]
        doc = {"associations": [{k: a[k] for k in ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId")}
                                for a in page]}
        if start + size < len(rows):
            doc["nextToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
        self.reply(200, doc)

    # --- add-ons ------------------------------------------------------------------------------

    def addon(self, cluster_arn, cluster, name):
        with lock:
            spec = addons.get(cluster, {}).get(name) or addons.get("*", {}).get(name)
        if spec is None:
            raise Fail("ResourceNotFoundException", f"No addon: {name} found in cluster: {cluster}", clusterName=cluster, addonName=name)
        t = now()
        self.reply(200, {"addon": {
            "addonName": name, "clusterName": cluster, "status": spec["status"],
            "addonVersion": spec.get("addonVersion", "v1.3.4-eksbuild.1"),
            "health": {"issues": [{"code": i["code"], "message": i.get("message", ""), "resourceIds": i.get("resourceIds", [])}
                                  for i in spec.get("issues", [])]},
            "addonArn": cluster_arn.replace(":cluster/", ":addon/", 1) + f"/{name}/" + str(uuid.uuid5(uuid.NAMESPACE_URL, cluster_arn + name)),
            "createdAt": t, "modifiedAt": t, "tags": {}, "podIdentityAssociations": []}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
port = server.server_address[1]
for name, text in (("port", str(port)), ("url", f"http://127.0.0.1:{port}")):
    with open(os.path.join(args.dir, name + ".tmp"), "w") as f:
        f.write(text + "\n")
    os.rename(os.path.join(args.dir, name + ".tmp"), os.path.join(args.dir, name))
threading.Timer(args.ttl, server.shutdown).start()
server.serve_forever()
