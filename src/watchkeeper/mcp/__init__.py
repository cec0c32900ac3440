"""Diagnostics an LLM can ask: an MCP server over the same API the dashboard and the CLI use.

Every tool answers in a few kilobytes with numbers computed here, never left to the model.
The ``mcp`` SDK is an optional extra (``watchkeeper[mcp]``) imported only by ``server.py``:
``backend``, ``shapes`` and ``tools`` are plain Python, so ``watchkeeper diagnose`` and the
tests use them without it.
"""
