"""The jobs rule pack: passes promtool, and each alert fires (and stays quiet) on the series
the bulk and job monitors export, checked by ``promtool test rules``."""

from __future__ import annotations

import subprocess

import pytest

from peers import require_binary
from rule_tests import promtool_test_pack
from watchkeeper.alerting.packs import PACK_DIR, load_pack

pytestmark = pytest.mark.peer
PACK = PACK_DIR / "jobs.yml"


def _case(series: dict[str, str], alert: str, at: str, labels: list[dict]) -> dict:
    return {"interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [{"eval_time": at, "alertname": alert,
                                 "exp_alerts": [{"exp_labels": lab} for lab in labels]}]}


CASES = [
    _case({'watchkeeper_bulk_stalled{job="a",instance="i",operation="import"}': "0 0 1x10",
           'watchkeeper_bulk_running{job="a",instance="i",operation="import"}': "1x12"},
          "BulkOperationStalled", "6m",
          [{"severity": "warning", "job": "a", "instance": "i", "operation": "import"}]),
    _case({'watchkeeper_bulk_stalled{job="a",instance="i",operation="done"}': "1x12",
           'watchkeeper_bulk_running{job="a",instance="i",operation="done"}': "0x12"},
          "BulkOperationStalled", "10m", []),
    _case({'watchkeeper_bulk_items_total{job="a",instance="i",operation="o",result="ok"}':
           "0+90x20",
           'watchkeeper_bulk_items_total{job="a",instance="i",operation="o",result="failed"}':
           "0+10x20"},
          "BulkOperationErrorRatioHigh", "15m",
          [{"severity": "warning", "job": "a", "instance": "i", "operation": "o"}]),
    _case({'jobs_completed_total{system="celery",queue="q",task="t",outcome="success"}':
           "0+80x30",
           'jobs_completed_total{system="celery",queue="q",task="t",outcome="failure"}':
           "0+20x30"},
          "JobFailureRatioHigh", "25m",
          [{"severity": "warning", "system": "celery", "queue": "q", "task": "t"}]),
    _case({'job_queue_depth{system="rq",queue="q"}': "100+20x60"},
          "JobQueueGrowing", "45m", [{"severity": "warning", "system": "rq", "queue": "q"}]),
    _case({'job_queue_depth{system="rq",queue="q"}': "500x60"},
          "JobQueueGrowing", "45m", []),
    _case({'job_queue_depth{system="celery",queue="q"}': "5x20",
           'job_queue_consumers{system="celery",queue="q"}': "0x20"},
          "JobQueueNoWorkers", "10m",
          [{"severity": "critical", "system": "celery", "queue": "q"}]),
    _case({'job_queue_depth{system="celery",queue="q"}': "5x20",
           'job_queue_consumers{system="celery",queue="q"}': "2x20"},
          "JobQueueNoWorkers", "10m", []),
    _case({'jobs_in_progress{system="celery",queue="q",task="a"}': "3x30",
           'jobs_in_progress{system="celery",queue="q",task="b"}': "1x30",
           'job_worker_slots{system="celery",queue="q"}': "4x30",
           'job_queue_depth{system="celery",queue="q"}': "50x30"},
          "JobWorkerPoolSaturated", "20m",
          [{"severity": "warning", "system": "celery", "queue": "q"}]),
    _case({'jobs_in_progress{system="celery",queue="q",task="a"}': "4x30",
           'job_worker_slots{system="celery",queue="q"}': "4x30",
           'job_queue_depth{system="celery",queue="q"}': "0x30"},
          "JobWorkerPoolSaturated", "20m", []),
    _case({'jobs_in_progress{system="celery",queue="q",task="a"}': "2x30",
           'job_worker_slots{system="celery",queue="q"}': "4x30",
           'job_queue_depth{system="celery",queue="q"}': "50x30"},
          "JobWorkerPoolSaturated", "20m", []),
]


def test_the_pack_passes_promtool_and_loads() -> None:
    result = subprocess.run([require_binary("promtool"), "check", "rules", str(PACK)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    names = {r.name for g in load_pack("jobs") for r in g.rules}
    assert names == {"BulkOperationStalled", "BulkOperationErrorRatioHigh",
                     "JobFailureRatioHigh", "JobQueueGrowing", "JobQueueNoWorkers",
                     "JobWorkerPoolSaturated"}


def test_each_alert_fires_on_what_the_monitors_export(tmp_path) -> None:
    promtool_test_pack(PACK, CASES, tmp_path)
