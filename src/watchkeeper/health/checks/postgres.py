"""PostgreSQL: connect, ``SELECT 1``; optionally connections used vs max and replica lag."""

from __future__ import annotations

import math
from typing import Any

from ..check import Check
from ..model import CheckError, Outcome, Status
from . import import_driver, ratio_status


class PostgresCheck(Check):
    type = "postgres"

    def __init__(
        self,
        *,
        dsn: str = "",
        host: str | None = None,
        port: int | None = None,
        user: str | None = None,
        password: str | None = None,
        dbname: str | None = None,
        check_connections: bool = False,
        degraded_connections: float = 0.8,
        unhealthy_connections: float | None = 0.95,
        check_replication: bool = False,
        degraded_lag: float = 30.0,
        unhealthy_lag: float | None = 300.0,
        **common: Any,
    ) -> None:
        common.setdefault("name", "postgres")
        super().__init__(**common)
        self.dsn = dsn
        self.params = {"host": host, "port": port, "user": user, "password": password,
                       "dbname": dbname}
        self.check_connections = check_connections
        self.connection_levels = (degraded_connections, unhealthy_connections)
        self.check_replication = check_replication
        self.lag_levels = (degraded_lag, unhealthy_lag)

    def _where(self) -> str:
        p = self.params
        return f"{p['host'] or 'localhost'}:{p['port'] or 5432}/{p['dbname'] or p['user'] or ''}"

    def check(self) -> Outcome:
        psycopg = import_driver("psycopg", "postgres")
        params = {k: v for k, v in self.params.items() if v is not None}
        try:
            conn = psycopg.connect(
                self.dsn, connect_timeout=max(1, math.ceil(self.timeout)), autocommit=True,
                **params,
            )
        except psycopg.Error as e:
            raise CheckError(f"cannot connect to PostgreSQL {self._where()}: {_clean(e)}") \
                from None
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1, current_setting('server_version')")
                _, version = cur.fetchone()
                notes = [f"PostgreSQL {version} answers"]
                statuses = [Status.HEALTHY]
                value, unit, measurement = None, None, "connection"
                if self.check_connections:
                    cur.execute("SELECT count(*), current_setting('max_connections')::int "
                                "FROM pg_stat_activity")
                    used, limit = cur.fetchone()
                    ratio = used / limit
                    statuses.append(Status(ratio_status(ratio, *self.connection_levels)))
                    notes.append(f"{used}/{limit} connections ({ratio:.0%})")
                    value, unit, measurement = round(ratio * 100, 2), "percent", "connections"
                if self.check_replication:
                    cur.execute("SELECT CASE WHEN pg_is_in_recovery() THEN EXTRACT(EPOCH FROM "
                                "now() - pg_last_xact_replay_timestamp()) END")
                    (lag,) = cur.fetchone()
                    if lag is None:
                        notes.append("primary (no replication lag)")
                    else:
                        lag = float(lag)
                        statuses.append(Status(ratio_status(lag, *self.lag_levels)))
                        notes.append(f"replication lag {lag:.1f} s")
        except psycopg.Error as e:
            raise CheckError(f"PostgreSQL {self._where()} query failed: {_clean(e)}") from None
        finally:
            conn.close()
        return Outcome(Status.worst(statuses), ", ".join(notes), observed_value=value,
                       observed_unit=unit, measurement=measurement, component_type="datastore")


def _clean(error: BaseException) -> str:
    return " ".join(str(error).split())
