"""The X publisher: posts, replies and DMs through tweepy's Client (OAuth 1.0a user context).

X's answers become the publisher errors callers act on: 429 -> ``RateLimited`` at the
``x-rate-limit-reset`` time; 403 duplicate content -> ``DuplicateContent`` (never retried as is);
5xx and timeouts -> a few retries with backoff, then ``PublishFailed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import tweepy

from chalicelib.posts import tokens
from chalicelib.publishing import DuplicateContent, Published, PublishFailed, RateLimited
from chalicelib.store import utcnow

T = TypeVar("T")
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10  # tweepy sets none: a hung call would eat the Lambda's 30 s
RECENT_POSTS_READ = 20


class _TimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
        return super().request(*args, **kwargs)


def x_client(consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str) -> tweepy.Client:
    client = tweepy.Client(
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
        wait_on_rate_limit=False,  # a Lambda must not sleep out a rate limit: the release waits instead
    )
    client.session = _TimeoutSession()
    return client


class XPublisher:
    def __init__(
        self,
        client: tweepy.Client,
        account_id: str,
        *,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._client = client
        self._account_id = account_id
        self._attempts = attempts
        self._sleep = sleep
        self._clock = clock

    def post(self, text: str, *, key: str, deal_id: str | None = None, in_reply_to: str | None = None) -> Published:
        response = self._call(
            lambda: self._client.create_tweet(text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True)
        )
        return Published(id=str(response.data["id"]), created_at=self._clock())

    def send_dm(self, to: str, text: str, *, key: str, deal_id: str | None = None) -> Published:
        response = self._call(lambda: self._client.create_direct_message(participant_id=to, text=text, user_auth=True))
        return Published(id=str(response.data["dm_event_id"]), created_at=self._clock())

    def find_post(self, text: str, *, key: str) -> Published | None:
        """The account's recent post with this text, if any. X rewrites links to t.co, so texts are
        compared by their words, with any link as one token."""
        response = self._call(
            lambda: self._client.get_users_tweets(
                id=self._account_id, max_results=RECENT_POSTS_READ, tweet_fields=["created_at"], user_auth=True
            )
        )
        wanted = tokens(text)
        for tweet in response.data or []:
            if tokens(tweet.text) == wanted:
                created = tweet.created_at or self._clock()
                return Published(id=str(tweet.id), created_at=created.astimezone(UTC))
        return None

    def _call(self, request: Callable[[], T]) -> T:
        last: Exception | None = None
        for attempt in range(self._attempts):
            try:
                return request()
            except tweepy.TooManyRequests as exc:
                reset = exc.response.headers.get("x-rate-limit-reset")
                retry_at = datetime.fromtimestamp(int(reset), tz=UTC) if reset and reset.isdigit() else None
                raise RateLimited("X answered 429 Too Many Requests", retry_at=retry_at) from None
            except tweepy.Forbidden as exc:
                if any("duplicate" in str(message).lower() for message in exc.api_messages):
                    raise DuplicateContent("X refused the text as duplicate content") from None
                raise PublishFailed(f"X refused the request: {exc.api_messages or exc.response.status_code}") from None
            except (tweepy.TwitterServerError, requests.Timeout, requests.ConnectionError) as exc:
                last = exc
                if attempt + 1 < self._attempts:
                    self._sleep(0.5 * 2**attempt)
            except tweepy.HTTPException as exc:
                raise PublishFailed(f"X answered {exc.response.status_code}") from None
        raise PublishFailed(f"X did not answer after {self._attempts} attempts: {type(last).__name__}")
