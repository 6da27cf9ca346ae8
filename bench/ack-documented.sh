#!/usr/bin/env bash
# ack-documented.sh — the ACK SageMaker controller install as ACK's SageMaker tutorial documents
# it, as a bash script of real `aws` and `kubectl` calls; Helm's part (the chart's CRDs, then
# `helm install` with aws.region and the service account's role annotation) is done with
# `kubectl apply -f` of the rendered config/ tree, then the two values set with kubectl.
# bench/run.py times it against `sgk run install-ack-controller` on the same peers.
#
#   bench/ack-documented.sh CLUSTER REGION CONFIG_DIR
#
# The peers come from the environment: AWS_ENDPOINT_URL (moto) and KUBECONFIG. The OIDC
# provider is associated as bench/documented-procedure.sh does (what eksctl does).
set -euo pipefail
CLUSTER_NAME=$1
AWS_REGION=$2
CONFIG=$3
: "${AWS_ENDPOINT_URL:?AWS_ENDPOINT_URL must name the local AWS peer}"
: "${KUBECONFIG:?KUBECONFIG must name the local Kubernetes peer}"
export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION" AWS_EC2_METADATA_DISABLED=true
ROLE_NAME="ack-sagemaker-controller-${CLUSTER_NAME}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sgk-ack-documented.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. The cluster's IAM OIDC provider.
ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
OIDC_URL=$(aws eks describe-cluster --name "$CLUSTER_NAME" --query cluster.identity.oidc.issuer --output text)
OIDC_PROVIDER=${OIDC_URL#https://}
PROVIDER_ARN="arn:aws:iam::${ACCOUNT}:oidc-provider/${OIDC_PROVIDER}"
if ! aws iam list-open-id-connect-providers --query 'OpenIDConnectProviderList[].Arn' --output text | tr '\t' '\n' | grep -qxF "$PROVIDER_ARN"; then
  aws iam create-open-id-connect-provider --url "$OIDC_URL" --client-id-list sts.amazonaws.com \
    --thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280 >/dev/null
fi

# 2. The trust: the controller's and the application autoscaling controller's service accounts.
cat > "$WORK/trust.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "${PROVIDER_ARN}"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {
      "${OIDC_PROVIDER}:aud": "sts.amazonaws.com",
      "${OIDC_PROVIDER}:sub": ["system:serviceaccount:ack-system:ack-sagemaker-controller",
                               "system:serviceaccount:ack-system:ack-applicationautoscaling-controller"]
    }}
  }]
}
JSON
# 3. The role, 4. the managed policy, 5. the inline policy SagemakerStudioAccess.
ROLE_ARN=$(aws iam create-role --role-name "$ROLE_NAME" --assume-role-policy-document "file://$WORK/trust.json" --query Role.Arn --output text)
aws iam attach-role-policy --role-name "$ROLE_NAME" --policy-arn "$(cat "$CONFIG/iam/recommended-policy-arn")"
cat > "$WORK/studio.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sagemaker:*"],
  "Resource": ["arn:aws:sagemaker:*:*:domain/*", "arn:aws:sagemaker:*:*:user-profile/*", "arn:aws:sagemaker:*:*:app/*"]}]}
JSON
aws iam put-role-policy --role-name "$ROLE_NAME" --policy-name SagemakerStudioAccess --policy-document "file://$WORK/studio.json"

# 6.–7. The CRDs first, then the controller (helm install, done with kubectl apply -f of the
# rendered tree; --validate=false: kubectl 1.32 refuses the CEL fields a 1.20 server does not know).
kubectl kustomize "$CONFIG/crd" > "$WORK/crds.yaml"
kubectl apply --validate=false -f "$WORK/crds.yaml" >/dev/null
kubectl kustomize "$CONFIG/default" > "$WORK/all.yaml"
kubectl apply --validate=false -f "$WORK/all.yaml" >/dev/null
kubectl -n ack-system set env deployment/ack-sagemaker-controller AWS_REGION="$AWS_REGION" >/dev/null
kubectl -n ack-system annotate serviceaccount ack-sagemaker-controller eks.amazonaws.com/role-arn="$ROLE_ARN" --overwrite >/dev/null

# 8. Verify.
kubectl get crds | grep services.k8s.aws
kubectl get pods -n ack-system
echo "role: ${ROLE_ARN}"
