#!/usr/bin/env bash
# `sgk run doctor` (irsa doctor), table-driven on moto + the kube peer: each row builds a good
# IRSA setup in its own namespace, breaks exactly one link, and asserts that exactly that link
# FAILs, with its fix; valid setups must pass with no FAIL (no false alarm).
#
# The kube peers mint service account tokens with the moto cluster's issuer (kube-peer.sh start
# --issuer), as EKS does, so the doctor's token check holds. Pods are created as the pod identity
# webhook would have left them (the peer has no kubelet and no webhook: they stay Pending).
# Only loopback is contacted; moto's OIDC issuer hosts and endpoints never are.
. "$(dirname "$0")/common.bash"

E2E_STATE=$(mktemp -d "${TMPDIR:-/tmp}/sgk-e2e.XXXXXX")
stop_all() {
  "$ROOT/tools/moto.sh" stop "$E2E_STATE/moto" >/dev/null 2>&1 || true
  "$ROOT/tools/kube-peer.sh" stop "$E2E_STATE/kube" >/dev/null 2>&1 || true
  "$ROOT/tools/kube-peer.sh" stop "$E2E_STATE/kube-cn" >/dev/null 2>&1 || true
  [ -z "${STUB_PID:-}" ] || kill "$STUB_PID" 2>/dev/null || true
  rm -rf "$E2E_STATE"
}
trap stop_all EXIT INT TERM
"$ROOT/tools/moto.sh" start "$E2E_STATE/moto" >"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; echo "cannot start moto" >&2; exit 1; }
# shellcheck disable=SC1091
. "$E2E_STATE/moto/moto.env"
export XDG_STATE_HOME="$E2E_STATE/xdg"
unset SGK_JOURNAL SGK_INSTALLER
# EKS Pod Identity and add-ons: moto answers neither; the loopback stub does (clusters go to moto).
start_eks_stub --ttl 600

ACCOUNT=123456789012
new_cluster() { # NAME REGION [endpointPublicAccess=false]
  aws eks create-cluster --name "$1" --region "$2" --role-arn "arn:aws:iam::$ACCOUNT:role/eks" \
    --resources-vpc-config "subnetIds=subnet-1${3:+,$3}" --query cluster.arn --output text
}
issuer_of() { aws eks describe-cluster --name "$1" --region "$2" --query cluster.identity.oidc.issuer --output text; }

