"""One page per person: ``GET /people/{user_id}``, the search by handle and erasing a person, through
the routes, with the captured X payloads (tests/events/x) addressed to the brand."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import aaa_follow, load_event, signed_headers, x_reply

ACCOUNT = "1114259648326987776"  # the for_user_id of the captured reply
PERSON = "1247048165561270272"  # the captured reply's author, @TanuLearns
HANDLE = "TanuLearns"
DEAL_POST = "1332252354599555074"  # what the captured reply answers


@pytest.fixture(autouse=True)
def brand(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_ACCOUNT_ID", ACCOUNT)


def deliver(api: Any, payload: Any) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    response = api.http.post("/webhooks/x", body=body, headers=signed_headers(body))
    assert response.status_code == 200, response.body
    result: dict[str, Any] = json.loads(response.body)
    return result


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def follow(at: datetime, kind: str = "follow", user: str = PERSON, handle: str = HANDLE) -> Any:
    return aaa_follow(ACCOUNT, user, millis(at), kind=kind, handle=handle)


def a_reply(post_id: str, text: str, at: datetime, author: str = PERSON, handle: str = HANDLE) -> Any:
    payload = x_reply(post_id, text, DEAL_POST, account=ACCOUNT, author=author)
    tweet = payload["tweet_create_events"][0]
    tweet["created_at"] = at.strftime("%a %b %d %H:%M:%S +0000 %Y")
    tweet["user"]["screen_name"] = handle
    return payload


def a_dm(dm_id: str, text: str, at: datetime, sender: str = PERSON, handle: str = HANDLE) -> Any:
    """The docs' ``direct_message_events`` sample, sent by ``sender`` to the brand."""
    payload = copy.deepcopy(load_event("x/x_dm_event.json"))
    payload["for_user_id"] = ACCOUNT
    event = payload["direct_message_events"][0]
    event.update(id=dm_id, created_timestamp=str(millis(at)))
    event["message_create"].update(sender_id=sender, target={"recipient_id": ACCOUNT})
    event["message_create"]["message_data"]["text"] = text
    payload["users"][sender] = {**payload["users"].pop("3001969357"), "id": sender, "screen_name": handle}
    return payload


def deletion_of(post_id: str) -> Any:
    deleted = copy.deepcopy(load_event("x/x_tweet_delete_event.json"))
    deleted["for_user_id"] = ACCOUNT
    deleted["tweet_delete_events"][0]["status"].update(id=post_id, user_id=PERSON)
    return deleted


def get(api: Any, admin: dict[str, str], path: str, status: int = 200) -> Any:
    response = api.http.get(path, headers=admin)
    assert response.status_code == status, response.body
    return json.loads(response.body)


def answer(api: Any, admin: dict[str, str], feedback_id: str, text: str) -> Any:
    headers = {**admin, "Content-Type": "application/json"}
    response = api.http.post(f"/feedback/{feedback_id}/reply", body=json.dumps({"text": text}), headers=headers)
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def erase(api: Any, admin: dict[str, str], user_id: str = PERSON, status: int = 200) -> Any:
    response = api.http.post(f"/people/{user_id}/erase", headers=admin)
    assert response.status_code == status, response.body
    return json.loads(response.body)


NOW = datetime.now(UTC).replace(microsecond=0)


def a_known_person(api: Any, admin: dict[str, str]) -> None:
    """@TanuLearns followed, left, came back, opted in to deal DMs, replied twice, DMed a question
    and was answered once."""
    deliver(api, follow(NOW - timedelta(days=9)))
    deliver(api, follow(NOW - timedelta(days=8), kind="unfollow"))
    deliver(api, follow(NOW - timedelta(days=7)))
    deliver(api, a_dm("900000000000000001", "DEALS", NOW - timedelta(days=6)))
    deliver(api, a_reply("1900000000000000001", "Love this deal, best price ever", NOW - timedelta(days=3)))
    deliver(api, a_reply("1900000000000000002", "Shipping was awful and slow", NOW - timedelta(days=2)))
    deliver(api, a_dm("900000000000000002", "Does the XPS ship to Canada?", NOW - timedelta(days=1)))
    answer(api, admin, "post:1900000000000000002", "Sorry about that, we are on it")


