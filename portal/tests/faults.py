"""Real database failures for tests: PostgreSQL itself refuses a write, through a trigger.

Nothing of ours is mocked: the statement reaches PostgreSQL, which raises the error it would
raise for a value too long (22001), a deadlock (40P01) or any other SQLSTATE, and Django and
psycopg turn it into the exception production code would see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

VALUE_TOO_LONG = "22001"
DEADLOCK = "40P01"


@contextmanager
def database_refuses(
    table: str,
    *,
    when: str = "true",
    sqlstate: str = VALUE_TOO_LONG,
    on: str = "INSERT OR UPDATE",
    times: int | None = None,
) -> Iterator[None]:
    """While inside, PostgreSQL refuses every `on` of a row of `table` for which the SQL
    condition `when` (over NEW) holds, with `sqlstate`; only the first `times` such writes when
    given (counted by a sequence, which a rollback does not undo). Seen by every connection
    (workers too) once the creating transaction commits."""
    name = f"test_refuse_{uuid.uuid4().hex[:12]}"
    if times is not None:
        when = f"({when}) AND nextval('{name}_count') <= {times}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE SEQUENCE {name}_count;
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {when} THEN
                    RAISE EXCEPTION 'refused by the test (%)', TG_TABLE_NAME
                        USING ERRCODE = '{sqlstate}';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER {name} BEFORE {on} ON {table}
                FOR EACH ROW EXECUTE FUNCTION {name}();
            """
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION {name}(); "
                f"DROP SEQUENCE {name}_count;"
            )
