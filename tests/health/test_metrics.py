from watchkeeper.exposition import generate_latest
from watchkeeper.health import HealthCollector, Runner, function_check
from watchkeeper.metrics.registry import CollectorRegistry


def test_health_results_are_exposed_as_metrics_on_any_registry():
    state = {"db": "healthy"}
    runner = Runner([
        function_check(lambda: state["db"], name="db"),
        function_check(lambda: "degraded", name="cache", critical=False),
    ])
    registry = CollectorRegistry(auto_describe=True)
    registry.register(HealthCollector(runner))
    runner.run_sync()
    state["db"] = "unhealthy"
    runner.run_sync()

    def value(name, check):
        return registry.get_sample_value(name, {"check": check})

    assert value("watchkeeper_health_status", "db") == 0.0
    assert value("watchkeeper_health_status", "cache") == 0.5
    assert value("watchkeeper_health_check_failures_total", "db") == 1.0
    assert value("watchkeeper_health_check_failures_total", "cache") == 0.0
    assert value("watchkeeper_health_check_duration_seconds", "db") >= 0.0
    assert value("watchkeeper_health_check_timestamp_seconds", "db") == \
        runner.latest()["db"].timestamp
    text = generate_latest(registry).decode()
    assert "# TYPE watchkeeper_health_status gauge" in text
    assert 'watchkeeper_health_check_failures_total{check="db"} 1.0' in text


def test_registering_twice_is_refused_as_a_duplicate():
    registry = CollectorRegistry()
    runner = Runner()
    registry.register(HealthCollector(runner))
    try:
        registry.register(HealthCollector(runner))
    except ValueError as e:
        assert "watchkeeper_health_status" in str(e)
    else:
        raise AssertionError("duplicate health collector accepted")


def test_rendered_health_metrics_pass_promtool(tmp_path):
    import subprocess

    from peers import require_binary

    promtool = require_binary("promtool")
    runner = Runner([function_check(lambda: True, name="db")])
    registry = CollectorRegistry()
    registry.register(HealthCollector(runner))
    runner.run_sync()
    out = subprocess.run([promtool, "check", "metrics"], input=generate_latest(registry),
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
