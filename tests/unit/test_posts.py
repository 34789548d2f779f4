"""X's weighted length (its published counting rules) and what counts as the same text."""

from __future__ import annotations

import pytest

from chalicelib.posts import fingerprint, weighted_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dell Outlet deal", 16),
        ("https://www.dell.com/en-us/outlet?deal=XPS13&utm_source=x", 23),  # any URL counts 23
        ("Deal https://t.co/abc", 5 + 23),
        ("日本語", 6),  # CJK counts 2
        ("👍", 2),
        ("👍🏽", 2),  # an emoji with a skin tone is one emoji
        ("e\u0301", 1),  # NFC: e + combining accent is one character
        ("£99", 3),  # Latin-1 counts 1
        ("€99", 4),  # the euro sign is outside the weight-1 ranges: it counts 2
    ],
)
def test_weighted_length_follows_x_rules(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_texts_differing_in_case_space_or_unicode_form_have_one_fingerprint() -> None:
    assert fingerprint("Welcome  to the 3 new followers!") == fingerprint("welcome to the 3 NEW followers! ")
    assert fingerprint("Caf\u00e9") == fingerprint("Cafe\u0301")
    assert fingerprint("Welcome to the 3 new followers!") != fingerprint("Welcome to the 4 new followers!")
