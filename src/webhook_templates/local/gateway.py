"""What API Gateway does in front of the function, as pure functions for the local server.

The deployed stack answers in two layers: API Gateway (routing, its 10 MB
payload quota, the body model) and then the function (signature, size limit,
validation, storage).  ``make serve`` runs the real function, so only the
first layer is emulated here, from the same sources the template uses: the
model is ``contract.request_schema(limits)`` and the rejection bodies are the
template's own gateway-response templates.

Known differences from the real service, all in wording rather than status:
validation messages are ``jsonschema``'s, not API Gateway's Java validator's,
and no throttling is applied.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from ..stack import api
from ..stack.contract import CONTENT_TYPE, request_schema
from ..stack.handler_artifact import HandlerLimits

#: The only route the API has.
WEBHOOK_PATH = "/webhook"
WEBHOOK_METHOD = "POST"
#: API Gateway's fixed payload quota (not configurable); the function's own,
#: smaller limit applies after it.
PAYLOAD_QUOTA_BYTES = 10 * 1024 * 1024
#: The template sets no ``BinaryMediaTypes``: API Gateway passes bodies as text.
BINARY_MEDIA_TYPES: tuple[str, ...] = ()

#: Status and ``x-amzn-ErrorType`` of the gateway responses emulated here.
_RESPONSE_STATUS = {
    "BAD_REQUEST_BODY": (400, "BadRequestException"),
    "REQUEST_TOO_LARGE": (413, "RequestTooLargeException"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "MissingAuthenticationTokenException"),
    "DEFAULT_5XX": (502, "InternalServerErrorException"),
}


def new_request_id() -> str:
    """A request ID in API Gateway's format (a UUID)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class HttpResponse:
    """A response as the HTTP server writes it."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def path_of(target: str) -> str:
    """The path of a request target (path and query string): what API Gateway routes on."""
    return target.partition("?")[0]


@dataclass(frozen=True)
class Request:
    """An incoming HTTP request, as read off the socket."""

    method: str
    target: str  # path and query string
    headers: Sequence[tuple[str, str]]  # in arrival order, repeats kept
    body: bytes
    source_ip: str = "127.0.0.1"
    request_id: str = field(default_factory=new_request_id)
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def path(self) -> str:
        """The path without the query string."""
        return path_of(self.target)

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), as API Gateway keeps it."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


@cache
def _response_templates() -> dict[str, str]:
    """``ResponseType`` -> the ``application/json`` template the stack gives it."""
    return {
        response.properties["ResponseType"]: response.properties["ResponseTemplates"][CONTENT_TYPE]
        for response in api.gateway_responses()
    }


def gateway_response(response_type: str, message: str, request_id: str = "") -> HttpResponse:
    """API Gateway's own rejection, rendered from the template's gateway-response template.

    Types the template does not customise fall back to ``DEFAULT_4XX``, as
    API Gateway does.  ``$context`` values are substituted JSON-escaped.
    """
    status, error_type = _RESPONSE_STATUS[response_type]
    templates = _response_templates()
    template = templates.get(response_type, templates["DEFAULT_4XX"])
    text = json.dumps(message)[1:-1]
    body = template.replace("$context.error.validationErrorString", text).replace("$context.error.message", text)
    return HttpResponse(status, {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-ErrorType": error_type,
        "x-amzn-RequestId": request_id,
    }, body.encode())


@cache
def _validator(limits: HandlerLimits) -> Any:
    # Imported here: rendering the template (every ``make template``) never needs it.
    from jsonschema import Draft4Validator

    return Draft4Validator(request_schema(limits))


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` header; API Gateway assumes JSON when it is absent."""
    return (content_type or CONTENT_TYPE).split(";")[0].strip().lower()


def validation_error(body: bytes, content_type: str | None, limits: HandlerLimits) -> str | None:
    """Why API Gateway's body validator (the model for ``limits``) would reject ``body``; ``None`` if it passes.

    The model is keyed by ``application/json``; a request of another content
    type has no model to check, so API Gateway lets it through to the function.
    """
    if media_type(content_type) != CONTENT_TYPE:
        return None
    try:
        document = json.loads(body)
    except ValueError:  # includes undecodable bytes
        return "Invalid request body"
    errors = sorted(error.message for error in _validator(limits).iter_errors(document))
    return "[" + ", ".join(errors) + "]" if errors else None


def is_binary(body: bytes, content_type: str | None) -> bool:
    """Whether the function gets ``body`` base64-encoded.

    API Gateway base64-encodes bodies whose type is one of the API's binary
    media types (none here).  Locally, bytes that are not UTF-8 are encoded
    too, so the function sees exactly the bytes that were signed.
    """
    if media_type(content_type) in BINARY_MEDIA_TYPES:
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def to_proxy_event(request: Request, stage: str = "local", host: str = "127.0.0.1") -> dict[str, Any]:
    """The API Gateway REST (v1) Lambda proxy event for ``request``, shaped as AWS sends it."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value  # the last value wins, as in API Gateway
        multi_headers.setdefault(name, []).append(value)
    query = parse_qs(request.target.partition("?")[2], keep_blank_values=True)
    binary = is_binary(request.body, request.header("Content-Type"))
    body = base64.b64encode(request.body).decode() if binary else request.body.decode("utf-8")
    return {
        "resource": WEBHOOK_PATH,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": WEBHOOK_PATH,
            "httpMethod": request.method,
            "extendedRequestId": request.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(request.epoch_ms // 1000)),
            "path": f"/{stage}{request.path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "local",
            "requestTimeEpoch": request.epoch_ms,
            "requestId": request.request_id,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.header("User-Agent"),
                "accountId": None, "caller": None, "user": None, "userArn": None, "accessKey": None,
                "cognitoIdentityPoolId": None, "cognitoIdentityId": None,
                "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None,
                "principalOrgId": None,
            },
            "domainName": host,
            "apiId": "local",
        },
        "body": body if request.body else None,  # API Gateway sends null for no body
        "isBase64Encoded": binary,
    }


def proxy_response(result: Mapping[str, Any], request_id: str) -> HttpResponse:
    """The HTTP response API Gateway makes of a proxy integration's result."""
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(str(v) for v in values)
    headers["x-amzn-RequestId"] = request_id
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return HttpResponse(int(result.get("statusCode", 200)), headers, body)


def precheck(method: str, target: str, content_length: int, request_id: str) -> HttpResponse | None:
    """API Gateway's answer before the body is read: unknown route or over the payload quota.

    ``target`` is the request target (path and query string), as read off the
    request line.  API Gateway answers 403 "Missing Authentication Token"
    (not 404 or 405) for any method and path the API does not define.
    """
    if path_of(target) != WEBHOOK_PATH or method != WEBHOOK_METHOD:
        return gateway_response("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", request_id)
    if content_length > PAYLOAD_QUOTA_BYTES:
        return gateway_response("REQUEST_TOO_LARGE", "Request Too Long", request_id)
    return None


def check_body(request: Request, limits: HandlerLimits) -> HttpResponse | None:
    """API Gateway's body validation (the model for ``limits``): its 400, or ``None`` to invoke the function."""
    problem = validation_error(request.body, request.header("Content-Type"), limits)
    if problem is None:
        return None
    return gateway_response("BAD_REQUEST_BODY", problem, request.request_id)