# --- the person, as the API tells it ------------------------------------------------------------------


def test_a_person_is_their_follows_subscription_feedback_and_answers(api: Any, admin: dict[str, str]) -> None:
    # Given a person who followed twice, opted in, said three things and was answered once
    a_known_person(api, admin)

    # When the operator asks for them
    person = get(api, admin, f"/people/{PERSON}")

    # Then every section says what was delivered, newest first
    assert (person["user_id"], person["handle"], person["following"]) == (PERSON, HANDLE, True)
    assert [(e["kind"], e["at"][:10]) for e in person["follows"]] == [
        ("follow", (NOW - timedelta(days=7)).date().isoformat()),
        ("unfollow", (NOW - timedelta(days=8)).date().isoformat()),
        ("follow", (NOW - timedelta(days=9)).date().isoformat()),
    ]
    assert person["follows_total"] == 3
    assert person["followed_at"].startswith((NOW - timedelta(days=7)).date().isoformat())
    subscription = person["subscription"]
    assert subscription["state"] == "subscribed"
    assert subscription["subscribed_at"].startswith((NOW - timedelta(days=6)).date().isoformat())
    said = [(i["kind"], i["text"], i["sentiment"]["label"], i["state"]) for i in person["feedback"]]
    assert said == [
        ("dm", "Does the XPS ship to Canada?", "neutral", "open"),
        ("reply", "Shipping was awful and slow", "negative", "answered"),
        ("reply", "Love this deal, best price ever", "positive", "open"),
    ]
    (given,) = person["answers"]
    assert (given["feedback_id"], given["text"], given["by"], given["kind"]) == (
        "post:1900000000000000002",
        "Sorry about that, we are on it",
        "admin",
        "reply",
    )
    assert given["at"]
    assert person["listening_posts"] == []
    assert person["orders"]["known"] is False
    assert "no X user id" in person["orders"]["why"]
    assert person["erased_at"] is None
    # The DEALS command is a subscription, not feedback: nobody else's words are on the page.
    assert all(i["author_id"] == PERSON for i in person["feedback"])


def test_feedback_and_answers_are_paged_with_their_cursors(api: Any, admin: dict[str, str]) -> None:
    from chalicelib.people import FEEDBACK_SHOWN

    # Given more feedback than a page shows
    for n in range(FEEDBACK_SHOWN + 3):
        at = NOW - timedelta(hours=n + 1)
        deliver(api, a_reply(f"19000000000000001{n:02d}", f"message number {n}", at))

    # When the first page and then the next are read
    first = get(api, admin, f"/people/{PERSON}")
    second = get(api, admin, f"/people/{PERSON}?cursor={first['feedback_next']}")

    # Then together they hold each item once, newest first
    assert len(first["feedback"]) == FEEDBACK_SHOWN
    texts = [i["text"] for i in first["feedback"] + second["feedback"]]
    assert texts == [f"message number {n}" for n in range(FEEDBACK_SHOWN + 3)]
    assert second["feedback_next"] is None
    assert get(api, admin, f"/people/{PERSON}?cursor=not-a-cursor", status=400)["error"]["fields"] == {
        "cursor": "not a cursor from this person's lists"
    }


def test_someone_outlet_never_heard_of_is_a_404_and_a_malformed_id_a_400(api: Any, admin: dict[str, str]) -> None:
    # Given someone else's reply
    deliver(api, a_reply("1900000000000000001", "hello", NOW, author="42", handle="someone"))

    # Then a stranger is a 404, a malformed id a 400, both in the error shape, and nothing is written
    unknown = get(api, admin, "/people/999", status=404)
    assert unknown["error"]["code"] == "not_found"
    assert "never heard of" in unknown["error"]["message"]
    for bad in ("abc", "12a", "-5", "1" * 21, "%20"):
        assert get(api, admin, f"/people/{bad}", status=400)["error"]["fields"] == {"user_id": "not an X user id"}
    assert erase(api, admin, "999", status=404)["error"]["code"] == "not_found"
    assert get(api, admin, "/people/999", status=404)
    assert api.http.get(f"/people/{PERSON}").status_code == 401  # admin only
    assert get(api, admin, "/people/42")["handle"] == "someone"  # known from their reply alone


