"""`make package`: Chalice's SAM template merged with infra/template.json, and a lean zip."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra.slim import bytecode_path, compiled, removable, slim

PROJECT = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).with_name("chalice")


def package(out: Path, stage: str) -> dict[str, Any]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(  # noqa: S603 - the venv's own chalice
        [str(CHALICE), "package", "--stage", stage, "--merge-template", "infra/template.json", str(out)],
        cwd=PROJECT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    slim(out / "deployment.zip")  # as `make package` does
    template: dict[str, Any] = json.loads((out / "sam.json").read_text())
    return template


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("package") / "dev"
    return package(out, "dev"), out / "deployment.zip"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return package(tmp_path_factory.mktemp("package") / "prod", "prod")


def test_the_package_holds_the_functions_and_the_shared_resources(packaged: tuple[dict[str, Any], Path]) -> None:
    template, _ = packaged
    resources = template["Resources"]
    types = {name: r["Type"] for name, r in resources.items()}
    assert types["OutletTable"] == "AWS::DynamoDB::Table"
    assert types["DeliveryQueue"] == types["DeliveryDeadLetterQueue"] == "AWS::SQS::Queue"
    assert types["OutletSecret"] == "AWS::SecretsManager::Secret"
    assert types["APIHandler"] == types["DeliverMessages"] == "AWS::Serverless::Function"
    assert all("Type" in r for r in resources.values()), "a merge fragment matched no Chalice resource"


def test_every_function_gets_the_table_queue_and_secret_from_the_template(
    packaged: tuple[dict[str, Any], Path],
) -> None:
    template, _ = packaged
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables == {
        "TABLE_NAME": {"Ref": "OutletTable"},
        "DELIVERY_QUEUE_URL": {"Ref": "DeliveryQueue"},
        "SECRET_ARN": {"Ref": "OutletSecret"},
        "ALERTS_TOPIC_ARN": {"Ref": "AlertsTopic"},
        # Only with the Parameters and Secrets extension's layer (a stack parameter): the port that
        # tells the app to read the secret through it, and how long the extension keeps it
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": {"Fn::If": ["UsesSecretsExtension", "2773", {"Ref": "AWS::NoValue"}]},
        "SECRETS_MANAGER_TTL": {"Fn::If": ["UsesSecretsExtension", "60", {"Ref": "AWS::NoValue"}]},
    }
    layer = {"Ref": "SecretsExtensionLayerArn"}
    assert template["Globals"]["Function"]["Layers"] == {
        "Fn::If": ["UsesSecretsExtension", [layer], {"Ref": "AWS::NoValue"}]
    }
    assert template["Parameters"]["SecretsExtensionLayerArn"]["Default"] == ""
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            env = resource["Properties"]["Environment"]["Variables"]
            assert env["STAGE"] == "dev", name
            assert not {"ADMIN_TOKEN", "X_CONSUMER_SECRET", "SHOPIFY_WEBHOOK_SECRET"} & set(env), name


def test_every_lambda_function_gets_the_extension_s_layer_and_port_when_the_stack_names_it(
    packaged: tuple[dict[str, Any], Path],
) -> None:
    from infra.validate import translate

    template, _ = packaged
    # SAM puts the Globals' layer first in each function's own list: none has one to lose it to
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert not [f for f in functions if "Layers" in f["Properties"]]
    lambdas = [r for r in translate(template, "dev")["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(lambdas) == len(functions)
    when = {"Fn::If": ["UsesSecretsExtension", [{"Ref": "SecretsExtensionLayerArn"}], {"Ref": "AWS::NoValue"}]}
    for function in lambdas:
        assert function["Properties"]["Layers"] == when
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]["Fn::If"][:2] == ["UsesSecretsExtension", "2773"]


def test_the_delivery_queue_feeds_its_consumer_with_partial_batch_failures(
    packaged: tuple[dict[str, Any], Path],
) -> None:
    template, _ = packaged
    (event,) = template["Resources"]["DeliverMessages"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_zip_is_lean_and_carries_no_dev_code(packaged: tuple[dict[str, Any], Path]) -> None:
    _, archive = packaged
    assert archive.stat().st_size < 5_000_000  # the requirement: a Lambda zip under 5 MB
    names = zipfile.ZipFile(archive).namelist()
    assert "app.py" in names
    assert "chalicelib/store/table.py" in names
    forbidden = ("localcloud/", "tests/", "moto/", "pytest/", "boto3/", "botocore/", "hypothesis/")
    assert not [n for n in names if n.startswith(forbidden)]
    # The console renders from files: its templates, stylesheet and Jinja2 travel with the code.
    assert {"chalicelib/console/templates/base.html", "chalicelib/console/static/console.css"} <= set(names)
    assert "jinja2/environment.py" in names
    assert "chalicelib/sentiment/model.bin.gz" in names  # the trained sentiment model, read at run time
    assert not [n for n in names if n.startswith("training/")]
    cached = {n for n in names if "__pycache__/" in n}
    assert not [n for n in set(names) - cached if removable(n)], "infra/slim.py's leftovers"
    # Bytecode: exactly the cold path's, made by infra/slim.py (none picked up from a working tree)
    assert cached == {bytecode_path(n) for n in names if compiled(n)}
    tag = sys.implementation.cache_tag  # Chalice packages for the Lambda runtime of this Python
    assert {f"__pycache__/app.{tag}.pyc", f"chalicelib/store/__pycache__/table.{tag}.pyc"} <= cached
    assert f"chalicelib/console/__pycache__/views.{tag}.pyc" not in cached  # the console's pages: not cold


@pytest.mark.parametrize("sources", ["shipped", "unreadable where bytecode ships"])
def test_the_slimmed_zip_imports_every_module_and_answers_with_only_boto3_beside_it(
    packaged: tuple[dict[str, Any], Path], tmp_path: Path, sources: str
) -> None:
    _, archive = packaged
    code, runtime = tmp_path / "task", tmp_path / "runtime"  # Lambda's /var/task, and its own boto3
    zipfile.ZipFile(archive).extractall(code)
    if sources != "shipped":
        # Lambda's /var/task is read-only: Python cannot cache what it compiles there. The cold
        # path's modules load from the zip's bytecode without reading their source: with the
        # source made invalid, they still import (a module compiled at import would fail).
        for name in zipfile.ZipFile(archive).namelist():
            if compiled(name):
                (code / name).write_text("this is not Python (\n")
    runtime.mkdir()
    for name in ("boto3", "botocore", "dateutil", "jmespath", "s3transfer", "six"):
        spec = importlib.util.find_spec(name)
        assert spec is not None, name
        assert spec.origin is not None, name
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (runtime / source.name).symlink_to(source)
    smoke = Path(__file__).with_name("package_smoke.py")
    result = subprocess.run(  # noqa: S603 - our own script, isolated from the venv's site-packages
        [sys.executable, "-S", "-B", str(smoke), str(code), str(runtime)],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["modules"] > 40
    assert seen["health"] == [200, {"status": "ok"}]
    assert seen["crc"] is True
    assert seen["sign_in"] == [200, True]  # Jinja2 renders the console's form from the zip's templates
    assert seen["length"] == 31  # twitter-text's weights, its emoji list read from the zip
    assert (seen["sentiment"], seen["client"], seen["oauth"], seen["detected"]) == (
        "positive",
        "Client",
        True,
        "Déjà vu",
    )


FUNCTIONS = {"api_handler": "APIHandler"}  # Chalice's names for the API's function, else CamelCase


def logical_id(name: str) -> str:
    return FUNCTIONS.get(name) or "".join(part.title() for part in name.split("_"))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def test_the_package_holds_every_function_schedule_and_queue_mapping_the_app_declares(
    packaged: tuple[dict[str, Any], Path],
) -> None:
    from chalice.app import Rate, SQSEventConfig

    from app import app

    template, _ = packaged
    resources = functions(template)
    assert set(resources) == {"APIHandler"} | {logical_id(e.name) for e in app.event_sources}
    for source in app.event_sources:
        function = resources[logical_id(source.name)]["Properties"]
        assert function["Handler"] == source.handler_string
        (event,) = function["Events"].values()
        if isinstance(source, SQSEventConfig):
            assert (event["Type"], event["Properties"]["BatchSize"]) == ("SQS", source.batch_size)
        else:
            rate = getattr(source, "schedule_expression", None)
            assert isinstance(rate, Rate)
            unit = rate.unit.rstrip("S").lower() + ("s" if rate.value != 1 else "")
            assert event == {"Type": "Schedule", "Properties": {"Schedule": f"rate({rate.value} {unit})"}}
    for name, function in resources.items():
        env = function["Properties"]["Environment"]["Variables"]
        assert {"STAGE", "PUBLISHER", "LOG_LEVEL", "POWERTOOLS_SERVICE_NAME"} <= set(env), name
    assert set(template["Globals"]["Function"]["Environment"]["Variables"]) == {
        "TABLE_NAME",
        "DELIVERY_QUEUE_URL",
        "SECRET_ARN",
        "ALERTS_TOPIC_ARN",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
        "SECRETS_MANAGER_TTL",
    }


def test_every_role_is_least_privilege(packaged: tuple[dict[str, Any], Path], prod: dict[str, Any]) -> None:
    for stage, template in (("dev", packaged[0]), ("prod", prod)):
        roles = {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
        assert len(roles) == len(functions(template)), "one role per function"
        for name, role in roles.items():
            for policy in role["Properties"]["Policies"]:
                for statement in policy["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    resources = (
                        statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                    )
                    assert not [a for a in actions if a == "*" or a.endswith(":*")], (name, actions)
                    if "*" in resources:  # only where AWS offers nothing narrower
                        assert all(a.startswith("xray:") for a in actions), (name, statement)
                        continue
                    for resource in resources:
                        assert f":outlet-{stage}" in resource or f"/outlet-{stage}" in resource, (name, resource)


def test_alarms_watch_the_dead_letters_and_every_function_and_reach_the_topic(
    packaged: tuple[dict[str, Any], Path],
) -> None:
    template, _ = packaged
    resources = template["Resources"]
    alarms = {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {(a["MetricName"], json.dumps(a["Dimensions"][0]["Value"])) for a in alarms.values()}
    for name in functions(template):
        assert ("Errors", json.dumps({"Ref": name})) in watched
        assert ("Throttles", json.dumps({"Ref": name})) in watched
    queue = json.dumps({"Fn::GetAtt": ["DeliveryDeadLetterQueue", "QueueName"]})
    assert ("ApproximateNumberOfMessagesVisible", queue) in watched
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
    # Alarms cannot publish to a topic under the AWS-managed key: the topic has its own key that lets them
    topic = resources["AlertsTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertsKey"}
    statements = resources["AlertsKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)


def test_logs_are_kept_for_a_set_time_per_stage(packaged: tuple[dict[str, Any], Path], prod: dict[str, Any]) -> None:
    for template, days in ((packaged[0], 14), (prod, 90)):
        groups = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
        named = {g["LogGroupName"]["Fn::Sub"] for g in groups}
        assert named == {f"/aws/lambda/${{{name}}}" for name in functions(template)}
        assert {g["RetentionInDays"] for g in groups} == {days}


def test_stage_settings(packaged: tuple[dict[str, Any], Path], prod: dict[str, Any]) -> None:
    dev_api = functions(packaged[0])["APIHandler"]["Properties"]
    prod_functions = functions(prod)
    prod_api = prod_functions["APIHandler"]["Properties"]
    assert (dev_api["ReservedConcurrentExecutions"], prod_api["ReservedConcurrentExecutions"]) == (5, 50)
    assert {f["Properties"]["MemorySize"] for f in prod_functions.values()} == {1024}
    assert {f["Properties"]["Tracing"] for f in prod_functions.values()} == {"Active"}
    assert prod_api["Environment"]["Variables"]["PUBLISHER"] == "x"
    assert prod_api["Tags"]["stage"] == "prod"
    table = prod["Resources"]["OutletTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_make_validate_passes_offline(packaged: tuple[dict[str, Any], Path]) -> None:
    from infra.validate import validate

    _, archive = packaged
    results = {name: (passed, detail) for name, passed, detail in validate(archive.parent, "dev")}
    assert all(passed for passed, _ in results.values()), results
    smoke = results["smoke deploy into moto's CloudFormation"][1]
    for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Lambda::Function"):
        assert kind in smoke.split("left out")[0], smoke
    assert "AWS::Events::Rule" in smoke
    assert "AWS::Lambda::EventSourceMapping" in smoke


def test_validate_fails_on_a_broken_template(packaged: tuple[dict[str, Any], Path], tmp_path: Path) -> None:
    from infra.validate import lint

    template = json.loads(json.dumps(packaged[0]))
    template["Resources"]["DeliveryQueue"]["Properties"]["VisibilityTimeout"] = "a while"
    template["Resources"]["DeadLetterAlarm"]["Properties"]["AlarmActions"] = [{"Ref": "NoSuchTopic"}]
    findings = lint(template)
    assert any("VisibilityTimeout" in f for f in findings)
    assert any("NoSuchTopic" in f for f in findings)


def run_deploy(tmp_path: Path, stage: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **extra,
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "STAGE": stage,
        "BIN": str(CHALICE.parent),
        "DEPLOY_BUCKET": "outlet-artifacts",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(  # noqa: S603 - our own script
        ["/bin/bash", str(PROJECT / "infra" / "deploy.sh")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_refuses_without_credentials_and_does_nothing(tmp_path: Path) -> None:
    result = run_deploy(tmp_path, "dev")
    assert result.returncode == 2
    assert "make deploy will:" in result.stdout
    assert "stack 'outlet-dev'" in result.stdout
    assert "refusing: no usable AWS credentials" in result.stderr
    assert "deploying as" not in result.stdout
    assert "read the secret through the SDK" in result.stdout


def test_deploy_says_when_the_secret_is_read_through_the_extension(tmp_path: Path) -> None:
    layer = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:11"
    result = run_deploy(tmp_path, "dev", SECRETS_EXTENSION_LAYER_ARN=layer)
    assert f"read the secret through the Parameters and Secrets extension (layer {layer})" in result.stdout
    assert result.returncode == 2  # and refuses without credentials all the same


def test_deploy_refuses_prod_without_the_brands_account_id(tmp_path: Path) -> None:
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    if config["stages"]["prod"]["environment_variables"]["X_ACCOUNT_ID"]:
        pytest.skip("prod names the brand's account in this checkout")
    result = run_deploy(tmp_path, "prod")
    assert result.returncode == 2
    assert "X_ACCOUNT_ID is empty for prod" in result.stderr


def test_api_gateway_answers_an_unknown_route_with_the_contracts_json_404(
    packaged: tuple[dict[str, Any], Path],
) -> None:
    from infra.validate import translate
    from localcloud.gateway import NOT_FOUND

    template, _ = packaged
    api = template["Resources"]["RestAPI"]  # Chalice's API, with infra/template.json's fragment merged in
    assert api["Type"] == "AWS::Serverless::Api"
    responses = api["Properties"]["GatewayResponses"]
    missing_route = responses["MISSING_AUTHENTICATION_TOKEN"]  # API Gateway's name for "no such route"
    assert missing_route["StatusCode"] == "404"
    assert json.loads(missing_route["ResponseTemplates"]["application/json"]) == NOT_FOUND  # as `make run` answers
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for kind, response in responses.items():
        body = response["ResponseTemplates"]["application/json"]
        assert set(json.loads(body)["error"]) == {"code", "message", "fields"}, kind
        # Static bodies and no mapped headers: nothing a caller sent can come back in them.
        assert "$" not in body, kind
        assert "ResponseParameters" not in response, kind
    # SAM writes them into the API's definition, so they deploy with it.
    definition = translate(template, "dev")["Resources"]["RestAPI"]["Properties"]["Body"]
    deployed = definition["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
    assert deployed["statusCode"] == "404"
