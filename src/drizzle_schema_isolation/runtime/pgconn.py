"""Connecting to PostgreSQL without ever showing a password, and noticing dead peers in seconds.

The URL comes from the caller, else ``DATABASE_URL``, else libpq's own defaults (``PGHOST``,
``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGSERVICE``, ``~/.pgpass``...).

**No password in any message.** libpq quotes the offending token when it cannot parse a URL or conninfo
string (``invalid percent-encoded token: "Sup3r%S3cret"``), and that token is often the password. So we
parse first (:func:`parse_conninfo`) and, on failure, say only which part is wrong from a fixed
vocabulary, never quoting the input. URL shapes that libpq parses *wrongly* - a raw ``@`` or ``/`` in
the password turns its tail into the host, port or database name, which later messages quote - are
refused the same way. Messages of connections that fail after a good parse go through :func:`redact`
with every value that could be the password.

**Bounded waits** (:func:`connection_kwargs`, :func:`session_setup`). libpq's ``connect_timeout``
(default :data:`DEFAULT_CONNECT_TIMEOUT` s) makes a down server fail fast; TCP keepalives make a
vanished server noticed by the client within about ``idle + interval * count`` seconds; on PostgreSQL
14+ ``client_connection_check_interval`` makes the *server* notice a killed client while it waits
(e.g. on a lock), so the backend of a SIGKILLed ``apply`` does not hold its advisory lock for hours.
Settings the user put in the URL win over these defaults.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

DEFAULT_APPLICATION_NAME = "drizzle-schema-isolation"
DEFAULT_CONNECT_TIMEOUT = 10.0
KEEPALIVE_SETTINGS = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3"}
CLIENT_CONNECTION_CHECK_INTERVAL = "2s"
_CHECK_INTERVAL_SINCE = 140000  # client_connection_check_interval exists from PostgreSQL 14
_LIBRARY_LOGGERS = ("psycopg", "psycopg.pool")

_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/?#@\s]*):([^@/?#\s]*)@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"((?<![?&\w])(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)([^&#\s]*)", re.IGNORECASE)
_URL_PREFIX = re.compile(r"postgres(?:ql)?://", re.IGNORECASE)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})|%00")
_SECRET_KEYS = ("password", "sslpassword")

# libpq's parse errors, each mapped to words of ours: the original quotes the input, we never do.
_PARSE_REASONS = (
    ("forbidden value %00", "an encoded NUL (%00)"),
    ("unexpected spaces", "unencoded spaces (write %20)"),
    ("percent-encoded", "a '%' that is not followed by two hex digits"),
    ('missing "="', "a word without '=': quote values that contain spaces"),
    ("unterminated quoted string", "an unterminated quoted value"),
    ("invalid uri query parameter", "an unknown query parameter"),
    ("invalid connection option", "an unknown option"),
    ("key/value separator", "a query parameter without exactly one '='"),
    ('matching "]"', "an unclosed '[' in the host"),
    ("ipv6 host address", "an invalid IPv6 host"),
    ("unexpected character", "an unexpected character in the host"),
)
_LOCATABLE = {words for needle, words in _PARSE_REASONS if "%" in words}  # we can tell which URL part has them


class ConnectError(Exception):
    """The server could not be reached or refused us; the message holds no password."""


def resolve_url(database_url: str | None = None) -> str:
    """The connection string to use: explicit, else ``DATABASE_URL``, else ``""`` (libpq ``PG*`` variables)."""
    if database_url:
        return database_url
    return os.environ.get("DATABASE_URL", "")


def has_connection_settings(database_url: str | None = None) -> bool:
    """Whether the user told us about a server at all (explicitly, ``DATABASE_URL`` or a ``PG*`` variable)."""
    if resolve_url(database_url):
        return True
    return any(key in os.environ for key in ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER"))


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with passwords in URLs and ``key=value`` strings, and any literal ``secrets``, masked."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:***@" if m.group(2) else m.group(0), text)
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    text = _KV_PASSWORD.sub(r"\1***", text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(secret, "***")
    return text


def password_of(url: str) -> str | None:
    """The password embedded in ``url`` (to redact it from server messages), if any."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(url).get("password")
    except Exception:  # noqa: BLE001 - a malformed URL has no password we could know about
        return None
    return str(value) if value else None


