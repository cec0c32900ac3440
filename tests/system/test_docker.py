import json

from docker_engine import docker_engine
from watchkeeper.system.docker import DockerCollector


def test_no_socket_means_no_family_and_no_error(tmp_path):
    assert list(DockerCollector(str(tmp_path / "docker.sock")).collect()) == []


def test_counts_per_state_from_the_engine_api(tmp_path):
    path = str(tmp_path / "docker.sock")
    body = json.dumps([{"State": "running"}, {"State": "running"}, {"State": "exited"}])
    with docker_engine(path, {"/containers/json?all=1": (200, body.encode())}) as received:
        fams = {f.name: f for f in DockerCollector(path).collect()}
    assert received == [b"GET /containers/json?all=1 HTTP/1.0"]
    assert fams["docker_containers_running"].samples[0].value == 2
    states = {s.labels["state"]: s.value for s in fams["docker_containers"].samples}
    assert states["exited"] == 1 and states["paused"] == 0


def test_an_engine_error_means_no_family(tmp_path):
    path = str(tmp_path / "docker.sock")
    with docker_engine(path, {"/containers/json?all=1": (500, b'{"message": "boom"}')}):
        assert list(DockerCollector(path).collect()) == []
