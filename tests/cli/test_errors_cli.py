"""``watchkeeper errors`` on a data directory: list, show, resolve, ignore, reopen."""

from __future__ import annotations

from click.testing import CliRunner

from watchkeeper.cli.errors import errors
from watchkeeper.errorstore import ErrorStore


def _seed(data) -> str:
    store = ErrorStore(data.parent / f"{data.name}-errors" / "errors.db")
    try:
        out = store.add_events([{"message": f"disk {n} full", "release": "r1",
                                 "tags": {"http_route": "/upload"}} for n in range(4)])
    finally:
        store.close()
    return out[0]["group"]


def test_list_show_and_status_changes_on_a_data_directory(tmp_path) -> None:
    data = tmp_path / "data"
    gid = _seed(data)
    run = CliRunner().invoke
    listed = run(errors, ["--data", str(data), "list"], catch_exceptions=False)
    assert gid in listed.output and "disk 3 full" in listed.output and " 4 " in listed.output
    assert run(errors, ["--data", str(data)], catch_exceptions=False).output == listed.output
    shown = run(errors, ["--data", str(data), "show", gid], catch_exceptions=False).output
    assert "4 events" in shown and "route /upload: 4" in shown and "Grouped by" in shown
    for action, status in (("resolve", "resolved"), ("ignore", "ignored"),
                           ("reopen", "open")):
        out = run(errors, ["--data", str(data), action, gid], catch_exceptions=False).output
        assert out.strip() == f"error group {gid} is now {status}"
    resolved = run(errors, ["--data", str(data), "list", "--status", "resolved"],
                   catch_exceptions=False)
    assert resolved.output.strip() == "no error groups"


def test_unknown_group_and_missing_data_are_clear_errors(tmp_path) -> None:
    data = tmp_path / "data"
    _seed(data)
    missing = CliRunner().invoke(errors, ["--data", str(data), "show", "nope"])
    assert missing.exit_code == 1 and "no error group 'nope'" in missing.output
    empty = CliRunner().invoke(errors, ["--data", str(tmp_path / "other"), "list"])
    assert empty.exit_code == 2 and "no error data" in empty.output
    neither = CliRunner().invoke(errors, ["list"], env={"WATCHKEEPER_DATA": ""})
    assert neither.exit_code == 2 and "--data" in neither.output
