"""API Gateway as outlet configures it, for `make run` and the tests: a request for a route the app
does not have is the contract's JSON 404, as infra/template.json's gateway responses make it in
the cloud. Chalice's own local gateway answers 403 instead, and echoes the caller's
``Authorization`` header in the body (as API Gateway does without a gateway response).

``create_local_server`` replaces ``chalice.local.create_local_server`` and ``Client`` replaces
``chalice.test.Client``; both put ``Gateway`` in front of the app."""

from __future__ import annotations

import functools
import json
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import chalice.test
from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer, LocalGateway, RouteMatcher
from chalice.local import create_local_server as create_chalice_server

from chalicelib.errors import error_body

# The same body as the MISSING_AUTHENTICATION_TOKEN gateway response in infra/template.json (a test
# holds them equal); nothing of the request is in it.
NOT_FOUND = error_body("not_found", "no such route")


class Gateway(LocalGateway):
    """Chalice's local API Gateway, with an unknown route answered as the cloud's gateway does."""

    def __init__(self, app_object: Chalice, config: Config) -> None:
        super().__init__(app_object, config)
        self._routes = RouteMatcher(list(app_object.routes))

    def handle_request(self, method: str, path: str, headers: dict[str, Any], body: bytes | None) -> dict[str, Any]:
        try:
            self._routes.match_route(path)
        except ValueError:
            return {
                "statusCode": 404,
                "headers": {"Content-Type": "application/json"},
                "multiValueHeaders": {},
                "body": json.dumps(NOT_FOUND),
            }
        response: dict[str, Any] = super().handle_request(method, path, headers, body)
        return response


class _RequestHandler(ChaliceRequestHandler):
    def __init__(
        self, request: bytes, client_address: tuple[str, int], server: HTTPServer, app_object: Chalice, config: Config
    ) -> None:
        # ChaliceRequestHandler.__init__ builds its own gateway and then serves the request at once,
        # so this sets the gateway and starts serving in its place.
        self.local_gateway = Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # type: ignore[arg-type]


def create_local_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    """`chalice local`'s server, serving through ``Gateway``."""
    server = create_chalice_server(app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(_RequestHandler, app_object=app, config=config)
    return server


class _TestHTTPClient(chalice.test.TestHTTPClient):
    def __init__(self, app: Chalice, config: Config) -> None:
        super().__init__(app, config)
        self._local_gateway = Gateway(app, config)


class Client(chalice.test.Client):
    """``chalice.test.Client`` whose HTTP requests go through ``Gateway``."""

    @property
    def http(self) -> chalice.test.TestHTTPClient:
        if self._http_client is None:
            self._http_client = _TestHTTPClient(self._app, self._chalice_config)
        return self._http_client
