"""The X publisher: posts, replies and DMs through tweepy's Client (OAuth 1.0a user context).

Every call is made once, inside explicit connect and read timeouts, and X's answer becomes the
publisher error that says what is known: 429 -> ``RateLimited`` at the ``x-rate-limit-reset`` time;
403 duplicate content -> ``DuplicateContent``; 401 or no connection at all -> ``NotSent``; another
4xx -> ``Refused``; a read timeout, a dropped connection or a 5xx -> ``OutcomeUnknown``. X takes no
idempotency key, so a call whose request may have arrived is never repeated here: the caller looks
first (``find_post`` reads the account's recent posts, ``find_dm`` the conversation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import requests
import tweepy
from urllib3.exceptions import NameResolutionError, NewConnectionError

from chalicelib.posts import tokens
from chalicelib.publishing import DuplicateContent, NotSent, OutcomeUnknown, Published, RateLimited, Refused
from chalicelib.store import utcnow
from chalicelib.x.model import snowflake_time

T = TypeVar("T")
# tweepy sets no timeout. One call takes at most CONNECT + READ seconds (a little over 9 s), so a
# run in a 30 s Lambda can always finish the call it started and record what came of it.
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 6
CALL_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT
RECENT_POSTS_READ = 20
DM_EVENTS_READ = 50
CLOCK_SKEW = timedelta(minutes=1)  # X's clock against ours, when a DM is compared with an attempt's time
_LEADING_MENTIONS = re.compile(r"^(?:@\w{1,15}\s+)+")


class TimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
        return super().request(*args, **kwargs)


def x_client(consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str) -> tweepy.Client:
    client = tweepy.Client(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
        wait_on_rate_limit=False,  # a Lambda must not sleep out a rate limit: the work waits instead
    )
    client.session = TimeoutSession()
    return client


class XPublisher:
    def __init__(self, client: tweepy.Client, account_id: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._client = client
        self._account_id = account_id
        self._clock = clock

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published:
        response = call_x(
            lambda: self._client.create_tweet(text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True)
        )
        return Published(id=str(response.data["id"]), created_at=self._clock())

    def reply(self, text: str, *, key: str, in_reply_to: str, to: str) -> Published:
        """``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``: X addresses it to the post's author."""
        return self.post(text, key=key, in_reply_to=in_reply_to)

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Published:
        response = call_x(lambda: self._client.create_direct_message(participant_id=to, text=text, user_auth=True))
        return Published(id=str(response.data["dm_event_id"]), created_at=self._clock())

    def find_post(self, text: str, *, key: str) -> Published | None:
        """The account's recent post with this text, if any. X rewrites links to t.co, so texts are
        compared by their words, with any link as one token."""
        response = call_x(
            lambda: self._client.get_users_tweets(
                id=self._account_id, max_results=RECENT_POSTS_READ, tweet_fields=["created_at"], user_auth=True
            )
        )
        wanted = tokens(_without_leading_mentions(text))
        for tweet in response.data or []:
            if tokens(_without_leading_mentions(tweet.text)) == wanted:
                created = tweet.created_at or self._clock()
                return Published(id=str(tweet.id), created_at=created.astimezone(UTC))
        return None

    def find_dm(self, to: str, text: str, *, key: str, since: datetime) -> Published | None:
        """Our DM with this text in the conversation with ``to``, created at or after ``since``
        (``GET /2/dm_conversations/with/:participant_id/dm_events``, newest first). An event's time
        is its ``created_at`` or, when X leaves it out, the time its id carries."""
        response = call_x(
            lambda: self._client.get_direct_message_events(
                participant_id=to,
                dm_event_fields=["created_at", "sender_id", "text"],
                event_types="MessageCreate",
                max_results=DM_EVENTS_READ,
                user_auth=True,
            )
        )
        wanted = tokens(text)
        for event in response.data or []:
            created = (event.created_at or snowflake_time(event.id)).astimezone(UTC)
            ours = event.sender_id is None or str(event.sender_id) == self._account_id
            if ours and created >= since - CLOCK_SKEW and tokens(event.text or "") == wanted:
                return Published(id=str(event.id), created_at=created)
        return None


def _without_leading_mentions(text: str) -> str:
    """A reply's text as X returns it starts with the @handles it answers, which X adds itself."""
    return _LEADING_MENTIONS.sub("", text)


def call_x(request: Callable[[], T]) -> T:
    """One request to X, its failure read into what is known about it."""
    try:
        return request()
    except tweepy.TooManyRequests as exc:
        reset = exc.response.headers.get("x-rate-limit-reset")
        retry_at = datetime.fromtimestamp(int(reset), tz=UTC) if reset and reset.isdigit() else None
        raise RateLimited("X answered 429 Too Many Requests", retry_at=retry_at) from None
    except tweepy.Forbidden as exc:
        if any("duplicate" in str(message).lower() for message in exc.api_messages):
            raise DuplicateContent("X refused the text as duplicate content") from None
        raise Refused(f"X refused the request: {exc.api_messages or exc.response.status_code}") from None
    except tweepy.Unauthorized:  # the credentials were refused before anything was done: not sent
        raise NotSent("X answered 401 Unauthorized: the authorization may have been revoked") from None
    except tweepy.TwitterServerError as exc:
        raise OutcomeUnknown(f"X answered {exc.response.status_code}") from None
    except tweepy.HTTPException as exc:
        raise Refused(f"X answered {exc.response.status_code}") from None
    except requests.RequestException as exc:
        if _never_left(exc):
            raise NotSent(f"X was not reached: {type(exc).__name__}") from None
        raise OutcomeUnknown(f"X did not answer: {type(exc).__name__}") from None


def _never_left(exc: requests.RequestException) -> bool:
    """Only a connection that was never made proves the request was not sent. A read timeout or a
    connection dropped after connecting proves nothing."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:  # requests wraps urllib3's MaxRetryError(reason=...)
        seen.add(id(cause))
        if isinstance(cause, NewConnectionError | NameResolutionError):
            return True
        nested = getattr(cause, "reason", None)
        arg = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        cause = nested if isinstance(nested, BaseException) else arg
    return False
