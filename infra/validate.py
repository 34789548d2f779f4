"""`make validate`: the packaged stack checked offline, with no AWS account.

1. cfn-lint on the SAM template `make package` wrote (``build/<stage>/sam.json``);
2. aws-sam-translator turns it into plain CloudFormation (``cfn.json``), and cfn-lint checks that;
3. a smoke deploy of that CloudFormation into moto's CloudFormation: every resource type moto can
   create is created (table, queues, topic, key, roles, functions, schedules, the queue's event
   source mapping, log groups); the others (the secret, alarms, the API stage) are left out and
   named, with references to them stood in for.

Exits non-zero on any cfn-lint error or warning, or if the stack does not reach CREATE_COMPLETE.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARTIFACTS_BUCKET = "outlet-validate-artifacts"
# Types moto lists but cannot build from this template: it does not import an OpenAPI body, so the
# API has no methods and its deployment is refused. cfn-lint has checked them above.
MOTO_CANNOT_BUILD = frozenset({"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment"})
REGION = "us-east-1"


@dataclass
class SmokeDeploy:
    status: str
    created: dict[str, str] = field(default_factory=dict)  # logical id -> type
    left_out: dict[str, str] = field(default_factory=dict)
    reason: str = ""


def lint(template: dict[str, Any], region: str = REGION) -> list[str]:
    """cfn-lint's errors and warnings for ``region`` (informational notes are not findings)."""
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(json.dumps(template), regions=[region])
    return [f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches if m.rule.id[0] in "EW"]


class _NoManagedPolicies:
    """The translator asks for AWS's managed policy names only when a function lists SAM
    ``Policies``; Chalice's functions name their own role, so no IAM call is ever needed."""

    def load(self) -> dict[str, str]:
        return {}


def translate(sam: dict[str, Any], stage: str) -> dict[str, Any]:
    """The SAM template as plain CloudFormation, as `aws cloudformation deploy` would run it."""
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the translator fills in AWS::Region
    template = copy.deepcopy(sam)
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            # What `aws cloudformation package` does: the local zip becomes an S3 object.
            resource["Properties"]["CodeUri"] = f"s3://{ARTIFACTS_BUCKET}/deployment.zip"
    translated: dict[str, Any] = transform(template, {"Stage": stage}, _NoManagedPolicies())
    return translated


def smoke_deploy(cfn: dict[str, Any], package: Path, stage: str) -> SmokeDeploy:
    """Create the stack in moto's CloudFormation, leaving out the resource types moto lacks."""
    from moto import mock_aws
    from moto.cloudformation.parsing import get_model_map

    os.environ.update({"AWS_ACCESS_KEY_ID": "validate", "AWS_SECRET_ACCESS_KEY": "validate"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    supported = set(get_model_map()) - MOTO_CANNOT_BUILD
    template = copy.deepcopy(cfn)
    left_out = {k: r["Type"] for k, r in template["Resources"].items() if r["Type"] not in supported}
    for logical_id in left_out:
        del template["Resources"][logical_id]
    template = _stand_in(template, set(left_out))
    template.get("Outputs", {}).clear()  # outputs of left-out resources would mean nothing

    with mock_aws():
        import boto3

        session: Any = boto3.session.Session(region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
        s3.upload_file(str(package), ARTIFACTS_BUCKET, "deployment.zip")
        cloudformation = session.client("cloudformation")
        stack_name = f"outlet-{stage}"
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": stage}],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        resources = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
        created = {r["LogicalResourceId"]: r["ResourceType"] for r in resources}
        return SmokeDeploy(stack["StackStatus"], created, left_out, stack.get("StackStatusReason", ""))


def _stand_in(node: Any, gone: set[str]) -> Any:
    """References to left-out resources replaced by a placeholder name."""
    if isinstance(node, list):
        return [_stand_in(n, gone) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in gone:
        return f"left-out-{node['Ref']}"
    if set(node) == {"Fn::GetAtt"} and _att_target(node["Fn::GetAtt"]) in gone:
        return f"left-out-{_att_target(node['Fn::GetAtt'])}"
    if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        text = re.sub(
            r"\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}",
            lambda m: f"left-out-{m.group(1)}" if m.group(1) in gone else m.group(0),
            node["Fn::Sub"],
        )
        return {"Fn::Sub": text}
    result = {k: _stand_in(v, gone) for k, v in node.items()}
    if "DependsOn" in result:
        depends = result["DependsOn"] if isinstance(result["DependsOn"], list) else [result["DependsOn"]]
        result["DependsOn"] = [d for d in depends if d not in gone]
        if not result["DependsOn"]:
            del result["DependsOn"]
    return result


def _att_target(argument: Any) -> str:
    return str(argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0])


def validate(build: Path, stage: str, region: str = REGION) -> Iterator[tuple[str, bool, str]]:
    """Each check as (name, passed, detail)."""
    sam = json.loads((build / "sam.json").read_text())
    findings = lint(sam, region)
    yield "cfn-lint, SAM template", not findings, "\n".join(findings) or "no errors or warnings"
    cfn = translate(sam, stage)
    (build / "cfn.json").write_text(json.dumps(cfn, indent=2))
    findings = lint(cfn, region)
    detail = "\n".join(findings) or f"no errors or warnings in {len(cfn['Resources'])} resources"
    yield "cfn-lint, CloudFormation translation", not findings, detail
    smoke = smoke_deploy(cfn, build / "deployment.zip", stage)
    kinds = sorted(set(smoke.created.values()))
    detail = (
        f"{smoke.status}: {len(smoke.created)} resources created ({', '.join(kinds)}); "
        f"left out, moto cannot build them: {', '.join(sorted(set(smoke.left_out.values()))) or 'none'}"
    )
    yield "smoke deploy into moto's CloudFormation", smoke.status == "CREATE_COMPLETE", detail + smoke.reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("build", type=Path, help="the directory `make package` wrote (build/<stage>)")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=REGION, help="the region cfn-lint checks resource support in")
    args = parser.parse_args(argv)
    failed = False
    for name, passed, detail in validate(args.build, args.stage, args.region):
        print(f"{'ok  ' if passed else 'FAIL'} {name}: {detail}")
        failed |= not passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
