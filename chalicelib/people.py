"""One person as outlet knows them: their follows, their DM subscription, what they said (feedback,
and the posts listening heard), the answers they were given, and what cannot be tied to them (their
orders). Every read is bounded: a few single items in one batch, and a page of each list.

Erasing a person (X compliance) takes their texts out of everything outlet shows: each feedback item
of theirs, DMs included, loses its text and author like a deleted post (the counts stay exact), the
answers we sent them leave their page, their handle leaves the search, and their name leaves their
follower and subscriber records. It works in bounded pages and may be repeated: a second run finds
nothing left and changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.answers import SENT
from chalicelib.community import FOLLOWING, follow_history
from chalicelib.errors import BadRequest, NotFound, Unprocessable
from chalicelib.feedback import author_entries, erase_item, public_feedback
from chalicelib.store import GSI1, ConditionFailed, Item, Keys, Page, Store, iso
from chalicelib.store.conditions import Attr

FEEDBACK_SHOWN = 20  # a page of their feedback; the rest is paged with a cursor
ANSWERS_SHOWN = 20
FOLLOWS_SHOWN = 50  # a follower's history lives on one item: at most this many events are shown
LISTENING_SHOWN = 20
ERASE_PAGE = 50  # feedback items erased per page read
ERASE_PAGES = 10  # pages per call: a call does at most ERASE_PAGE x ERASE_PAGES items, then says so
INDEX_MIGRATION = "people-index"  # feedback recorded before people had their own entries
INDEX_PAGE = 100
INDEX_PAGES = 5  # pages per run of the backfill
MAX_HANDLE = 50  # X handles are at most 15 characters; a longer prefix finds nobody
_USER_ID = re.compile(r"[0-9]{1,20}")
ORDERS_UNKNOWN = (
    "Store orders carry no X user id, and clicks on tracked links are anonymous, so outlet cannot tell "
    "which deal codes this person used or what they bought."
)


def check_user_id(user_id: str) -> str:
    """An X user id: a number of 1 to 20 digits, as a string."""
    if not _USER_ID.fullmatch(user_id):
        raise BadRequest("an X user id is a number of 1 to 20 digits", fields={"user_id": "not an X user id"})
    return user_id


# --- listening: the `listening` branch provides these; wired at merge -------------------------------


def listening_posts(store: Store, user_id: str, *, limit: int) -> list[Item]:
    """Their posts heard by listening rules, newest first, each with its rules' names (one query,
    one batch read of the rules they name)."""
    from chalicelib.listening.posts import posts_by_author

    posts = posts_by_author(store, user_id, limit=limit)
    rule_ids = sorted({str(rule) for post in posts for rule in post.get("rules") or ()})
    names = {
        str(rule["id"]): str(rule["name"])
        for rule in (store.batch_get([Keys.listening_rule(r) for r in rule_ids]) if rule_ids else [])
        if rule.get("id") and rule.get("name")
    }
    return [post | {"rules": [names.get(str(r), str(r)) for r in post.get("rules") or ()]} for post in posts]


def erase_listening_posts(store: Store, user_id: str, handles: set[str]) -> tuple[int, bool]:
    """Erase their posts heard by listening rules (collecting their handles); how many."""
    from chalicelib.listening.posts import erase_author_posts

    return erase_author_posts(store, user_id, handles=handles)


# --- reading ---------------------------------------------------------------------------------------


def person_page(
    store: Store,
    user_id: str,
    *,
    feedback_cursor: str | None = None,
    answers_cursor: str | None = None,
    feedback_limit: int = FEEDBACK_SHOWN,
    answers_limit: int = ANSWERS_SHOWN,
) -> dict[str, Any]:
    """Everything outlet knows of one X user (see the README's People section for the fields);
    404 for someone outlet has never heard of. Requests: one batch of single items, a page of
    feedback entries and a batch of their items, a page of answers, the deals' titles in one batch."""
    check_user_id(user_id)
    singles = {
        str(item["SK"]): item
        for item in store.batch_get([Keys.follower(user_id), Keys.subscriber(user_id), Keys.person_erased(user_id)])
    }
    follower = singles.get(Keys.follower(user_id)["SK"])
    subscriber = singles.get(Keys.subscriber(user_id)["SK"])
    erased = singles.get(Keys.person_erased(user_id)["SK"])
    feedback = person_feedback(store, user_id, limit=feedback_limit, cursor=feedback_cursor)
    answers = person_answers(store, user_id, limit=answers_limit, cursor=answers_cursor)
    heard_raw = listening_posts(store, user_id, limit=LISTENING_SHOWN)
    heard = [listening_post(post) for post in heard_raw]
    paging = feedback_cursor is not None or answers_cursor is not None
    if not (follower or subscriber or erased or feedback.items or answers.items or heard or paging):
        raise NotFound(f"outlet has never heard of X user {user_id}", fields={"user_id": "unknown"})
    history = follow_history(follower)
    records = [record for record in (follower, subscriber) if record]
    said = [item["author_handle"] for item in feedback.items if item["author_handle"]]
    said += [str(post["author_handle"]) for post in heard_raw if post.get("author_handle")]
    return {
        "user_id": user_id,
        "handle": next((str(r["handle"]) for r in records if r.get("handle")), said[0] if said else None),
        "name": next(
            (str(n) for n in [*(r.get("name") for r in records), *(p.get("author_name") for p in heard_raw)] if n),
            None,
        ),
        "following": follower is not None and follower.get("status") == FOLLOWING,
        "followed_at": (follower or {}).get("followed_at"),
        "left_at": (follower or {}).get("left_at"),
        "follows": [{"kind": e.kind, "at": iso(e.at)} for e in history[:FOLLOWS_SHOWN]],
        "follows_total": len(history),
        "subscription": subscription(subscriber),
        "feedback": feedback.items,
        "feedback_next": feedback.next,
        "answers": answers.items,
        "answers_next": answers.next,
        "listening_posts": heard,
        "deals": deals_engaged(store, feedback.items, subscriber),
        "orders": {"known": False, "why": ORDERS_UNKNOWN},
        "erased_at": erased.get("erased_at") if erased else None,
    }


def subscription(subscriber: Item | None) -> dict[str, Any]:
    """Deal DMs: ``subscribed`` (opted in), ``unsubscribed`` (opted out) or ``never``, and when."""
    if not subscriber:
        return {"state": "never", "subscribed_at": None, "unsubscribed_at": None}
    return {
        "state": str(subscriber.get("status") or "never"),
        "subscribed_at": subscriber.get("subscribed_at"),
        "unsubscribed_at": subscriber.get("unsubscribed_at"),
    }


def person_feedback(store: Store, user_id: str, *, limit: int, cursor: str | None) -> Page:
    """A page of their feedback, newest first: their entries, then the items in one batch."""
    page = store.query(
        Keys.person(user_id), sk_prefix=Keys.PERSON_FEEDBACK, newest_first=True, limit=limit, cursor=cursor
    )
    ids = [str(entry["feedback_id"]) for entry in page.items]
    found = {str(item["id"]): item for item in store.batch_get(Keys.feedback(i) for i in ids)} if ids else {}
    # An item erased meanwhile (its author gone) is no longer theirs to show.
    items = [public_feedback(found[i]) for i in ids if i in found and found[i].get("author_id") == user_id]
    return Page(items=items, next=page.next)


def person_answers(store: Store, user_id: str, *, limit: int, cursor: str | None) -> Page:
    """A page of the answers we sent them, newest first: our text, who sent it, when."""
    page = store.query(
        Keys.person(user_id), sk_prefix=Keys.PERSON_ANSWER, newest_first=True, limit=limit, cursor=cursor
    )
    fields = ("feedback_id", "kind", "text", "by", "at", "x_id")
    return Page(items=[{name: entry.get(name) for name in fields} for entry in page.items], next=page.next)


def listening_post(post: Item) -> Item:
    """A heard post as the person page shows it, whatever else the listening module keeps."""
    sentiment = post.get("sentiment")
    if isinstance(sentiment, str):
        sentiment = {"label": sentiment, "compound": post.get("compound")}
    rules = post.get("rules") or post.get("rule_names") or []
    return {
        "id": post.get("id") or post.get("post_id"),
        "text": post.get("text"),
        "created_at": post.get("created_at"),
        "sentiment": sentiment if isinstance(sentiment, dict) else None,
        "rules": [str(r.get("name") or r.get("id")) if isinstance(r, dict) else str(r) for r in rules],
    }


def deals_engaged(store: Store, feedback: list[Item], subscriber: Item | None) -> list[Item]:
    """What can honestly be tied to them: the deals their feedback (in the page read) answered and
    the deal of the last DM alert they were sent; titles in one batch read."""
    through: dict[str, set[str]] = {}
    for item in feedback:
        if item.get("deal_id"):
            through.setdefault(str(item["deal_id"]), set()).add("feedback")
    if subscriber and subscriber.get("last_alert_deal_id"):
        through.setdefault(str(subscriber["last_alert_deal_id"]), set()).add("dm_alert")
    if not through:
        return []
    titles = {str(d["id"]): str(d["title"]) for d in store.batch_get(Keys.deal(i) for i in through)}
    return [
        {"deal_id": deal_id, "title": titles.get(deal_id), "through": sorted(ways)}
        for deal_id, ways in sorted(through.items())
    ]


def find_people(store: Store, handle: str, *, limit: int, cursor: str | None) -> Page:
    """People whose handle starts with ``handle`` (any case, a leading @ ignored): followers and
    people known only from their feedback or from posts listening heard, from one partition range
    of the handle entries. A follower whose handle changed since is found under the new one only."""
    folded = handle.strip().lstrip("@").casefold()
    if not 1 <= len(folded) <= MAX_HANDLE:
        raise Unprocessable("say the start of a handle", fields={"handle": f"1 to {MAX_HANDLE} characters"})
    page = store.query(Keys.handles(folded[:1]), sk_prefix=folded, limit=limit, cursor=cursor)
    entries = list({str(e["user_id"]): e for e in page.items}.values())
    ids = [str(e["user_id"]) for e in entries]
    singles = store.batch_get([*(Keys.follower(i) for i in ids), *(Keys.person_erased(i) for i in ids)])
    profiles = {str(p["user_id"]): p for p in singles if p["SK"] == Keys.follower(p["user_id"])["SK"]}
    erased = {str(p["user_id"]) for p in singles if p["SK"] == Keys.person_erased(p["user_id"])["SK"]}
    found = []
    for entry in entries:
        user_id, profile = str(entry["user_id"]), profiles.get(str(entry["user_id"]))
        if user_id in erased:
            continue  # erased (X compliance): an entry left by a write that raced the erasure
        if profile and profile.get("handle") and not str(profile["handle"]).casefold().startswith(folded):
            continue  # a follower who has since changed handle
        found.append(
            {
                "user_id": user_id,
                "handle": (profile or {}).get("handle") or entry.get("handle"),
                "name": (profile or {}).get("name"),
                "following": bool(profile) and (profile or {}).get("status") == FOLLOWING,
            }
        )
    return Page(items=found, next=page.next)


# --- erasing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What one ``erase_person`` call did; ``done`` is False when its page budget ran out first
    (call again: it continues where it stopped)."""

    user_id: str
    feedback_erased: int
    answers_unlinked: int
    listening_posts_erased: int
    done: bool
    erased_at: str

    def body(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "feedback_erased": self.feedback_erased,
            "answers_unlinked": self.answers_unlinked,
            "listening_posts_erased": self.listening_posts_erased,
            "done": self.done,
            "erased_at": self.erased_at,
        }


def erase_person(
    store: Store, user_id: str, *, now: datetime, page_size: int = ERASE_PAGE, max_pages: int = ERASE_PAGES
) -> Erasure:
    """Erase one person's texts everywhere outlet keeps them (see the module's docstring). 404 for
    someone outlet has never heard of; idempotent; at most ``max_pages`` pages of each list a call."""
    check_user_id(user_id)
    # Feedback recorded before people had their own entries is found through them only once the
    # backfill is through: each call moves it on, and no erasure is done before it is.
    index_earlier_feedback(store, now)
    indexed = bool((store.get(Keys.migration(INDEX_MIGRATION)) or {}).get("done_at"))
    follower = store.get(Keys.follower(user_id))
    subscriber = store.get(Keys.subscriber(user_id))
    erased = store.get(Keys.person_erased(user_id))
    known = follower or subscriber or erased or _has_entries(store, user_id) or _was_heard(store, user_id)
    if not known and indexed:
        raise NotFound(f"outlet has never heard of X user {user_id}", fields={"user_id": "unknown"})
    marker = store.update(
        Keys.person_erased(user_id),
        set={"user_id": user_id, "last_run_at": iso(now)},
        set_if_absent={"erased_at": iso(now)},
    )
    handles = {str(h) for h in ((follower or {}).get("handle"), (subscriber or {}).get("handle")) if h}
    feedback, feedback_done = _erase_feedback(store, user_id, now, page_size, max_pages, handles)
    answers, answers_done = _unlink_answers(store, user_id, page_size, max_pages)
    heard, heard_done = erase_listening_posts(store, user_id, handles)
    _forget_profile(store, user_id, follower, subscriber, handles)
    done = feedback_done and answers_done and heard_done and indexed
    return Erasure(user_id, feedback, answers, heard, done, str(marker["erased_at"]))


def _has_entries(store: Store, user_id: str) -> bool:
    return bool(store.query(Keys.person(user_id), limit=1).items)


def _was_heard(store: Store, user_id: str) -> bool:
    from chalicelib.listening.posts import posts_by_author

    return bool(posts_by_author(store, user_id, limit=1))


def _erase_feedback(
    store: Store, user_id: str, now: datetime, page_size: int, max_pages: int, handles: set[str]
) -> tuple[int, bool]:
    """Each of their feedback items erased as a deleted post is, its entry with it; the handles the
    items carried are collected for the search's entries."""
    erased, cursor = 0, None
    for _ in range(max_pages):
        page = store.query(Keys.person(user_id), sk_prefix=Keys.PERSON_FEEDBACK, limit=page_size, cursor=cursor)
        ids = [str(entry["feedback_id"]) for entry in page.items]
        items = {str(i["id"]): i for i in store.batch_get(Keys.feedback(i) for i in ids)} if ids else {}
        for entry in page.items:
            item = items.get(str(entry["feedback_id"]))
            if item is None or item.get("author_id") != user_id:
                store.delete(Keys.person_feedback(user_id, _at(entry), str(entry["feedback_id"])))
                continue  # erased already (a deleted post), or gone: only the entry was left
            if item.get("author_handle"):
                handles.add(str(item["author_handle"]))
            erase_item(store, item, {"erased_at": iso(now)})
            erased += 1
        cursor = page.next
        if cursor is None:
            return erased, True
    return erased, False


