"""Create infra/template.json's resources in moto, so local runs and tests share the cloud's schema.

moto's own CloudFormation takes over a second a stack, skips the table's TTL and has no Secrets
Manager support, so this reads the same template and makes the equivalent API calls itself. It
understands the intrinsic functions the template uses (Ref, Fn::Sub, Fn::GetAtt, Fn::If,
Fn::Equals); any other resource type (alarms, log groups, the Chalice functions) is skipped.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.json"
ClientFactory = Callable[[str], Any]


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(path.read_text())
    return template


@dataclass
class Stack:
    """The resources provisioned: each logical id's Ref value and attributes, and the Outputs."""

    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # the template's Globals, resolved


class _Provisioner:
    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        clients: ClientFactory,
        region: str,
        account: str,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.parameters = {
            name: parameters.get(name, spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        }
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::StackName": "outlet-local",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.clients = clients
        self.stack = Stack()

    def run(self) -> Stack:
        for logical_id, resource in self.resources.items():
            if "Type" in resource and resource["Type"] not in CLOUD_ONLY:
                self.create(logical_id)
        self.stack.outputs = {
            name: str(self.resolve(out["Value"])) for name, out in self.template.get("Outputs", {}).items()
        }
        env = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        self.stack.environment = {name: str(self.resolve(value)) for name, value in env.items()}
        return self.stack

    # --- intrinsic functions ---------------------------------------------------------------

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((name, arg),) = node.items()
            if name == "Ref":
                return self.ref(arg)
            if name == "Fn::GetAtt":
                return self.get_att(*arg)
            if name == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: self.sub_var(m.group(1)), arg)
            if name == "Fn::If":
                condition, when_true, when_false = arg
                return self.resolve(when_true if self.condition(condition) else when_false)
            if name == "Fn::Equals":
                left, right = self.resolve(arg)
                return left == right
        return {key: self.resolve(value) for key, value in node.items()}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name])
        if name in self.pseudo:
            return self.pseudo[name]
        self.create(name)
        return self.stack.refs[name]

    def get_att(self, name: str, attribute: str) -> str:
        self.create(name)
        if self.resources[name].get("Type") in CLOUD_ONLY:
            return f"local-{name}.{attribute}"
        return self.stack.attributes[name][attribute]

    def sub_var(self, expression: str) -> str:
        if "." in expression:
            return self.get_att(*expression.split(".", 1))
        return self.ref(expression)

    # --- resources -------------------------------------------------------------------------

    def create(self, logical_id: str) -> None:
        if logical_id in self.stack.refs:
            return
        resource = self.resources[logical_id]
        if resource.get("Type") in CLOUD_ONLY:  # nothing local uses it: a name stands in for it
            self.stack.refs[logical_id] = f"local-{logical_id}"
            self.stack.attributes[logical_id] = {}
            return
        creator = _CREATORS.get(resource.get("Type", ""))
        if creator is None:
            raise KeyError(f"{logical_id} ({resource.get('Type')}) is not provisioned locally")
        properties = self.resolve(resource.get("Properties", {}))
        ref, attributes = creator(self, properties)
        self.stack.refs[logical_id] = ref
        self.stack.attributes[logical_id] = attributes


def _table(p: _Provisioner, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    ddb = p.clients("dynamodb")
    name = props["TableName"]
    params: dict[str, Any] = {
        k: props[k]
        for k in (
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "StreamSpecification",
        )
        if k in props
    }
    if "SSESpecification" in props:
        params["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
    if "DeletionProtectionEnabled" in props:
        params["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
    description = ddb.create_table(TableName=name, **params)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
    return name, {"Arn": description["TableArn"]}


def _queue(p: _Provisioner, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    sqs = p.clients("sqs")
    attributes = {
        k: json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in props.items()
        if k not in ("QueueName", "Tags")
    }
    url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"Arn": arn, "QueueName": props["QueueName"], "QueueUrl": url}


def _secret(p: _Provisioner, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    value = props.get("SecretString")
    generate = props.get("GenerateSecretString")
    if value is None and generate:
        document = json.loads(generate.get("SecretStringTemplate", "{}"))
        alphabet = string.ascii_letters + string.digits
        document[generate["GenerateStringKey"]] = "".join(
            secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32)))
        )
        value = json.dumps(document)
    arn = p.clients("secretsmanager").create_secret(
        Name=props["Name"], Description=props.get("Description", ""), SecretString=value or "{}"
    )["ARN"]
    return arn, {"Id": arn, "Name": props["Name"]}


def _topic(p: _Provisioner, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
    arn = p.clients("sns").create_topic(Name=props["TopicName"])["TopicArn"]
    return arn, {"TopicName": props["TopicName"], "TopicArn": arn}


# What only the cloud needs: alarms watch Lambda and SQS metrics moto does not emit, and the
# alerts key guards a topic moto does not encrypt.
CLOUD_ONLY = frozenset({"AWS::CloudWatch::Alarm", "AWS::KMS::Key", "AWS::Logs::LogGroup"})

_CREATORS: dict[str, Callable[[_Provisioner, dict[str, Any]], tuple[str, dict[str, str]]]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::SNS::Topic": _topic,
}


def provision(
    clients: ClientFactory,
    *,
    stage: str = "local",
    region: str = "us-east-1",
    account: str = "123456789012",
    template: Mapping[str, Any] | None = None,
) -> Stack:
    """Create every resource of the template that has a local equivalent; return their ids."""
    source = template if template is not None else load_template()
    return _Provisioner(source, {"Stage": stage}, clients, region, account).run()


def consumers(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Which queue (logical id) feeds which function (logical id), as the template wires them."""
    source = template if template is not None else load_template()
    wired: dict[str, str] = {}
    for function_id, resource in source.get("Resources", {}).items():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            queue = event.get("Properties", {}).get("Queue", {})
            if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                wired[function_id] = queue["Fn::GetAtt"][0]
    return wired
