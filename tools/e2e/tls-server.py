#!/usr/bin/env python3
"""A stand-in https API server on 127.0.0.1 for tools/e2e/tls-refusals.sh.

    tls-server.py DIR CASE   (CASE: ip-only, other-name, cn-only, other-ca, server-name)

Makes, in DIR, a CA and a serving certificate with the names CASE needs (with the
`cryptography` package), serves https on a free port, writes DIR/port, DIR/ca.crt
(the CA a client should trust: for other-ca, a CA that did NOT sign the server's
certificate) and appends one line to DIR/requests for every HTTP request it is
sent. It serves just enough discovery for `get namespace default`, which every GET else answers. Stops after 120 s."""
import datetime, ipaddress, json, os, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

d, case = sys.argv[1], sys.argv[2]
now = datetime.datetime.now(datetime.timezone.utc)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


ca_key, ca = make_ca("tls-refusals CA")
sans = {
    "ip-only": [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    "other-name": [x509.DNSName("api.elsewhere.example")],
    "cn-only": None,
    "other-ca": [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    "server-name": [x509.DNSName("kubernetes.default.svc")],
}[case]
key = ec.generate_private_key(ec.SECP256R1())
builder = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
           .public_key(key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(hours=2)))
if sans is not None:
    builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
cert = builder.sign(ca_key, hashes.SHA256())
pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
with open(os.path.join(d, "server.crt"), "wb") as f:
    f.write(pem(cert))
with open(os.path.join(d, "server.key"), "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
trusted = make_ca("another CA")[1] if case == "other-ca" else ca
with open(os.path.join(d, "ca.crt"), "wb") as f:
    f.write(pem(trusted))

lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with lock, open(os.path.join(d, "requests"), "a") as f:
            f.write(f"{self.command} {self.path}\n")
        path = self.path.split("?")[0]
        if path == "/api":
            doc = {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        elif path == "/apis":
            doc = {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        elif path == "/api/v1":
            doc = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "namespaces", "singularName": "", "namespaced": False, "kind": "Namespace",
                 "verbs": ["get", "list"], "shortNames": ["ns"]}]}
        else:
            doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
threading.Timer(120, server.shutdown).start()
server.serve_forever()
