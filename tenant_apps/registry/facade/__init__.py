"""The registry's facade: everything another app does inside a school goes through it.

The only door from the shared apps (transfers, bureau, backups) into a school's
registry. Every function takes the school's schema name (or a plan naming the
schemas), works inside that school's `school_context` and returns frozen dataclasses
(`contracts`) or plain values, never a model instance: an instance carried across a
schema switch reads or writes the wrong school (django-tenants #731, #164).

* `contracts` — the frozen dataclasses that cross;
* `reads` — look-ups, peeks, pages' choices, the renumbering's grade, the index resync;
* `writes` — marks, registrations, the county's decisions, 学籍辅号;
* `review` — the record under the county's review, in full (real values, once opened);
* `merge` — 合并重复学籍 for the county (pair, merge, list, undo);
* `move` — the record's move from one school to another (export, import, mark left);
* `live` — what the bureau's live counts should hold for a school (the nightly check);
* `quality` — the school's data-quality figures and their lists (bureau.quality);
* `hooks` — what the registry asks of the layers above (辅号 lock, 佐证 review).
* `hooks` — what the registry asks of the layers above (辅号 lock, 佐证 review, admissions);
* `lines` — the counting definitions (在读, lines, flags, grade names) as plain data;
* `class_counts` — one grade's class counts inside one school (the bureau's drill-down);
* `files` — the school's stored objects (photos) for its backup and restore;
* `national` — the national check's results applied in a school (bureau.verification).
"""

from tenant_apps.registry.facade.class_counts import ClassCount, grade_class_counts
from tenant_apps.registry.facade.contracts import (
    BlockerView,
    ClassOption,
    EvidenceView,
    GradeStudent,
    MaskedStudent,
    Peek,
    Person,
    StudentCard,
)
from tenant_apps.registry.facade.files import (
    files_delete,
    files_guard,
    school_files_archive,
    school_files_restore,
)
from tenant_apps.registry.facade.hooks import (
    admission_refusal,
    aux_grade_locked,
    evidence_submitted,
    register_admission_check,
    register_aux_lock_check,
    register_evidence_submitted,
)
from tenant_apps.registry.facade.lines import (
    Definitions,
    LineDef,
    ethnicity_labels,
    grade_label,
    line_of,
    school_year,
    stage_labels,
)
from tenant_apps.registry.facade.lines import definitions as count_definitions
from tenant_apps.registry.facade.live import LiveCell, LiveFigures, live_cells
from tenant_apps.registry.facade.merge import (
    MergeDoneView,
    MergePair,
    MergeRow,
    MergeSide,
    MergeView,
    merge_across,
    merge_find,
    merge_in_school,
    merge_pair,
    merge_undo,
    merges_list,
)
from tenant_apps.registry.facade.move import (
    InjectedFailure,
    MovePlan,
    MoveResult,
    StudentExport,
    carried_models,
    checkpoint,
    natural_key_field,
    plan_for,
    related_models,
    stays,
    student_export,
    student_import,
    student_mark_left,
    student_move,
)
from tenant_apps.registry.facade.national import (
    FAILURE_KINDS,
    KIND_LABELS,
    CheckOutcome,
    CheckRow,
    DeletedRecord,
    deleted_records,
    national_check_apply,
    national_check_plan,
)
from tenant_apps.registry.facade.quality import (
    AGE_BANDS,
    FIGURE_BY_KEY,
    FIGURES,
    Figure,
    FigureValue,
    QualityItem,
    QualityPage,
    quality_items,
    quality_stale,
    register_quality_stale,
    school_quality,
)
from tenant_apps.registry.facade.reads import (
    MSG_LOOKUP_EMPTY,
    MSG_LOOKUP_NAME,
    MSG_LOOKUP_NATIONAL,
    class_option,
    class_options,
    draft_cards,
    evidence_view,
    grade_students,
    index_records,
    lookup_keys_check,
    masked_students,
    national_peeks,
    peek_records,
    person_of,
    same_name,
    student_blockers_locked,
    student_blockers_of,
    student_card,
)
from tenant_apps.registry.facade.review import (
    EvidenceRecord,
    ReviewRecord,
    ReviewSection,
    evidence_record,
    review_record,
)
from tenant_apps.registry.facade.writes import (
    aux_numbers_write,
    evidence_check,
    evidence_decide,
    evidence_save,
    external_in_claim,
    register_on_approval,
    student_leave_external,
    students_county_decide,
)

__all__ = [
    "MergeDoneView",
    "MergePair",
    "MergeRow",
    "MergeSide",
    "MergeView",
    "merge_across",
    "merge_find",
    "merge_in_school",
    "merge_pair",
    "merge_undo",
    "merges_list",
    "FAILURE_KINDS",
    "KIND_LABELS",
    "CheckOutcome",
    "CheckRow",
    "DeletedRecord",
    "deleted_records",
    "national_check_apply",
    "national_check_plan",
    "files_delete",
    "files_guard",
    "school_files_archive",
    "school_files_restore",
    "AGE_BANDS",
    "FIGURES",
    "FIGURE_BY_KEY",
    "Figure",
    "FigureValue",
    "QualityItem",
    "QualityPage",
    "quality_items",
    "quality_stale",
    "register_quality_stale",
    "school_quality",
    "MSG_LOOKUP_EMPTY",
    "MSG_LOOKUP_NAME",
    "MSG_LOOKUP_NATIONAL",
    "BlockerView",
    "ClassOption",
    "EvidenceRecord",
    "EvidenceView",
    "GradeStudent",
    "InjectedFailure",
    "LiveCell",
    "LiveFigures",
    "MaskedStudent",
    "MovePlan",
    "MoveResult",
    "Peek",
    "Person",
    "ReviewRecord",
    "ReviewSection",
    "StudentCard",
    "StudentExport",
    "aux_grade_locked",
    "aux_numbers_write",
    "carried_models",
    "checkpoint",
    "class_option",
    "class_options",
    "draft_cards",
    "evidence_check",
    "evidence_decide",
    "evidence_record",
    "evidence_save",
    "evidence_submitted",
    "evidence_view",
    "external_in_claim",
    "grade_students",
    "index_records",
    "live_cells",
    "lookup_keys_check",
    "masked_students",
    "national_peeks",
    "natural_key_field",
    "peek_records",
    "person_of",
    "plan_for",
    "admission_refusal",
    "register_admission_check",
    "register_aux_lock_check",
    "register_evidence_submitted",
    "register_on_approval",
    "related_models",
    "review_record",
    "same_name",
    "stays",
    "student_blockers_locked",
    "student_blockers_of",
    "student_card",
    "student_export",
    "student_import",
    "student_leave_external",
    "student_mark_left",
    "student_move",
    "students_county_decide",
    "ClassCount",
    "grade_class_counts",
    "Definitions",
    "LineDef",
    "ethnicity_labels",
    "grade_label",
    "count_definitions",
    "line_of",
    "school_year",
    "stage_labels",
]
