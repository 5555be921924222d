"""What accounts.rights learns from grades (registered in GradesConfig.ready()): a
(class, course, term) cell of the current term whose marks two users can enter is a
cross-authorisation (交叉授权) too, listed after the classes."""

from __future__ import annotations

from accounts.rights import CrossAuthorisation, register_cross_authorisation_source


def course_cross_authorisations() -> list[CrossAuthorisation]:
    from tenant_apps.grades.selectors import course_cross_authorisations as cells

    return [
        CrossAuthorisation(class_id=c.class_id, class_name=c.label, writers=c.writers)
        for c in cells()
    ]


def register_rights_hooks() -> None:
    register_cross_authorisation_source(course_cross_authorisations)
