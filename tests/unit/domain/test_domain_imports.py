"""ecm/domain imports only the standard library (and itself)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[3] / "ecm" / "domain"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("ecm.") and not node.module.startswith("ecm.domain"):
                roots.add(node.module)
    return roots


def test_domain_imports_only_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"__future__", "ecm"}
    for path in sorted(DOMAIN.glob("*.py")):
        roots = imported_roots(path)
        assert roots <= allowed, f"{path.name} imports {sorted(roots - allowed)}"
        assert not {r for r in roots if r.startswith("ecm.")}, path.name


def test_the_service_layer_imports_no_stream_processor_broker_client_or_database():
    visits = DOMAIN.parent / "visits"
    for path in sorted(visits.glob("*.py")):
        roots = {r.split(".")[0] for r in imported_roots(path)}
        assert not roots & {"faust", "aiokafka", "kafka", "psycopg", "streams"}, path.name
