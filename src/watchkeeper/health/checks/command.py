"""A command's exit code: 0 healthy, listed codes degraded, anything else unhealthy.

It runs as an asyncio subprocess and is killed when the check times out.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import Any

from ..check import Check, slug
from ..model import CheckError, Outcome, Status

MAX_OUTPUT = 64 * 1024


class CommandCheck(Check):
    type = "command"

    def __init__(
        self,
        *,
        command: str | list[str],
        degraded_exit_codes: list[int] | None = None,
        **common: Any,
    ) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("command is empty")
        common.setdefault("name", slug(f"command-{argv[0].rsplit('/', 1)[-1]}"))
        super().__init__(**common)
        self.argv = argv
        self.degraded_exit_codes = set(degraded_exit_codes or ())

    async def check(self) -> Outcome:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as e:
            raise CheckError(f"cannot run {self.argv[0]}: {e.strerror or e}") from None
        try:
            output, _ = await proc.communicate()
        except asyncio.CancelledError:
            proc.kill()
            # reap it and read its pipe to the end, so the transport closes while the loop
            # still runs (the runner bounds this wait)
            await proc.communicate()
            raise
        code = proc.returncode
        lines = output[-MAX_OUTPUT:].decode(errors="replace").strip().splitlines()
        last = lines[-1].strip() if lines else ""
        if code == 0:
            status = Status.HEALTHY
        elif code in self.degraded_exit_codes:
            status = Status.DEGRADED
        else:
            status = Status.UNHEALTHY
        details = f"{shlex.join(self.argv)} exited {code}" + (f": {last}" if last else "")
        return Outcome(status, details, observed_value=code, measurement="exitCode",
                       component_type="component")
