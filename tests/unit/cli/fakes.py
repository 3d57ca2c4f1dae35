"""A fake transport for the operator commands: records requests, answers from a queue."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from typer.testing import CliRunner

from ecm.cli import app
from ecm.cli.api_client import HttpRequest, HttpResponse

API = ["--api-url", "http://ecm.test", "--api-key", "k-123", "--by", "cm-rpatel"]
KEY_ONLY = ["--api-url", "http://ecm.test", "--api-key", "k-123"]


@dataclass
class FakeTransport:
    """Records each request and answers with the next queued reply (default 202)."""

    replies: list[HttpResponse] = field(default_factory=list)
    sent: list[HttpRequest] = field(default_factory=list)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.sent.append(request)
        if self.replies:
            return self.replies.pop(0)
        return HttpResponse(202, b'{"status": "accepted", "event_id": "e1"}')

    def body(self, n: int = -1) -> dict[str, object]:
        raw = self.sent[n].body
        assert raw is not None
        return json.loads(raw)  # type: ignore[no-any-return]

    def answer(self, document: object, status: int = 200) -> None:
        """Queue a JSON reply."""
        self.replies.append(HttpResponse(status, json.dumps(document).encode()))


def run_ok(*args: str) -> str:
    """Run ``ecm`` with ``args``; assert it succeeded and return what it printed."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output