# --- deletions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("deletion_first", [False, True], ids=["post-first", "deletion-first"])
def test_a_deleted_post_is_gone_from_the_persons_page(api: Any, admin: dict[str, str], deletion_first: bool) -> None:
    # Given a follower who replied twice and deleted one reply (X sends either first)
    deliver(api, follow(NOW - timedelta(days=2)))
    deliver(api, a_reply("1900000000000000001", "I keep this one", NOW - timedelta(hours=3)))
    doomed, deletion = (
        a_reply("1900000000000000002", "Regret saying this", NOW - timedelta(hours=2)),
        deletion_of("1900000000000000002"),
    )
    for payload in (deletion, doomed) if deletion_first else (doomed, deletion):
        deliver(api, payload)

    # When the operator opens their page
    person = get(api, admin, f"/people/{PERSON}")

    # Then the deleted reply is not there at all, and its text is nowhere in the answer
    assert [i["text"] for i in person["feedback"]] == ["I keep this one"]
    assert "Regret" not in json.dumps(person)
    # and the channel's counts still count it
    totals = get(api, admin, "/reports/summary")["sentiment"]
    assert sum(totals.values()) == 2


def test_erasing_a_person_takes_their_texts_out_everywhere_and_keeps_the_counts(
    api: Any, admin: dict[str, str]
) -> None:
    # Given a known person and someone else
    a_known_person(api, admin)
    deliver(api, a_reply("1900000000000000009", "Somebody else's words", NOW, author="42", handle="tanuki"))
    report_before = get(api, admin, "/reports/summary")
    community_before = get(api, admin, "/community")

    # When they are erased
    done = erase(api, admin)

    # Then their replies and DMs have no text or author anywhere, and the others' words stay
    assert (done["feedback_erased"], done["answers_unlinked"], done["done"]) == (3, 1, True)
    listed = get(api, admin, "/feedback?limit=100")["items"]
    theirs = [i for i in listed if i["id"] != "post:1900000000000000009"]
    assert len(theirs) == 3
    assert all((i["text"], i["author_id"], i["author_handle"]) == (None, None, None) for i in theirs)
    assert [i["text"] for i in listed if i["id"] == "post:1900000000000000009"] == ["Somebody else's words"]
    # their page holds no text of theirs, nor their handle or name
    person = get(api, admin, f"/people/{PERSON}")
    assert person["erased_at"] == done["erased_at"]
    assert (person["feedback"], person["answers"], person["handle"], person["name"]) == ([], [], None, None)
    assert person["following"] is True  # their standing is no text: it stays, as the counts do
    assert person["subscription"]["state"] == "subscribed"
    assert [p["user_id"] for p in get(api, admin, "/people?handle=tanu")["items"]] == ["42"]  # @tanuki
    # and the counts are exactly what they were
    report_after = get(api, admin, "/reports/summary")
    assert report_after["sentiment"] == report_before["sentiment"]
    assert get(api, admin, "/community") == community_before

    # When it is asked again, nothing changes
    again = erase(api, admin)
    assert (again["feedback_erased"], again["answers_unlinked"], again["erased_at"]) == (0, 0, done["erased_at"])
    assert get(api, admin, "/reports/summary")["sentiment"] == report_before["sentiment"]


def test_erasing_works_in_bounded_pages_and_continues_where_it_stopped(store: Any, clock: Any) -> None:
    from chalicelib.feedback import record_feedback
    from chalicelib.people import erase_person, person_page
    from chalicelib.sentiment import VaderClassifier
    from chalicelib.x.events import Interaction, XUser

    # Given seven pieces of feedback from one person
    for n in range(7):
        event = Interaction(
            kind="mention",
            event_id=f"post:{n}",
            occurred_at=clock() - timedelta(minutes=n),
            author=XUser(id="77", handle="chatty"),
            text=f"words {n}",
            post_id=str(n),
        )
        record_feedback(store, event, VaderClassifier(), [])

    # When each call may read one page of three
    first = erase_person(store, "77", now=clock(), page_size=3, max_pages=1)
    second = erase_person(store, "77", now=clock(), page_size=3, max_pages=1)
    third = erase_person(store, "77", now=clock(), page_size=3, max_pages=1)

    # Then the first two say there is more, the third finishes, and each item was erased once
    assert [(e.feedback_erased, e.done) for e in (first, second, third)] == [(3, False), (3, False), (1, True)]
    assert person_page(store, "77")["feedback"] == []


