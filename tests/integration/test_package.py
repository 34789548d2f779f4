"""`make package`: Chalice's SAM template merged with infra/template.json, and a lean zip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).with_name("chalice")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("package") / "dev"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(  # noqa: S603 - the venv's own chalice
        [str(CHALICE), "package", "--stage", "dev", "--merge-template", "infra/template.json", str(out)],
        cwd=PROJECT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return json.loads((out / "sam.json").read_text()), out / "deployment.zip"


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
    }
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            env = resource["Properties"]["Environment"]["Variables"]
            assert env["STAGE"] == "dev", name
            assert not {"ADMIN_TOKEN", "X_CONSUMER_SECRET", "SHOPIFY_WEBHOOK_SECRET"} & set(env), name


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
    assert archive.stat().st_size < 5 * 1024 * 1024
    names = zipfile.ZipFile(archive).namelist()
    assert "app.py" in names
    assert "chalicelib/store/table.py" in names
    forbidden = ("localcloud/", "tests/", "moto/", "pytest/", "boto3/", "botocore/", "hypothesis/")
    assert not [n for n in names if n.startswith(forbidden)]
