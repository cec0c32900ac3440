"""MySQL/MariaDB: connect, ``SELECT 1``; optionally connections used vs max."""

from __future__ import annotations

import math
from typing import Any

from ..check import Check
from ..model import CheckError, Outcome, Status
from . import import_driver, ratio_status


class MySQLCheck(Check):
    type = "mysql"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 3306,
        user: str = "root",
        password: str = "",
        database: str | None = None,
        unix_socket: str | None = None,
        check_connections: bool = False,
        degraded_connections: float = 0.8,
        unhealthy_connections: float | None = 0.95,
        **common: Any,
    ) -> None:
        common.setdefault("name", "mysql")
        super().__init__(**common)
        self.params = {"host": host, "port": port, "user": user, "password": password,
                       "database": database, "unix_socket": unix_socket}
        self.check_connections = check_connections
        self.levels = (degraded_connections, unhealthy_connections)

    def _where(self) -> str:
        p = self.params
        return f"{p['user']}@{p['host']}:{p['port']}/{p['database'] or ''}"

    def check(self) -> Outcome:
        pymysql = import_driver("pymysql", "mysql")
        seconds = max(1, math.ceil(self.timeout))
        try:
            conn = pymysql.connect(connect_timeout=seconds, read_timeout=seconds,
                                   write_timeout=seconds, **self.params)
        except pymysql.err.MySQLError as e:
            raise CheckError(f"cannot connect to MySQL {self._where()}: {_clean(e)}") from None
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1, VERSION()")
                _, version = cur.fetchone()
                notes, status, value = [f"MySQL {version} answers"], Status.HEALTHY, None
                if self.check_connections:
                    cur.execute("SELECT @@max_connections")
                    (limit,) = cur.fetchone()
                    cur.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
                    used = int(cur.fetchone()[1])
                    ratio = used / int(limit)
                    status = Status(ratio_status(ratio, *self.levels))
                    notes.append(f"{used}/{limit} connections ({ratio:.0%})")
                    value = round(ratio * 100, 2)
        except pymysql.err.MySQLError as e:
            raise CheckError(f"MySQL {self._where()} query failed: {_clean(e)}") from None
        finally:
            conn.close()
        return Outcome(status, ", ".join(notes), observed_value=value,
                       observed_unit="percent" if value is not None else None,
                       measurement="connections" if value is not None else "connection",
                       component_type="datastore")


def _clean(error: BaseException) -> str:
    args = getattr(error, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return f"error {args[0]}: {args[1]}"
    return " ".join(str(error).split())
