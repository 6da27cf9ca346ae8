# Sourced by tools/e2e/fault-trials.sh and kill-trials.sh (after common.bash; not a test itself).
# snapshot: the state an install makes and an uninstall removes, read directly from the peers
# with the real aws and kubectl: each IAM role (trust, attached and inline policies), each OIDC
# provider (URL, client IDs, thumbprints), and the installer's objects in the cluster, normalised
# (tools/e2e/fidelity.py normalise). Needs I (the installer) and E2E_STATE.
snapshot() {
  aws iam list-roles --output json | python3 -c '
import json, subprocess, sys
for r in sorted(json.load(sys.stdin)["Roles"], key=lambda r: r["RoleName"]):
    n = r["RoleName"]
    att = json.loads(subprocess.run(["aws", "iam", "list-attached-role-policies", "--role-name", n, "--output", "json"], capture_output=True, text=True).stdout or "{}")
    inl = json.loads(subprocess.run(["aws", "iam", "list-role-policies", "--role-name", n, "--output", "json"], capture_output=True, text=True).stdout or "{}")
    print("role", n, json.dumps(r.get("AssumeRolePolicyDocument"), sort_keys=True),
          sorted(p["PolicyArn"] for p in att.get("AttachedPolicies", [])), sorted(inl.get("PolicyNames", [])))'
  aws iam list-open-id-connect-providers --query 'OpenIDConnectProviderList[].Arn' --output text | tr '\t' '\n' | grep . | while read -r p; do
    echo "provider $p $(aws iam get-open-id-connect-provider --open-id-connect-provider-arn "$p" --query '[Url, ClientIDList, ThumbprintList]' --output json | tr -d ' \n')"
  done
  kubectl get -f "$I" -o json --ignore-not-found 2>/dev/null >"$E2E_STATE/objects.json"
  python3 "$ROOT/tools/e2e/fidelity.py" normalise "$E2E_STATE/objects.json"
}
