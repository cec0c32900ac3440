#!/usr/bin/env bash
# Installs the Debian packages the test suite uses as real judges of compatibility:
# promtool/Prometheus, Alertmanager, node_exporter, VictoriaMetrics (server, vmagent), memcached
# and Chromium (and wrk, the benchmarks' HTTP load generator). They are run by the tests
# themselves on 127.0.0.1 with temporary directories, never as system services.
# Without root (or apt) this only reports what is missing; tests then skip, or fail under CI=true.
set -u
# Python packages that cannot share the test venv go to a side directory that the tests put
# in front of a subprocess's path: kombu's Redis transport (Celery on Redis) needs
# redis-py >= 6.1 while arq pins redis-py < 6, so the venv keeps arq's and this has kombu's.
side="${WATCHKEEPER_TEST_SIDE_PACKAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/watchkeeper/test-peers}"
python="${PYTHON:-python3}"
if [ ! -d "$side/redis-py6" ]; then
  "$python" -m pip install -q --no-deps --target "$side/redis-py6" 'redis>=6.4,<9' \
    || echo "could not install redis-py >= 6.4 into $side/redis-py6" >&2
fi
# The OpenTelemetry Prometheus remote-write exporter pins protobuf < 7 (its generated code),
# while the venv's opentelemetry-proto has protobuf 7: the exporter, protobuf 6 and
# python-snappy go here; the SDK, requests and cramjam come from the venv.
if [ ! -d "$side/otel-prw" ]; then
  "$python" -m pip install -q --no-deps --target "$side/otel-prw" 'protobuf>=5.26,<7' \
    'opentelemetry-exporter-prometheus-remote-write==0.66b1' 'python-snappy>=0.6,<0.8' \
    || echo "could not install the OpenTelemetry remote-write exporter into $side/otel-prw" >&2
fi
want_bins=(promtool prometheus prometheus-alertmanager prometheus-node-exporter chromium wrk victoria-metrics vmagent memcached)
want_pkgs=(prometheus prometheus prometheus-alertmanager prometheus-node-exporter chromium wrk victoria-metrics victoria-metrics memcached)
missing=()
for i in "${!want_bins[@]}"; do
  command -v "${want_bins[$i]}" >/dev/null 2>&1 || missing+=("${want_pkgs[$i]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# shellcheck disable=SC2207
missing=($(printf '%s\n' "${missing[@]}" | sort -u))
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test peers missing (${missing[*]}); install them as root with apt-get" >&2
  exit 0
fi
echo "installing test peers: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A policy that forbids starting services, so the packages never run as daemons here.
policy=/usr/sbin/policy-rc.d
restore=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && restore=1
fi
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || echo "apt-get could not install: ${missing[*]}" >&2
[ -n "$restore" ] && rm -f "$policy"
# Stop anything a package's maintainer script may have started anyway.
for p in prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics vmagent memcached; do
  pkill -x "$p" 2>/dev/null || true
done
exit 0