DEMO_ARN=$(new_cluster demo us-west-2) || exit 1
# moto gives every cluster of a region the same issuer: the other cluster is in another region.
OTHER_ARN=$(new_cluster other us-east-1) || exit 1
CN_ARN=$(new_cluster cn-demo cn-north-1 endpointPublicAccess=false) || exit 1
ISSUER=$(issuer_of demo us-west-2); HOST=${ISSUER#https://}
CN_ISSUER=$(issuer_of cn-demo cn-north-1); CN_HOST=${CN_ISSUER#https://}
"$ROOT/tools/kube-peer.sh" start "$E2E_STATE/kube" --issuer "$ISSUER" >>"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; echo "cannot start the kube peer" >&2; exit 1; }
"$ROOT/tools/kube-peer.sh" start "$E2E_STATE/kube-cn" --issuer "$CN_ISSUER" >>"$E2E_STATE/peers.log" 2>&1 || { cat "$E2E_STATE/peers.log" >&2; echo "cannot start the second kube peer" >&2; exit 1; }
KC="$E2E_STATE/kube/kubeconfig"; KC_CN="$E2E_STATE/kube-cn/kubeconfig"
export KUBECONFIG="$KC"
"$ROOT/tools/kube-peer.sh" bind-eks "$KC" "$DEMO_ARN"
"$ROOT/tools/kube-peer.sh" bind-eks "$KC" "$OTHER_ARN"
"$ROOT/tools/kube-peer.sh" bind-eks "$KC_CN" "$CN_ARN"
sgk() { "$SGK_BIN" "$@"; }

sgk -c 'oidc associate cluster: demo' >/dev/null || exit 1
sgk -c 'oidc associate cluster: other region: us-east-1' >/dev/null || exit 1
sgk -c 'oidc associate cluster: cn-demo region: cn-north-1' >/dev/null || exit 1
PROVIDER="arn:aws:iam::$ACCOUNT:oidc-provider/$HOST"
OTHER_HOST=$(issuer_of other us-east-1); OTHER_HOST=${OTHER_HOST#https://}
CN_PROVIDER="arn:aws-cn:iam::$ACCOUNT:oidc-provider/$CN_HOST"

# EKS's pod identity webhook, as a configuration object only: its rule names an API group no
# request uses, so the API server never calls it.
webhook() {
  kubectl apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: pod-identity-webhook}
webhooks:
- name: iam-for-pods.amazonaws.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig: {url: "https://127.0.0.1:9/mutate"}
  rules: [{apiGroups: ["never.sgk.test"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["nothing"]}]
EOF
}
webhook

# trust JSON: PROVIDER_ARN HOST SUB [AUD] [OPERATOR]
trust() {
  local sub=$3
  case "$sub" in \[*) ;; *) sub="\"$sub\"" ;; esac
  printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"%s"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"%s":{"%s:aud":"%s","%s:sub":%s}}}]}' \
    "$1" "${5:-StringEquals}" "$2" "${4:-sts.amazonaws.com}" "$2" "$sub"
}
role() { # NAME TRUST_JSON [REGION]
  aws iam create-role --role-name "$1" --assume-role-policy-document "$2" ${3:+--region "$3"} --query Role.Arn --output text
}
# A pod of NS/SA as the webhook leaves it (ENV: extra "NAME=VALUE" pairs; ROLE "" for none).
pod() { # NS SA NAME ROLE_ARN [NAME=VALUE…]
  local ns=$1 sa=$2 name=$3 arn=$4; shift 4
  local env="" vol="" mount=""
  if [ -n "$arn" ]; then
    env="{name: AWS_ROLE_ARN, value: \"$arn\"}, {name: AWS_WEB_IDENTITY_TOKEN_FILE, value: /var/run/secrets/eks.amazonaws.com/serviceaccount/token}, "
    vol="volumes: [{name: aws-iam-token, projected: {sources: [{serviceAccountToken: {audience: sts.amazonaws.com, expirationSeconds: 86400, path: token}}]}}]"
    mount="volumeMounts: [{name: aws-iam-token, mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount, readOnly: true}]"
  fi
  local kv
  for kv in "$@"; do env+="{name: ${kv%%=*}, value: \"${kv#*=}\"}, "; done
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: $ns}
spec:
  serviceAccountName: $sa
  containers: [{name: app, image: public.ecr.aws/docker/library/busybox:1.36, env: [${env%, }], ${mount:-volumeMounts: []}}]
  ${vol}
EOF
}
# A good setup: NS/SA annotated with role NAME (trusting NS/SA through demo's provider),
# AmazonSageMakerFullAccess attached, and one pod with the role.
good() { # NS [SA] [ROLE]
  local ns=$1 sa=${2:-app} name=${3:-doctor-$1} arn
  kubectl create namespace "$ns" >/dev/null
  kubectl -n "$ns" create serviceaccount "$sa" >/dev/null
  arn=$(role "$name" "$(trust "$PROVIDER" "$HOST" "system:serviceaccount:$ns:$sa")") || return 1
  aws iam attach-role-policy --role-name "$name" --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
  kubectl -n "$ns" annotate serviceaccount "$sa" "eks.amazonaws.com/role-arn=$arn" >/dev/null
  pod "$ns" "$sa" "$ns-pod" "$arn"
  echo "$arn"
}

