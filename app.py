"""outlet's wiring: routes, schedules and queue consumers. Each parses, calls one function in
chalicelib/, and maps the result; no business rule lives here.

Cold start (issue 17): importing this module must stay light, because every first request after
a quiet spell pays for it. X's CRC check (an HMAC) runs on what is imported here and nothing else.
So, for every route, schedule and queue consumer:
- import the chalicelib modules it calls INSIDE its function body, never at the top of this file;
- at the top, import only chalice.app and the light wiring (``chalicelib.deps``, ``chalicelib.http``,
  ``chalicelib.errors``, ``chalicelib.observability``, ``chalicelib.x.webhooks``), which load no
  boto3, botocore, pydantic, Powertools, VADER or the classifier, tweepy, requests or jinja2;
- a blueprint registered here (``chalicelib/console/routes.py``) follows the same rule in its module;
- names needed only in annotations go under ``if TYPE_CHECKING:``.
tests/integration/test_cold_start.py fails when importing this module, or answering a CRC, loads one
of those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice.app import Chalice, Rate, Response

from chalicelib import deps, http
from chalicelib.console.routes import console
from chalicelib.errors import BadRequest
from chalicelib.observability import event_middleware
from chalicelib.x.webhooks import SIGNATURE_HEADER, crc_response

if TYPE_CHECKING:
    from chalice.app import CloudWatchEvent, SQSEvent

app = Chalice(app_name="outlet")
app.register_middleware(event_middleware(lambda: deps.runtime().log_level), "all")
app.register_middleware(http.make_middleware(deps.admin_token), "http")


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/webhooks/x", methods=["GET"])
def x_crc() -> dict[str, str]:
    token = http.query_params(http.current_request(app)).get("crc_token")
    return crc_response(deps.secrets().x_consumer_secret.get_secret_value(), token)


@app.route("/webhooks/x", methods=["POST"])
def x_webhook() -> dict[str, Any]:
    from chalicelib.inbox import receive_x_delivery
    from chalicelib.store import utcnow

    request = http.current_request(app)
    return receive_x_delivery(
        deps.store(),
        body=http.raw_body(request),
        signature=request.headers.get(SIGNATURE_HEADER),
        consumer_secret=deps.secrets().x_consumer_secret.get_secret_value(),
        account_id=deps.runtime().x_account_id,
        now=utcnow(),
        enqueue=deps.enqueue_deliveries,
        classifier=deps.classifier(),
        spikes=deps.spike_policy,
        notify=deps.notify_alert,
    )


@app.route("/webhooks/shopify/orders", methods=["POST"])
def shopify_orders() -> dict[str, Any]:
    from chalicelib.sales import receive_order_delivery
    from chalicelib.shopify.webhooks import HMAC_HEADER, TOPIC_HEADER, WEBHOOK_ID_HEADER
    from chalicelib.store import utcnow

    request = http.current_request(app)
    outcome = receive_order_delivery(
        deps.store(),
        body=http.raw_body(request),
        hmac_header=request.headers.get(HMAC_HEADER),
        secret=deps.secrets().shopify_webhook_secret.get_secret_value(),
        topic=request.headers.get(TOPIC_HEADER),
        webhook_id=request.headers.get(WEBHOOK_ID_HEADER),
        now=utcnow(),
        count_test_orders=deps.settings().counts_test_orders,
    )
    return outcome.as_dict()


@app.route("/r/{code}")
def tracked_link(code: str) -> Response:
    from chalicelib.links import follow_link

    location = follow_link(deps.store(), unquote(code), http.current_request(app).headers.get("user-agent"))
    return Response(body="", status_code=302, headers={"Location": location, "Cache-Control": "no-store"})


@app.route("/reports/summary")
def reports_summary() -> dict[str, Any]:
    from chalicelib.reports import ReportQuery, channel_summary
    from chalicelib.store import InvalidCursor, utcnow

    query = http.parse(ReportQuery, http.query_params(http.current_request(app)))
    try:
        return channel_summary(deps.store(), utcnow(), query, answer_alert_after=deps.answer_alert_after())
    except InvalidCursor as exc:
        raise BadRequest(str(exc), fields={"cursor": "not a cursor from this report"}) from None


# --- the operator console (chalicelib/console/routes.py) and its accounts ---
app.register_blueprint(console)


@app.route("/dashboard")
def dashboard() -> Response:
    # Relative, so it stays under API Gateway's stage prefix (/api/dashboard -> /api/console).
    return Response(body="", status_code=303, headers={"Location": "console", "Cache-Control": "no-store"})


@app.route("/operators", methods=["POST"])
def operators_create() -> Response:
    from chalicelib.operators import OperatorFields, create_operator
    from chalicelib.store import utcnow

    fields = http.parse(OperatorFields, http.json_body(http.current_request(app)))
    return http.json_response(create_operator(deps.store(), fields, utcnow()), status=201)


@app.route("/deals", methods=["POST"])
def deals_create() -> Response:
    from chalicelib.deals import DealFields, create_deal
    from chalicelib.store import utcnow

    fields = http.parse(DealFields, http.json_body(http.current_request(app)))
    deal = create_deal(deps.store(), fields, utcnow(), link_base=deps.settings().short_link_base_url)
    return http.json_response(deal, status=201)


@app.route("/deals", methods=["GET"])
def deals_list() -> dict[str, Any]:
    from chalicelib.deals import STATUSES as DEAL_STATUSES
    from chalicelib.deals import list_deals

    request = http.current_request(app)
    status = http.query_params(request).get("status") or None
    if status is not None:
        http.one_of("status", status, DEAL_STATUSES)
    store = deps.store()
    return http.listing(request, lambda limit, cursor: list_deals(store, status=status, limit=limit, cursor=cursor))


@app.route("/deals/{deal_id}", methods=["GET"])
def deals_get(deal_id: str) -> dict[str, Any]:
    from chalicelib.deals import get_deal, public_deal
    from chalicelib.feedback import deal_rollup

    store = deps.store()
    return {**public_deal(get_deal(store, deal_id)), "feedback": deal_rollup(store, deal_id)}


@app.route("/feedback")
def feedback() -> dict[str, Any]:
    from chalicelib.feedback import FeedbackFilter, list_feedback

    request = http.current_request(app)
    wanted = http.parse(FeedbackFilter, http.query_params(request))
    store = deps.store()
    return http.listing(
        request, lambda limit, cursor: list_feedback(store, **wanted.model_dump(), limit=limit, cursor=cursor)
    )


@app.route("/feedback/{feedback_id}/reply", methods=["POST"])
def feedback_reply(feedback_id: str) -> Response:
    from chalicelib.answers import ReplyRequest, answer_feedback, new_key
    from chalicelib.store import utcnow

    request = http.current_request(app)
    wanted = http.parse(ReplyRequest, http.json_body(request))
    key = new_key(request.headers.get("idempotency-key"))
    answered = answer_feedback(
        deps.store(),
        deps.publisher(),
        deps.answer_policy(),
        unquote(feedback_id),
        text=wanted.text,
        by="admin",
        key=key,
        now=utcnow(),
        again=wanted.again,
    )
    return http.json_response(answered.body, status=answered.status)


@app.route("/feedback/{feedback_id}/dismiss", methods=["POST"])
def feedback_dismiss(feedback_id: str) -> dict[str, Any]:
    from chalicelib.answers import dismiss
    from chalicelib.store import utcnow

    item = dismiss(deps.store(), unquote(feedback_id), by="admin", now=utcnow())
    return {"id": item["id"], "state": item["state"]}


@app.route("/saved-replies", methods=["GET"])
def saved_replies_list() -> dict[str, Any]:
    from chalicelib.saved_replies import list_saved_replies

    store = deps.store()
    return http.listing(
        http.current_request(app), lambda limit, cursor: list_saved_replies(store, limit=limit, cursor=cursor)
    )


@app.route("/saved-replies", methods=["POST"])
def saved_replies_add() -> Response:
    from chalicelib.saved_replies import SavedReplyFields, add_saved_reply
    from chalicelib.store import utcnow

    fields = http.parse(SavedReplyFields, http.json_body(http.current_request(app)))
    return http.json_response(add_saved_reply(deps.store(), fields, utcnow()), status=201)


@app.route("/saved-replies/{reply_id}", methods=["DELETE"])
def saved_replies_remove(reply_id: str) -> Response:
    from chalicelib.saved_replies import remove_saved_reply

    remove_saved_reply(deps.store(), unquote(reply_id))
    return Response(body="", status_code=204)


@app.route("/deals/{deal_id}", methods=["PATCH"])
def deals_update(deal_id: str) -> dict[str, Any]:
    from chalicelib.deals import update_deal
    from chalicelib.store import utcnow

    changes = http.json_body(http.current_request(app))
    if not isinstance(changes, dict):
        raise BadRequest("the body is a JSON object of the fields to change")
    return update_deal(deps.store(), deal_id, changes, utcnow(), link_base=deps.settings().short_link_base_url)


@app.route("/deals/{deal_id}/cancel", methods=["POST"])
def deals_cancel(deal_id: str) -> dict[str, Any]:
    from chalicelib.deals import cancel_deal
    from chalicelib.store import utcnow

    return cancel_deal(deps.store(), deal_id, utcnow())


# --- listening (chalicelib/listening/): rules, the posts they hear, what those add up to ---
@app.route("/listening/rules", methods=["GET"])
def listening_rules_list() -> dict[str, Any]:
    from chalicelib.listening.rules import list_rules

    store = deps.store()
    return http.listing(http.current_request(app), lambda limit, cursor: list_rules(store, limit=limit, cursor=cursor))


@app.route("/listening/rules", methods=["POST"])
def listening_rules_add() -> Response:
    from chalicelib.listening.rules import RuleFields, add_rule
    from chalicelib.store import utcnow

    fields = http.parse(RuleFields, http.json_body(http.current_request(app)))
    return http.json_response(add_rule(deps.store(), fields, utcnow(), deps.rule_sync()), status=201)


@app.route("/listening/rules/{rule_id}", methods=["GET"])
def listening_rules_get(rule_id: str) -> dict[str, Any]:
    from chalicelib.listening.rules import get_rule, public_rule

    return public_rule(get_rule(deps.store(), unquote(rule_id)))


@app.route("/listening/rules/{rule_id}", methods=["PATCH"])
def listening_rules_update(rule_id: str) -> dict[str, Any]:
    from chalicelib.listening.rules import RuleChanges, update_rule
    from chalicelib.store import utcnow

    changes = http.parse(RuleChanges, http.json_body(http.current_request(app)))
    return update_rule(deps.store(), unquote(rule_id), changes, utcnow(), deps.rule_sync())


@app.route("/listening/rules/{rule_id}", methods=["DELETE"])
def listening_rules_remove(rule_id: str) -> Response:
    from chalicelib.listening.rules import remove_rule

    remove_rule(deps.store(), unquote(rule_id), deps.rule_sync())
    return Response(body="", status_code=204)


@app.route("/listening/posts")
def listening_posts() -> dict[str, Any]:
    from chalicelib.listening.api import PostFilter, list_posts

    request = http.current_request(app)
    wanted = PostFilter.read(http.query_params(request))
    store = deps.store()
    return http.listing(request, lambda limit, cursor: list_posts(store, **wanted, limit=limit, cursor=cursor))


@app.route("/listening/share-of-voice")
def listening_share_of_voice() -> dict[str, Any]:
    from chalicelib.listening.api import days_param
    from chalicelib.listening.reports import share_of_voice
    from chalicelib.store import utcnow

    days = days_param(http.query_params(http.current_request(app)), default=7)
    return share_of_voice(deps.store(), utcnow().date(), days)


@app.route("/listening/trends")
def listening_trends() -> dict[str, Any]:
    from chalicelib.listening.reports import rising_terms
    from chalicelib.store import utcnow

    return rising_terms(deps.store(), utcnow())


@app.route("/listening/rules/{rule_id}/top")
def listening_top(rule_id: str) -> dict[str, Any]:
    from chalicelib.listening.api import days_param
    from chalicelib.listening.reports import most_engaged
    from chalicelib.listening.rules import get_rule
    from chalicelib.store import utcnow

    store = deps.store()
    rule = get_rule(store, unquote(rule_id))
    days = days_param(http.query_params(http.current_request(app)), default=7)
    return {"items": most_engaged(store, str(rule["id"]), utcnow(), days=days), "next": None}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def listen(event: CloudWatchEvent) -> dict[str, Any]:
    """Each listening rule's recent search, from its last seen post, within the budgets."""
    from chalicelib.listening.search import run_searches
    from chalicelib.store import utcnow

    report = run_searches(
        deps.store(),
        deps.searcher(),
        deps.listening_policy(),
        utcnow(),
        classifier=deps.classifier(),
        account_id=deps.settings().x_account_id,
    )
    return report.as_dict()


