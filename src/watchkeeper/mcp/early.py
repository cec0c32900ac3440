"""The stdio server answers the client's ``initialize`` while the SDK is still loading.

Why: importing the ``mcp`` SDK (pydantic models of every protocol revision, anyio,
starlette, its client) takes 0.7-1 s of CPU before any server can answer, and clients
wait on ``initialize`` to show a server as started. The answer to ``initialize`` is fixed
by what we register (name, version, instructions, capabilities) and by the version the
client asks for, so it is written here with the standard library as soon as the request
arrives, while the SDK imports on another thread. The request is then replayed to the
SDK's session, which negotiates exactly as it always does; its own answer is compared
with ours (a difference is reported on stderr) and dropped, so the client sees one.

A client lists the tools next, so ``tools/list`` is answered early too while the SDK
loads: its answer is fixed by the tool set (which tools, the prefix), written in
``tools_list.json`` from the SDK's own answer for every tool (a test compares them for
each tool set and handshake version, and fails when one schema changes). Everything
else (calls, resources, a paged list) is the SDK's, once it is loaded.

Only requests this module can answer exactly as the SDK would are answered early: a
protocol version the SDK negotiates by echoing it, well-formed client info, a list
without parameters after that. Anything else waits for the SDK.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

INSTRUCTIONS = (
    "watchkeeper monitors this service and host. Start with status (one call: failing "
    "checks, firing alerts, down targets, what runs out first). Then health, alerts, "
    "query (PromQL), find_metrics/describe_metric to learn names, and what_changed, "
    "anomalies, capacity, forecast for analysis. Times: now-1h, 1h, RFC 3339, unix seconds."
)


NAME, VERSION = "watchkeeper", "0.1.0"  # what initialize names (here: no import of the tools)

# The SDK's HANDSHAKE_PROTOCOL_VERSIONS (mcp_types.version): a requested one is echoed.
# A test fails when the SDK's list changes.
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
# What the SDK announces for a server with tools, resources and prompts (tested).
CAPABILITIES = {"prompts": {"listChanged": False},
                "resources": {"listChanged": False, "subscribe": False},
                "tools": {"listChanged": False}}


def answer(line: bytes | str, name: str, version: str, instructions: str,
           ) -> tuple[dict[str, Any], Any] | None:
    """(the initialize answer, the request's id) when ``line`` is an initialize request
    the SDK would accept and answer with these facts; else None."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" \
            or msg.get("method") != "initialize" or type(msg.get("id")) not in (int, str):
        return None
    params = msg.get("params")
    if not isinstance(params, dict) or params.get("protocolVersion") not in HANDSHAKE_VERSIONS:
        return None
    client = params.get("clientInfo")
    if not isinstance(params.get("capabilities"), dict) or not isinstance(client, dict) \
            or not isinstance(client.get("name"), str) \
            or not isinstance(client.get("version"), str):
        return None
    result = {"capabilities": CAPABILITIES, "instructions": instructions,
              "protocolVersion": params["protocolVersion"],
              "serverInfo": {"name": name, "version": version}}
    return {"jsonrpc": "2.0", "id": msg["id"], "result": result}, msg["id"]


def tools_list(write: bool = False, prefix: str = "", allow: Collection[str] | None = None,
               ) -> dict[str, Any]:
    """The result of ``tools/list`` as the SDK gives it for this tool set: the write tools
    (marked destructive) only with ``write``, only the ``allow``ed names, ``prefix``
    before each name."""
    with open(Path(__file__).with_name("tools_list.json"), encoding="utf-8") as f:
        every = json.load(f)["tools"]
    return {"tools": [{**t, "name": prefix + t["name"]} for t in every
                      if (write or not t.get("annotations", {}).get("destructiveHint"))
                      and (allow is None or t["name"] in allow)]}


INITIALIZED = "notifications/initialized"


def list_answer(line: bytes | str, listed: dict[str, Any]) -> tuple[dict[str, Any], Any] | None:
    """(the answer, the request's id) when ``line`` asks for the whole tool list (no
    cursor, no parameters), which the SDK answers with ``listed``; else None."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" \
            or msg.get("method") != "tools/list" or type(msg.get("id")) not in (int, str) \
            or msg.get("params", {}) != {}:
        return None
    return {"jsonrpc": "2.0", "id": msg["id"], "result": listed}, msg["id"]


def _is_initialized(line: bytes) -> bool:
    try:
        msg = json.loads(line)
    except ValueError:
        return False
    return isinstance(msg, dict) and msg.get("method") == INITIALIZED and "id" not in msg


class _Replayed(io.TextIOBase):
    """The wire's input with the lines already read in front of it."""

    def __init__(self, first: str | list[str], rest: io.TextIOBase) -> None:
        self._read = [first] if isinstance(first, str) else list(first)
        self._rest = rest

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        if self._read:
            return self._read.pop(0)
        return self._rest.readline()


class _Dropping(io.TextIOBase):
    """The wire's output without the SDK's answers to the requests answered early."""

    def __init__(self, out: io.TextIOBase, answered: dict[Any, dict[str, Any]]) -> None:
        self._out = out
        self._answered = dict(answered)  # _key(request id): our answer

    def write(self, text: str) -> int:  # type: ignore[override]
        if self._answered:
            try:
                msg = json.loads(text)
            except ValueError:
                msg = None
            if isinstance(msg, dict) and "method" not in msg \
                    and _key(msg.get("id")) in self._answered:
                sent = self._answered.pop(_key(msg.get("id")))
                if msg.get("result") != sent.get("result"):
                    print(f"watchkeeper mcp: the SDK's answer differs from the early one: "
                          f"{text.strip()[:500]}", file=sys.stderr)
                return len(text)
        return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()


def run_stdio(build: Callable[[], Any], name: str, version: str, instructions: str,
              listed: dict[str, Any] | None = None) -> None:
    """Serve MCP on stdin/stdout: ``build()`` (run on a thread while the first requests
    are read and answered) returns the SDK's MCPServer; ``listed`` is its ``tools/list``
    result (see ``tools_list``), None to leave that to the SDK.

    As the SDK does, fd 0 then reads the null device and fd 1 writes to stderr, so stray
    output of a handler or a child never reaches the wire."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    loaded: dict[str, Any] = {}

    def load() -> None:
        try:
            loaded["server"] = build()
        except BaseException as e:  # raised on the main thread below
            loaded["error"] = e

    loader = threading.Thread(target=load, name="mcp-sdk-import", daemon=True)
    loader.start()
    reader = open(wire_in, "rb", closefd=False)  # noqa: SIM115 - lives as long as the server
    read = [reader.readline()]
    answered = _answer_early(reader, read, wire_out, loader, name, version, instructions,
                             listed)
    loader.join()
    if "error" in loaded:
        raise loaded["error"]
    text_in = io.TextIOWrapper(reader, encoding="utf-8", errors="replace")
    text_out = io.TextIOWrapper(open(wire_out, "wb", closefd=False), encoding="utf-8")  # noqa: SIM115
    stdin = _Replayed([line.decode("utf-8", "replace") for line in read if line], text_in)
    stdout = _Dropping(text_out, answered)
    _serve(loaded["server"], stdin, stdout)


def _key(request_id: Any) -> Any:
    return (type(request_id).__name__, request_id)  # 1 and "1" are two ids


def _answer_early(reader: Any, read: list[bytes], wire_out: int, loader: threading.Thread,
                  name: str, version: str, instructions: str,
                  listed: dict[str, Any] | None) -> dict[Any, dict[str, Any]]:
    """Answer ``read[0]`` if it is an initialize we can answer, then, while the SDK is
    still loading, the tool lists that follow it (past the initialized notification),
    reading on into ``read``; returns our answers by request id."""
    answered: dict[Any, dict[str, Any]] = {}

    def send(got: tuple[dict[str, Any], Any]) -> None:
        answered[_key(got[1])] = got[0]
        os.write(wire_out, json.dumps(got[0], separators=(",", ":"),
                                      ensure_ascii=False).encode() + b"\n")

    early = answer(read[0], name, version, instructions) if read[0] else None
    if early is None:
        return answered
    send(early)
    while listed is not None and loader.is_alive():
        line = reader.readline()
        read.append(line)
        if _is_initialized(line):
            continue
        got = list_answer(line, listed) if line else None
        if got is None or _key(got[1]) in answered:
            break
        send(got)
    return answered


def _serve(server: Any, stdin: io.TextIOBase, stdout: io.TextIOBase) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server(anyio.wrap_file(stdin), anyio.wrap_file(stdout)) as (r, w):
            low = server._lowlevel_server  # what MCPServer.run_stdio_async runs
            await low.run(r, w, low.create_initialization_options())

    anyio.run(main)
