"""``watchkeeper mcp`` answers initialize before the SDK has loaded, with exactly the answer
the SDK gives (the SDK's own is compared and dropped), and the session then goes on through
the SDK as before."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.mcp import early
from watchkeeper.mcp.early import INSTRUCTIONS, NAME, VERSION

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def request(version: object, client: object = None, rid: object = 1) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                       "clientInfo": client or {"name": "t", "version": "1"}}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import numpy as np

    from watchkeeper.tsdb.store import Store

    path = tmp_path_factory.mktemp("early") / "data"
    with Store.open(path, background=False) as s:
        ts = np.arange(0, 3_600_000, 15_000, dtype=np.int64) + 1_700_000_000_000
        s.append_array({"__name__": "up", "job": "api"}, ts, np.ones(ts.size))
    return path


def converse(store, first: dict, args: tuple[str, ...] | list[str] = ()) -> tuple[list[dict], str]:
    """Send initialize, wait for its answer, then initialized and tools/list, as a
    client does; the answers (every line the server wrote) and its stderr."""
    p = subprocess.Popen([sys.executable, "-m", "watchkeeper", "mcp", "--data", str(store),
                          *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    try:
        p.stdin.write(json.dumps(first).encode() + b"\n")
        p.stdin.flush()
        lines = [json.loads(p.stdout.readline())]
        p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
                      b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n')
        p.stdin.flush()
        lines.append(json.loads(p.stdout.readline()))
        rest, err = p.communicate(timeout=60)
    finally:
        p.kill()
    lines += [json.loads(x) for x in rest.splitlines() if x.strip()]
    return lines, err.decode()


def test_the_versions_answered_early_are_those_the_sdk_echoes():
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    assert tuple(HANDSHAKE_PROTOCOL_VERSIONS) == early.HANDSHAKE_VERSIONS


@pytest.mark.parametrize("version", early.HANDSHAKE_VERSIONS)
def test_the_early_answer_is_the_sdks_own(store, version):
    lines, err = converse(store, request(version))
    assert "differs" not in err, err
    first = lines[0]
    assert first == early.answer(json.dumps(request(version)), NAME, VERSION, INSTRUCTIONS)[0]
    assert first["result"]["protocolVersion"] == version
    # the SDK's answer to the same request was dropped: the client sees one
    assert [x["id"] for x in lines] == [1, 2]
    assert lines[1]["result"] == early.tools_list()


@pytest.mark.parametrize("first", [request("2099-01-01"), request("2025-06-18", {"name": 1})],
                         ids=["unknown version", "bad client info"])
def test_what_cannot_be_answered_early_waits_for_the_sdk(store, first):
    assert early.answer(json.dumps(first), NAME, VERSION, INSTRUCTIONS) is None
    lines, _ = converse(store, first)
    assert [x["id"] for x in lines] == [1, 2]
    if "error" not in lines[0]:  # the SDK negotiated its own version
        assert lines[0]["result"]["protocolVersion"] in early.HANDSHAKE_VERSIONS


def test_a_different_sdk_answer_is_reported_and_still_dropped(capsys):
    sent = early.answer(json.dumps(request("2025-06-18")), NAME, VERSION, INSTRUCTIONS)[0]
    out = io.StringIO()
    w = early._Dropping(out, {early._key(1): sent})
    other = {**sent, "result": {**sent["result"], "instructions": "other"}}
    w.write(json.dumps(other) + "\n")
    w.write('{"jsonrpc":"2.0","id":2,"result":{}}\n')
    assert out.getvalue() == '{"jsonrpc":"2.0","id":2,"result":{}}\n'
    assert "differs" in capsys.readouterr().err


def test_the_real_client_sdk_initializes_lists_and_calls(store):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    async def run() -> tuple[object, list[str], object]:
        params = StdioServerParameters(command=sys.executable, env=ENV,
                                       args=["-m", "watchkeeper", "mcp", "--data", str(store)])
        async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
            init = await s.initialize()
            tools = [t.name for t in (await s.list_tools()).tools]
            return init, tools, await s.call_tool("find_metrics", {"search": "up"})

    init, tools, found = asyncio.run(asyncio.wait_for(run(), 120))
    assert init.server_info.name == NAME and init.instructions == INSTRUCTIONS
    assert "what_changed" in tools
    assert not found.is_error and "up" in found.content[0].text


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4)
                              | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                              max_leaves=20).map(lambda v: json.dumps(v).encode()),
                 st.builds(request, st.sampled_from([*early.HANDSHAKE_VERSIONS, "x", 3, None]),
                           st.none() | st.dictionaries(st.sampled_from(["name", "version"]),
                                                       st.text(max_size=5) | st.integers()),
                           st.integers() | st.text(max_size=5) | st.none() | st.floats())
                 .map(lambda v: json.dumps(v).encode())))
def test_any_first_line_is_answered_exactly_or_left_to_the_sdk(line):
    got = early.answer(line, NAME, VERSION, INSTRUCTIONS)
    if got is not None:
        msg = json.loads(line)
        assert got[1] == msg["id"] and type(got[1]) in (int, str)
        assert got[0]["result"]["protocolVersion"] == msg["params"]["protocolVersion"]
        assert set(msg["params"]["clientInfo"]) >= {"name", "version"}