rows=0
# expect ROW "LINK[,LINK…]" FIX_TEXT -- doctor args…  (an empty LINK list: a valid setup)
expect() {
  local row=$1 want=$2 fix=$3; shift 4
  rows=$((rows + 1))
  local out="$E2E_STATE/$row.out" rc=0
  sgk run doctor "$@" >"$out" 2>&1 || rc=$?
  local got
  got=$(sed -n 's/^FAIL    \([^:]*\):.*/\1/p' "$out" | sort -u | paste -sd, -)
  if [ -z "$want" ]; then
    check "$row: no link fails" '[ -z "$got" ] && [ "$rc" -eq 0 ] && grep -q "every link holds" "$out"' || { echo "--- $row (rc $rc)"; cat "$out"; }
  else
    check "$row: exactly $want fail(s)" '[ "$got" = "$want" ] && [ "$rc" -eq 1 ]' || { echo "--- $row (rc $rc, failed: $got)"; cat "$out"; }
    check "$row: the fix says $fix" 'grep -A1 "^FAIL    " "$out" | grep "^        fix: " | grep -qF -- "$fix"' || { echo "--- $row fix"; grep -A1 '^FAIL' "$out"; }
  fi
  ROW_OUT=$out
}
doc() { expect "$1" "$2" "$3" -- --cluster "${CLUSTER:-demo}" --namespace "$4" "${@:5}"; }

# ---------------------------------------------------------------- valid setups (no false alarm)
good ok-documented >/dev/null
doc valid-documented "" "" ok-documented --service-account app --assume --action sagemaker:CreateTrainingJob
check "valid-documented: STS answered" 'grep -q "^ok      assume: STS AssumeRoleWithWebIdentity gave arn:aws:sts::" "$ROW_OUT"'
check "valid-documented: the permission is named" 'grep -q "^ok      permission: sagemaker:CreateTrainingJob on \* is allowed by AmazonSageMakerFullAccess" "$ROW_OUT"'
check "valid-documented: the token is checked" 'grep -q "^ok      token: iss $ISSUER, sub system:serviceaccount:ok-documented:app, aud sts.amazonaws.com" "$ROW_OUT"'
check "the token never appears" '! grep -q "eyJ" "$ROW_OUT"'

# ACK's list-valued sub: the controller's and another service account.
kubectl create namespace ok-ack >/dev/null; kubectl -n ok-ack create serviceaccount ack-sagemaker-controller >/dev/null
arn=$(role doctor-ack "$(trust "$PROVIDER" "$HOST" '["system:serviceaccount:ok-ack:ack-sagemaker-controller","system:serviceaccount:ok-ack:ack-applicationautoscaling-controller"]')")
kubectl -n ok-ack annotate serviceaccount ack-sagemaker-controller "eks.amazonaws.com/role-arn=$arn" >/dev/null
doc valid-ack-list-sub "" "" ok-ack --service-account ack-sagemaker-controller

# StringLike with a wildcard, used correctly.
kubectl create namespace ok-like >/dev/null; kubectl -n ok-like create serviceaccount runner-1 >/dev/null
arn=$(role doctor-like "$(trust "$PROVIDER" "$HOST" "system:serviceaccount:ok-like:runner-*" sts.amazonaws.com StringLike)")
kubectl -n ok-like annotate serviceaccount runner-1 "eks.amazonaws.com/role-arn=$arn" >/dev/null
pod ok-like runner-1 ok-like-pod "$arn"
doc valid-stringlike "" "" ok-like --pod ok-like-pod

# Two clusters' providers in one trust.
kubectl create namespace ok-two >/dev/null; kubectl -n ok-two create serviceaccount app >/dev/null
two=$(printf '{"Version":"2012-10-17","Statement":[%s,%s]}' \
  "$(trust "arn:aws:iam::$ACCOUNT:oidc-provider/$OTHER_HOST" "$OTHER_HOST" system:serviceaccount:ok-two:app | sed 's/^.*"Statement":\[//; s/\]}$//')" \
  "$(trust "$PROVIDER" "$HOST" system:serviceaccount:ok-two:app | sed 's/^.*"Statement":\[//; s/\]}$//')")
arn=$(role doctor-two "$two")
kubectl -n ok-two annotate serviceaccount app "eks.amazonaws.com/role-arn=$arn" >/dev/null
doc valid-two-clusters "" "" ok-two --service-account app

# ---------------------------------------------------------------- broken setups, one link each
# 0. No such cluster (a wrong name or region): said once, with the clusters that are there.
CLUSTER=nope doc cluster-missing "cluster" "check the name, or give the cluster's region" default --service-account app