def secrets_of(url: str) -> tuple[str, ...]:
    """Every string in ``url`` that could be a password, raw and decoded, to :func:`redact` from messages.

    Beyond the parsed ``password``/``sslpassword`` this includes what the user *meant* as the password in
    a URL (the text after the first ``:`` of the user info), whatever libpq made of it.
    """
    found: list[str] = []
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(url)
        found.extend(str(params[key]) for key in _SECRET_KEYS if params.get(key))
    except Exception:  # noqa: BLE001 - unparsable: only the raw candidates below
        pass
    if _URL_PREFIX.match(url):
        userinfo = _url_parts(url)[0][1]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
        found.extend(m.group(2) for m in _QUERY_PASSWORD.finditer(url))
    found.extend(m.group(2).strip("'") for m in _KV_PASSWORD.finditer(url))
    found.append(os.environ.get("PGPASSWORD", ""))
    return tuple(_with_decoded(s for s in found if s))


def _with_decoded(values: Iterable[str]) -> list[str]:
    result: list[str] = []
    for value in values:
        result.append(value)
        decoded = unquote(value, errors="replace")
        if decoded != value:
            result.append(decoded)
    return result


def parse_conninfo(url: str) -> dict[str, str]:
    """``url`` (a libpq URL or ``key=value`` string) as parameters, or :class:`ConnectError` quoting none of it."""
    from psycopg.conninfo import conninfo_to_dict

    is_url = bool(_URL_PREFIX.match(url))
    what = "connection URL" if is_url else "connection string"
    if is_url:
        problem = _url_shape_problem(url)
        if problem:
            raise ConnectError(f"invalid {what} ({problem}, password hidden)")
    try:
        params = {key: str(value) for key, value in conninfo_to_dict(url).items()}
    except Exception as error:  # noqa: BLE001 - libpq's message quotes the input: translate, never echo
        raise ConnectError(f"invalid {what} ({_parse_reason(str(error), url if is_url else '')}, password hidden)") from None
    for port in params.get("port", "").split(","):
        if port and not port.strip().isdigit():
            raise ConnectError(f"invalid {what} (a port that is not a number, password hidden)")
    return params


def _url_parts(url: str) -> list[tuple[str, str]]:
    """A URL cut the way libpq cuts it: user info up to the first ``@`` before any ``/``, host, path, query."""
    rest = _URL_PREFIX.sub("", url, count=1)
    slash = rest.find("/")
    at = rest.find("@", 0, slash if slash >= 0 else len(rest))
    userinfo, rest = (rest[:at], rest[at + 1 :]) if at >= 0 else ("", rest)
    hostport = re.match(r"[^/?]*", rest).group(0)  # type: ignore[union-attr]  # always matches
    rest = rest[len(hostport) :]
    path, _, query = rest.lstrip("/").partition("?") if rest.startswith("/") else ("", "", rest[1:])
    return [
        ("the user name or password", userinfo),
        ("the host or port", hostport),
        ("the database name", path),
        ("the query parameters", query),
    ]


def _url_shape_problem(url: str) -> str | None:
    """A URL libpq would parse into something other than what its author meant, described without quoting it."""
    parts = dict((name, text) for name, text in _url_parts(url))
    if "@" in parts["the host or port"]:
        return "more than one '@' before the host: write an '@' in the password as %40"
    if not parts["the user name or password"] and "@" in parts["the database name"]:
        return "an '@' after a '/': write a '/' in the password as %2F"
    return None


def _parse_reason(message: str, url: str) -> str:
    lowered = message.lower()
    reason = next((words for needle, words in _PARSE_REASONS if needle in lowered), "a syntax error")
    if url and reason in _LOCATABLE:
        for part, text in _url_parts(url):
            if _BAD_PERCENT.search(text) or any(c.isspace() for c in text):
                return f"{reason} in {part}"
    return reason


