"""The audit log is append-only for every database user of the application: a trigger
refuses UPDATE and DELETE unless the retention purge has set `xueji.audit_purge` for its
own transaction (accounts.audit.audit_purge).

One statement per list item: Django's script splitter leaves the function and the
trigger in one string, which Citus forwards to the worker as one prepared statement and
the worker refuses ("cannot insert multiple commands into a prepared statement")."""

from django.db import migrations

CREATE = [
    """
CREATE OR REPLACE FUNCTION accounts_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('xueji.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '审计日志只能追加，不能修改或删除';
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS accounts_auditentry_append_only ON accounts_auditentry",
    """
CREATE TRIGGER accounts_auditentry_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditentry
    FOR EACH ROW EXECUTE FUNCTION accounts_auditentry_append_only()
""",
]
DROP = [
    "DROP TRIGGER IF EXISTS accounts_auditentry_append_only ON accounts_auditentry",
    "DROP FUNCTION IF EXISTS accounts_auditentry_append_only()",
]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_security_and_audit")]
    operations = [migrations.RunSQL(CREATE, DROP)]
