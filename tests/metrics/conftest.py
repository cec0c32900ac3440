import pytest

from watchkeeper.metrics.multiprocess import values


@pytest.fixture
def mpdir(tmp_path, monkeypatch):
    """A fresh multiprocess directory, named by the env var prometheus_client users set."""
    for var in values.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return tmp_path
