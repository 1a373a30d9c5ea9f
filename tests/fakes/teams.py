"""A fake Microsoft Teams on FakeHTTPServer: a Power Automate workflow webhook and a legacy
Office 365 connector webhook.

    teams = FakeTeams()
    await teams.start()                 # or: async with FakeTeams() as teams: ...
    teams.workflow_url                  # http://127.0.0.1:PORT/workflows/hook (msteamsv2)
    teams.connector_url                 # http://127.0.0.1:PORT/webhookb2/hook (msteams)
    teams.cards                         # accepted posts, in order: TeamsPost(kind, body)
    teams.throttle_connector(times=1)   # the connector's 200 that reports an HTTP 429
    teams.server.fail(500)              # faults, delays: see FakeHTTPServer

The workflow answers 202 with no body, as Power Automate does, and 400 for a body that is not a
message with one Adaptive Card attachment; the connector answers 200 "1", and 400 for a body
that is not a MessageCard. Every action's URL must be http(s) (else 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.http import FakeHTTPServer, FakeService, Recorded, Reply

WORKFLOW_PATH = "/workflows/hook"
CONNECTOR_PATH = "/webhookb2/hook"
ADAPTIVE = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class TeamsPost:
    kind: str  # "workflow" or "connector"
    body: dict[str, Any]

    @property
    def card(self) -> dict[str, Any]:
        """The Adaptive Card of a workflow post; the MessageCard of a connector post."""
        return self.body["attachments"][0]["content"] if self.kind == "workflow" else self.body

    @property
    def urls(self) -> list[str]:
        """Every action's URL."""
        if self.kind == "workflow":
            return [action["url"] for action in self.card.get("actions", [])]
        return [
            target["uri"]
            for action in self.card.get("potentialAction", [])
            for target in action["targets"]
        ]


class FakeTeams(FakeService):
    def __init__(self) -> None:
        self.server = FakeHTTPServer()
        self.cards: list[TeamsPost] = []
        self._throttled = 0
        self.server.route("POST", WORKFLOW_PATH, self._workflow)
        self.server.route("POST", CONNECTOR_PATH, self._connector)

    @property
    def workflow_url(self) -> str:
        return self.server.url + WORKFLOW_PATH

    @property
    def connector_url(self) -> str:
        return self.server.url + CONNECTOR_PATH

    def throttle_connector(self, times: int = 1) -> None:
        """The next `times` connector posts answer 200 with the text of a throttled post."""
        self._throttled += times

    def _workflow(self, request: Recorded) -> Reply:
        body = _json(request)
        attachments = body.get("attachments") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("type") != "message"
            or not isinstance(attachments, list)
            or len(attachments) != 1
            or attachments[0].get("contentType") != ADAPTIVE
            or attachments[0].get("content", {}).get("type") != "AdaptiveCard"
        ):
            return Reply(400, {"error": {"code": "InvalidRequestContent"}})
        return self._accept(TeamsPost("workflow", body), Reply(202))

    def _connector(self, request: Recorded) -> Reply:
        body = _json(request)
        if not isinstance(body, dict) or body.get("@type") != "MessageCard":
            return Reply(400, "Summary or Text is required.")
        if self._throttled:
            self._throttled -= 1
            return Reply(
                200,
                "Webhook message delivery failed with error: Microsoft Teams endpoint returned "
                "HTTP error 429 with ContextId tcid=0,server=msgapi,cv=fake.0.",
            )
        return self._accept(TeamsPost("connector", body), Reply(200, "1"))

    def _accept(self, post: TeamsPost, reply: Reply) -> Reply:
        if not all(url.startswith(("http://", "https://")) for url in post.urls):
            return Reply(400, {"error": "action URLs must be http(s)"})
        self.cards.append(post)
        return reply


def _json(request: Recorded) -> Any:
    try:
        return request.json()
    except ValueError:
        return None
