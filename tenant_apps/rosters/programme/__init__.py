"""营养改善计划受益学生 (domain §3.12, issue 18 point 3): the school ticks its beneficiary
pupils, reads its monthly roster and sees the checks' flags. The school's own record
(rosters.Beneficiary) and the public claim (nutrition.BeneficiaryClaim) are written
together; the figures and flags come from shared_apps.nutrition."""
