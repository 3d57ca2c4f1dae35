"""Subject access and erasure: everything ecm's database holds about one client or carer.

``export`` gathers every row that names the person, table by table. ``erase`` replaces
the person's id with a random pseudonym in every one of those rows, in one
transaction: no row is deleted and no count, sum or money changes, so the KPIs and
payments stay exactly as they were, but the rows no longer name the person. What ecm
cannot erase, and why, is returned with the result (docs/data-protection.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg
from psycopg import sql

Subject = Literal["client", "carer"]


@dataclass(frozen=True)
class Place:
    """One column where a person's id may stand, and how it stands there."""

    table: str
    column: str
    how: Literal["text", "array", "json", "words"]  # equal / element / JSON string / in prose


PLACES: dict[Subject, tuple[Place, ...]] = {
    "client": (
        Place("clients", "client_id", "text"), Place("clients", "payload", "json"),
        Place("care_packages", "client_id", "text"), Place("care_packages", "payload", "json"),
        Place("raw_events", "detail", "json"), Place("raw_events", "client_id", "text"),
        Place("visit_outcomes", "client_id", "text"),
        Place("alerts", "client_id", "text"),
        Place("visit_exceptions", "client_id", "text"),
        Place("visit_exceptions", "detail", "words"),
        Place("kpi_client_week", "client_id", "text"),
        Place("rota_gaps", "client_id", "text"), Place("rota_gaps", "previous_client_id", "text"),
        Place("webhook_deliveries", "body", "json"),
    ),
    "carer": (
        Place("carers", "carer_id", "text"), Place("carers", "payload", "json"),
        Place("raw_events", "detail", "json"), Place("raw_events", "carer_id", "text"),
        Place("raw_events", "planned_carer_ids", "array"),
        Place("visit_outcomes", "carer_ids", "array"), Place("visit_outcomes", "extra", "json"),
        Place("visit_exceptions", "carer_id", "text"),
        Place("visit_exceptions", "detail", "words"),
        Place("kpi_client_week", "carer_ids", "array"),
        Place("rota_gaps", "carer_id", "text"),
    ),
}

JSONB_COLUMNS = frozenset({"payload", "detail", "extra"})
"""The ``json`` places whose column is jsonb (the others are text)."""

AS_RECORDED = {"alerts": "ecm_alert_record", "visit_exceptions": "ecm_exception_record"}
"""Tables whose rows are exported through a function putting back what the row keeps
only as derived (storage migrations 0023 and 0024); any other is exported as ``to_jsonb``."""

NOT_ERASED = (
    "the Kafka input topic (visit-events) keeps events as sent, the person's id included, "
    "until they expire (ECM_KAFKA__INPUT_RETENTION_DAYS); a log cannot be edited",
    "the Kafka reference topic keeps the registration events for good: every worker "
    "rebuilds its reference data from it; erase them there by compacting or re-creating "
    "the topic with the pseudonymised events",
    "the outcomes, alerts, exceptions and dead-letter topics and the workers' changelog "
    "topics keep records naming the person until the broker's retention or compaction "
    "removes them",
    "visit and event ids are the providers' own references and may embed the person's "
    "id (e.g. a visit id made from a client id); they are keys everywhere and are left "
    "as they are",
    "copies outside ecm: webhook receivers, exports already downloaded, backups",
    "raw_events.digest, the SHA-256 of each input event as it arrived, is kept as the "
    "audit's proof of what was received: it cannot be turned back into the id, but with "
    "the rest of the event it could confirm a guessed one",
)
"""What ``erase`` cannot reach, and why."""


@dataclass
class SubjectRecords:
    """Rows naming a person, by table, and what could not be reached."""

    subject: Subject
    subject_id: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pseudonym: str | None = None
    changed: dict[str, int] = field(default_factory=dict)
    not_erased: tuple[str, ...] = NOT_ERASED


