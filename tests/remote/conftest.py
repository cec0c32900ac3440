import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))  # serve_process
sys.path.insert(0, str(Path(__file__).parent))  # pushes

from victoria import VictoriaMetrics


@pytest.fixture
def victoria(tmp_path):
    vm = VictoriaMetrics(tmp_path).start()
    try:
        yield vm
    finally:
        vm.stop()
        vm.log.close()
