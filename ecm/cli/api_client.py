"""A small HTTP client of the ecm API for the operator commands (stdlib only).

The operator commands (``ecm exceptions``, ``ecm alerts``, ``ecm corrections``, ``ecm
visits``, ``ecm monitoring``) go through the API, so who may do what and which codes are
valid are checked in one place, and an answer means Kafka acknowledged the act. The
transport is a plain function, so tests pass a fake one and no socket is opened.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from ecm.settings import get_settings


@dataclass(frozen=True)
class HttpRequest:
    """One request to send."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    """The answer: status code and body bytes."""

    status: int
    body: bytes


Transport = Callable[[HttpRequest], HttpResponse]
"""Sends a request and returns its answer (any HTTP status); raises ``OSError`` when unreachable."""


def urllib_transport(timeout_seconds: float = 30.0) -> Transport:
    """Return the real transport, on ``urllib`` (redirects are not followed)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect())

    def send(request: HttpRequest) -> HttpResponse:
        prepared = urllib.request.Request(request.url, data=request.body, method=request.method,
                                          headers=dict(request.headers))
        try:
            with opener.open(prepared, timeout=timeout_seconds) as reply:
                return HttpResponse(reply.status, reply.read())
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, error.read())

    return send


class ApiError(RuntimeError):
    """The API refused a request, or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _explain(status: int, body: bytes) -> str:
    """Return the API's error as one readable line per problem."""
    try:
        document = json.loads(body)
    except ValueError:
        return f"HTTP {status}: {body[:200].decode(errors='replace')}"
    if not isinstance(document, dict):
        return f"HTTP {status}"
    lines = [f"HTTP {status} {document.get('error', '')}: {document.get('message', '')}".strip()]
    for item in document.get("errors") or ():
        if isinstance(item, dict):
            lines.append(f"  {item.get('field', '?')}: {item.get('reason', '')}")
    return "\n".join(lines)


@dataclass
class OperatorApi:
    """The API's workflow routes, as an operator calls them."""

    base_url: str
    api_key: str
    transport: Transport = field(default_factory=urllib_transport)

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
             query: Mapping[str, Any] | None = None) -> Any:
        """Send one request and return the decoded JSON answer.

        Raises:
            ApiError: a non-2xx answer (with the API's reasons) or no answer at all.

        """
        url = self.base_url.rstrip("/") + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
        try:
            reply = self.transport(HttpRequest(method, url, headers, data))
        except OSError as exc:
            raise ApiError(f"cannot reach the ecm API at {self.base_url}: {exc}") from exc
        if not 200 <= reply.status < 300:
            raise ApiError(_explain(reply.status, reply.body), reply.status)
        return json.loads(reply.body) if reply.body else None


def segment(value: str) -> str:
    """Return ``value`` quoted as one path segment (ids hold ``:``)."""
    return urllib.parse.quote(value, safe="")


ApiUrlOption = typer.Option(
    None, "--api-url", envvar="ECM_API_URL",
    help="The ecm API; default: http://ECM_API__HOST:ECM_API__PORT.")
ApiKeyOption = typer.Option(
    ..., "--api-key", envvar="ECM_API_KEY", show_default=False,
    help="Your API key (from `ecm providers add-key`); best given as ECM_API_KEY.")
ProviderFilter = Annotated[str | None, typer.Option("--provider", help="Only this provider.")]
EventIdOption = typer.Option(
    None, "--event-id", help="A stable id for the act: sending it again then changes nothing.")
ByOption = typer.Option(
    ..., "--by", envvar="ECM_USER", help="Who is acting (your user id); default: ECM_USER.")
NoteOption = typer.Option(None, "--note", help="Free text (some codes require one).")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="At most this many rows.")]
WHEN_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]
"""Instants on the command line: ISO 8601 with a UTC offset (e.g. 2026-11-17T09:20+00:00)."""


def operator_api(api_url: str | None, api_key: str) -> OperatorApi:
    """Return the client the commands use (the API URL defaults to the settings')."""
    if api_url is None:
        api = get_settings().api
        api_url = f"http://{api.host}:{api.port}"
    return OperatorApi(api_url, api_key, transport=_transport_factory())


def _transport_factory() -> Transport:
    """The transport of the commands (tests replace this function)."""
    return urllib_transport()


def run(action: Callable[[], Any]) -> Any:
    """Run one API call for a command: errors become a message and exit status 1."""
    try:
        return action()
    except ApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def act(api_url: str | None, api_key: str, path: str, body: Mapping[str, Any]) -> None:
    """POST one act to ``path`` and print the API's answer (its ``event_id``)."""
    api = operator_api(api_url, api_key)
    echo_json(run(lambda: api.call("POST", path, body)))


def fetch(api_url: str | None, api_key: str, path: str,
          query: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """GET ``path`` and return the decoded answer (errors exit as ``run`` says)."""
    api = operator_api(api_url, api_key)
    return run(lambda: api.call("GET", path, query=query))


def show_rows(rows: list[dict[str, Any]], columns: tuple[str, ...], as_json: bool) -> None:
    """Print a list answer as the API's JSON, or as a table of ``columns``."""
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, columns)


def echo_record(document: dict[str, Any], fields: tuple[str, ...], steps: str,
                step_columns: tuple[str, ...]) -> None:  # fmt: skip
    """Print one item, then the list under its key ``steps`` as a table.

    ``fields`` are printed as aligned ``name  value`` lines (blank ones left out).
    """
    width = max(len(f) for f in fields)
    for name in fields:
        value = document.get(name)
        if value not in (None, ""):
            typer.echo(f"{name.ljust(width)}  {value}")
    typer.echo(f"\n{steps}:")
    echo_table(list(document.get(steps) or []), step_columns)


def echo_json(document: Any) -> None:
    """Print an answer as indented JSON."""
    typer.echo(json.dumps(document, indent=2, sort_keys=True, default=str))


def echo_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Print rows as aligned columns (missing values blank)."""
    if not rows:
        typer.echo("(none)")
        return
    cells = [[str(row.get(c) if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