# --- search ------------------------------------------------------------------------------------------------


def test_people_are_found_by_handle_including_those_known_only_from_feedback(api: Any, admin: dict[str, str]) -> None:
    # Given a follower and a person who only replied (never followed)
    deliver(api, follow(NOW - timedelta(days=1), user="501", handle="DellFan"))
    deliver(api, a_reply("1900000000000000003", "Where is my order?", NOW, author=PERSON))

    # Then a handle's start finds each, in any case, with or without the @
    found = get(api, admin, "/people?handle=@dellf")["items"]
    assert [(p["user_id"], p["handle"], p["following"]) for p in found] == [("501", "DellFan", True)]
    found = get(api, admin, "/people?handle=TANU")["items"]
    assert [(p["user_id"], p["handle"], p["following"]) for p in found] == [(PERSON, HANDLE, False)]
    assert get(api, admin, "/people?handle=zz")["items"] == []
    assert get(api, admin, "/people", status=422)["error"]["fields"] == {"handle": "1 to 50 characters"}
    assert get(api, admin, "/people?handle=x&limit=0", status=422)


def test_a_persons_page_costs_the_same_few_requests_however_much_they_said(store: Any, clock: Any) -> None:
    from chalicelib.feedback import record_feedback
    from chalicelib.people import person_page
    from chalicelib.sentiment import VaderClassifier
    from chalicelib.x.events import Interaction, XUser

    def requests_for_page_after(items: int) -> int:
        for n in range(items):
            event = Interaction(
                kind="mention",
                event_id=f"post:{items}{n:03d}",
                occurred_at=clock() - timedelta(minutes=n),
                author=XUser(id=f"9{items}", handle=f"talker{items}"),
                text=f"words {n}",
                post_id=f"{items}{n:03d}",
            )
            record_feedback(store, event, VaderClassifier(), [])
        before = store.requests
        person_page(store, f"9{items}")
        return int(store.requests - before)

    # The single items in one batch, a page of entries, their items in one batch, a page of answers,
    # a page of their posts heard by listening
    assert requests_for_page_after(3) == requests_for_page_after(60) == 5


def test_feedback_recorded_before_the_index_is_indexed_once_by_the_sweep(
    api: Any, admin: dict[str, str], store: Any, clock: Any
) -> None:
    from chalicelib.people import index_earlier_feedback
    from chalicelib.store import Keys
    from tests.conftest import aws_client

    # Given a person's feedback and an answer, recorded as an earlier version did (no person entries)
    a_known_person(api, admin)
    deliver(api, a_reply("1900000000000000009", "Another voice", NOW, author="42", handle="tanuki"))
    before = get(api, admin, f"/people/{PERSON}")
    dynamodb = aws_client("dynamodb")
    for user in (PERSON, "42"):
        for entry in store.query(Keys.person(user), limit=100).items:
            dynamodb.delete_item(TableName=store.table_name, Key={"PK": {"S": entry["PK"]}, "SK": {"S": entry["SK"]}})
    for entry in store.query(Keys.handles("t"), limit=100).items:  # @TanuLearns's and @tanuki's
        dynamodb.delete_item(TableName=store.table_name, Key={"PK": {"S": entry["PK"]}, "SK": {"S": entry["SK"]}})
    assert get(api, admin, "/people/42", status=404)

    # When the sweep's backfill runs, two items a page, one page a run, until it is through
    runs = [index_earlier_feedback(store, clock(), page_size=2, pages=1) for _ in range(3)]

    # Then every item was indexed once, and the pages read as before
    assert runs == [2, 2, 0]
    assert index_earlier_feedback(store, clock(), page_size=2, pages=1) == 0  # through: its marker says so
    after = get(api, admin, f"/people/{PERSON}")
    assert (after["feedback"], after["answers"]) == (before["feedback"], before["answers"])
    assert get(api, admin, "/people/42")["handle"] == "tanuki"
    assert [p["user_id"] for p in get(api, admin, "/people?handle=tanu")["items"]] == ["42", PERSON]
    requests = store.requests
    assert index_earlier_feedback(store, clock()) == 0
    assert store.requests - requests == 1  # once through, one GetItem a run


