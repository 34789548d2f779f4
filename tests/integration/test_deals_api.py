"""The deals admin API: validation with field-level errors, the exact post text, codes, edits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest


def future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def deal(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "XPS 13 Refurbished",
        "price": "799.00",
        "list_price": "999.00",
        "currency": "USD",
        "code": "XPS13NOW",
        "url": "https://www.dell.com/en-us/outlet/xps-13",
        "quantity": 50,
        "release_at": future(hours=2),
        "expires_at": future(hours=26),
        "dm_subscribers": True,
    }
    base.update(overrides)
    return base


def create(api: Any, admin: dict[str, str], payload: Any) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return api.http.post("/deals", body=raw, headers={**admin, "Content-Type": "application/json"})


def body(response: Any) -> Any:
    return json.loads(response.body)


def test_a_deal_is_created_scheduled_with_the_exact_text_it_will_post(api: Any, admin: dict[str, str]) -> None:
    response = create(api, admin, deal(expires_at="2030-01-31T18:00:00Z", release_at="2030-01-30T09:00:00Z"))
    assert response.status_code == 201
    created = body(response)
    assert created["status"] == "scheduled"
    assert created["id"].startswith("d_")
    assert created["post_text"] == (
        "XPS 13 Refurbished: $799 (was $999, 20% off) with code XPS13NOW. "
        "https://www.dell.com/en-us/outlet/xps-13 Ends Jan 31, 18:00 UTC."
    )
    assert created["weighted_length"] == 112  # 89 characters of text, and the link counts 23
    assert (created["price"], created["list_price"], created["code"]) == ("799.00", "999.00", "XPS13NOW")
    shown = body(api.http.get(f"/deals/{created['id']}", headers=admin))
    assert shown.pop("feedback")["items"] == 0  # the rollup of what people said, empty so far
    assert shown == created


def test_money_stays_exact_when_sent_as_json_numbers(api: Any, admin: dict[str, str]) -> None:
    raw = json.dumps(deal(price="__P__", list_price="__L__")).replace('"__P__"', "19.99").replace('"__L__"', "29.99")
    created = body(create(api, admin, raw.encode()))
    assert (created["price"], created["list_price"]) == ("19.99", "29.99")


def test_a_custom_text_is_posted_as_written(api: Any, admin: dict[str, str]) -> None:
    created = body(create(api, admin, deal(text="Flash sale on XPS 13 — code XPS13NOW 🔥")))
    assert created["post_text"] == "Flash sale on XPS 13 — code XPS13NOW 🔥"
    assert created["weighted_length"] == 39  # the emoji counts 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"release_at": "2030-01-30T09:00:00"}, "release_at"),  # naive: no offset
        ({"release_at": "2020-01-30T09:00:00Z"}, "release_at"),  # in the past
        ({"expires_at": future(hours=1)}, "expires_at"),  # before release_at
        ({"price": "999.00"}, "price"),  # not below list price
        ({"price": "-1"}, "price"),
        ({"price": "19.999"}, "price"),  # more than cents
        ({"currency": "DOLLARS"}, "currency"),
        ({"url": "ftp://dell.com/x"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"code": "a b"}, "code"),
        ({"quantity": 0}, "quantity"),
        ({"title": ""}, "title"),
        ({"surprise": True}, "surprise"),
        ({"text": "x" * 281}, "text"),
    ],
)
def test_invalid_deals_are_refused_with_field_level_422s(
    api: Any, admin: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = create(api, admin, deal(**overrides))
    assert response.status_code == 422
    assert field in body(response)["error"]["fields"]
    assert body(api.http.get("/deals", headers=admin))["items"] == []


def test_an_overlong_post_says_by_how_much(api: Any, admin: dict[str, str]) -> None:
    response = create(api, admin, deal(text="y" * 290))
    assert body(response)["error"]["fields"]["text"] == (
        "the post would be 290 weighted characters, 10 over X's limit of 280"
    )


def test_a_missing_field_and_a_bad_body_are_refused(api: Any, admin: dict[str, str]) -> None:
    incomplete = deal()
    del incomplete["code"]
    assert body(create(api, admin, incomplete))["error"]["fields"] == {"code": "Field required"}
    assert create(api, admin, b"{not json").status_code == 400
    assert create(api, admin, [1, 2]).status_code == 422


def test_a_code_used_by_a_live_deal_is_a_409(api: Any, admin: dict[str, str]) -> None:
    first = body(create(api, admin, deal()))
    response = create(api, admin, deal(code="xps13now", title="Another laptop", price="500", list_price="700"))
    assert response.status_code == 409
    assert first["id"] in body(response)["error"]["message"]
    # Once the first is cancelled, its code is free again.
    api.http.post(f"/deals/{first['id']}/cancel", headers=admin)
    assert create(
        api, admin, deal(code="xps13now", title="Another laptop", price="500", list_price="700")
    ).status_code == (201)


def test_a_post_that_repeats_a_scheduled_one_is_a_409_naming_it(api: Any, admin: dict[str, str]) -> None:
    first = body(create(api, admin, deal(text="Huge savings on XPS 13 today with code XPS13NOW!")))
    response = create(api, admin, deal(code="OTHER1", text="HUGE savings on XPS 13 today, with code XPS13NOW"))
    assert response.status_code == 409
    assert f"deal-{first['id']}" in body(response)["error"]["message"]


def test_an_edit_is_validated_whole_and_recomposes_the_text(api: Any, admin: dict[str, str]) -> None:
    created = body(create(api, admin, deal()))
    url = f"/deals/{created['id']}"
    headers = {**admin, "Content-Type": "application/json"}
    edited = api.http.patch(url, body=json.dumps({"price": "749.00"}).encode(), headers=headers)
    assert edited.status_code == 200
    assert body(edited)["post_text"].startswith("XPS 13 Refurbished: $749 (was $999, 25% off)")
    bad = api.http.patch(url, body=json.dumps({"price": "1999"}).encode(), headers=headers)
    assert bad.status_code == 422
    assert body(api.http.get(url, headers=admin))["price"] == "749.00"


def test_only_a_scheduled_deal_can_be_edited_or_cancelled(api: Any, admin: dict[str, str]) -> None:
    created = body(create(api, admin, deal()))
    url = f"/deals/{created['id']}"
    cancelled = api.http.post(f"{url}/cancel", headers=admin)
    assert body(cancelled)["status"] == "cancelled"
    headers = {**admin, "Content-Type": "application/json"}
    assert api.http.patch(url, body=b'{"price": "700"}', headers=headers).status_code == 409
    assert api.http.post(f"{url}/cancel", headers=admin).status_code == 200  # cancelling twice is harmless
    assert api.http.get("/deals/d_nope", headers=admin).status_code == 404


def test_deals_are_listed_by_status_and_paged_across_statuses(api: Any, admin: dict[str, str]) -> None:
    ids = [
        body(create(api, admin, deal(code=f"CODE{n}", title=f"Laptop {n}", release_at=future(hours=n + 1))))["id"]
        for n in range(3)
    ]
    api.http.post(f"/deals/{ids[0]}/cancel", headers=admin)
    scheduled = body(api.http.get("/deals?status=scheduled", headers=admin))["items"]
    assert [d["id"] for d in scheduled] == [ids[2], ids[1]]
    seen: list[str] = []
    cursor = None
    while True:
        page = body(api.http.get("/deals?limit=1" + (f"&cursor={cursor}" if cursor else ""), headers=admin))
        seen.extend(d["id"] for d in page["items"])
        cursor = page["next"]
        if not cursor:
            break
    assert seen == [ids[2], ids[1], ids[0]]
    assert api.http.get("/deals?status=lost", headers=admin).status_code == 422
    assert api.http.get("/deals?cursor=zzz", headers=admin).status_code == 400
