"""The key shapes live one module a capability; ``Keys`` gathers them without one hiding another."""

from datetime import UTC, datetime

from chalicelib.store import Keys
from chalicelib.store.keys import KEY_FAMILIES

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_no_two_capabilities_define_the_same_key_name() -> None:
    # given every capability's key shapes
    seen: dict[str, str] = {}
    clashes = []
    for family in KEY_FAMILIES:
        for name in vars(family):
            if name.startswith("__"):
                continue
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {family.__name__}")
            seen[name] = family.__name__
    # then each name is spelled once, so the order of ``Keys``'s bases decides nothing
    assert clashes == []


def test_keys_spells_what_each_family_spells() -> None:
    assert Keys.deal("d1") == {"PK": "DEAL#d1", "SK": "DEAL"}
    assert Keys.code_release("save10", NOON, "d1") == {
        "PK": "CODE#SAVE10",
        "SK": "RELEASED#2026-11-26T12:00:00.000000Z#d1",
    }
    assert Keys.person_answer("u1", NOON, "f1", "k") == {
        "PK": "PERSON#u1",
        "SK": "ANSWER#2026-11-26T12:00:00.000000Z#f1#k",
    }
