"""
The op log's references to its board and author, checked once per statement, not per row.

A foreign key checks every inserted row with its own lookup; on PostgreSQL the board key alone
was half of a commit's database time (python -m bench.oplog_micro: 20.5 -> 10.9 wall µs per op
at 2,000-op ticks) and the database's share of the box in the many-boards scenario. The
guarantee stays, enforced by triggers instead of constraints:

* inserting or updating ops: one statement-level trigger locks the referenced boards and users
  (FOR KEY SHARE, as a foreign key check does) and refuses the statement with
  foreign_key_violation (SQLSTATE 23503, constraint `op_board_exists` / `op_author_exists`)
  if one is missing;
* deleting boards or users: a statement-level trigger does the model's on_delete in the
  database (CASCADE: the board's ops go; SET_NULL: the user's ops keep no author), after
  Django's collector has normally done it already; changing a referenced id is refused.

The same races are closed as with a foreign key: an insert holds its boards and users FOR KEY
SHARE until it commits, so a concurrent delete waits and then removes or detaches the new ops,
and an insert that waited for a delete finds the row gone and is refused.

SQLite (the laptop default) gets row triggers doing the same. SQLite
migrations that remake board_op (Django copies it into a new table) drop its triggers: such a
migration must recreate them (install() below).
"""

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion

POSTGRES_INSTALL = """
CREATE FUNCTION board_op_refs_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wanted bigint;
    locked bigint;
BEGIN
    SELECT count(DISTINCT board_id) INTO wanted FROM new_ops;
    PERFORM 1 FROM board_board b WHERE b.id IN (SELECT board_id FROM new_ops) FOR KEY SHARE OF b;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < wanted THEN
        RAISE foreign_key_violation USING CONSTRAINT = 'op_board_exists',
            MESSAGE = 'board_op.board_id refers to a board that does not exist';
    END IF;
    SELECT count(DISTINCT author_id) INTO wanted FROM new_ops;
    PERFORM 1 FROM {users} u WHERE u.id IN (SELECT author_id FROM new_ops) FOR KEY SHARE OF u;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < wanted THEN
        RAISE foreign_key_violation USING CONSTRAINT = 'op_author_exists',
            MESSAGE = 'board_op.author_id refers to a user that does not exist';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER board_op_refs_exist_ins AFTER INSERT ON board_op
    REFERENCING NEW TABLE AS new_ops
    FOR EACH STATEMENT EXECUTE FUNCTION board_op_refs_exist();
CREATE TRIGGER board_op_refs_exist_upd AFTER UPDATE ON board_op
    REFERENCING NEW TABLE AS new_ops
    FOR EACH STATEMENT EXECUTE FUNCTION board_op_refs_exist();

-- The model's on_delete, done by the database (Django's collector has usually done it already).
CREATE FUNCTION board_op_board_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM board_op WHERE board_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE FUNCTION board_op_author_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE board_op SET author_id = NULL WHERE author_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER board_op_board_gone AFTER DELETE ON board_board
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION board_op_board_gone();
CREATE TRIGGER board_op_author_gone AFTER DELETE ON {users}
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION board_op_author_gone();

-- Ids never change (Django does not update primary keys); refuse it while ops refer to one.
CREATE FUNCTION board_op_id_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE restrict_violation USING CONSTRAINT = 'op_reference_kept',
        MESSAGE = format('%s.id is referred to by board_op and cannot change', TG_TABLE_NAME);
END $$;
CREATE TRIGGER board_op_board_id_kept AFTER UPDATE OF id ON board_board
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION board_op_id_kept();
CREATE TRIGGER board_op_author_id_kept AFTER UPDATE OF id ON {users}
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION board_op_id_kept();
"""

POSTGRES_UNINSTALL = """
DROP TRIGGER IF EXISTS board_op_author_id_kept ON {users};
DROP TRIGGER IF EXISTS board_op_board_id_kept ON board_board;
DROP FUNCTION IF EXISTS board_op_id_kept();
DROP TRIGGER IF EXISTS board_op_author_gone ON {users};
DROP TRIGGER IF EXISTS board_op_board_gone ON board_board;
DROP FUNCTION IF EXISTS board_op_author_gone();
DROP FUNCTION IF EXISTS board_op_board_gone();
DROP TRIGGER IF EXISTS board_op_refs_exist_upd ON board_op;
DROP TRIGGER IF EXISTS board_op_refs_exist_ins ON board_op;
DROP FUNCTION IF EXISTS board_op_refs_exist();
"""

# Row triggers: SQLite has no statement-level ones, and its per-row lookups are cheap.
_SQLITE_REFS_MISSING = """    WHEN NOT EXISTS (SELECT 1 FROM board_board WHERE id = NEW.board_id)
      OR (NEW.author_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {users} WHERE id = NEW.author_id))
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: board_op'); END"""
_SQLITE_ID_KEPT = """CREATE TRIGGER {trigger} AFTER UPDATE OF id ON {table}
    WHEN OLD.id IS NOT NEW.id
    BEGIN SELECT RAISE(ABORT, '{name}.id is referred to by board_op and cannot change'); END"""

SQLITE_INSTALL = [
    """CREATE TRIGGER board_op_refs_exist_ins BEFORE INSERT ON board_op
""" + _SQLITE_REFS_MISSING,
    """CREATE TRIGGER board_op_refs_exist_upd BEFORE UPDATE OF board_id, author_id ON board_op
""" + _SQLITE_REFS_MISSING,
    """CREATE TRIGGER board_op_board_gone AFTER DELETE ON board_board
    BEGIN DELETE FROM board_op WHERE board_id = OLD.id; END""",
    """CREATE TRIGGER board_op_author_gone AFTER DELETE ON {users}
    BEGIN UPDATE board_op SET author_id = NULL WHERE author_id = OLD.id; END""",
    _SQLITE_ID_KEPT.format(trigger="board_op_board_id_kept", table="board_board", name="board_board"),
    _SQLITE_ID_KEPT.format(trigger="board_op_author_id_kept", table="{users}", name="{users_name}"),
]

SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "board_op_refs_exist_ins",
        "board_op_refs_exist_upd",
        "board_op_board_gone",
        "board_op_author_gone",
        "board_op_board_id_kept",
        "board_op_author_id_kept",
    )
]


def _statements(apps, schema_editor, postgres: str, sqlite: list[str]) -> list[str]:
    users = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
    names = {"users": schema_editor.quote_name(users), "users_name": users}
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        return [postgres.format(**names)]
    if vendor == "sqlite":
        return [s.format(**names) for s in sqlite]
    raise NotImplementedError(f"board_op's reference triggers are not written for {vendor}")


def install(apps, schema_editor) -> None:
    for sql in _statements(apps, schema_editor, POSTGRES_INSTALL, SQLITE_INSTALL):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor) -> None:
    for sql in _statements(apps, schema_editor, POSTGRES_UNINSTALL, SQLITE_UNINSTALL):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("board", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="op",
            name="board",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ops",
                to="board.board",
            ),
        ),
        migrations.AlterField(
            model_name="op",
            name="author",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
