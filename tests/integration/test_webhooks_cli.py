"""``milestones webhooks list|deliveries|retry``, as an operator runs them (SPEC §15)."""

from __future__ import annotations

from typer.testing import CliRunner

from milestones.cli import app
from tests.api.groups import monthly_spend
from tests.integration.test_webhook_delivery import Hooks, hooks, until

__all__ = ["hooks"]  # the fixture, shared with the delivery tests

runner = CliRunner()


def _run(hooks: Hooks, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database", hooks.database.url])
    return result.exit_code, result.output


def test_an_operator_lists_subscriptions_and_deliveries_and_retries_a_failed_one(
    hooks: Hooks,
) -> None:
    hooks.receiver.plan("/down", [503])
    hook = hooks.subscribe("/down", description="points engine", types=["target.achieved"])
    assert hooks.client.post("/v3/targetGroups", json=monthly_spend(), auth=hooks.org.auth)
    hooks.bill("B-1", 1000)
    hooks.start_worker(retry=0.01, timeout=1.0)
    failed = until(
        "the delivery FAILED", lambda: hooks.deliveries(hook, "FAILED") or None, timeout=30
    )[0]
    assert failed["attempts"] == 8 and failed["lastHttpStatus"] == 503

    code, output = _run(hooks, "webhooks", "list")
    assert code == 0, output
    assert str(hook.id) in output and hooks.receiver.url("/down") in output
    assert "target.achieved" in output
    code, output = _run(hooks, "webhooks", "list", "--org-id", "1")
    assert code == 0 and hooks.receiver.url("/down") not in output  # another org's: none

    code, output = _run(hooks, "webhooks", "deliveries", str(hook.id), "--status", "FAILED")
    assert code == 0, output
    assert str(failed["id"]) in output and "FAILED" in output and "503" in output
    assert "1 of 1 shown" in output

    hooks.receiver.plan("/down", [200])
    code, output = _run(hooks, "webhooks", "retry", str(hook.id), str(failed["id"]))
    assert code == 0 and "PENDING again" in output, output
    delivered = hooks.settled(hook, 1)[0]
    assert delivered["id"] == failed["id"] and delivered["lastHttpStatus"] == 200
    ids = {item.headers["webhook-id"] for item in hooks.received(hook)}
    assert ids == {str(failed["notificationId"])}  # one notification, one webhook-id


def test_the_cli_refuses_unknown_ids_and_a_pending_retry(hooks: Hooks) -> None:
    hooks.receiver.plan("/slow", [503])
    hook = hooks.subscribe("/slow")
    assert hooks.client.post("/v3/targetGroups", json=monthly_spend(), auth=hooks.org.auth)
    hooks.bill("B-1", 1000)
    hooks.start_worker(retry=60.0, timeout=1.0)  # one attempt, then a minute's wait
    pending = until(
        "a failed attempt", lambda: [d for d in hooks.deliveries(hook) if d["attempts"]] or None
    )[0]
    assert pending["status"] == "PENDING"
    code, output = _run(hooks, "webhooks", "retry", str(hook.id), str(pending["id"]))
    assert code == 2 and "PENDING" in output
    code, output = _run(hooks, "webhooks", "deliveries", "999999")
    assert code == 2 and "no webhook 999999" in output
    code, output = _run(hooks, "webhooks", "retry", str(hook.id), "999999")
    assert code == 2 and "no delivery 999999" in output
