#!/usr/bin/env bash
# `make deploy STAGE=dev|prod`: validate offline, then `aws cloudformation package` and `deploy`.
# Says what it will do first; refuses (exit 2, nothing done) without AWS credentials or a bucket.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage="${STAGE:-}"
case "$stage" in
  dev | prod) ;;
  *) echo "refusing: STAGE must be dev or prod (make deploy STAGE=prod); the local stage runs with make run" >&2; exit 2 ;;
esac
aws="${BIN:-.venv/bin}/aws"
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
stack="outlet-${stage}"  # .chalice/policy-<stage>.json scopes the logs to this stack's functions
bucket="${DEPLOY_BUCKET:-}"
build="build/${stage}"
layer="${SECRETS_EXTENSION_LAYER_ARN:-}"  # AWS's Parameters and Secrets extension for this region
if [ -n "$layer" ]; then
  secrets_via="the Parameters and Secrets extension (layer ${layer})"
else
  secrets_via="the SDK (set SECRETS_EXTENSION_LAYER_ARN to read them through the extension: a lighter cold start)"
fi

cat <<PLAN
make deploy will:
  1. package stage '${stage}' into ${build}/ (chalice package, merged with infra/template.json)
  2. validate it offline (make validate: cfn-lint on SAM and CloudFormation, moto smoke deploy)
  3. upload ${build}/deployment.zip to s3://${bucket:-\$DEPLOY_BUCKET}/outlet/${stage}/ (aws cloudformation package)
  4. create or update the stack '${stack}' in ${region} (aws cloudformation deploy, Stage=${stage}, CAPABILITY_IAM)${REVIEW:+,
     leaving the change set for review (REVIEW is set) instead of executing it}
     its functions read the secret through ${secrets_via}
PLAN

account=$(python3 -c 'import json,sys; print(json.load(open(".chalice/config.json"))["stages"][sys.argv[1]]["environment_variables"].get("X_ACCOUNT_ID", ""))' "$stage")
if [ "$stage" = prod ] && [ -z "$account" ]; then
  echo "refusing: X_ACCOUNT_ID is empty for prod in .chalice/config.json; prod publishes to X as that account." >&2
  exit 2
fi
if ! identity=$("$aws" sts get-caller-identity --region "$region" --query Arn --output text 2>/tmp/outlet-sts.$$); then
  echo "refusing: no usable AWS credentials (aws sts get-caller-identity failed: $(tr '\n' ' ' < /tmp/outlet-sts.$$))." >&2
  echo "  Configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again." >&2
  rm -f /tmp/outlet-sts.$$
  exit 2
fi
rm -f /tmp/outlet-sts.$$
if [ -z "$bucket" ]; then
  echo "refusing: set DEPLOY_BUCKET to an S3 bucket in ${region} for the deployment artifacts." >&2
  exit 2
fi
echo "deploying as ${identity}"

make --no-print-directory validate STAGE="$stage" VALIDATE_REGION="$region"
"$aws" cloudformation package --region "$region" --template-file "${build}/sam.json" \
  --s3-bucket "$bucket" --s3-prefix "outlet/${stage}" --output-template-file "${build}/packaged.yaml"
review=()
if [ -n "${REVIEW:-}" ]; then
  review=(--no-execute-changeset)  # the change set waits in the console for a human to execute it
fi
overrides=("Stage=${stage}" "SecretsExtensionLayerArn=${layer}")
"$aws" cloudformation deploy --region "$region" --template-file "${build}/packaged.yaml" --stack-name "$stack" \
  --capabilities CAPABILITY_IAM --parameter-overrides "${overrides[@]}" --no-fail-on-empty-changeset \
  --tags project=outlet "stage=${stage}" "${review[@]}"
[ -n "${REVIEW:-}" ] && exit 0
"$aws" cloudformation describe-stacks --region "$region" --stack-name "$stack" \
  --query 'Stacks[0].Outputs' --output table
