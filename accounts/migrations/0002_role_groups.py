"""Role groups for the schema being migrated: school roles in each school (and the
template, from which clones copy them), bureau and platform roles in public."""

from django.db import migrations

SCHOOL = ["school_admin", "registrar", "school_approver", "principal", "class_teacher",
          "subject_teacher", "all_teachers"]
PUBLIC = ["bureau_registrar", "bureau_approver", "platform_operator"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    names = PUBLIC if schema_editor.connection.schema_name == "public" else SCHOOL
    for name in names:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