# 1. The cluster's IAM OIDC provider is missing.
good no-provider >/dev/null
aws iam delete-open-id-connect-provider --open-id-connect-provider-arn "$PROVIDER"
doc no-provider "OIDC provider" "sgk oidc associate cluster: demo" no-provider --service-account app
sgk -c 'oidc associate cluster: demo' >/dev/null

# 2. The provider's client IDs lack the audience.
good no-audience >/dev/null
# (moto does not implement RemoveClientIDFromOpenIDConnectProvider: the provider is made anew.)
aws iam delete-open-id-connect-provider --open-id-connect-provider-arn "$PROVIDER"
aws iam create-open-id-connect-provider --url "$ISSUER" --client-id-list not-sts --thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280 >/dev/null
doc provider-audience "provider audience" "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn $PROVIDER --client-id sts.amazonaws.com" no-audience --service-account app
aws iam delete-open-id-connect-provider --open-id-connect-provider-arn "$PROVIDER"
sgk -c 'oidc associate cluster: demo' >/dev/null

# 3. The service account does not exist.
kubectl create namespace no-sa >/dev/null
doc no-service-account "service account" "kubectl -n no-sa create serviceaccount runner" no-sa --service-account runner

# 4. A near-miss annotation key (eks.amazon.com).
arn=$(good near-key)
kubectl -n near-key annotate serviceaccount app eks.amazonaws.com/role-arn- "eks.amazon.com/role-arn=$arn" >/dev/null
doc annotation-near-miss annotation "kubectl -n near-key annotate serviceaccount app eks.amazonaws.com/role-arn=$arn eks.amazon.com/role-arn-" near-key --service-account app

# 5. The annotation key in the wrong case.
arn=$(good wrong-case)
kubectl -n wrong-case annotate serviceaccount app eks.amazonaws.com/role-arn- "EKS.amazonaws.com/Role-Arn=$arn" >/dev/null
doc annotation-case annotation "eks.amazonaws.com/role-arn=$arn EKS.amazonaws.com/Role-Arn-" wrong-case --service-account app

# 6. No annotation at all (and no Pod Identity association): the role trusting it is suggested.
arn=$(good no-annotation)
kubectl -n no-annotation annotate serviceaccount app eks.amazonaws.com/role-arn- >/dev/null
doc annotation-missing annotation "kubectl -n no-annotation annotate serviceaccount app eks.amazonaws.com/role-arn=$arn" no-annotation --service-account app

# 7. The annotation's value is a role name, not an ARN.
good not-arn >/dev/null
kubectl -n not-arn annotate serviceaccount app eks.amazonaws.com/role-arn=doctor-not-arn --overwrite >/dev/null
doc annotation-not-arn annotation "eks.amazonaws.com/role-arn=arn:aws:iam::$ACCOUNT:role/doctor-not-arn --overwrite" not-arn --service-account app

# 8. The ARN is of another partition.
good partition >/dev/null
kubectl -n partition annotate serviceaccount app "eks.amazonaws.com/role-arn=arn:aws-cn:iam::$ACCOUNT:role/doctor-partition" --overwrite >/dev/null
doc annotation-partition annotation "eks.amazonaws.com/role-arn=arn:aws:iam::$ACCOUNT:role/doctor-partition --overwrite" partition --service-account app

# 9. sts-regional-endpoints is not "true" or "false".
good regional >/dev/null
kubectl -n regional annotate serviceaccount app eks.amazonaws.com/sts-regional-endpoints=yes >/dev/null
doc annotation-regional annotation "eks.amazonaws.com/sts-regional-endpoints=true --overwrite" regional --service-account app

# 10. An audience annotation the provider does not list (the trust takes it).
kubectl create namespace audience >/dev/null; kubectl -n audience create serviceaccount app >/dev/null
arn=$(role doctor-audience "$(trust "$PROVIDER" "$HOST" system:serviceaccount:audience:app my-audience)")
kubectl -n audience annotate serviceaccount app "eks.amazonaws.com/role-arn=$arn" eks.amazonaws.com/audience=my-audience >/dev/null
doc annotation-audience "provider audience" "--client-id my-audience" audience --service-account app