def _unlink_answers(store: Store, user_id: str, page_size: int, max_pages: int) -> tuple[int, bool]:
    """The answers we sent them leave their page (the answers themselves stay on their items)."""
    unlinked = 0
    for _ in range(max_pages):
        page = store.query(Keys.person(user_id), sk_prefix=Keys.PERSON_ANSWER, limit=min(page_size, 100))
        if not page.items:
            return unlinked, True
        store.transact([store.op_delete({"PK": str(e["PK"]), "SK": str(e["SK"])}) for e in page.items])
        unlinked += len(page.items)
        if page.next is None:
            return unlinked, True
    return unlinked, False


def _forget_profile(
    store: Store, user_id: str, follower: Item | None, subscriber: Item | None, handles: set[str]
) -> None:
    """Their handle and name leave their follower and subscriber records and the handle search;
    their standing (following or not, subscribed or not, and when) stays, as the counts do."""
    for key, record in ((Keys.follower(user_id), follower), (Keys.subscriber(user_id), subscriber)):
        if record and (record.get("handle") or record.get("name")):
            with contextlib.suppress(ConditionFailed):  # gone meanwhile
                store.update(key, remove=("handle", "name"), condition=Attr("PK").exists())
    # Every handle they were found under left a pointer in their partition (``handle_entries``):
    # those entries go, then the pointers, so a call that dies midway leaves them for the next.
    pointers = store.query(Keys.person(user_id), sk_prefix=Keys.PERSON_HANDLE, limit=100).items
    handles |= {str(p["handle"]) for p in pointers if p.get("handle")}
    for handle in handles:
        store.delete(Keys.follower_handle(handle, user_id))
    for handle in handles:
        store.delete(Keys.person_handle(user_id, handle))


