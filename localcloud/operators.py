"""Console operators for local use. `make run` creates one (or resets its password) and prints
its credentials; `make operator` creates another on a running `make run` through
``POST /operators`` with the admin token, as one would after `make deploy`."""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

DEFAULT_EMAIL = "operator@outlet.local"


def ensure_local_operator(environ: Mapping[str, str]) -> str:
    """The local operator (``OPERATOR_EMAIL``/``OPERATOR_PASSWORD``, a fresh password by default),
    created or given that password; returns the line to print."""
    from chalicelib import deps
    from chalicelib.errors import Conflict
    from chalicelib.operators import OperatorFields, create_operator, set_password
    from chalicelib.store import utcnow

    email = environ.get("OPERATOR_EMAIL") or DEFAULT_EMAIL
    password = environ.get("OPERATOR_PASSWORD") or secrets.token_urlsafe(12)
    fields = OperatorFields(name=environ.get("OPERATOR_NAME") or "Local operator", email=email, password=password)
    store = deps.store()
    try:
        create_operator(store, fields, utcnow())
    except Conflict:  # state restored from an earlier run: the printed password must work
        set_password(store, fields.email, password)
    return f"export OPERATOR_EMAIL={fields.email} OPERATOR_PASSWORD={password}"


def main() -> int:
    token = os.environ.get("ADMIN_TOKEN")
    if not token:
        print("ADMIN_TOKEN is required (make run prints it)", file=sys.stderr)
        return 2
    base = os.environ.get("OUTLET_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    email = os.environ.get("OPERATOR_EMAIL") or DEFAULT_EMAIL
    password = os.environ.get("OPERATOR_PASSWORD") or secrets.token_urlsafe(12)
    body = {"name": os.environ.get("OPERATOR_NAME") or email.split("@")[0], "email": email, "password": password}
    request = urllib.request.Request(  # noqa: S310 - a URL the user gave, http(s) only
        f"{base}/operators",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            created = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        print(f"POST /operators answered {exc.code}: {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"cannot reach {base} ({exc.reason}): is `make run` running?", file=sys.stderr)
        return 1
    print(f"operator {created['id']} created; sign in at {base}/console/sign-in")
    print(f"export OPERATOR_EMAIL={created['email']} OPERATOR_PASSWORD={password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
