import json
import socket
import threading

from watchkeeper.system.docker import DockerCollector


def test_no_socket_means_no_family_and_no_error(tmp_path):
    assert list(DockerCollector(str(tmp_path / "docker.sock")).collect()) == []


def test_counts_per_state_from_the_engine_api(tmp_path):
    # A stand-in engine answering the one request the collector makes.
    path = str(tmp_path / "docker.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    body = json.dumps([{"State": "running"}, {"State": "running"}, {"State": "exited"}])

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            request = conn.recv(4096)
            assert request.startswith(b"GET /containers/json?all=1 ")
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
                         + body.encode())

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    fams = {f.name: f for f in DockerCollector(path).collect()}
    thread.join(5)
    server.close()
    assert fams["docker_containers_running"].samples[0].value == 2
    states = {s.labels["state"]: s.value for s in fams["docker_containers"].samples}
    assert states["exited"] == 1 and states["paused"] == 0
