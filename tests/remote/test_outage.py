"""The outage run of bench/remote_write.py, shortened to 60 s and judged on counts only:
1,000 series scraped every second by ``watchkeeper serve --agent``, VictoriaMetrics down for
60 s, watchkeeper SIGKILLed and restarted halfway; afterwards VictoriaMetrics holds every
scrape's samples exactly once (each value is the target's scrape number)."""

import importlib.util
from pathlib import Path

import pytest

from peers import require_binary

BENCH = Path(__file__).resolve().parents[2] / "bench" / "remote_write.py"


@pytest.mark.peer
def test_a_60_second_outage_with_a_kill_loses_nothing(tmp_path):
    require_binary("victoria-metrics")
    spec = importlib.util.spec_from_file_location("bench_remote_write", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.outage(tmp_path, 60, anchor=False)
    wk = result["wk"]
    assert wk["series"] == 1000
    assert wk["checked_scrapes"] >= 30
    assert wk["missing"] == 0  # (only a scrape in flight at the kill may be absent)
    assert wk["missing_in_flight_at_kill"] <= 1000
    assert wk["duplicates"] == 0
    assert result["drain_s"]["wk"] is not None  # drained (how fast is the bench's to say)
