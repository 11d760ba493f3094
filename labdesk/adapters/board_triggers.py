"""Triggers that mark board entries stale whenever the data behind them changes.

Every write that can change what the clinician board shows for an ordered test appends the
test's id to ``board_dirty``, in the same transaction as the write: no service, import or
hand-written SQL can change a test without the board noticing. The board service takes the
ids (``DELETE ... RETURNING``) and re-evaluates those tests before it reads.

What marks which tests:

============================  =====================================================
``ordered_tests`` ins./upd.   the test itself (status, specimen, ...)
``orders`` update             the order's tests (priority, clinician, number)
``patients`` name/MRN update  the patient's tests
``specimens`` update          tests on the specimen (status, accession, collection)
``results`` ins./upd.         the result's test (old and new, for manual matching)
``acknowledgements`` insert   the test
``escalations`` insert        the test
``custody_events`` insert     tests on the specimen (pickup time, lost)
``manifest_items`` insert     tests on the specimen (its route's transit time)
``manifests`` route update    tests on the manifest's specimens
``users`` name update         tests escalated to the user
``unmatched_results`` ins./upd. the test a result discrepancy names (0009)
============================  =====================================================

Test catalog, courier routes and the overdue policy are covered by the board's
fingerprint instead (a change there rebuilds every entry).
"""

from __future__ import annotations

_TESTS_OF_SPECIMEN = "SELECT id FROM ordered_tests WHERE specimen_id = {ref}"
_TESTS_OF_ORDER = "SELECT id FROM ordered_tests WHERE order_id = {ref}"
_TESTS_OF_PATIENT = (
    "SELECT t.id FROM ordered_tests t JOIN orders o ON o.id = t.order_id WHERE o.patient_id = {ref}"
)
_TESTS_OF_MANIFEST = (
    "SELECT t.id FROM ordered_tests t JOIN manifest_items i ON i.specimen_id = t.specimen_id "
    "WHERE i.manifest_id = {ref}"
)
_TESTS_ESCALATED_TO = "SELECT ordered_test_id FROM escalations WHERE to_user_id = {ref}"

# (name, event, table, what to insert: a SELECT of ids, or an expression of one id)
_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("ot_ins", "INSERT", "ordered_tests", "VALUES (NEW.id)"),
    ("ot_upd", "UPDATE", "ordered_tests", "VALUES (NEW.id)"),
    ("ord_upd", "UPDATE", "orders", _TESTS_OF_ORDER.format(ref="NEW.id")),
    (
        "pat_upd",
        "UPDATE OF family_name, given_name, mrn",
        "patients",
        _TESTS_OF_PATIENT.format(ref="NEW.id"),
    ),
    ("spec_upd", "UPDATE", "specimens", _TESTS_OF_SPECIMEN.format(ref="NEW.id")),
    ("res_ins", "INSERT", "results", "VALUES (NEW.ordered_test_id)"),
    ("res_upd_new", "UPDATE", "results", "VALUES (NEW.ordered_test_id)"),
    ("res_upd_old", "UPDATE", "results", "VALUES (OLD.ordered_test_id)"),
    ("ack_ins", "INSERT", "acknowledgements", "VALUES (NEW.ordered_test_id)"),
    ("esc_ins", "INSERT", "escalations", "VALUES (NEW.ordered_test_id)"),
    ("cus_ins", "INSERT", "custody_events", _TESTS_OF_SPECIMEN.format(ref="NEW.specimen_id")),
    ("mi_ins", "INSERT", "manifest_items", _TESTS_OF_SPECIMEN.format(ref="NEW.specimen_id")),
    ("man_upd", "UPDATE OF route_id", "manifests", _TESTS_OF_MANIFEST.format(ref="NEW.id")),
    (
        "usr_upd",
        "UPDATE OF display_name",
        "users",
        _TESTS_ESCALATED_TO.format(ref="NEW.id"),
    ),
    ("um_ins", "INSERT", "unmatched_results", "VALUES (NEW.discrepancy_test_id)"),
    ("um_upd", "UPDATE", "unmatched_results", "VALUES (NEW.discrepancy_test_id)"),
)


def _guard(source: str) -> str:
    """A WHEN condition skipping NULL single ids (results not matched to a test)."""
    if source.startswith("VALUES ("):
        return source[len("VALUES (") : -1] + " IS NOT NULL"
    return ""


def sqlite_statements() -> list[str]:
    """CREATE TRIGGER statements for SQLite."""
    statements = []
    for name, event, table, source in _RULES:
        guard = _guard(source)
        when = f" WHEN {guard}" if guard else ""
        statements.append(
            f"CREATE TRIGGER board_dirty_{name} AFTER {event} ON {table} FOR EACH ROW{when} "
            f"BEGIN INSERT INTO board_dirty (ordered_test_id) {source}; END"
        )
    return statements


def postgresql_statements() -> list[str]:
    """CREATE FUNCTION and CREATE TRIGGER statements for PostgreSQL."""
    statements = []
    for name, event, table, source in _RULES:
        guard = _guard(source)
        body = f"INSERT INTO board_dirty (ordered_test_id) {source};"
        if guard:
            body = f"IF {guard} THEN {body} END IF;"
        statements.append(
            f"CREATE FUNCTION board_dirty_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body} RETURN NULL; END $$"
        )
        statements.append(
            f"CREATE TRIGGER board_dirty_{name} AFTER {event} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION board_dirty_{name}()"
        )
    return statements


def drop_statements(dialect: str) -> list[str]:
    """Statements removing every board trigger (and its PostgreSQL function)."""
    statements = []
    for name, _event, table, _source in _RULES:
        if dialect == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS board_dirty_{name} ON {table}")
            statements.append(f"DROP FUNCTION IF EXISTS board_dirty_{name}()")
        else:
            statements.append(f"DROP TRIGGER IF EXISTS board_dirty_{name}")
    return statements


def create_statements(dialect: str) -> list[str]:
    """The CREATE statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
    return postgresql_statements() if dialect == "postgresql" else sqlite_statements()


TRIGGER_NAMES = tuple(f"board_dirty_{rule[0]}" for rule in _RULES)