def _match(place: Place, subject_id: str) -> tuple[sql.Composable, dict[str, Any]]:
    column = sql.Identifier(place.column)
    if place.how == "text":
        return sql.SQL("{} = %(id)s").format(column), {"id": subject_id}
    if place.how == "array":
        return sql.SQL("{} @> ARRAY[%(id)s]::text[]").format(column), {"id": subject_id}
    if place.how == "json":
        return sql.SQL("{}::text LIKE %(like)s").format(column), {"like": f'%"{subject_id}"%'}
    return sql.SQL("{} ~ %(word)s").format(column), {"word": standing_alone(subject_id)}


def standing_alone(subject_id: str) -> str:
    """A regular expression for the id as a whole identifier, not part of a longer one.

    Identifiers are ``[A-Za-z0-9._:-]`` (the contract's pattern), so ``C3`` stands alone
    in "client C3" but not in "C31" or "r-C3" (someone else's id, or an event id).
    """
    escaped = "".join(ch if ch.isalnum() else f"\\{ch}" for ch in subject_id)
    return rf"(^|[^A-Za-z0-9_.:-]){escaped}(?=$|[^A-Za-z0-9_.:-])"


def export(conn: psycopg.Connection, subject: Subject, subject_id: str) -> SubjectRecords:
    """Every row that names the person, as JSON-ready dicts, table by table."""
    found = SubjectRecords(subject, subject_id)
    for table in dict.fromkeys(p.table for p in PLACES[subject]):
        places = [p for p in PLACES[subject] if p.table == table]
        where, params = _where(places, subject_id)
        query = sql.SQL("SELECT {}(t) FROM {} t WHERE {}").format(
            sql.Identifier(AS_RECORDED.get(table, "to_jsonb")), sql.Identifier(table), where)
        rows = [row[0] for row in conn.execute(query, params)]
        if rows:
            found.rows[table] = rows
    return found


def _where(places: list[Place], subject_id: str) -> tuple[sql.Composable, dict[str, Any]]:
    parts, params = [], {}
    for place in places:
        condition, values = _match(place, subject_id)
        parts.append(condition)
        params.update(values)
    return sql.SQL(" OR ").join(parts), params


def erase(conn: psycopg.Connection, subject: Subject, subject_id: str) -> SubjectRecords:
    """Replace the person's id with one random pseudonym everywhere in the database.

    One transaction; returns what was found (before), the pseudonym, the rows changed
    per table and column, and what could not be erased.
    """
    found = export(conn, subject, subject_id)
    pseudonym = f"anon-{secrets.token_hex(6)}"
    params = {"id": subject_id, "new": pseudonym, "quoted": f'"{subject_id}"',
              "quoted_new": f'"{pseudonym}"', "word": standing_alone(subject_id),
              "new_word": rf"\1{pseudonym}"}
    with conn.transaction():
        for place in PLACES[subject]:
            if place.table not in found.rows:
                continue
            column = sql.Identifier(place.column)
            condition, _ = _match(place, subject_id)
            update = sql.SQL("UPDATE {} SET {} = {} WHERE {}").format(
                sql.Identifier(place.table), column, _replacement(place), condition)
            count = conn.execute(update, params | _match(place, subject_id)[1]).rowcount
            if count:
                found.changed[f"{place.table}.{place.column}"] = count
    found.pseudonym = pseudonym
    return found


def _replacement(place: Place) -> sql.Composable:
    column = sql.Identifier(place.column)
    if place.how == "text":
        return sql.SQL("%(new)s")
    if place.how == "array":
        return sql.SQL("array_replace({}, %(id)s, %(new)s)").format(column)
    if place.how == "json":
        cast = sql.SQL("::jsonb") if place.column in JSONB_COLUMNS else sql.SQL("")
        return sql.SQL("replace({}::text, %(quoted)s, %(quoted_new)s){}").format(column, cast)
    return sql.SQL("regexp_replace({}, %(word)s, %(new_word)s, 'g')").format(column)
