"""Recalculation: judge past visits again under the rules and rates as they now stand.

A contract rule or rate card may be published with an effective date in the past. ecm
never rewrites a past result silently: ``ecm recalc`` judges the visits of a period
again (``rejudge``), compares them with the stored outcomes (``diff``) and records the
difference per visit, per provider and in money (``store``, ``report``); only ``ecm
recalc apply`` then replaces the stored outcomes, and with them the KPIs, keeping the
record. Rules: docs/rules.md, "Recalculation".
"""