@app.route("/community")
def community() -> dict[str, Any]:
    from chalicelib.community import community_summary
    from chalicelib.store import utcnow

    return community_summary(deps.store(), utcnow())


@app.route("/community/followers")
def followers() -> dict[str, Any]:
    from chalicelib.community import STATUSES, list_followers

    request = http.current_request(app)
    status = http.query_choice(request, "status", STATUSES, default="following")
    store = deps.store()
    return http.listing(request, lambda limit, cursor: list_followers(store, status=status, limit=limit, cursor=cursor))


@app.route("/alerts")
def alerts() -> dict[str, Any]:
    from chalicelib.alerts import list_alerts

    store = deps.store()
    return http.listing(http.current_request(app), lambda limit, cursor: list_alerts(store, limit=limit, cursor=cursor))


@app.route("/channel")
def channel() -> dict[str, Any]:
    from chalicelib.channel import channel_state

    return channel_state(deps.store())


@app.route("/channel/resume", methods=["POST"])
def channel_resume() -> dict[str, Any]:
    from chalicelib.channel import resume_publishing
    from chalicelib.store import utcnow

    return resume_publishing(deps.store(), utcnow())


@app.route("/outbox")
def outbox() -> dict[str, Any]:
    from chalicelib.publishing import list_outbox

    store = deps.store()
    return http.listing(http.current_request(app), lambda limit, cursor: list_outbox(store, limit=limit, cursor=cursor))


