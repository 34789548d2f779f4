"""Every key shape in the one table. Nothing outside this module spells a ``PK`` or an ``SK``.

Entities live in their own partition (``FOLLOWER#<id>``, ``OUTBOX#<id>`` ...); listings by time
or status go through ``GSI1`` (``GSI1PK`` a listing, ``GSI1SK`` an ISO time). ``GSI2`` is sparse:
only deals that can still end (an end time or a quantity) carry its keys, until they end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Item = dict[str, Any]
Key = dict[str, str]

KEY_ATTRIBUTES = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
TTL_ATTRIBUTE = "ttl"  # epoch seconds; must match TimeToLiveSpecification in infra/template.json
GSI1 = "GSI1"
GSI2 = "GSI2"
INDEX_KEYS = {GSI1: ("GSI1PK", "GSI1SK"), GSI2: ("GSI2PK", "GSI2SK")}


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Sortable ISO-8601 in UTC, microsecond precision, ``Z`` suffix."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: outlet keeps aware UTC times only")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shard_of(natural_id: str, shards: int) -> int:
    """A stable shard for an id: every write for one follower or one event lands in the same one.
    (A cryptographic hash, because CRC32 of ids that differ in a digit or two clusters on a few shards.)"""
    return int.from_bytes(hashlib.blake2b(natural_id.encode(), digest_size=4).digest(), "big") % shards


def without_keys(item: Mapping[str, Any]) -> Item:
    return {k: v for k, v in item.items() if k not in KEY_ATTRIBUTES and k != TTL_ATTRIBUTE}


class Keys:
    """Every key shape in the table. Add new entities here, nowhere else."""

    OUTBOX = "OUTBOX"  # GSI1 partition listing the outbox newest first

    @staticmethod
    def outbox_entry(entry_id: str) -> Key:
        return {"PK": f"OUTBOX#{entry_id}", "SK": "ENTRY"}

    @staticmethod
    def outbox_index(created_at: datetime, entry_id: str) -> dict[str, str]:
        # One index partition: the outbox holds what one brand posts and DMs, a few thousand a day.
        return {"GSI1PK": Keys.OUTBOX, "GSI1SK": f"{iso(created_at)}#{entry_id}"}

    # --- community ---
    @staticmethod
    def follower(user_id: str) -> Key:
        return {"PK": f"FOLLOWER#{user_id}", "SK": "PROFILE"}

    @staticmethod
    def followers_by_status(status: str) -> str:
        return f"FOLLOWERS#{status}"

    @staticmethod
    def follower_index(status: str, since: datetime, user_id: str) -> dict[str, str]:
        # Newest first within a status: who joined lately, or who left lately.
        return {"GSI1PK": Keys.followers_by_status(status), "GSI1SK": f"{iso(since)}#{user_id}"}

    # Counters every follow moves are sharded, so a viral moment's follows do not queue on one
    # item: a follower's events always land in its shard (``shard_of``); reads sum the shards.
    COMMUNITY_SHARDS = 10

    @staticmethod
    def community_totals(shard: int) -> Key:
        """One shard of followers now, ever followed, unfollows."""
        return {"PK": "COMMUNITY", "SK": f"TOTALS#{shard}"}

    COMMUNITY_DAYS = "COMMUNITY#DAYS"

    @staticmethod
    def community_day(day: str, shard: int) -> Key:
        """One shard of the joins and leaves on a UTC day (YYYY-MM-DD); a query reads a range of days."""
        return {"PK": Keys.COMMUNITY_DAYS, "SK": f"{day}#{shard}"}

    # --- the channel: whether outlet may publish, and what operators must know ---
    @staticmethod
    def channel() -> Key:
        return {"PK": "CHANNEL", "SK": "STATE"}

    @staticmethod
    def welcome_state() -> Key:
        return {"PK": "WELCOME", "SK": "STATE"}

    ALERTS = "ALERTS"

    @staticmethod
    def alert(alert_id: str) -> Key:
        return {"PK": f"ALERT#{alert_id}", "SK": "ALERT"}

    @staticmethod
    def alert_index(raised_at: datetime, alert_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.ALERTS, "GSI1SK": f"{iso(raised_at)}#{alert_id}"}

    ALERTS_UNPUBLISHED = "ALERTS#UNPUBLISHED"

    @staticmethod
    def alert_unpublished(raised_at: datetime, alert_id: str) -> Key:
        """An alert not yet published to the SNS topic (the alerts' outbox), oldest first."""
        return {"PK": Keys.ALERTS_UNPUBLISHED, "SK": f"{iso(raised_at)}#{alert_id}"}

    @staticmethod
    def published_text(digest: str) -> Key:
        """A post's normalized text, so the same text is never published twice."""
        return {"PK": f"TEXT#{digest}", "SK": "TEXT"}

    PUBLISHED_TEXTS = "TEXTS"

    @staticmethod
    def published_text_index(at: datetime, digest: str) -> dict[str, str]:
        return {"GSI1PK": Keys.PUBLISHED_TEXTS, "GSI1SK": f"{iso(at)}#{digest}"}

    # --- deals ---
    @staticmethod
    def deal(deal_id: str) -> Key:
        return {"PK": f"DEAL#{deal_id}", "SK": "DEAL"}

    @staticmethod
    def deals_by_status(status: str) -> str:
        return f"DEALS#{status}"

    @staticmethod
    def deal_index(status: str, release_at: datetime, deal_id: str) -> dict[str, str]:
        # Ordered by release time within a status: the due query reads scheduled deals up to now.
        return {"GSI1PK": Keys.deals_by_status(status), "GSI1SK": f"{iso(release_at)}#{deal_id}"}

    DEALS_ENDING = "DEALS#ending"  # GSI2: released deals that can still end (sparse)

    @staticmethod
    def deal_ending(check_from: datetime, deal_id: str) -> dict[str, str]:
        """A released deal the expiry sweep must look at from ``check_from`` on (its end time, or
        its release for a deal with a quantity); removed when the deal ends."""
        return {"GSI2PK": Keys.DEALS_ENDING, "GSI2SK": f"{iso(check_from)}#{deal_id}"}

    @staticmethod
    def code(code: str) -> str:
        """A coupon code's partition: its live claim and the deals that went out with it."""
        return f"CODE#{code.upper()}"

    @staticmethod
    def live_code(code: str) -> Key:
        """Held while a deal with this coupon code is live, so no two live deals share a code."""
        return {"PK": Keys.code(code), "SK": "LIVE"}

    @staticmethod
    def code_release(code: str, released_at: datetime, deal_id: str) -> Key:
        """A deal that went out with this code; the code's releases sort by time, so an order or a
        click finds the deal whose post carried the code then, even after it ended."""
        return {"PK": Keys.code(code), "SK": f"{Keys.CODE_RELEASED}{iso(released_at)}#{deal_id}"}

    CODE_RELEASED = "RELEASED#"

    # --- attribution: what the channel sold ---
    # A deal's figures live in three items so writers never contend: orders change ``SALES`` in
    # transactions, clicks change ``CLICKS`` with plain ADDs, publishing changes ``FEES``.
    @staticmethod
    def deal_sales(deal_id: str) -> Key:
        """A deal's attribution: orders, units, revenue by currency."""
        return {"PK": f"DEAL#{deal_id}", "SK": "SALES"}

    @staticmethod
    def deal_clicks(deal_id: str) -> Key:
        return {"PK": f"DEAL#{deal_id}", "SK": "CLICKS"}

    @staticmethod
    def deal_fees(deal_id: str) -> Key:
        """What publishing a deal cost in X fees: its post, its alerts, its follow-up."""
        return {"PK": f"DEAL#{deal_id}", "SK": "FEES"}

    SALES_SHARDS = 10  # every order transaction writes one; ten spread the contention
    CLICK_SHARDS = 10  # every click ADDs to one, at random

    @staticmethod
    def clicks_totals(shard: int) -> Key:
        """One shard of the channel's clicks (people and crawlers), so the report needs no deal's."""
        return {"PK": "CLICKS", "SK": f"TOTALS#{shard}"}

    @staticmethod
    def sales_totals(shard: int) -> Key:
        """One shard of the channel's orders, units and revenue (each order counted once, in one shard)."""
        return {"PK": "SALES", "SK": f"TOTALS#{shard}"}

    @staticmethod
    def order(order_id: str) -> Key:
        """A store order: which deals it was credited to, and whether it was cancelled."""
        return {"PK": f"ORDER#{order_id}", "SK": "ORDER"}

    FEES = "FEES"

    @staticmethod
    def fees_month(month: str) -> Key:
        """Estimated X fees and publish counts in one UTC month (YYYY-MM); the months share a partition."""
        return {"PK": Keys.FEES, "SK": month}

    @staticmethod
    def channel_totals() -> Key:
        return {"PK": "CHANNEL", "SK": "TOTALS"}

    # --- DMs: subscribers, pacing, and one send per key ---
    SUBSCRIBERS = "SUBSCRIBERS"  # sparse GSI1 listing: only subscribed users carry it

    @staticmethod
    def subscriber(user_id: str) -> Key:
        return {"PK": f"SUBSCRIBER#{user_id}", "SK": "SUBSCRIPTION"}

    @staticmethod
    def subscriber_index(since: datetime, user_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.SUBSCRIBERS, "GSI1SK": f"{iso(since)}#{user_id}"}

    @staticmethod
    def dm_window(window: str) -> Key:
        """DMs sent in one pacing window (``15m#2026-11-26T12:15`` or ``day#2026-11-26``)."""
        return {"PK": "DMWINDOW", "SK": window}

    @staticmethod
    def dm_sent(key: str) -> Key:
        """The one send of a DM key (a deal alert to a subscriber, a reply to a command): its state
        (waiting, sending, checking, sent, unknown, failed, skipped)."""
        return {"PK": f"DMSENT#{key}", "SK": "DM"}

    @staticmethod
    def dms_by_status(status: str) -> str:
        return f"DMS#{status}"

    @staticmethod
    def dm_status_index(status: str, at: datetime, key: str) -> dict[str, str]:
        """A DM listed by its state: ``checking`` ones by when they are next looked up, the others
        by when they got there."""
        return {"GSI1PK": Keys.dms_by_status(status), "GSI1SK": f"{iso(at)}#{key}"}

    @staticmethod
    def dm_queue(queue: str) -> str:
        """The DMs waiting in one queue (``direct``, or a deal's alerts), in the order they go out."""
        return f"DMQUEUE#{queue}"

    @staticmethod
    def dm_queue_entry(queue: str, order: str) -> Key:
        return {"PK": Keys.dm_queue(queue), "SK": order}

    DM_CAMPAIGNS = "DMCAMPAIGNS"  # sparse GSI1 listing: the deals whose alerts are still going out

    @staticmethod
    def dm_campaign(deal_id: str) -> Key:
        """A deal's alerts: how far the fan-out got, how many were queued and taken."""
        return {"PK": f"DMCAMPAIGN#{deal_id}", "SK": "CAMPAIGN"}

    @staticmethod
    def dm_campaign_index(started_at: datetime, deal_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.DM_CAMPAIGNS, "GSI1SK": f"{iso(started_at)}#{deal_id}"}

    @staticmethod
    def dm_totals() -> Key:
        """Every DM counted by what became of it (waiting, sent, unknown, failed, skipped, dropped)."""
        return {"PK": "DMS", "SK": "TOTALS"}

    @staticmethod
    def dm_drain() -> Key:
        """The DM drain's own state: until when X asked it to pause (a 429)."""
        return {"PK": "DMWINDOW", "SK": "DRAIN"}

    FOLLOWUPS = "FOLLOWUPS"  # GSI1 listing of ended deals whose follow-up reply is not out yet

    @staticmethod
    def followup(deal_id: str) -> Key:
        return {"PK": f"FOLLOWUP#{deal_id}", "SK": "FOLLOWUP"}

    @staticmethod
    def followup_index(ended_at: datetime, deal_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.FOLLOWUPS, "GSI1SK": f"{iso(ended_at)}#{deal_id}"}

    # --- feedback ---
    FEEDBACK = "FEEDBACK"  # GSI1 listing of all feedback, newest first

    @staticmethod
    def feedback(event_id: str) -> Key:
        return {"PK": f"FEEDBACK#{event_id}", "SK": "ITEM"}

    @staticmethod
    def feedback_index(at: datetime, event_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.FEEDBACK, "GSI1SK": f"{iso(at)}#{event_id}"}

    # Feedback counters are sharded like the community's: replies to a viral deal land together.
    FEEDBACK_SHARDS = 10

    @staticmethod
    def deal_feedback(deal_id: str) -> Key:
        """A deal's most positive and most negative feedback (its counts are in the shards below)."""
        return {"PK": f"DEAL#{deal_id}", "SK": "FEEDBACK"}

    @staticmethod
    def deal_feedback_counts(deal_id: str, shard: int) -> Key:
        """One shard of a deal's feedback counts by kind and sentiment, and compound sum."""
        return {"PK": f"DEAL#{deal_id}", "SK": f"FEEDBACK#{shard}"}

    @staticmethod
    def post_deleted(post_id: str) -> Key:
        """A deleted post's tombstone: a post delivered after its deletion is stored erased."""
        return {"PK": f"POST#{post_id}", "SK": "DELETED"}

    @staticmethod
    def post_of_deal(post_id: str) -> Key:
        """Which deal a published post announced, so replies and quotes find their deal."""
        return {"PK": f"POST#{post_id}", "SK": "DEAL"}

    @staticmethod
    def feedback_totals(shard: int) -> Key:
        """One shard of every piece of feedback counted by sentiment, deal or not."""
        return {"PK": "FEEDBACK", "SK": f"TOTALS#{shard}"}

    FEELING = "FEELING"

    @staticmethod
    def feeling_bucket(start: datetime, shard: int) -> Key:
        """One shard of the feedback counts (all, negative) in a five-minute bucket; a window's
        buckets are one query over a range of the partition."""
        return {"PK": Keys.FEELING, "SK": f"{iso(start)}#{shard}"}

    # --- listening: rules, the posts they hear, and what those add up to (chalicelib.listening) ---
    LISTENING_RULES = "LRULES"  # GSI1 listing of the listening rules, oldest first

    @staticmethod
    def listening_rule(rule_id: str) -> Key:
        return {"PK": f"LRULE#{rule_id}", "SK": "RULE"}

    @staticmethod
    def listening_rule_index(created_at: datetime, rule_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.LISTENING_RULES, "GSI1SK": f"{iso(created_at)}#{rule_id}"}

    @staticmethod
    def listening_rule_search(rule_id: str) -> Key:
        """How far a rule's recent search got: its ``newest_id``, and a page run it has not finished."""
        return {"PK": f"LRULE#{rule_id}", "SK": "SEARCH"}

    @staticmethod
    def listening_search() -> Key:
        """The search schedule's own state: until when X asked it to pause (a 429)."""
        return {"PK": "LISTENING", "SK": "SEARCH"}

    LISTENING_POSTS = "LPOSTS"  # GSI1 listing of every post heard, newest first

    @staticmethod
    def listening_post(post_id: str) -> Key:
        return {"PK": f"LPOST#{post_id}", "SK": "POST"}

    @staticmethod
    def listening_post_index(created_at: datetime, post_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.LISTENING_POSTS, "GSI1SK": f"{iso(created_at)}#{post_id}"}

    @staticmethod
    def listening_author_index(author_id: str, created_at: datetime, post_id: str) -> dict[str, str]:
        """GSI2: one author's heard posts, newest first (a person's page; erasing a person)."""
        return {"GSI2PK": f"LAUTHOR#{author_id}", "GSI2SK": f"{iso(created_at)}#{post_id}"}

    @staticmethod
    def listening_author(author_id: str) -> str:
        return f"LAUTHOR#{author_id}"

    @staticmethod
    def listening_heard(post_id: str, rule_id: str) -> Key:
        """That a rule heard a post: written once, in the transaction that counts it for that rule."""
        return {"PK": f"LPOST#{post_id}", "SK": f"RULE#{rule_id}"}

    @staticmethod
    def listening_rule_posts(rule_id: str) -> str:
        return f"LRULEPOSTS#{rule_id}"

    @staticmethod
    def listening_heard_index(rule_id: str, created_at: datetime, post_id: str) -> dict[str, str]:
        """GSI1: one rule's posts newest first, through the items that say it heard them."""
        return {"GSI1PK": Keys.listening_rule_posts(rule_id), "GSI1SK": f"{iso(created_at)}#{post_id}"}

    @staticmethod
    def listening_terms_counted(post_id: str) -> Key:
        """That a post's terms were counted in its week's trends (once, whichever rule heard it first)."""
        return {"PK": f"LPOST#{post_id}", "SK": "TERMS"}

    LISTENING_DAYS = "LISTENING#DAYS"
    LISTENING_DAY_SHARDS = 10  # every post heard ADDs to one: ten spread a busy day

    @staticmethod
    def listening_day(day: str, shard: int) -> Key:
        """One shard of the posts heard on a UTC day (YYYY-MM-DD), by rule and by kind, with
        sentiment: share of voice reads a range of days with one query."""
        return {"PK": Keys.LISTENING_DAYS, "SK": f"{day}#{shard}"}

    @staticmethod
    def listening_terms(week: str) -> str:
        return f"LTERMS#{week}"

    @staticmethod
    def listening_term(week: str, term: str) -> Key:
        """How many posts heard in an ISO week (``2026-W48``) used a term or hashtag (expires with a TTL)."""
        return {"PK": Keys.listening_terms(week), "SK": term}

    # --- the console: operators, their sessions, sign-in throttles, what they did ---
    OPERATORS = "OPERATORS"

    @staticmethod
    def operator(email: str) -> Key:
        """An operator's account, keyed by the email they sign in with (case-insensitive, so unique)."""
        return {"PK": f"OPERATOR#{email.casefold()}", "SK": "OPERATOR"}

    @staticmethod
    def operator_index(created_at: datetime, operator_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.OPERATORS, "GSI1SK": f"{iso(created_at)}#{operator_id}"}

    @staticmethod
    def session(digest: str) -> Key:
        """A console session, under the SHA-256 of its id: the table never holds a usable cookie."""
        return {"PK": f"SESSION#{digest}", "SK": "SESSION"}

    @staticmethod
    def sign_in_failures(scope: str, subject: str, window: str) -> Key:
        """Failed sign-ins for one account or source address in one window (expires with a TTL)."""
        return {"PK": f"SIGNIN#{scope}#{subject}", "SK": window}

    ACTIVITY = "ACTIVITY"  # GSI1 listing of operators' actions, newest first

    @staticmethod
    def activity(activity_id: str) -> Key:
        return {"PK": f"ACTIVITY#{activity_id}", "SK": "ACTIVITY"}

    @staticmethod
    def activity_index(at: datetime, activity_id: str) -> dict[str, str]:
        return {"GSI1PK": Keys.ACTIVITY, "GSI1SK": f"{iso(at)}#{activity_id}"}

    SENTIMENT_DAYS = "SENTIMENT#DAYS"
    SENTIMENT_DAY_SHARDS = 10  # every piece of feedback ADDs to one: ten spread a busy day

    @staticmethod
    def sentiment_day(day: str, shard: int) -> Key:
        """One shard of the feedback counted by sentiment on a UTC day (YYYY-MM-DD); the console
        charts a range of days with one query."""
        return {"PK": Keys.SENTIMENT_DAYS, "SK": f"{day}#{shard}"}

    @staticmethod
    def handles(first: str) -> str:
        """The partition of follower handles starting with one character (a prefix search's range)."""
        return f"HANDLE#{first}"

    @staticmethod
    def follower_handle(handle: str, user_id: str) -> Key:
        """A person under their handle, case-folded, so the console finds them by a handle's prefix:
        written with a follow, and with feedback (people known only from what they said)."""
        folded = handle.casefold()
        return {"PK": Keys.handles(folded[:1]), "SK": f"{folded}#{user_id}"}

    @staticmethod
    def release_slot() -> Key:
        """When the last deal went out: one release per minimum gap."""
        return {"PK": "RELEASES", "SK": "SLOT"}

    @staticmethod
    def migration(name: str) -> Key:
        """That a one-time change to stored items (``name``) is done."""
        return {"PK": "MIGRATION", "SK": name}

    @staticmethod
    def dedupe(scope: str, natural_id: str) -> Key:
        """A marker that a delivery (webhook event, queue message) was already applied."""
        return {"PK": f"SEEN#{scope}#{natural_id}", "SK": "SEEN"}

    # --- answers: replies and DMs to feedback, once per idempotency key (chalicelib.answers) ---
    @staticmethod
    def answer(feedback_id: str, key: str) -> Key:
        """One answer to a feedback item, claimed under its idempotency key."""
        return {"PK": Keys.answers_partition(feedback_id), "SK": f"KEY#{key}"}

    @staticmethod
    def answers_partition(feedback_id: str) -> str:
        return f"ANSWER#{feedback_id}"

    ANSWERS_CHECKING = "ANSWERS#CHECKING"  # GSI1 listing: answers whose outcome is being looked up

    @staticmethod
    def answer_checking_index(due: datetime, feedback_id: str, key: str) -> dict[str, str]:
        return {"GSI1PK": Keys.ANSWERS_CHECKING, "GSI1SK": f"{iso(due)}#{feedback_id}#{key}"}

    @staticmethod
    def answered_post(post_id: str) -> Key:
        """Our answer's post: a reply to it continues the conversation of this feedback item."""
        return {"PK": f"POST#{post_id}", "SK": "ANSWERED"}

    @staticmethod
    def dm_conversation(user_id: str) -> Key:
        """The DM conversation with one person: the feedback item we last answered in it."""
        return {"PK": f"CONVERSATION#DM#{user_id}", "SK": "LAST_ANSWERED"}

    WAITING = "FEEDBACK#WAITING"  # feedback waiting for an answer, oldest first
    WAITING_UNALERTED = "FEEDBACK#WAITING#UNALERTED"  # the same, until the long-wait alert is raised

    @staticmethod
    def waiting(partition: str, since: datetime, feedback_id: str) -> Key:
        return {"PK": partition, "SK": f"{iso(since)}#{feedback_id}"}

    @staticmethod
    def recent_reply_text(digest: str) -> Key:
        """A reply text we sent lately (expires with a TTL): X refuses an identical post."""
        return {"PK": f"REPLYTEXT#{digest}", "SK": "TEXT"}

    @staticmethod
    def response_times(scope: str, week: str) -> Key:
        """Times to first answer in one ISO week (``2026-W48``) for one scope (``all`` or an operator)."""
        return {"PK": f"RESPONSES#{scope}", "SK": week}

    # --- people: one X user as outlet knows them (chalicelib.people) ---
    @staticmethod
    def person(user_id: str) -> str:
        """One person's partition: their feedback and the answers they were given, each in time
        order (pointers and our own answers only: their texts stay on the feedback items, which a
        deletion erases), and the mark of an erasure."""
        return f"PERSON#{user_id}"

    PERSON_FEEDBACK = "FEEDBACK#"
    PERSON_ANSWER = "ANSWER#"

    @staticmethod
    def person_feedback(user_id: str, at: datetime, feedback_id: str) -> Key:
        """A feedback item by this person (written in the item's own transaction)."""
        return {"PK": Keys.person(user_id), "SK": f"{Keys.PERSON_FEEDBACK}{iso(at)}#{feedback_id}"}

    @staticmethod
    def person_answer(user_id: str, at: datetime, feedback_id: str, key: str) -> Key:
        """An answer we sent this person (written in the answer's recording transaction)."""
        return {"PK": Keys.person(user_id), "SK": f"{Keys.PERSON_ANSWER}{iso(at)}#{feedback_id}#{key}"}

    @staticmethod
    def person_erased(user_id: str) -> Key:
        """That this person's texts were erased (X compliance), and when."""
        return {"PK": Keys.person(user_id), "SK": "ERASED"}

    SAVED_REPLIES = "SAVED_REPLIES"

    @staticmethod
    def saved_reply(reply_id: str) -> Key:
        return {"PK": Keys.SAVED_REPLIES, "SK": reply_id}
