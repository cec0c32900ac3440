"""The endpoints behind real servers: uvicorn (with lifespan) and wsgiref (threads)."""

import http.client
import json
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from peers import free_port
from watchkeeper.health import Runner, make_asgi_app, make_wsgi_app


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


def test_uvicorn_lifespan_starts_and_stops_the_scheduler(board):
    import uvicorn

    runner = Runner([board.make("db", True), board.make("cache", False)], fresh_interval=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_asgi_app(runner), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started and runner.started  # lifespan started the checks
        code, ctype, body = get(port, "/health/ready")
        assert (code, ctype) == (200, "application/health+json")
        assert json.loads(body)["status"] == "pass"
        board.status["db"] = "unhealthy"
        code, _, body = get(port, "/health?fresh=1")
        assert code == 503 and json.loads(body)["checks"]["db"][0]["status"] == "fail"
        assert get(port, "/health/live")[0] == 200
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    assert not runner.started  # lifespan shutdown stopped them


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_threaded_wsgi_server_under_concurrent_requests(runner, board):
    server = make_server("127.0.0.1", 0, make_wsgi_app(runner),
                         server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answers = []

        def client():
            for path in ("/health", "/health/ready", "/health?fresh=1", "/health/live"):
                answers.append(get(port, path)[0])

        clients = [threading.Thread(target=client) for _ in range(8)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=60)
        assert answers == [200] * 32
        # concurrent first requests and fresh runs were coalesced, not run 8 times each
        assert board.runs["db"] < 8 * 2
    finally:
        server.shutdown()
        server.server_close()