def quiet_library_loggers() -> None:
    """Give psycopg's loggers (``psycopg``, ``psycopg.pool``) a ``NullHandler``, once.

    Without any handler Python prints their warnings to stderr through ``logging.lastResort`` (a pool
    printed one line per failed retry); with a ``NullHandler`` they stay silent unless the application
    configured logging, whose handlers still receive them (the records propagate as usual).
    """
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
            logger.addHandler(logging.NullHandler())


def connection_kwargs(
    url: str = "",
    *,
    application_name: str | None = DEFAULT_APPLICATION_NAME,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> dict[str, Any]:
    """Keyword arguments for ``psycopg.connect(url, ...)`` (or a pool's ``kwargs``) for every connection we open.

    No automatic server-side prepares (DDL, many schemas), not autocommit, plus libpq's
    ``connect_timeout`` and TCP keepalives - each only where ``url`` does not set it itself.
    ``connect_timeout`` is in seconds, rounded up to libpq's whole seconds (libpq treats 1 as 2);
    ``0`` waits forever.
    """
    try:
        given = parse_conninfo(url) if url else {}
    except ConnectError:
        given = {}
    libpq: dict[str, str] = {"connect_timeout": str(max(0, math.ceil(connect_timeout))), **KEEPALIVE_SETTINGS}
    if application_name:
        libpq["application_name"] = application_name
    settings: dict[str, Any] = {key: value for key, value in libpq.items() if key not in given}
    return {"autocommit": False, "prepare_threshold": None, **settings}


def session_setup(conn: psycopg.Connection[Any]) -> None:
    """Session settings for a fresh, idle connection; leaves it idle (usable as a pool's ``configure``).

    On PostgreSQL 14+ ``client_connection_check_interval`` lets the server notice, while a query waits
    (on a lock, say), that our side of the socket is gone, and end the backend, which releases its locks.
    Older servers lack the setting; there the keepalives of :func:`connection_kwargs` are all we have.
    """
    from psycopg import pq

    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise ValueError("session_setup() needs an idle connection (not inside a transaction)")
    if conn.info.server_version < _CHECK_INTERVAL_SINCE:
        return
    startup_options = conn.info.get_parameters().get("options", "") + " " + os.environ.get("PGOPTIONS", "")
    if "client_connection_check_interval" in startup_options:
        return  # the user chose a value (options=-c ...): theirs wins, as for the other settings
    conn.execute(f"SET client_connection_check_interval = '{CLIENT_CONNECTION_CHECK_INTERVAL}'")
    if not conn.autocommit:
        conn.commit()


def connect(
    database_url: str | None = None,
    *,
    application_name: str = DEFAULT_APPLICATION_NAME,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> psycopg.Connection[Any]:
    """An idle connection with :func:`session_setup` done, or :class:`ConnectError` with a password-free message."""
    import psycopg

    quiet_library_loggers()
    url = resolve_url(database_url)
    parse_conninfo(url)
    kwargs = connection_kwargs(url, application_name=application_name, connect_timeout=connect_timeout)
    try:
        conn = psycopg.connect(url, **kwargs)
    except Exception as error:  # noqa: BLE001 - psycopg.Error, or e.g. a resolver error: same one line
        raise ConnectError(connect_failure(error, url, database_url)) from None
    try:
        session_setup(conn)
    except psycopg.Error as error:
        conn.close()
        raise ConnectError(connect_failure(error, url, database_url)) from None
    return conn


@contextmanager
def connection_for(connection: psycopg.Connection[Any] | None, database_url: str | None) -> Iterator[psycopg.Connection[Any]]:
    """The caller's ``connection`` as it is, or a new one from ``database_url`` that is closed afterwards."""
    if connection is not None:
        yield connection
        return
    conn = connect(database_url)
    try:
        yield conn
    finally:
        conn.close()


def connect_failure(error: BaseException, url: str, database_url: str | None = None) -> str:
    """``cannot connect to PostgreSQL: <libpq's words>`` on one line, every possible password masked."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__
    message = f"cannot connect to PostgreSQL: {redact(text, *secrets_of(url))}"
    if not has_connection_settings(database_url):
        message += " (no database URL was given and neither DATABASE_URL nor a PG* variable is set)"
    return message

