"""SCIM lookups use the indexes: the plans of the statements a filtered list runs.

Each filter here names an attribute with an index (userName, externalId, id,
emails.value, a userName prefix). The test lists users over SCIM with that
filter, catches the statements that read ``users``, and asks the database for
their plans: SQLite's EXPLAIN QUERY PLAN must SEARCH users (never SCAN), and
PostgreSQL's EXPLAIN, with sequential scans priced out, must not read users
sequentially (a condition no index can serve still gets a Seq Scan then);
neither may find them by the source's index alone (every user of the source).
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

import pytest

from connector.services import sources, tokens, users
from connector.services.context import Context
from tests.integration.scim_client import ScimClient
from tests.integration.sent_statements import sent_statements

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"

# (filter, whether PostgreSQL's indexes serve it too). userName and externalId are
# indexed in the database's collation there, which need not be code point order:
# their ranges and prefixes (compared in code point order) are read from the
# source's users on PostgreSQL; e-mails are indexed in collation "C".
INDEXED_FILTERS = [
    ('userName eq "ada@example.com"', True),
    ('USERNAME eq "Ada@Example.com"', True),
    ('externalId eq "ext-ada"', True),
    ('emails.value eq "ada@work.example"', True),
    ('emails[value eq "ada@work.example"]', True),
    ('emails[type eq "work" and value eq "ada@work.example"]', True),
    ('emails.value sw "ada@"', True),
    ('userName sw "ada"', False),
    ('externalId sw "ext-a"', False),
    ('userName gt "ada" and userName lt "adb"', False),
]
OTHERS = 400  # users beside the three, so that PostgreSQL's statistics mean something


@pytest.fixture
def scim(app: Any, ctx: Context) -> ScimClient:
    _, secret = ctx.run(
        lambda s: tokens.create(s, "test", name="idp", kind=tokens.SCIM, source_name="idp")
    )
    client = ScimClient(app.test_client(), secret)
    for name in ("ada", "grace", "linus"):
        client.post(
            "/Users",
            {
                "schemas": [CORE_USER],
                "userName": f"{name}@example.com",
                "externalId": f"ext-{name}",
                "emails": [{"value": f"{name}@work.example", "type": "work"}],
            },
        )
    ctx.run(lambda s: _add_users(s, OTHERS))
    if ctx.db.dialect == "postgresql":
        with ctx.db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE users")
            connection.exec_driver_sql("ANALYZE user_emails")
    return client


def _add_users(session: Any, count: int) -> None:
    source = sources.by_name(session, "idp")
    assert source is not None
    batch = [
        users.NewUser(
            {
                "schemas": [CORE_USER],
                "userName": f"other{i}@example.com",
                "externalId": f"other-{i}",
                "emails": [{"value": f"other{i}@work.example"}],
            },
            sync_to_contact=False,
        )
        for i in range(count)
    ]
    users.create_many(session, "test", source, batch)


def statements(ctx: Context) -> AbstractContextManager[list[tuple[str, Any]]]:
    """The reads of users (statement and parameters), whose plans the tests ask for."""

    def reads_of_users(statement: str, parameters: Any) -> tuple[str, Any] | None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            return statement, parameters
        return None

    return sent_statements(ctx, reads_of_users)


def plan(ctx: Context, statement: str, parameters: Any) -> str:
    with ctx.db.engine.connect() as connection:
        if ctx.db.dialect == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(row[-1]) for row in rows)
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(row[0]) for row in rows)


def reads_users_by_index(ctx: Context, text: str) -> bool:
    """Users are found by an index on what the filter names: not by a scan, and not
    by the source's part of an index alone (that reads every user of the source)."""
    if ctx.db.dialect == "sqlite":
        searches = [line for line in text.splitlines() if line.startswith("SEARCH users ")]
        return (
            "SCAN users" not in text
            and bool(searches)
            and not any(line.endswith("(source_id=?)") for line in searches)
        )
    return "Seq Scan on users" not in text and not re.search(
        r"Index Cond: \(source_id = [^()]*\)$", text, re.M
    )


@pytest.mark.parametrize(("scim_filter", "postgresql_too"), INDEXED_FILTERS)
def test_a_filter_on_an_indexed_attribute_reads_users_by_the_index(
    scim, ctx, scim_filter, postgresql_too
):
    if ctx.db.dialect == "postgresql" and not postgresql_too:
        pytest.skip("no index in code point order on PostgreSQL (see INDEXED_FILTERS)")
    with statements(ctx) as seen:
        found = scim.get("/Users", filter=scim_filter)
    assert found["totalResults"] == 1
    assert seen, "the listing read no users?"
    for statement, parameters in seen:
        text = plan(ctx, statement, parameters)
        assert reads_users_by_index(ctx, text), (scim_filter, statement, text)


def test_the_plan_check_can_fail(scim, ctx):
    """A filter no index serves (a JSON attribute) is seen reading every user."""
    with statements(ctx) as seen:
        scim.get("/Users", filter='title eq "x"')
    plans = [plan(ctx, statement, parameters) for statement, parameters in seen]
    assert any(not reads_users_by_index(ctx, text) for text in plans), plans


def _vacuum_users(ctx: Context) -> None:
    """As autovacuum leaves a table that grew: the visibility map set (an index-only
    scan reads no rows) and the planner's statistics fresh. VACUUM runs outside a
    transaction."""
    with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE users")


def test_a_page_deep_in_the_source_skips_its_offset_in_the_index(scim, ctx):
    """startIndex 200: the page's ids are picked from the index (source, userName, id)
    alone, and only the page's own rows are read, by id; the total is counted in the
    narrow index of the source (migration 0017)."""
    if ctx.db.dialect == "postgresql":
        _vacuum_users(ctx)
    with statements(ctx) as seen:
        found = scim.get("/Users", startIndex=200, count=10)
    assert found["totalResults"] == OTHERS + 3
    assert len(found["Resources"]) == 10
    (page, page_parameters), (count, count_parameters) = seen
    assert "OFFSET" in page and "count(*)" in count
    page_plan = plan(ctx, page, page_parameters)
    count_plan = plan(ctx, count, count_parameters)
    if ctx.db.dialect == "sqlite":
        skipping = "SEARCH users USING COVERING INDEX ix_users_source_user_name_id (source_id=?)"
        assert skipping in page_plan.splitlines(), page_plan
        assert "SEARCH users USING INDEX sqlite_autoindex_users_1 (id=?)" in page_plan, page_plan
        assert "SCAN users" not in page_plan, page_plan
        # Only the page's rows are put in order again; the ids come in the index's order.
        assert page_plan.count("USE TEMP B-TREE FOR ORDER BY") == 1, page_plan
        # The total in the narrowest index with the source (migration 0017).
        assert count_plan == "SEARCH users USING COVERING INDEX ix_users_source (source_id=?)"
        return
    assert "Index Only Scan using ix_users_source_user_name_id on users" in page_plan, page_plan
    assert re.search(r"Index Scan using users_pkey on users\s", page_plan), page_plan
    assert "Seq Scan" not in page_plan and "Bitmap" not in page_plan, page_plan
    assert "Index Only Scan using ix_users_source on users" in count_plan, count_plan
    assert "Bitmap" not in count_plan, count_plan
