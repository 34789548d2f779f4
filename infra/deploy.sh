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

cat <<PLAN
make deploy will:
  1. package stage '${stage}' into ${build}/ (chalice package, merged with infra/template.json)
  2. validate it offline (make validate: cfn-lint on SAM and CloudFormation, moto smoke deploy)
  3. upload ${build}/deployment.zip to s3://${bucket:-\$DEPLOY_BUCKET}/outlet/${stage}/ (aws cloudformation package)
  4. create or update the stack '${stack}' in ${region} (aws cloudformation deploy, Stage=${stage}, CAPABILITY_IAM)
PLAN

if ! identity=$("$aws" sts get-caller-identity --region "$region" --query Arn --output text 2>/dev/null); then
  echo "refusing: no usable AWS credentials (aws sts get-caller-identity failed)." >&2
  echo "  Configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again." >&2
  exit 2
fi
if [ -z "$bucket" ]; then
  echo "refusing: set DEPLOY_BUCKET to an S3 bucket in ${region} for the deployment artifacts." >&2
  exit 2
fi
echo "deploying as ${identity}"

make --no-print-directory validate STAGE="$stage"
"$aws" cloudformation package --region "$region" --template-file "${build}/sam.json" \
  --s3-bucket "$bucket" --s3-prefix "outlet/${stage}" --output-template-file "${build}/packaged.yaml"
"$aws" cloudformation deploy --region "$region" --template-file "${build}/packaged.yaml" --stack-name "$stack" \
  --capabilities CAPABILITY_IAM --parameter-overrides "Stage=${stage}" --no-fail-on-empty-changeset \
  --tags project=outlet "stage=${stage}"
"$aws" cloudformation describe-stacks --region "$region" --stack-name "$stack" \
  --query 'Stacks[0].Outputs' --output table
