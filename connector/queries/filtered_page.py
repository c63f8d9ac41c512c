"""One page of rows chosen by a SCIM filter: in SQL as far as SQL can say it.

Where the SQL translation cannot express a filter (one on ``groups``, which are
not stored with a user), the rows that the SQL conditions leave are streamed in
the page's own order and the filter is evaluated on each row's view, the
resource as the filter sees it. Both ways give the same order and the same
total, and neither holds more than a batch and the page in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from scim.filter import Expr, matches

Row = TypeVar("Row")
# A filter's SQL condition, or None when SQL cannot express it.
Translate = Callable[[Expr], ColumnElement[bool] | None]
# The rows as the filter sees them, for the evaluator.
View = Callable[[Session, list[Row]], list[dict[str, Any]]]
BATCH = 500


@dataclass(frozen=True)
class FilteredPage(Generic[Row]):
    rows: list[Row]
    total: int  # every row the filter selects, not only this page's


def filtered_page(
    session: Session,
    model: type[Row],
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    *,
    start_index: int,
    count: int,
    scim_filter: Expr | None = None,
    translate: Translate | None = None,
    view: View[Row] | None = None,
    columns: Sequence[Any] | None = None,
) -> FilteredPage[Row]:
    """Rows ``start_index`` (1-based) to ``start_index + count - 1`` of the selection.

    The selection is ``where`` and ``scim_filter``: in SQL when ``translate``
    can express the filter, else by the evaluator applied to ``view(session, rows)``.
    With ``columns``, the rows are Core rows of those columns instead of ``model``
    instances: a reader that only shows the rows skips the ORM's loading.
    """
    if scim_filter is not None:
        if translate is None or view is None:
            raise ValueError("a SCIM filter needs its SQL translation and the rows' view")
        condition = translate(scim_filter)
        if condition is None:
            return _evaluated(
                session, model, where, order_by, start_index, count, scim_filter, view, columns
            )
        where = [*where, condition]
    if count == 0:
        return FilteredPage([], _count(session, model, where))
    rows = _rows(session, _page(model, columns, where, order_by, start_index - 1, count), columns)
    if 0 < len(rows) < count or (not rows and start_index == 1):
        # The page ends the selection, so its rows tell the total: no count needed
        # (a lookup by userName or externalId is one statement).
        return FilteredPage(rows, start_index - 1 + len(rows))
    return FilteredPage(rows, _count(session, model, where))


def _page(
    model: type[Row],
    columns: Sequence[Any] | None,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    skip: int,
    count: int,
) -> Select[Any]:
    """The page's rows: ``count`` after the first ``skip`` of the selection in its order.

    With rows to skip, the skipping is a deferred join: a subquery picks the page's
    ids (OFFSET over the ids alone, which an index on the order's columns and the id
    serves without reading a row, e.g. ``ix_users_source_user_name_id``), and only
    the page's rows are read. ``order_by`` must be a total order (ties broken by
    the id), so that ordering the page's rows again gives the subquery's order.
    """
    if skip == 0:
        return _select(model, columns).where(*where).order_by(*order_by).limit(count)
    key: Any = model.id  # type: ignore[attr-defined]
    ids = select(key).where(*where).order_by(*order_by).offset(skip).limit(count).subquery()
    return _select(model, columns).join_from(model, ids, key == ids.c.id).order_by(*order_by)


def _select(model: type[Row], columns: Sequence[Any] | None) -> Select[Any]:
    return select(*columns) if columns else select(model)


def _rows(session: Session, statement: Select[Any], columns: Sequence[Any] | None) -> list[Any]:
    if columns:
        return list(session.connection().execute(statement).all())
    return list(session.scalars(statement).all())


def _count(session: Session, model: type[Row], where: Sequence[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _evaluated(
    session: Session,
    model: type[Row],
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    start_index: int,
    count: int,
    scim_filter: Expr,
    view: View[Row],
    columns: Sequence[Any] | None,
) -> FilteredPage[Row]:
    """Stream the rows in the page's order; count and keep those the filter selects."""
    statement = _select(model, columns).where(*where).order_by(*order_by)
    first, page, total = start_index - 1, [], 0
    streamed: Any = (
        session.connection().execute(statement.execution_options(yield_per=BATCH))
        if columns
        else session.scalars(statement, execution_options={"yield_per": BATCH})
    )
    for batch in streamed.partitions():
        rows = list(batch)
        for row, seen in zip(rows, view(session, rows), strict=True):
            if matches(scim_filter, seen):
                if first <= total < first + count:
                    page.append(row)
                total += 1
    return FilteredPage(page, total)