def test_a_person_heard_only_by_listening_has_a_page_with_their_posts_and_erasing_takes_them_out(
    api: Any, admin: dict[str, str]
) -> None:
    # Given a competitor rule, and a stranger's post heard by it twice (a duplicate delivery)
    from tests.integration.test_listening import delivery, rule

    rival = rule(api, admin, "HP", "competitor", "HP")
    heard = delivery("1900000000000000077", "HP laptops are great", [rival["id"]], author="777", handle="stranger")
    deliver(api, heard)
    deliver(api, heard)

    # When their page is read
    person = get(api, admin, "/people/777")

    # Then it shows the post once, with the rule's name, and their handle from the post
    assert person["handle"] == "stranger"
    assert [(p["id"], p["text"], p["rules"]) for p in person["listening_posts"]] == [
        ("1900000000000000077", "HP laptops are great", ["HP"])
    ]

    # When they are erased, the heard post leaves their page and the listening list has no text of theirs
    done = erase(api, admin, "777")
    assert done["listening_posts_erased"] == 1
    after = get(api, admin, "/people/777")
    assert (after["listening_posts"], after["handle"]) == ([], None)
    listed = get(api, admin, "/listening/posts")["items"]
    assert [(p["id"], p["text"], p["author_id"]) for p in listed] == [("1900000000000000077", None, None)]


def test_a_person_known_only_from_listening_is_found_by_handle_until_erased(api: Any, admin: dict[str, str]) -> None:
    from tests.integration.test_listening import delivery, rule

    # Given a stranger's post heard by two rules (the handle entry is written once, either way)
    rival = rule(api, admin, "HP", "competitor", "HP")
    topic = rule(api, admin, "Laptops", "topic", "laptops")
    deliver(
        api,
        delivery(
            "1900000000000000078", "HP laptops are great", [rival["id"], topic["id"]], author="778", handle="Stranger"
        ),
    )

    # Then the handle search finds them, like a follower or someone who replied
    found = get(api, admin, "/people?handle=@stran")["items"]
    assert [(p["user_id"], p["handle"], p["following"]) for p in found] == [("778", "Stranger", False)]

    # And once erased, they leave the search
    assert erase(api, admin, "778")["done"] is True
    assert get(api, admin, "/people?handle=stran")["items"] == []


def test_an_erased_persons_post_heard_again_by_another_rule_stays_off_their_page(
    api: Any, admin: dict[str, str]
) -> None:
    from tests.integration.test_listening import delivery, rule

    # Given a stranger's post heard by one rule, then the stranger erased
    rival = rule(api, admin, "HP", "competitor", "HP")
    topic = rule(api, admin, "Laptops", "topic", "laptops")
    post = "1900000000000000079"
    deliver(api, delivery(post, "HP laptops are great", [rival["id"]], author="779", handle="stranger"))
    erase(api, admin, "779")

    # When another rule hears the same post, and a new post of theirs is heard
    again = deliver(api, delivery(post, "HP laptops are great", [topic["id"]], author="779", handle="stranger"))
    assert again == {"applied": 1, "duplicates": 0, "ignored": 0}
    deliver(api, delivery("1900000000000000080", "HP again", [rival["id"]], author="779", handle="stranger"))

    # Then their page shows nothing of either, the search does not find them, and the posts count
    # for the rules with no text or author of theirs
    person = get(api, admin, "/people/779")
    assert (person["listening_posts"], person["handle"], person["name"]) == ([], None, None)
    assert get(api, admin, "/people?handle=stran")["items"] == []
    listed = get(api, admin, "/listening/posts")["items"]
    assert sorted((p["id"], p["text"], p["author_id"], tuple(p["rules"])) for p in listed) == [
        (post, None, None, tuple(sorted([rival["id"], topic["id"]]))),
        ("1900000000000000080", None, None, (rival["id"],)),
    ]


