"""Alerting: Prometheus rule files, evaluation, alert history, and notifications that arrive.

    rules.py, templates.py        rule files and the template language, as Prometheus has them
    evaluator.py, state.py        pending/firing/resolved per label set, ALERTS series, restore
    anomaly.py, thresholds.py     robust z-score rules; thresholds compiled to ordinary rules
    routing.py, inhibit.py,       Alertmanager's route tree, inhibition, silences and
    silences.py, dispatcher.py    maintenance windows, grouping and dedup
    receivers/, delivery.py       webhook, SMTP, Apprise, Alertmanager; a queue on disk
    history.py                    incidents: every state change, ack, manual resolve
    *_api.py                      HTTP routes in Prometheus's and Alertmanager's shapes
    service.py                    AlertingService: all of it from one config section

Nothing is imported here, so ``watchkeeper check-rules`` loads only what it needs.
"""
