"""The MCP server: ten read-only tools (two write tools with ``--mcp-write``), resources
and prompts over a backend, built on the official ``mcp`` SDK. Results carry structured
content and a compact JSON text; a problem the caller can fix comes back as an error result
naming it. Everything leaving passes the config's redactor: no secret reaches the model."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from . import tools
from . import write as writes
from .backend import Backend, BackendError
from .early import INSTRUCTIONS, NAME, VERSION
from .shapes import ToolError
from .status import status as status_tool

_METRICS: tuple[Any, Any, Any] | None = None
_METRICS_LOCK = threading.Lock()


def _calls() -> tuple[Any, Any, Any]:
    """The server's self-metrics on the default registry, created once per process."""
    global _METRICS
    if _METRICS is not None:
        return _METRICS
    with _METRICS_LOCK:  # the SDK runs tools on worker threads: create them once
        if _METRICS is not None:
            return _METRICS
        from watchkeeper.metrics import Counter, Histogram

        _METRICS = (
            Counter("watchkeeper_mcp_tool_calls_total", "MCP tool calls by outcome.",
                    ["tool", "outcome"]),
            Histogram("watchkeeper_mcp_tool_duration_seconds", "MCP tool call duration.",
                      ["tool"]),
            Histogram("watchkeeper_mcp_result_bytes", "Bytes of an MCP tool's result.",
                      ["tool"], buckets=(256, 1024, 2048, 4096, 8192, 16384, 32768)))
    return _METRICS


def _redacting(redactor: Callable[[], Any] | None) -> Callable[[str], str]:
    """Text with the config's secrets (and any URL's userinfo and query values) hidden;
    ``redactor`` is a callable so a reload's new secrets apply, and so the config loads
    only when the first answer leaves."""
    if redactor is None:
        from watchkeeper.config.secrets import redact_urls

        return redact_urls
    return lambda text: redactor().text(text)


def build(backend: Backend, write: bool = False, prefix: str = "",
          allow: set[str] | None = None, redactor: Callable[[], Any] | None = None,
          **settings: Any) -> Any:
    """The MCPServer with watchkeeper's tools, resources and prompts registered (``prefix``
    before each tool and prompt name); ``settings`` go to the SDK (auth, token verifier)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult, TextContent, ToolAnnotations

    from . import resources

    server = MCPServer(NAME, instructions=INSTRUCTIONS, version=VERSION,
                       log_level="WARNING", **settings)
    redact = _redacting(redactor)
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    def register(name: str, fn: Any, description: str, destructive: bool = False) -> None:
        if allow is not None and name not in allow:
            return

        def run(**kwargs: Any) -> Any:
            calls, durations, sizes = _calls()  # created on the first call, not at start
            t0 = time.perf_counter()
            outcome = "ok"
            try:
                result = fn(backend, **{k: v for k, v in kwargs.items() if v is not None})
                raw = json.dumps(result, separators=(",", ":"), ensure_ascii=False,
                                 default=str)
                text = redact(raw)
                if text != raw:  # a secret was in it: the structured form is redone too
                    try:
                        result = json.loads(text)
                    except ValueError:  # a secret spanning JSON syntax: the text alone
                        return CallToolResult(content=[TextContent(type="text", text=text)])
                sizes.labels(name).observe(len(text.encode()))
                return CallToolResult(content=[TextContent(type="text", text=text)],
                                      structured_content=result)
            except (ToolError, BackendError, ValueError) as e:
                outcome = "error"
                message = str(e)
            except Exception as e:  # a bug: still a small error result, never a crash
                outcome = "error"
                message = f"{type(e).__name__}: {e}"
            finally:
                calls.labels(name, outcome).inc()
                durations.labels(name).observe(time.perf_counter() - t0)
            return CallToolResult(is_error=True,
                                  content=[TextContent(type="text",
                                                       text=redact(message)[:1000])])

        run.__signature__ = _signature(fn)  # type: ignore[attr-defined]
        run.__annotations__ = {**{k: v for k, v in fn.__annotations__.items()
                                  if k not in ("backend", "return")},
                               "return": CallToolResult}
        annotations = (ToolAnnotations(destructiveHint=True, readOnlyHint=False)
                       if destructive else read_only)
        server.add_tool(run, name=prefix + name, description=description,
                        annotations=annotations, structured_output=True)

    register("status", status_tool,
             "One-call overview: failing checks, firing alerts, down targets, soonest "
             "time until full, store size. Start here.")
    register("health", tools.health, "Health checks, failing first; check= for one.")
    register("alerts", tools.alerts,
             "Alerts by state (firing|pending|all) with rule expression, for, value.")
    register("query", tools.query,
             "PromQL. Instant without start; range with start/end/step. shape=summary "
             "(min/avg/max/last/p95/slope/sparkline), table or points.")
    register("find_metrics", tools.find_metrics,
             "Search metric names and help; type, unit, series count; cursor pages.")
    register("describe_metric", tools.describe_metric,
             "One metric: type, help, labels and top values, rules using it, idioms.")
    register("what_changed", tools.what_changed,
             "Series whose level or spread changed at a time, largest first.")
    register("anomalies", tools.anomalies,
             "Anomaly scores (0-1, anomalous at 0.5) of an expression's series.")
    register("capacity", tools.capacity,
             "Time until disks, inodes, memory, fds and pools run out, soonest first.")
    register("forecast", tools.forecast,
             "Forecast an expression: values, 80 % interval, backtest error, crossing time.")
    if write:
        register("silence", writes.silence,
                 "Silence alerts whose labels equal matchers, for duration.", True)
        register("acknowledge", writes.acknowledge,
                 "Acknowledge an incident by id, or the open ones of an alert name.", True)
    resources.register(server, backend, redact, prefix)
    return server


def _signature(fn: Any) -> Any:
    import inspect

    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name != "backend"]
    from mcp.types import CallToolResult

    return sig.replace(parameters=params, return_annotation=CallToolResult)

