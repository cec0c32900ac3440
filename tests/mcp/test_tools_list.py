"""``watchkeeper mcp`` answers ``tools/list`` before the SDK has loaded, from a file written
from the SDK's own answer: for every tool set and handshake version the two are equal, and
a changed schema makes them differ. Rewrite the file after changing a tool with
``python tests/mcp/test_tools_list.py``."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from watchkeeper.mcp import early

CONFIGS = [(False, "", None), (True, "", None), (False, "wk_", {"status", "query", "nope"}),
           (True, "b_", {"silence", "health"})]


def sdk_result(version: str, write: bool = False, prefix: str = "",
               allow: set[str] | None = None) -> dict:
    """The result the SDK's server sends for tools/list: its handler's answer, dumped and
    shaped for the negotiated version as its request runner does."""
    from mcp_types import methods

    from watchkeeper.mcp.backend import Backend
    from watchkeeper.mcp.server import build

    server = build(Backend(), write=write, prefix=prefix, allow=allow)
    assert not server._lowlevel_server.cache_hints  # no ttl added to the answer
    listed = asyncio.run(server._handle_list_tools(None, None))
    return methods.serialize_server_result(
        "tools/list", version, listed.model_dump(by_alias=True, mode="json", exclude_none=True))


@pytest.mark.parametrize("version", early.HANDSHAKE_VERSIONS)
@pytest.mark.parametrize(("write", "prefix", "allow"), CONFIGS)
def test_the_early_list_is_the_sdks_own(version, write, prefix, allow):
    assert early.tools_list(write, prefix, allow) == sdk_result(version, write, prefix, allow), \
        "the SDK lists the tools differently: python tests/mcp/test_tools_list.py rewrites it"


def test_a_changed_schema_makes_them_differ(monkeypatch):
    from watchkeeper.mcp import tools

    def health(backend, check: str | None = None, verbose: bool = False) -> dict:
        return {}

    monkeypatch.setattr(tools, "health", health)
    assert early.tools_list() != sdk_result("2025-06-18")


def test_only_a_whole_list_is_answered_early():
    listed = early.tools_list()
    got = early.list_answer('{"jsonrpc":"2.0","id":"a","method":"tools/list"}', listed)
    assert got == ({"jsonrpc": "2.0", "id": "a", "result": listed}, "a")
    assert early.list_answer('{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}',
                             listed)[1] == 2
    for line in ('{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"x"}}',
                 '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{}}}',
                 '{"jsonrpc":"2.0","id":true,"method":"tools/list"}',
                 '{"jsonrpc":"2.0","method":"tools/list"}',
                 '{"jsonrpc":"2.0","id":2,"method":"prompts/list"}', "[1]", "{"):
        assert early.list_answer(line, listed) is None, line


@pytest.mark.parametrize(("write", "prefix", "allow"), CONFIGS[1:])
def test_the_stdio_server_lists_each_tool_set_early_as_the_sdk(tmp_path, write, prefix, allow):
    from .test_early import converse, request

    args = (["--mcp-write"] if write else []) + (["--tool-prefix", prefix] if prefix else []) \
        + [a for name in sorted(allow or ()) for a in ("--allow", name)]
    (tmp_path / "data").mkdir()
    lines, err = converse(tmp_path / "data", request("2025-06-18"), args)
    assert "differs" not in err, err  # the SDK's own answers were compared, then dropped
    assert [x["id"] for x in lines] == [1, 2]
    assert lines[1]["result"] == early.tools_list(write, prefix, allow)


if __name__ == "__main__":
    path = Path(early.__file__).with_name("tools_list.json")
    every = sdk_result(early.HANDSHAKE_VERSIONS[-1], write=True)
    path.write_text(json.dumps(every, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
