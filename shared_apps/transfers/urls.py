"""Routes of business cases: `school_patterns` on school hosts, `public_patterns` on the
bureau host; both under the namespace "transfers"."""

from django.urls import path

from shared_apps.transfers import apis, bureau_views, views

app_name = "transfers"

school_patterns = [
    path("transfers/", views.case_list_view, name="case_list"),
    path("transfers/new/", views.transfer_start_view, name="transfer_start"),
    path("transfers/in/", views.external_in_view, name="external_in"),
    path("transfers/out/<uuid:student_id>/", views.external_out_view, name="external_out"),
    path("transfers/cases/<uuid:case_id>/", views.case_detail_view, name="case_detail"),
    path("transfers/cases/<uuid:case_id>/decide/", views.case_decide_view, name="case_decide"),
    path(
        "transfers/cases/<uuid:case_id>/withdraw/", views.case_withdraw_view, name="case_withdraw"
    ),
    path("transfers/cases/<uuid:case_id>/letter/", views.case_letter_view, name="case_letter"),
    path(
        "transfers/cases/<uuid:case_id>/certificate/",
        views.case_certificate_view,
        name="case_certificate",
    ),
    path("api/v1/cases/", apis.SchoolCaseListApi.as_view(), name="api-case-list"),
    path(
        "api/v1/cases/<uuid:case_id>/", apis.SchoolCaseDetailApi.as_view(), name="api-case-detail"
    ),
    path(
        "api/v1/cases/<uuid:case_id>/decision/",
        apis.SchoolCaseDecisionApi.as_view(),
        name="api-case-decision",
    ),
    path(
        "api/v1/cases/<uuid:case_id>/withdraw/",
        apis.SchoolCaseWithdrawApi.as_view(),
        name="api-case-withdraw",
    ),
    path("api/v1/transfers/lookup/", apis.TransferLookupApi.as_view(), name="api-transfer-lookup"),
    path("api/v1/transfers/", apis.TransferStartApi.as_view(), name="api-transfer-start"),
]

public_patterns = [
    path("bureau/cases/", bureau_views.bureau_case_list_view, name="bureau_cases"),
    path("bureau/cases/batch/", bureau_views.bureau_batch_view, name="bureau_batch"),
    path(
        "bureau/cases/<uuid:case_id>/",
        bureau_views.bureau_case_detail_view,
        name="bureau_case_detail",
    ),
    path(
        "bureau/cases/<uuid:case_id>/decide/",
        bureau_views.bureau_case_decide_view,
        name="bureau_case_decide",
    ),
    path(
        "bureau/cases/<uuid:case_id>/letter/",
        bureau_views.bureau_case_letter_view,
        name="bureau_case_letter",
    ),
    path("api/v1/bureau/cases/", apis.BureauCaseListApi.as_view(), name="api-bureau-case-list"),
    path(
        "api/v1/bureau/cases/decision/",
        apis.BureauCaseBatchDecisionApi.as_view(),
        name="api-bureau-case-batch",
    ),
    path(
        "api/v1/bureau/cases/<uuid:case_id>/",
        apis.BureauCaseDetailApi.as_view(),
        name="api-bureau-case-detail",
    ),
    path(
        "api/v1/bureau/cases/<uuid:case_id>/decision/",
        apis.BureauCaseDecisionApi.as_view(),
        name="api-bureau-case-decision",
    ),
]