@app.route("/dms")
def dms() -> dict[str, Any]:
    from chalicelib.dm_queue import LISTED as DM_STATUSES
    from chalicelib.dm_queue import list_dms

    request = http.current_request(app)
    status = http.query_choice(request, "status", DM_STATUSES, default="unknown")
    store = deps.store()
    return http.listing(request, lambda limit, cursor: list_dms(store, status=status, limit=limit, cursor=cursor))


# --- people (chalicelib/people.py): one page per person, search by handle, erasure ---


@app.route("/people")
def people_search() -> dict[str, Any]:
    from chalicelib.people import find_people

    request = http.current_request(app)
    handle = http.query_params(request).get("handle", "")
    store = deps.store()
    return http.listing(request, lambda limit, cursor: find_people(store, handle, limit=limit, cursor=cursor))


@app.route("/people/{user_id}")
def person(user_id: str) -> dict[str, Any]:
    from chalicelib.people import person_page
    from chalicelib.store import InvalidCursor

    params = http.query_params(http.current_request(app))
    try:
        return person_page(
            deps.store(),
            unquote(user_id),
            feedback_cursor=params.get("cursor") or None,
            answers_cursor=params.get("answers_cursor") or None,
        )
    except InvalidCursor as exc:
        raise BadRequest(str(exc), fields={"cursor": "not a cursor from this person's lists"}) from None


