"""outlet's wiring: routes, schedules and queue consumers. Each parses, calls one function in
chalicelib/, and maps the result; no business rule lives here."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, SQSEvent

from chalicelib import deps, http
from chalicelib.delivery import QueueRecord, deliver_batch
from chalicelib.observability import event_middleware
from chalicelib.publishing import list_outbox

app = Chalice(app_name="outlet")
app.register_middleware(event_middleware(lambda: deps.settings().log_level), "all")
app.register_middleware(http.make_middleware(deps.admin_token), "http")


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/outbox")
def outbox() -> dict[str, Any]:
    store = deps.store()
    return http.listing(http.current_request(app), lambda limit, cursor: list_outbox(store, limit=limit, cursor=cursor))


# The queue's real ARN is wired in infra/template.json (DeliverMessages' event source), which
# overrides this placeholder when `make package` merges the template.
@app.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:000000000000:outlet-delivery", batch_size=10)
def deliver_messages(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    records = [QueueRecord(message_id=r.to_dict()["messageId"], body=r.body) for r in event]
    return deliver_batch(records, deps.delivery_handlers())
