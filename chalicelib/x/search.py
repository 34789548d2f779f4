"""X's recent search and filtered-stream rules, as listening uses them.

``XRecentSearch`` calls ``GET /2/tweets/search/recent`` with the account's OAuth 1.0a user
context (the credentials the publisher already holds; X accepts user context or an app-only
bearer token on this endpoint), asking for the fields a heard post needs. A 429 becomes
``RateLimited`` at the ``x-rate-limit-reset`` time, like the publisher's calls.

``XStreamRules`` adds and deletes filtered-stream rules (``POST /2/tweets/search/stream/rules``,
an app-only bearer token obtained from the consumer key and secret; the filtered stream and its
webhooks need X's Enterprise access).
"""

from __future__ import annotations

from typing import Any

import requests
import tweepy

from chalicelib.publishing import NotSent, Refused
from chalicelib.x.publisher import CONNECT_TIMEOUT, READ_TIMEOUT, TimeoutSession, call_x
from chalicelib.x.stream import SearchPage, read_search_page

SEARCH_ROUTE = "/2/tweets/search/recent"
STREAM_RULES_ROUTE = "/2/tweets/search/stream/rules"
APP_AUTH_URL = "https://api.twitter.com/oauth2/token"
TWEET_FIELDS = "created_at,author_id,conversation_id,referenced_tweets,public_metrics,in_reply_to_user_id,entities"
MAX_RESULTS = 100  # X's largest page for recent search (10 to 100)


def search_params(query: str, *, since_id: str | None, next_token: str | None, max_results: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "query": query,
        "max_results": max(10, min(max_results, MAX_RESULTS)),
        "tweet.fields": TWEET_FIELDS,
        "expansions": "author_id",
        "user.fields": "username,name",
    }
    if since_id:
        params["since_id"] = since_id
    if next_token:
        params["next_token"] = next_token
    return params


class XRecentSearch:
    def __init__(self, client: tweepy.Client) -> None:
        self._client = client

    def recent(
        self, rule_id: str, query: str, *, since_id: str | None, next_token: str | None, max_results: int
    ) -> SearchPage:
        params = search_params(query, since_id=since_id, next_token=next_token, max_results=max_results)
        response = call_x(lambda: self._client.request("GET", SEARCH_ROUTE, params=params, user_auth=True))
        return read_search_page(response.json(), rule_id)


class XStreamRules:
    """The filtered stream's rules, each tagged with outlet's rule id. The app-only bearer token is
    fetched (``POST /oauth2/token``, client credentials) on first use, not when built."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self._credentials = (consumer_key, consumer_secret)
        self._client: tweepy.Client | None = None

    def _app_client(self) -> tweepy.Client:
        if self._client is None:
            response = requests.post(
                APP_AUTH_URL,
                auth=self._credentials,
                data={"grant_type": "client_credentials"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
            token = response.json().get("access_token") if response.ok else None
            if not token:
                raise NotSent(f"X gave no app-only token ({response.status_code})")
            client = tweepy.Client(bearer_token=token, wait_on_rate_limit=False)
            client.session = TimeoutSession()
            self._client = client
        return self._client

    def add(self, tag: str, query: str) -> str:
        body = {"add": [{"value": query, "tag": tag}]}
        response = call_x(lambda: self._app_client().request("POST", STREAM_RULES_ROUTE, json=body))
        created = (response.json().get("data") or [{}])[0]
        if not created.get("id"):
            raise Refused(f"X did not add the rule: {response.json().get('errors')}")
        return str(created["id"])

    def delete(self, x_rule_id: str) -> None:
        body = {"delete": {"ids": [x_rule_id]}}
        call_x(lambda: self._app_client().request("POST", STREAM_RULES_ROUTE, json=body))
