from watchkeeper import CollectorRegistry, generate_latest
from watchkeeper.integrations.scores import (
    Score,
    ScoreBoard,
    register_score,
    score_from_penalties,
)


def test_score_is_100_minus_named_penalties_clamped():
    s = score_from_penalties("pool", "main", {"utilisation": 30, "wait": 5, "errors": 0})
    assert s.value == 65 and s.worst == "utilisation"
    assert score_from_penalties("cache", "c", {"a": 80, "b": 70}).value == 0
    assert score_from_penalties("cache", "c", {}).worst == ""


def test_board_exposes_one_gauge_per_component():
    reg = CollectorRegistry()
    register_score("pool", "db", lambda: Score("pool", "db", 90.0), registry=reg)
    text = generate_latest(reg).decode()
    assert 'watchkeeper_health_score{component="pool",name="db"} 90.0' in text


def test_a_broken_score_function_scores_zero_and_says_why():
    board = ScoreBoard()

    def broken():
        raise ZeroDivisionError

    board.register("breaker", "pay", broken)
    [s] = board.scores()
    assert s.value == 0 and s.worst == "error: ZeroDivisionError"
    board.unregister("breaker", "pay")
    assert board.scores() == []
