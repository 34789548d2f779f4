"""The logger is built on the first line logged (a CRC logs nothing, so it never loads Powertools);
what was set before that (the correlation id, the level) applies from its first line."""

from __future__ import annotations

import json

import pytest

from chalicelib.observability import LazyLogger


def test_the_first_line_carries_the_correlation_id_and_level_set_before_the_logger_existed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = LazyLogger("outlet-lazy-test")
    logger.set_correlation_id("req-1")
    logger.setLevel("WARNING")
    logger.info("not at this level")
    logger.warning("first line", extra={"count": 2})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["message"], line["correlation_id"], line["count"]) for line in lines] == [("first line", "req-1", 2)]


def test_a_built_logger_follows_later_changes(capsys: pytest.CaptureFixture[str]) -> None:
    logger = LazyLogger("outlet-lazy-test-2")
    logger.info("built now")
    logger.set_correlation_id("req-2")
    logger.setLevel("DEBUG")
    logger.debug("after")
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (last["message"], last["correlation_id"], last["level"]) == ("after", "req-2", "DEBUG")


def test_the_rest_of_powertools_logger_is_there_when_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    logger = LazyLogger("outlet-lazy-test-3")
    logger.append_keys(deal_id="d-1")
    logger.critical("held")
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (line["message"], line["level"], line["deal_id"]) == ("held", "CRITICAL", "d-1")