def _at(entry: Item) -> datetime:
    return datetime.fromisoformat(str(entry["created_at"]))


# --- feedback recorded before this index ------------------------------------------------------------------


def index_earlier_feedback(
    store: Store, now: datetime, *, page_size: int = INDEX_PAGE, pages: int = INDEX_PAGES
) -> int:
    """Once per table, a few pages a run (the five-minute sweep): feedback recorded before people
    had their own entries gets them (with its author's handle, and the answers sent to it), so a
    person's page shows all they said. It resumes from its cursor; once through, it costs one
    GetItem a run. Every write is a plain put of what a live write would put, so a run that dies,
    or meets a live write, leaves nothing twice. How many items it indexed in this run."""
    state = store.get(Keys.migration(INDEX_MIGRATION)) or {}
    if state.get("done_at"):
        return 0
    cursor, indexed = state.get("cursor"), 0
    for _ in range(pages):
        page = store.query(Keys.FEEDBACK, index=GSI1, limit=page_size, cursor=cursor)
        entries: list[Item] = []
        for item in page.items:
            if item.get("author_id"):  # an erased item is nobody's
                entries += _entries_of(store, item)
                indexed += 1
        if entries:
            store.batch_put(entries)
        cursor = page.next
        if cursor is None:
            store.put({**Keys.migration(INDEX_MIGRATION), "done_at": iso(now)})
            return indexed
    store.put({**Keys.migration(INDEX_MIGRATION), "cursor": cursor, "updated_at": iso(now)})
    return indexed


def _entries_of(store: Store, item: Item) -> list[Item]:
    author, feedback_id = str(item["author_id"]), str(item["id"])
    entries = author_entries(author, item.get("author_handle"), _at(item), feedback_id)
    if item.get("answer"):  # its answers, under their own keys, as the answer's transaction writes them
        for claim in store.query(Keys.answers_partition(feedback_id), limit=20).items:
            reply = claim.get("reply") or {}
            if claim.get("status") == SENT and reply.get("at"):
                at = datetime.fromisoformat(str(reply["at"]))
                fields = {name: claim.get(name) for name in ("text", "by", "kind", "x_id", "feedback_id")}
                entries.append(
                    {
                        **Keys.person_answer(str(claim["to"]), at, feedback_id, str(claim["key"])),
                        **fields,
                        "at": reply["at"],
                    }
                )
    return entries
