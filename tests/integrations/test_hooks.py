"""Middlewares capture unhandled errors out of the box: the tracker loads on the first one."""

import os
import subprocess
import sys

SCRIPT = r"""
import sys
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from watchkeeper import generate_latest
from watchkeeper.integrations import hooks
from watchkeeper.integrations.asgi import HTTPMetricsMiddleware

hooks.AUTO_CAPTURE = sys.argv[1] == "on"

def boom(request):
    raise KeyError("order 42")

app = Starlette(routes=[Route("/orders/{id}", boom)])
app.add_middleware(HTTPMetricsMiddleware)
client = TestClient(app, raise_server_exceptions=False)
assert "watchkeeper.integrations.errors" not in sys.modules
assert client.get("/orders/42").status_code == 500
print("loaded" if "watchkeeper.integrations.errors" in sys.modules else "not loaded")
print(generate_latest().decode())
"""


def run(mode: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_first_unhandled_error_loads_the_tracker_and_is_counted():
    out = run("on")
    assert out.startswith("loaded")
    assert 'error_type="KeyError",http_route="/orders/{id}"} 1.0' in out


def test_auto_capture_can_be_turned_off():
    out = run("off")
    assert out.startswith("not loaded") and "errors_total" not in out
