"""Mypy plugin: `django.db.connection` is django-tenants' wrapper here.

django-stubs types `connection` as Django's BaseDatabaseWrapper, which has no schema. Our
ENGINE is tenants.backend (config.settings), a subclass of django-tenants' wrapper that adds
the schema switch; without this every `connection.schema_name` would need an ignore. The plugin
adds the members the project uses to BaseDatabaseWrapper while mypy reads django-stubs, so
they are checked like any other attribute (a misspelt one still fails).
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import ARG_OPT, ARG_POS, MDEF, Argument, SymbolTableNode, TypeInfo, Var
from mypy.plugin import ClassDefContext, Plugin
from mypy.plugins.common import add_method_to_class
from mypy.types import AnyType, NoneType, Type, TypeOfAny

WRAPPER = "django.db.backends.base.base.BaseDatabaseWrapper"


def _add_var(info: TypeInfo, name: str, typ: Type) -> None:
    var = Var(name, typ)
    var.info = info
    var._fullname = f"{info.fullname}.{name}"
    info.names[name] = SymbolTableNode(MDEF, var, plugin_generated=True)


def _tenant_wrapper(ctx: ClassDefContext) -> None:
    info = ctx.cls.info
    if "schema_name" in info.names:
        return
    str_type = ctx.api.named_type("builtins.str")
    bool_type = ctx.api.named_type("builtins.bool")
    any_type = AnyType(TypeOfAny.explicit)
    _add_var(info, "schema_name", str_type)
    # The School row the connection is switched to (FakeTenant for set_schema).
    _add_var(info, "tenant", any_type)
    # psycopg's DatabaseWrapper: the server version as an int (180001 for 18.1).
    _add_var(info, "pg_version", ctx.api.named_type("builtins.int"))
    add_method_to_class(ctx.api, ctx.cls, "set_schema_to_public", args=[], return_type=NoneType())
    add_method_to_class(
        ctx.api,
        ctx.cls,
        "set_tenant",
        args=[
            Argument(Var("tenant", any_type), any_type, None, ARG_POS),
            Argument(Var("include_public", bool_type), bool_type, None, ARG_OPT),
        ],
        return_type=NoneType(),
    )
    add_method_to_class(
        ctx.api,
        ctx.cls,
        "set_schema",
        args=[
            Argument(Var("schema_name", str_type), str_type, None, ARG_POS),
            Argument(Var("include_public", bool_type), bool_type, None, ARG_OPT),
            Argument(Var("tenant_type", any_type), any_type, None, ARG_OPT),
        ],
        return_type=NoneType(),
    )


class TenantsPlugin(Plugin):
    def get_customize_class_mro_hook(
        self, fullname: str
    ) -> Callable[[ClassDefContext], None] | None:
        return _tenant_wrapper if fullname == WRAPPER else None


def plugin(version: str) -> type[Plugin]:
    return TenantsPlugin
