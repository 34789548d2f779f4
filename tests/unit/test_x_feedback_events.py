"""What people say to the brand, read from both envelopes' real payloads into one model."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from chalicelib.x.events import Interaction, PostDeleted, parse_delivery
from tests.factories import load_event

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def only(payload: object) -> object:
    delivery = parse_delivery(payload, NOW)
    (event,) = delivery.events
    return event


def test_a_reply_in_someone_elses_thread_that_mentions_the_brand_is_a_mention() -> None:
    event = only(load_event("x/x_tweet_create_reply.json"))
    assert isinstance(event, Interaction)
    assert (event.kind, event.post_id, event.answers) == ("mention", "1332557345071644672", "1332252354599555074")
    assert (event.author.id, event.author.handle) == ("1247048165561270272", "TanuLearns")
    assert event.text == "@Learn_Awesome Save this"
    assert event.occurred_at == datetime(2020, 11, 28, 5, 30, 3, tzinfo=UTC)


def test_a_reply_to_the_brands_post_is_a_reply() -> None:
    payload = load_event("x/x_tweet_create_reply.json")
    payload["tweet_create_events"][0]["in_reply_to_user_id_str"] = payload["for_user_id"]
    event = only(payload)
    assert isinstance(event, Interaction)
    assert (event.kind, event.answers) == ("reply", "1332252354599555074")


def test_a_quote_of_the_brands_post_is_a_quote() -> None:
    payload = load_event("x/x_tweet_create_reply.json")
    tweet = payload["tweet_create_events"][0]
    tweet["quoted_status_id_str"] = "1332252354599555074"
    tweet["quoted_status"] = {"id_str": "1332252354599555074", "user": {"id_str": payload["for_user_id"]}}
    event = only(payload)
    assert isinstance(event, Interaction)
    assert (event.kind, event.answers) == ("quote", "1332252354599555074")


def test_the_brands_own_posts_and_retweets_are_not_feedback() -> None:
    own = load_event("x/x_tweet_create_reply.json")
    own["tweet_create_events"][0]["user"]["id_str"] = own["for_user_id"]
    retweet = load_event("x/x_tweet_create_reply.json")
    retweet["tweet_create_events"][0]["retweeted_status"] = copy.deepcopy(retweet["tweet_create_events"][0])
    for payload in (own, retweet):
        delivery = parse_delivery(payload, NOW)
        assert (delivery.events, delivery.unused) == ([], 1)


def test_a_like_and_a_delete_from_the_account_activity_api() -> None:
    like = only(load_event("x/x_favorite_event.json"))
    assert isinstance(like, Interaction)
    assert (like.kind, like.author.id, like.text) == ("like", "63046977", None)
    deleted = only(load_event("x/x_tweet_delete_event.json"))
    assert isinstance(deleted, PostDeleted)
    assert (deleted.post_id, deleted.user_id) == ("1045405559317569537", "930524282358325248")


def test_xaa_replies_and_mentions() -> None:
    reply = only(load_event("x/x_xaa_post_reply_create.json"))
    assert isinstance(reply, Interaction)
    assert (reply.kind, reply.post_id, reply.answers) == ("reply", "2090000000000000001", "2080761390344937796")
    assert reply.text == "@ExampleUser Great post — thanks for sharing!"
    mention = only(load_event("x/x_xaa_post_mention_create.json"))
    assert isinstance(mention, Interaction)
    assert (mention.kind, mention.author.handle) == ("mention", "OtherUser")  # from the includes


def test_xaa_own_posts_and_outbound_likes_are_not_feedback() -> None:
    for name in ("x/x_xaa_post_create.json", "x/x_xaa_like_create.json"):
        delivery = parse_delivery(load_event(name), NOW)
        assert (delivery.events, delivery.unused) == ([], 1)


def test_an_xaa_post_quoting_the_brand_is_a_quote() -> None:
    payload = load_event("x/x_xaa_post_create.json")
    post = payload["data"]["payload"]
    post["author_id"] = "2222222222222222222"
    post["referenced_tweets"] = [{"type": "quoted", "id": "2080761390344937796"}]
    event = only(payload)
    assert isinstance(event, Interaction)
    assert (event.kind, event.answers) == ("quote", "2080761390344937796")


def test_ids_above_2_53_stay_exact_strings() -> None:
    event = only(load_event("x/x_tweet_create_reply.json"))
    assert isinstance(event, Interaction)
    assert event.post_id == "1332557345071644672"  # as a float it would read ...644672 rounded
    assert int(event.post_id) > 2**53
