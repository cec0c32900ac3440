import json

from watchkeeper.health.model import CheckResult, Status
from watchkeeper.health.report import CONTENT_TYPE, dumps, health_document, verbose_text


def results():
    return [
        CheckResult("disk", Status.HEALTHY, "12% used", 1_700_000_000.5, 0.001, True,
                    12.0, "percent", "utilization", "system"),
        CheckResult("cache", Status.DEGRADED, "slow", 1_700_000_000.0, 0.2, False),
        CheckResult("db", Status.UNHEALTHY, "timed out after 5 s", 1_700_000_000.0, 5.0, True),
    ]


def test_document_follows_the_health_check_response_format():
    doc = json.loads(dumps(health_document(results(), service_id="svc", version="1")))
    assert CONTENT_TYPE == "application/health+json"
    assert doc["status"] == "fail"
    assert doc["serviceId"] == "svc" and doc["version"] == "1"
    disk = doc["checks"]["disk:utilization"][0]
    assert disk == {
        "componentId": "disk", "componentType": "system", "observedValue": 12.0,
        "observedUnit": "percent", "status": "pass", "time": "2023-11-14T22:13:20.500Z",
        "output": "12% used", "durationSeconds": 0.001, "critical": True,
    }
    assert doc["checks"]["cache"][0]["status"] == "warn"
    assert doc["checks"]["db"][0]["output"] == "timed out after 5 s"
    assert "db: timed out after 5 s" in doc["output"]


def test_a_passing_document_has_no_output():
    doc = health_document(results()[:1])
    assert doc["status"] == "pass" and "output" not in doc


def test_verbose_text_lists_each_check_like_kubernetes():
    text = verbose_text(results(), Status.UNHEALTHY)
    assert text.splitlines() == [
        "[+]disk ok",
        "[!]cache degraded: slow",
        "[-]db failed: timed out after 5 s",
        "health check failed",
    ]
