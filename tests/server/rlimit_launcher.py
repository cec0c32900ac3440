"""Runs ``watchkeeper`` under an address-space limit: ``python rlimit_launcher.py BYTES ARGS``
sets RLIMIT_AS to BYTES, then runs the CLI with ARGS in this process."""

from __future__ import annotations

import resource
import runpy
import sys

if __name__ == "__main__":
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.argv = ["watchkeeper", *sys.argv[2:]]
    runpy.run_module("watchkeeper.cli.main", run_name="__main__")