# 11. The role does not exist.
good no-role >/dev/null
kubectl -n no-role annotate serviceaccount app "eks.amazonaws.com/role-arn=arn:aws:iam::$ACCOUNT:role/doctor-gone" --overwrite >/dev/null
kubectl -n no-role delete pod no-role-pod >/dev/null
doc role-missing role "role create doctor-gone trust: (irsa trust provider: (oidc provider cluster: demo region: us-west-2) namespace: no-role service-account: app) region: us-west-2" no-role --service-account app

# 12. The trust names another service account (a typo in the namespace).
good wrong-sub >/dev/null
aws iam update-assume-role-policy --role-name doctor-wrong-sub --policy-document "$(trust "$PROVIDER" "$HOST" system:serviceaccount:wrong-sbu:app)"
doc trust-sub "role trust" "role update-trust doctor-wrong-sub" wrong-sub --service-account app
check "trust-sub: the reason names both subjects" 'grep "^FAIL    role trust" "$ROW_OUT" | grep -q "system:serviceaccount:wrong-sbu:app"'

# 13. A wildcard under StringEquals (the classic mistake).
good wildcard >/dev/null
aws iam update-assume-role-policy --role-name doctor-wildcard --policy-document "$(trust "$PROVIDER" "$HOST" 'system:serviceaccount:wildcard:*')"
doc trust-wildcard "role trust" "write that condition as StringLike" wildcard --service-account app

# 14. The trust's Federated principal is another cluster's provider.
good federated >/dev/null
aws iam update-assume-role-policy --role-name doctor-federated --policy-document "$(trust "arn:aws:iam::$ACCOUNT:oidc-provider/$OTHER_HOST" "$OTHER_HOST" system:serviceaccount:federated:app)"
doc trust-federated "role trust" "role update-trust doctor-federated" federated --service-account app

# 15. The trust's aud is wrong.
good wrong-aud >/dev/null
aws iam update-assume-role-policy --role-name doctor-wrong-aud --policy-document "$(trust "$PROVIDER" "$HOST" system:serviceaccount:wrong-aud:app sts.amazonaws.co)"
doc trust-aud "role trust" "role update-trust doctor-wrong-aud" wrong-aud --service-account app

# 16. The trust allows another action.
good action >/dev/null
aws iam update-assume-role-policy --role-name doctor-action --policy-document "$(trust "$PROVIDER" "$HOST" system:serviceaccount:action:app | sed 's/sts:AssumeRoleWithWebIdentity/sts:AssumeRole/')"
doc trust-action "role trust" "role update-trust doctor-action" action --service-account app

# 17. A Deny in the trust wins over the Allow.
good deny >/dev/null
deny=$(trust "$PROVIDER" "$HOST" system:serviceaccount:deny:app | sed 's/\]}$/,{"Sid":"NoOne","Effect":"Deny","Principal":{"Federated":"'"${PROVIDER//\//\\/}"'"},"Action":"sts:AssumeRoleWithWebIdentity"}]}/')
aws iam update-assume-role-policy --role-name doctor-deny --policy-document "$deny"
doc trust-deny "role trust" "remove or narrow that Deny" deny --service-account app

# 18. The policies do not allow the action the workload needs.
good perm >/dev/null
aws iam detach-role-policy --role-name doctor-perm --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
aws iam put-role-policy --role-name doctor-perm --policy-name s3-only --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
doc permission-missing permission "role put-policy doctor-perm policy-name: allow-sagemaker-CreateTrainingJob" perm --service-account app --action sagemaker:CreateTrainingJob
check "permission-missing: says what is not seen" 'grep -q "SCPs, permissions boundaries and session policies are not seen" "$ROW_OUT"'

# 19. An inline Deny wins over the managed policy's Allow.
good perm-deny >/dev/null
aws iam put-role-policy --role-name doctor-perm-deny --policy-name no-training --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sagemaker:Create*","Resource":"*"}]}'
doc permission-deny permission "remove or narrow that Deny" perm-deny --service-account app --action sagemaker:CreateTrainingJob

