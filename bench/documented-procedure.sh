#!/usr/bin/env bash
# documented-procedure.sh — the SageMaker operator install as AWS documents it
# ("Setup" of Amazon SageMaker Operators for Kubernetes, role-based installer),
# run as a bash script of real `aws` and `kubectl` calls. bench/run.py times it
# against `sgk run install-sagemaker-operator` on the same peers.
#
#   bench/documented-procedure.sh CLUSTER REGION INSTALLER_YAML
#
# The peers come from the environment: AWS_ENDPOINT_URL (moto) and KUBECONFIG.
# Step 1 of the documentation is `eksctl utils associate-iam-oidc-provider
# --approve`; eksctl is replaced by the AWS calls it makes (account id,
# DescribeCluster, ListOpenIDConnectProviders, CreateOpenIDConnectProvider). eksctl
# also reads the issuer's TLS certificate for the thumbprint: the issuer of a
# moto cluster is a made-up host that is never contacted, so the thumbprint is
# the constant one of the issuers' root CA.
set -euo pipefail
CLUSTER_NAME=$1
AWS_REGION=$2
INSTALLER=$3
: "${AWS_ENDPOINT_URL:?AWS_ENDPOINT_URL must name the local AWS peer}"
: "${KUBECONFIG:?KUBECONFIG must name the local Kubernetes peer}"
export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION" AWS_EC2_METADATA_DISABLED=true
ROLE_NAME="sagemaker-k8s-operator-${CLUSTER_NAME}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sgk-documented.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. Associate an IAM OIDC provider with the cluster (what eksctl does).
ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
ISSUER=$(aws eks describe-cluster --name "$CLUSTER_NAME" --region "$AWS_REGION" --query cluster.identity.oidc.issuer --output text)
ISSUER_HOSTPATH=${ISSUER#https://}
PROVIDER_ARN="arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER_HOSTPATH}"
if ! aws iam list-open-id-connect-providers --query 'OpenIDConnectProviderList[].Arn' --output text | tr '\t' '\n' | grep -qxF "$PROVIDER_ARN"; then
  aws iam create-open-id-connect-provider --url "$ISSUER" --client-id-list sts.amazonaws.com \
    --thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280 >/dev/null
fi

# 2. Get the OIDC ID (the documentation reads the issuer again).
OIDC_URL=$(aws eks describe-cluster --name "$CLUSTER_NAME" --region "$AWS_REGION" --query cluster.identity.oidc.issuer --output text)
OIDC_ID=${OIDC_URL##*/}

# 3. Create trust.json for the operator's service account.
cat > "$WORK/trust.json" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Federated": "arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.${AWS_REGION}.amazonaws.com/id/${OIDC_ID}"
      },
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {
        "StringEquals": {
          "oidc.eks.${AWS_REGION}.amazonaws.com/id/${OIDC_ID}:aud": "sts.amazonaws.com",
          "oidc.eks.${AWS_REGION}.amazonaws.com/id/${OIDC_ID}:sub": "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"
        }
      }
    }
  ]
}
EOF

# 4. Create the role and 5. give it the SageMaker policy.
ROLE_ARN=$(aws iam create-role --role-name "$ROLE_NAME" --assume-role-policy-document "file://$WORK/trust.json" --query Role.Arn --output text)
aws iam attach-role-policy --role-name "$ROLE_NAME" --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess

# 6. Put the role ARN in the installer's service account and apply it.
sed "s#eks.amazonaws.com/role-arn: .*#eks.amazonaws.com/role-arn: ${ROLE_ARN}#" "$INSTALLER" > "$WORK/installer.yaml"
kubectl apply -f "$WORK/installer.yaml"

# 7. Check: the CRDs and the operator's pod.
kubectl get crd | grep sagemaker
kubectl -n sagemaker-k8s-operator-system get pods
echo "role: ${ROLE_ARN}"
