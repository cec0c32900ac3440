"""A watchkeeper alerting process for the kill -9 test: rules fire for N hosts and are
delivered to a webhook. ``queue`` mode stops once every notification is queued and waits
to be killed; ``drain`` mode runs until the queue is empty, then exits cleanly."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from watchkeeper.alerting.service import AlertingService
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

RULES = """
groups:
  - name: load
    interval: 1s
    rules:
      - alert: HighLoad
        expr: load > 5
"""


def main(data: str, url: str, hosts: int, mode: str, timeout: float = 2) -> None:
    root = Path(data)
    (root / "rules.yml").write_text(RULES)
    store = Store.open(root / "tsdb", sync="always")
    now = int(time.time() * 1000)
    for i in range(hosts):
        store.append({"__name__": "load", "host": f"h{i}"}, now, 9.0)
    store.commit()
    config = {"rule_files": [str(root / "rules.yml")], "evaluation_interval": "1s",
              "route": {"receiver": "hook", "group_by": ["host"], "group_wait": "0s",
                        "group_interval": "1s"},
              "receivers": [{"name": "hook",
                             "webhook_configs": [{"url": url, "timeout": timeout}]}],
              "delivery": {"initial_backoff": "100ms", "max_backoff": "500ms"}}
    service = AlertingService(store, Engine(store), config, root / "alerting")
    service.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        queued = sum(service.delivery.queued().values())
        if mode == "queue" and queued >= hosts:
            print("queued", flush=True)
            time.sleep(60)  # killed here
        if mode == "drain" and queued == 0 and sum(service.delivery.sent.values()) > 0:
            break
        time.sleep(0.05)
    service.stop()
    store.close()
    print("drained", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4],
         *(float(a) for a in sys.argv[5:6]))