# 20. A pod that started before the annotation: no AWS_ROLE_ARN; its Deployment is restarted.
arn=$(good stale)
kubectl -n stale create deployment trainer --replicas=0 --image=public.ecr.aws/docker/library/busybox:1.36 >/dev/null
kubectl -n stale patch deployment trainer --type merge -p '{"spec":{"template":{"spec":{"serviceAccountName":"app"}}}}' >/dev/null
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: trainer-5d8f7c9b4-abcde
  namespace: stale
  labels: {app: trainer, pod-template-hash: 5d8f7c9b4}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: trainer-5d8f7c9b4, uid: 00000000-0000-0000-0000-000000000001}]
spec:
  serviceAccountName: app
  containers: [{name: busybox, image: public.ecr.aws/docker/library/busybox:1.36}]
EOF
doc pod-stale "pod trainer-5d8f7c9b4-abcde" "kubectl -n stale rollout restart deployment/trainer" stale --deployment trainer

# 21. A pod with another role's ARN.
good other-role >/dev/null
pod other-role app other-role-old "arn:aws:iam::$ACCOUNT:role/previous-role"
doc pod-other-role "pod other-role-old" "kubectl -n other-role delete pod other-role-old" other-role --pod other-role-old

# 22. Static keys in a container's env win over the role.
good static-keys >/dev/null
pod static-keys app static-keys-2 "$(kubectl -n static-keys get sa app -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}')" AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=not-a-real-key
doc pod-static-keys "pod static-keys-2" "change the env of pod static-keys/static-keys-2 in its manifest (AWS_ACCESS_KEY_ID- AWS_SECRET_ACCESS_KEY-" static-keys --pod static-keys-2
check "pod-static-keys: the key's value is not printed" '! grep -q "not-a-real-key" "$ROW_OUT"'

# 23. No pod identity webhook: nothing injects the role.
good no-webhook >/dev/null
pod no-webhook app no-webhook-bare ""
kubectl delete mutatingwebhookconfiguration pod-identity-webhook >/dev/null
doc webhook-missing "webhook" "amazon-eks-pod-identity-webhook" no-webhook --pod no-webhook-bare
webhook

# 24. The token's issuer is not the cluster's: the context is another cluster's API server
#     (cluster other's context points at the API server that mints demo's tokens).
kubectl create namespace issuer >/dev/null; kubectl -n issuer create serviceaccount app >/dev/null
arn=$(role doctor-issuer "$(trust "arn:aws:iam::$ACCOUNT:oidc-provider/$OTHER_HOST" "$OTHER_HOST" system:serviceaccount:issuer:app)")
kubectl -n issuer annotate serviceaccount app "eks.amazonaws.com/role-arn=$arn" >/dev/null
CLUSTER=other doc token-issuer token "pass the cluster's context" issuer --service-account app --region us-east-1

# EKS Pod Identity: an association instead of the annotation. PODID_TRUST is the documented trust.
PODID_TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}'
podid() { # NS ROLE_NAME TRUST: a namespace with service account app, the role, the association, a pod
  kubectl create namespace "$1" >/dev/null; kubectl -n "$1" create serviceaccount app >/dev/null
  local arn; arn=$(role "$2" "$3") || return 1
  aws eks create-pod-identity-association --cluster-name demo --namespace "$1" --service-account app --role-arn "$arn" >/dev/null || return 1
  pod "$1" app "$1-pod" "" AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token
  echo "$arn"
}
addon demo eks-pod-identity-agent ACTIVE
podid pi-ok doctor-pi-ok "$PODID_TRUST" >/dev/null
doc valid-pod-identity "" "" pi-ok --service-account app
check "valid-pod-identity: the association and the agent are named" 'grep -q "^ok      pod identity: association " "$ROW_OUT" && grep -q "^ok      pod identity agent: eks-pod-identity-agent .*ACTIVE" "$ROW_OUT" && grep -q "^ok      pod identity trust: " "$ROW_OUT"'

