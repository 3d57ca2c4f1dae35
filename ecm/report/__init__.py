"""The contract-monitoring pack (``ecm report``): built from the KPI layer, in four formats."""

from ecm.report.formats import FORMATS, render
from ecm.report.pack import MonitoringPack, build_pack

__all__ = ["FORMATS", "MonitoringPack", "build_pack", "render"]