def test_erasing_before_the_backfill_is_through_finds_the_earlier_feedback_too(
    api: Any, admin: dict[str, str], store: Any
) -> None:
    from chalicelib.store import Keys
    from tests.conftest import aws_client

    # Given a person's feedback recorded as an earlier version did (no person entries), not yet backfilled
    a_known_person(api, admin)
    dynamodb = aws_client("dynamodb")
    for entry in store.query(Keys.person(PERSON), limit=100).items:
        dynamodb.delete_item(TableName=store.table_name, Key={"PK": {"S": entry["PK"]}, "SK": {"S": entry["SK"]}})

    # When they are erased
    done = erase(api, admin)

    # Then their earlier feedback is erased too: no text of theirs is left in the feedback list
    assert done["done"] is True
    assert done["feedback_erased"] == 3
    listed = get(api, admin, "/feedback?limit=100")["items"]
    assert listed
    assert all((i["text"], i["author_id"]) == (None, None) for i in listed)


def test_erasing_many_heard_posts_goes_on_where_it_stopped(store: Any, clock: Any) -> None:
    from chalicelib.listening.posts import erase_author_posts, hear_delivery, posts_by_author
    from chalicelib.listening.rules import LocalRuleSync, RuleFields, add_rule
    from chalicelib.sentiment import VaderClassifier
    from chalicelib.x.events import parse_delivery
    from tests.integration.test_listening import delivery

    # Given 150 posts of one author heard by a rule
    rival = add_rule(store, RuleFields(name="HP", kind="competitor", query="hp"), clock(), LocalRuleSync())
    for n in range(150):
        heard = parse_delivery(delivery(f"18600000000{n:05d}", f"hp {n}", [rival["id"]], author="77"), clock()).heard
        hear_delivery(store, heard, classifier=VaderClassifier(), account_id=ACCOUNT, now=clock())

    # When erasure may read one page of 100 a call, it says it is not through, then finishes
    assert erase_author_posts(store, "77", max_pages=1) == (100, False)
    assert erase_author_posts(store, "77", max_pages=1) == (50, True)
    assert posts_by_author(store, "77", limit=100) == []


def deletion_by(post_id: str, user_id: str) -> Any:
    deleted = deletion_of(post_id)
    deleted["tweet_delete_events"][0]["status"]["user_id"] = user_id
    return deleted


def test_a_listened_to_person_whose_only_post_was_deleted_can_still_be_erased(api: Any, admin: dict[str, str]) -> None:
    from tests.integration.test_listening import delivery, rule

    # Given a stranger known only from one heard post, which they then deleted
    rival = rule(api, admin, "HP", "competitor", "HP")
    post = "1900000000000000091"
    deliver(api, delivery(post, "HP laptops are great", [rival["id"]], author="791", handle="Ghosty"))
    deliver(api, deletion_by(post, "791"))
    assert [p["user_id"] for p in get(api, admin, "/people?handle=ghost")["items"]] == ["791"]

    # When they are erased, outlet still knows them (their handle is on file) and the search forgets them
    assert erase(api, admin, "791")["done"] is True
    assert get(api, admin, "/people?handle=ghost")["items"] == []
    assert erase(api, admin, "791")["done"] is True  # and again: nothing left, nothing changed


def test_someone_whose_only_reply_was_deleted_can_still_be_erased(api: Any, admin: dict[str, str]) -> None:
    # Given someone known only from one reply, which they then deleted
    deliver(api, a_reply("1900000000000000092", "hello there", NOW, author="792", handle="Fleeting"))
    deliver(api, deletion_by("1900000000000000092", "792"))
    assert [p["user_id"] for p in get(api, admin, "/people?handle=fleet")["items"]] == ["792"]

    # When they are erased, the search forgets them
    assert erase(api, admin, "792")["done"] is True
    assert get(api, admin, "/people?handle=fleet")["items"] == []


def test_the_search_leaves_out_someone_erased_whatever_entry_is_left(
    api: Any, admin: dict[str, str], store: Any
) -> None:
    from chalicelib.store import Keys

    # Given an erased person, and a handle entry for them written by a hearing that raced the erasure
    deliver(api, a_reply("1900000000000000093", "hello", NOW, author="793", handle="Racer"))
    erase(api, admin, "793")
    store.put({**Keys.follower_handle("Racer", "793"), "user_id": "793", "handle": "Racer"})

    # Then the search does not find them
    assert get(api, admin, "/people?handle=rac")["items"] == []
