"""Connecting to PostgreSQL without ever showing a password.

The URL comes from the caller, else ``DATABASE_URL``, else libpq's own defaults (``PGHOST``,
``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGSERVICE``, ``~/.pgpass``...). Every message
that may contain connection details goes through :func:`redact` first.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/?#@\s]*):([^@/?#\s]*)@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#\s]*)", re.IGNORECASE)


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
    for secret in secrets:
        if secret:
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


def connection_kwargs() -> dict[str, Any]:
    """Settings for every connection we open: no automatic server-side prepares (DDL, many schemas)."""
    return {"autocommit": False, "prepare_threshold": None}


def connect(database_url: str | None = None, *, application_name: str = "drizzle-schema-isolation") -> psycopg.Connection[Any]:
    """Open a connection, raising :class:`ConnectError` with a password-free message on failure."""
    import psycopg

    url = resolve_url(database_url)
    try:
        return psycopg.connect(url, application_name=application_name, **connection_kwargs())
    except psycopg.Error as error:
        raise ConnectError(f"cannot connect to PostgreSQL: {redact(str(error).strip(), password_of(url))}") from None
    except Exception as error:  # noqa: BLE001 - e.g. a malformed conninfo string
        raise ConnectError(f"cannot connect to PostgreSQL: {redact(str(error).strip(), password_of(url))}") from None
