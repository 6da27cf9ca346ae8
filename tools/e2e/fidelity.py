#!/usr/bin/env python3
"""fidelity.py - helper of tools/e2e/fidelity.sh (not a test itself).

  fidelity.py kubectl-manifest FILE OUT   the manifest as the real kubectl is given it: FILE with
                                          the two changes sgk makes for a 1.20 server (COMMANDS.md,
                                          kubectl apply): CRDs lose `x-kubernetes-validations` (CEL,
                                          1.25+), which the server refuses, and a Service port
                                          without `protocol` gets its default `TCP` (a list-map key
                                          that 1.20's server-side apply requires: "associative
                                          list with keys has an element that omits key field")
  fidelity.py stubs FILE SERVED OUT       a List of each document's identity (apiVersion, kind,
                                          name, namespace) whose type is in SERVED (the lines of
                                          `kubectl api-resources`), for `kubectl get -f`; prints
                                          the other documents, one "Kind/name apiVersion" a line
  fidelity.py absent STUBS JSON           the documents of STUBS that a `kubectl get -o json` List
                                          lacks, one "Kind name" a line
  fidelity.py normalise JSON              one line per object of a `kubectl get -o json` List,
                                          sorted, without what the server or its controllers set on
                                          their own (uid, resourceVersion, timestamps, managed
                                          fields, status, allocated IPs and ports, generated names)
"""
import json, sys, yaml

def docs(path):
    # BaseLoader: every scalar as text (prometheus-operator's CRDs hold a `=` key, which the safe
    # loader refuses); enough for identities, and the CRD edit below keeps scalars' text.
    with open(path) as f:
        return [d for d in yaml.load_all(f, Loader=yaml.BaseLoader) if isinstance(d, dict)]

def strip_validations(node):
    if isinstance(node, dict):
        node.pop("x-kubernetes-validations", None)
        for v in node.values(): strip_validations(v)
    elif isinstance(node, list):
        for v in node: strip_validations(v)

class Loader(yaml.SafeLoader):
    pass
# prometheus-operator's CRDs hold a `=` key, which PyYAML reads as the tag "value".
Loader.add_constructor("tag:yaml.org,2002:value", lambda l, n: l.construct_scalar(n))

def kubectl_manifest(path, out):
    with open(path) as f:
        ds = [d for d in yaml.load_all(f, Loader=Loader) if isinstance(d, dict)]
    for d in ds:
        if d.get("kind") == "CustomResourceDefinition":
            strip_validations(d)
        if d.get("kind") == "Service":
            for port in (d.get("spec") or {}).get("ports") or []:
                port.setdefault("protocol", "TCP")
    with open(out, "w") as f:
        yaml.safe_dump_all(ds, f, sort_keys=False)

def stubs(path, served_file, out):
    served = set()
    for line in open(served_file):
        cols = line.split()
        if len(cols) >= 3:
            served.add((cols[-3], cols[-1]))   # APIVERSION NAMESPACED KIND
    items, missing = [], []
    for d in docs(path):
        meta = d.get("metadata") or {}
        if (d.get("apiVersion"), d.get("kind")) in served:
            m = {"name": meta.get("name")}
            if meta.get("namespace"): m["namespace"] = meta["namespace"]
            items.append({"apiVersion": d["apiVersion"], "kind": d["kind"], "metadata": m})
        else:
            missing.append("%s/%s %s" % (d.get("kind"), meta.get("name"), d.get("apiVersion")))
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(out, "w"))
    for m in missing: print(m)

def absent(stubs, got):
    text = open(got).read().strip()
    have = {(o["kind"], o["metadata"]["name"]) for o in (json.loads(text).get("items", []) if text else [])}
    for o in json.load(open(stubs))["items"]:
        if (o["kind"], o["metadata"]["name"]) not in have:
            print(o["kind"], o["metadata"]["name"])

def normalise(path):
    text = open(path).read().strip()
    if not text:
        return
    rows = []
    for o in json.loads(text).get("items", []):
        meta = o.get("metadata", {})
        for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"):
            meta.pop(k, None)
        ann = meta.get("annotations", {})
        for a in ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision"):
            ann.pop(a, None)
        if meta.get("annotations") == {}: meta.pop("annotations")
        o.pop("status", None)
        kind, spec = o.get("kind"), o.get("spec") or {}
        if kind == "ServiceAccount":
            o.pop("secrets", None)          # the token controller's Secret, a random name
        if kind == "Service":
            for k in ("clusterIP", "clusterIPs", "healthCheckNodePort"): spec.pop(k, None)
            for p in spec.get("ports", []): p.pop("nodePort", None)
        if kind == "Job":                   # the job controller's selector: the Job's own uid
            for labels in (spec.get("selector", {}).get("matchLabels", {}),
                           spec.get("template", {}).get("metadata", {}).get("labels", {})):
                labels.pop("controller-uid", None)
                labels.pop("batch.kubernetes.io/controller-uid", None)
        rows.append(json.dumps(o, sort_keys=True))
    for r in sorted(rows): print(r)

cmd = sys.argv[1] if len(sys.argv) > 1 else ""
if cmd == "kubectl-manifest" and len(sys.argv) == 4: kubectl_manifest(*sys.argv[2:])
elif cmd == "stubs" and len(sys.argv) == 5: stubs(*sys.argv[2:])
elif cmd == "absent" and len(sys.argv) == 4: absent(*sys.argv[2:])
elif cmd == "normalise" and len(sys.argv) == 3: normalise(sys.argv[2])
else: sys.exit(__doc__)
