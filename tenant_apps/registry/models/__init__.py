"""Every table of the registry app (label ``registry``, each school's own schema).

Django imports ``<app>.models`` to register an app's models, and the rest of the project
imports them from here, so this package re-exports every model and the constants that go
with them; the modules below are grouped by concern and may import each other, never this
package (which would be circular).
"""

from tenant_apps.registry.models.changes import (
    ChangeEvidence,
    StatusChange,
)
from tenant_apps.registry.models.classes import (
    CLASS_TYPE_DIGIT,
    COMPOSITE_TYPES,
    DEFAULT_CLASS_TYPE,
    DIGIT_STAGE,
    STAGE_DIGIT,
    STAGE_NAME,
    ClassRight,
    ClassType,
    FieldEditPolicy,
    Grade,
    SchoolClass,
)
from tenant_apps.registry.models.imports import (
    ImportBatch,
)
from tenant_apps.registry.models.keydata import KeyDataChange, KeyDataEvidence
from tenant_apps.registry.models.lifecycle import PaperRecord, Rollover, RolloverItem
from tenant_apps.registry.models.merge import StudentMerge
from tenant_apps.registry.models.photo_links import FamilyPhotoLink
from tenant_apps.registry.models.photos import StudentPhoto
from tenant_apps.registry.models.problems import (
    Evidence,
    ProblemRecord,
)
from tenant_apps.registry.models.roster import RosterCheck
from tenant_apps.registry.models.students import (
    OWN_COLUMNS,
    FamilyMember,
    Student,
    StudentEvent,
)
from tenant_apps.registry.models.teachers import (
    SERVING_STATUSES,
    Employment,
    Teacher,
    TeacherStatus,
    TeacherTitle,
)

__all__ = [
    "KeyDataChange",
    "KeyDataEvidence",
    "CLASS_TYPE_DIGIT",
    "COMPOSITE_TYPES",
    "DEFAULT_CLASS_TYPE",
    "DIGIT_STAGE",
    "OWN_COLUMNS",
    "SERVING_STATUSES",
    "STAGE_DIGIT",
    "STAGE_NAME",
    "ChangeEvidence",
    "ClassRight",
    "ClassType",
    "Employment",
    "Evidence",
    "FamilyMember",
    "FamilyPhotoLink",
    "FieldEditPolicy",
    "Grade",
    "ImportBatch",
    "PaperRecord",
    "ProblemRecord",
    "Rollover",
    "RolloverItem",
    "RosterCheck",
    "SchoolClass",
    "StatusChange",
    "Student",
    "StudentEvent",
    "StudentMerge",
    "StudentPhoto",
    "Teacher",
    "TeacherStatus",
    "TeacherTitle",
]