@app.route("/people/{user_id}/erase", methods=["POST"])
def person_erase(user_id: str) -> dict[str, Any]:
    # X's user deletions reach no webhook (README, People): an operator erases on X's word.
    from chalicelib.people import erase_person
    from chalicelib.store import utcnow

    return erase_person(deps.store(), unquote(user_id), now=utcnow()).body()


@app.schedule(Rate(1, unit=Rate.MINUTES))
def send_dms(event: CloudWatchEvent) -> dict[str, Any]:
    """The alerts' outbox to the topic, answers to look up or waiting too long, then the waiting DMs."""
    from chalicelib.alerts import publish_pending_alerts
    from chalicelib.answers import check_answers
    from chalicelib.direct_messages import drain_dms
    from chalicelib.response_times import alert_long_waits
    from chalicelib.store import utcnow

    publish_pending_alerts(deps.store(), deps.notify_alert)
    check_answers(deps.store(), deps.publisher(), deps.answer_policy(), utcnow())
    alert_long_waits(deps.store(), utcnow(), deps.answer_alert_after(), deps.notify_alert)
    report = drain_dms(deps.store(), deps.publisher(), deps.dm_policy(), utcnow, deps.time_left(event.context))
    return report.as_dict()


@app.schedule(Rate(1, unit=Rate.MINUTES))
def release_deals(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.releases import release_due_deals
    from chalicelib.store import utcnow

    report = release_due_deals(
        deps.store(),
        deps.publisher(),
        deps.release_policy(),
        utcnow(),
        queue_alerts=deps.queue_deal_alerts,
        notify=deps.notify_alert,
    )
    return {"released": report.released, "closed": report.closed, "failed": report.failed, "held": report.held}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def close_deals(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.followups import sweep_ended_deals
    from chalicelib.people import index_earlier_feedback
    from chalicelib.store import utcnow

    report = sweep_ended_deals(deps.store(), deps.publisher(), deps.fee_schedule(), utcnow())
    people = index_earlier_feedback(deps.store(), utcnow())  # once per table, then one read a run
    return {"ended": report.ended, "replied": report.replied, "people_indexed": people}


@app.schedule(Rate(1, unit=Rate.HOURS))
def welcome(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.store import utcnow
    from chalicelib.welcome import welcome_new_followers

    result = welcome_new_followers(
        deps.store(), deps.publisher(), deps.welcome_policy(), utcnow(), enqueue_dms=deps.enqueue_deliveries
    )
    return {"outcome": result.outcome, "welcomed": result.welcomed}


# The queue's real ARN is wired in infra/template.json (DeliverMessages' event source), which
# overrides this placeholder when `make package` merges the template.
@app.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:000000000000:outlet-delivery", batch_size=10)
def deliver_messages(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    from chalicelib.delivery import QueueRecord, deliver_batch

    records = [QueueRecord(message_id=r.to_dict()["messageId"], body=r.body) for r in event]
    return deliver_batch(records, deps.delivery_handlers())
