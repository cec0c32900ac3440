"""Queries run on both Prometheus and our engine: every function, operator and modifier."""

from __future__ import annotations

C = "http_requests"
G = "node_temp"
H = "req_duration_seconds_bucket"

_RANGE_FUNCS = ["rate", "increase", "delta", "irate", "idelta", "changes", "resets", "deriv",
                "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
                "count_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
                "present_over_time"]
_MATH = ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "acos", "acosh",
         "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg",
         "rad"]
_AGGS = ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count"]

QUERIES: list[str] = [
    # selectors, matchers, lookback, gaps, modifiers
    C, f'{C}{{job="api"}}', f'{C}{{job!="api"}}', f'{C}{{method=~"g.*"}}',
    f'{C}{{method!~"g.*",instance="b"}}', '{__name__=~"node_.*"}', "gappy", "special",
    f"{C} offset 5m", f"{C} offset 1h", "gappy offset 10m", f"{G} @ {1_700_003_000}",
    f"{G} @ start()", f"{G} @ end()", f"{G} offset -10m", "nonexistent",
    f"{C}[5m]", "gappy[2m]", f"{G}[1m] offset 3m",
    # range functions over several windows
    *[f"{fn}({C}[5m])" for fn in _RANGE_FUNCS],
    *[f"{fn}({G}[2m])" for fn in _RANGE_FUNCS],
    *[f"{fn}(gappy[3m])" for fn in _RANGE_FUNCS],
    *[f"{fn}(special[1m])" for fn in ("rate", "avg_over_time", "max_over_time",
                                       "min_over_time", "sum_over_time", "stddev_over_time",
                                       "changes", "resets", "deriv", "idelta")],
    f"rate({C}[1m])", f"rate({C}[30s])", f"rate({C}[1h])", f"increase({C}[10m] offset 5m)",
    f"rate({C}[5m] @ {1_700_004_000})", f"irate({C}[1m])",
    f"predict_linear({G}[10m], 600)", f"predict_linear({C}[5m], 3600)",
    "predict_linear(gappy[5m] offset 1m, 60)",
    f"holt_winters({G}[10m], 0.3, 0.6)", f"holt_winters({C}[5m], 0.5, 0.1)",
    f"quantile_over_time(0.9, {G}[10m])", f"quantile_over_time(0, {G}[5m])",
    f"quantile_over_time(1, {G}[5m])", f"quantile_over_time(0.25, {C}[5m])",
    f"quantile_over_time(-1, {G}[5m])", f"quantile_over_time(2, {G}[5m])",
    "absent_over_time(gappy[2m])", "absent_over_time(nonexistent[5m])",
    'absent_over_time(nonexistent{job="x"}[5m])',
    # math and instant functions
    *[f"{fn}({G})" for fn in _MATH],
    *[f"{fn}(special)" for fn in ("abs", "ceil", "sqrt", "ln", "exp", "sgn")],
    f"round({G})", f"round({G}, 0.5)", f"round({G}, 3)", f"clamp({G}, 10, 25)",
    f"clamp({G}, 25, 10)", f"clamp_max({G}, 20)", f"clamp_min({G}, 20)", f"timestamp({G})",
    f"timestamp({G} offset 1m)", "time()", "pi()", f"scalar({G})",
    f'scalar({G}{{instance="a"}})', "vector(1)", "vector(time())", f"sort({G})",
    f"sort_desc({G})", f"absent({G})", 'absent(nonexistent{job="x",a=~"y"})',
    "absent(nonexistent)", f'label_replace({G}, "dst", "x-$1", "instance", "(.*)")',
    f'label_replace({G}, "instance", "", "instance", "a")',
    f'label_replace({G}, "dst", "$1$2", "instance", "(b)|(c)")',
    f'label_replace({G}, "dst", "$1", "nosuch", "(.*)")',
    f'label_join({C}, "both", "-", "job", "method")', f'label_join({G}, "x", ",")',
    "year()", "month()", "day_of_month()", "day_of_week()", "day_of_year()", "hour()",
    "minute()", "days_in_month()", f"year(timestamp({G}))", f"hour(timestamp({G}))",
    "days_in_month(vector(1709251200))",
    # histograms
    f"histogram_quantile(0.5, rate({H}[5m]))", f"histogram_quantile(0.99, rate({H}[5m]))",
    f"histogram_quantile(0.9, sum by (le) (rate({H}[5m])))", f"histogram_quantile(0, {H})",
    f"histogram_quantile(1, {H})", f"histogram_quantile(-0.5, {H})",
    f"histogram_quantile(1.5, {H})", f'histogram_quantile(0.5, {H}{{le!="+Inf"}})',
    f"histogram_quantile(0.75, sum without (job) ({H}))",
    # aggregations
    *[f"{op}({C})" for op in _AGGS],
    *[f"{op} by (job) ({C})" for op in _AGGS],
    *[f"{op} without (method) (rate({C}[5m]))" for op in _AGGS],
    *[f"{op}(special)" for op in ("sum", "avg", "min", "max", "stddev")],
    f"sum by (__name__) ({C})", f"count by (job, method) ({C})", "avg(gappy)",
    f"topk(2, {C})", f"bottomk(2, {C})", f"topk by (job) (1, {C})",
    f"bottomk without (instance) (1, rate({C}[5m]))", f"topk(0, {G})", "topk(2, special)",
    "bottomk(2, special)", f"quantile(0.5, {C})", f"quantile by (job) (0.9, {C})",
    f"quantile(0, {G})", f"quantile(1, {G})", f'count_values("value", round({G}))',
    f'count_values by (job) ("v", round(rate({C}[5m])))', 'count_values("k", special)',
    f"sum(sum by (job) ({C}))", f"max by (instance) (rate({C}[5m]))",
    # binary operators: scalar/vector, comparisons, bool, precedence
    "1 + 2 * 3", "2 ^ 3 ^ 2", "-2 ^ 2", "10 % 3", "-7 % 3", "5 / 0", "-5 / 0", "0 / 0",
    "2 atan2 3", "1 > bool 2", "2 >= bool 2", "(1 + 2) * 3", f"{C} * 2", f"2 * {C}",
    f"{C} - 100", f"100 - {C}", f"-{C}", f"{C} / 0", f"{C} % 7", f"{C} ^ 0.5",
    f"{G} atan2 2", f"{G} > 20", f"20 < {G}", f"{G} > bool 20", f"20 > bool {G}",
    f"{G} == {G}", f"{G} != bool 20", f"{G} <= 15", f"{G} >= 25", "special > 3",
    "special == bool special", f"-{G} + 3 * 2", f"({G} + 1) / ({G} - 1)",
    # vector matching
    f"{C} + {C}", f"{C} / ignoring(method) group_left sum without (method) ({C})",
    f"{C} / on(job, instance) group_left sum by (job, instance) ({C})",
    f"sum by (job, instance) ({C}) / on(job, instance) group_right {C}",
    f"{G} * on(instance) group_left(version) build_info",
    f"{G} * on(instance) group_left build_info",
    f"build_info * on(instance) group_right {G}",
    f"{G} > on(instance) build_info", f"{G} > bool on(instance) build_info",
    f"{G} - ignoring(version) build_info", f"rate({C}[5m]) > 0.5",
    f'{C}{{method="get"}} - ignoring(method) {C}{{method="post"}}',
    f'{C}{{method="get"}} + on(job, instance) {C}{{method="post"}}',
    f"{G} + on() group_left vector(1)", f"{G} == bool on(instance) {G}",
    # set operators
    f"{G} and {G} > 20", f"{G} or {C}", f"{G} unless {G} > 20", f"{C} and on(job) {C}",
    f'{C} unless on(method) {C}{{method="get"}}', f"gappy or {G}", "gappy or vector(1)",
    f'{G} and ignoring(instance) {G}{{instance="a"}}', f"{G} > 15 and {G} < 25",
    f"{G} > 15 or {G} < 5 unless {G} > 30",
    # subqueries
    f"max_over_time(rate({C}[1m])[10m:1m])", f"avg_over_time({G}[10m:])",
    f"min_over_time(({G} > 20)[15m:2m])", f"rate({C}[5m:30s])",
    f"max_over_time(deriv({G}[5m])[30m:5m] offset 10m)",
    f"sum_over_time(sum by (job) (rate({C}[5m]))[20m:1m])",
    "count_over_time(gappy[20m:1m])", f"last_over_time({G}[5m:] @ {1_700_003_000})",
    f"quantile_over_time(0.5, {G}[10m:1m])", f"stddev_over_time(avg({G})[10m:1m])",
    f"changes(round({G} / 10)[30m:1m])",
    # combinations a dashboard and alert rules use
    f"sum by (job) (rate({C}[5m])) / ignoring(job) group_left sum(rate({C}[5m]))",
    f"topk(3, sum by (job, instance) (rate({C}[5m])))",
    f"sum by (job) (increase({C}[10m])) > 100",
    f"avg_over_time({G}[10m]) - avg_over_time({G}[10m] offset 30m)",
    f"clamp_min(predict_linear({G}[30m], 3600), 0)",
    f"rate({C}[5m]) / on(job, instance, method) (rate({C}[5m]) > 0)",
    f"count(count by (instance) ({G}))", f"sum(rate({C}[5m])) * 60",
    f"abs(delta({G}[15m])) > 5", f"stddev by (job) (rate({C}[5m]))",
    # more edges: modifiers in odd places, NaN/Inf through functions, empty operands
    f"{G} offset 1h @ end()", f"rate({C}[5m] offset 10m @ start())",
    f"sum_over_time({G}[5m] @ {1_700_003_000})", f"predict_linear({G}[10m] @ end(), 60)",
    f"rate({C}[5m:1m] offset 2m)", f"avg_over_time({G}[10m:2m] @ end())",
    f"timestamp(sum({G}))", "timestamp(vector(1))", "absent(sum(nonexistent))",
    f"absent_over_time({G}[5m] offset 10h)", f"sum without () ({G})", f"group without (job) ({C})",
    "count(special > 3)", "increase(special[5m])", "resets(gappy[10m])",
    "changes(special[10m])", "histogram_quantile(NaN, req_duration_seconds_bucket)",
    f"clamp({G}, NaN, 10)", f"round(-{G}, 2)", "2 ^ -1", "1 / -0", "-(-1)", "NaN != bool NaN",
    "Inf - Inf", "-vector(3)", "abs(-vector(3))", f'label_replace({G}, "__name__", "x", "", "")',
    '{__name__=~"node_temp|gappy"}', f'{G}{{instance=~"a|b"}} - on(instance) gappy',
    f"{G} unless ignoring(instance) gappy", f"{G} or on() vector(0)",
    f"nonexistent + {G}", f"{G} * on(instance) group_left nonexistent", "nonexistent or gappy",
    "sum(rate(nonexistent[5m]))", f"topk(scalar(count({G})) - 1, {G})",
    "quantile(0.5, special)", "sort(special)", "max(special) by (kind)",
    "stdvar_over_time(special[3m])", "deriv(special[3m])", "holt_winters(gappy[10m], 0.1, 0.9)",
    "min_over_time(gappy[20m:1m] offset 5m)", "irate(gappy[2m])", f"idelta({C}[2m])",
    f"delta({C}[1h])", f"rate({C}[2h])", "last_over_time(gappy[30m])",
    "present_over_time(nonexistent[5m])", "day_of_week(vector(1700006400))",
    "sort_desc(special)", "sort(special or vector(5))", "sort_desc(special or vector(5))",
    f"{G} > bool 100 == bool 0", f"1 - {G} / on(instance) group_left max by (instance) ({G})",
]

# queries whose instant result depends on ordering: compared in order as well
ORDERED = {f"sort({G})", f"sort_desc({G})", "sort(special)", "sort_desc(special)",
           "sort(special or vector(5))", "sort_desc(special or vector(5))"}