# 25. The Pod Identity Agent add-on is missing, then DEGRADED.
addon demo eks-pod-identity-agent absent
doc pod-identity-agent-missing "pod identity agent" "aws eks create-addon --cluster-name demo --addon-name eks-pod-identity-agent" pi-ok --service-account app
addon demo eks-pod-identity-agent DEGRADED
doc pod-identity-agent-degraded "pod identity agent" "aws eks describe-addon --cluster-name demo --addon-name eks-pod-identity-agent" pi-ok --service-account app
addon demo eks-pod-identity-agent ACTIVE

# 26. The role's trust lacks sts:TagSession.
podid pi-trust doctor-pi-trust "${PODID_TRUST/,\"sts:TagSession\"/}" >/dev/null
doc pod-identity-trust "pod identity trust" "role update-trust doctor-pi-trust" pi-trust --service-account app

# 27. An IRSA annotation for another role beside the association (IRSA wins in the SDKs).
podid pi-conflict doctor-pi-conflict "$PODID_TRUST" >/dev/null
irsa_arn=$(role doctor-pi-conflict-irsa "$(trust "$PROVIDER" "$HOST" system:serviceaccount:pi-conflict:app)")
kubectl -n pi-conflict annotate serviceaccount app "eks.amazonaws.com/role-arn=$irsa_arn" >/dev/null
kubectl -n pi-conflict delete pod pi-conflict-pod >/dev/null
pod pi-conflict app pi-conflict-both "$irsa_arn" AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials
doc pod-identity-conflict "pod identity" "kubectl -n pi-conflict annotate serviceaccount app eks.amazonaws.com/role-arn-" pi-conflict --service-account app

# 28. A pod that started before the association: no AWS_CONTAINER_CREDENTIALS_FULL_URI.
podid pi-stale doctor-pi-stale "$PODID_TRUST" >/dev/null
pod pi-stale app pi-stale-old ""
doc pod-identity-stale-pod "pod pi-stale-old" "kubectl -n pi-stale delete pod pi-stale-old" pi-stale --pod pi-stale-old

# 29–30. China (cn-north-1, private endpoint): a pod without a region, and without regional STS.
export KUBECONFIG="$KC_CN"
kubectl create namespace china >/dev/null; kubectl -n china create serviceaccount app >/dev/null
arn=$(role doctor-china "$(trust "$CN_PROVIDER" "$CN_HOST" system:serviceaccount:china:app)" cn-north-1)
kubectl -n china annotate serviceaccount app "eks.amazonaws.com/role-arn=$arn" eks.amazonaws.com/sts-regional-endpoints=true >/dev/null
webhook
pod china app china-noregion "$arn" AWS_STS_REGIONAL_ENDPOINTS=regional
CLUSTER=cn-demo doc china-region "pod china-noregion" "(AWS_DEFAULT_REGION=cn-north-1)" china --pod china-noregion --region cn-north-1
kubectl -n china annotate serviceaccount app eks.amazonaws.com/sts-regional-endpoints- >/dev/null
pod china app china-global "$arn" AWS_DEFAULT_REGION=cn-north-1 AWS_REGION=cn-north-1
CLUSTER=cn-demo doc private-sts "pod china-global" "eks.amazonaws.com/sts-regional-endpoints=true --overwrite" china --pod china-global --region cn-north-1
pod china app china-good "$arn" AWS_DEFAULT_REGION=cn-north-1 AWS_REGION=cn-north-1 AWS_STS_REGIONAL_ENDPOINTS=regional
CLUSTER=cn-demo doc valid-china "" "" china --pod china-good --region cn-north-1
export KUBECONFIG="$KC"

echo "irsa doctor: $rows rows"
# SGK_DOCTOR_SAMPLES=DIR keeps each row's output (docs/DOCTOR.md quotes them).
if [ -n "${SGK_DOCTOR_SAMPLES:-}" ]; then mkdir -p "$SGK_DOCTOR_SAMPLES" && cp "$E2E_STATE"/*.out "$SGK_DOCTOR_SAMPLES"/; fi
finish "irsa-doctor"
