import numpy as np
import pytest

from watchkeeper.analysis.forecasting import forecast, holt, holt_winters, theil_sen
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.formatting import result_to_api
from watchkeeper.tsdb.store import Store


def test_theil_sen_ignores_outliers_that_break_least_squares():
    t = np.arange(100.0)
    y = 2 * t + 5
    y[::10] += 500  # a tenth of the points wildly off
    slope, icpt, _ = theil_sen(t, y)
    assert slope == pytest.approx(2.0) and icpt == pytest.approx(5.0)
    assert np.polyfit(t, y, 1)[0] != pytest.approx(2.0, rel=0.01)


def test_holt_equals_promql_holt_winters(tmp_path):
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(1, 3, 40))
    store = Store.open(tmp_path / "d", background=False)
    try:
        ts = np.arange(40, dtype=np.int64) * 15_000
        store.append_array({"__name__": "x"}, ts, y)
        res = result_to_api(Engine(store).instant("holt_winters(x[10m], 0.3, 0.6)",
                                                  int(ts[-1])))
    finally:
        store.close()
    ours, _ = holt(y, 0.3, 0.6)
    assert float(res["result"][0]["value"][1]) == pytest.approx(ours, rel=1e-12)


def test_holt_refuses_factors_outside_0_1():
    with pytest.raises(ValueError, match="factors"):
        holt(np.arange(5.0), 1.0, 0.5)


def test_holt_winters_learns_a_season_and_needs_two_periods():
    t = np.arange(24 * 14)
    y = 100 + 0.1 * t + 10 * np.sin(2 * np.pi * t / 24)
    f = forecast(t, y, np.arange(len(t), len(t) + 24), method="holt_winters", period=24)
    truth = 100 + 0.1 * f.times + 10 * np.sin(2 * np.pi * f.times / 24)
    assert np.max(np.abs(f.values - truth)) < 2.0
    assert f.backtest_mape is not None and f.backtest_mape < 2.0
    with pytest.raises(ValueError, match="two periods"):
        holt_winters(y[:30], 24)


def test_linear_forecast_gives_interval_backtest_and_crossing():
    t = np.arange(200.0)
    y = 3 * t + np.random.default_rng(1).normal(0, 2, 200)
    f = forecast(t, y, np.arange(200.0, 400.0), threshold=900.0)
    assert f.crossing == pytest.approx(300, abs=3)
    assert (f.lower <= f.values).all() and (f.values <= f.upper).all()
    assert f.backtest_mape is not None and f.backtest_mape < 5


def test_unknown_method_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown forecast method"):
        forecast(np.arange(5.0), np.arange(5.0), np.arange(5.0, 6.0), method="magic")
