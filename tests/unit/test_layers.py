"""The arrows run one way: tooling -> services -> shared (the runtime); services stay apart."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imports_under(package: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(ROOT)): imported_modules(path)
        for path in (ROOT / package).rglob("*.py")
    }


def first_parts(modules: set[str], depth: int) -> set[str]:
    return {".".join(module.split(".")[:depth]) for module in modules}


def test_the_runtime_imports_neither_services_nor_tooling():
    wrong = {
        path: sorted(first_parts(modules, 1) & {"services", "tooling"})
        for path, modules in imports_under("shared").items()
    }
    assert {path: found for path, found in wrong.items() if found} == {}


def test_services_do_not_import_the_tooling_or_each_other():
    wrong = {}
    for path, modules in imports_under("services").items():
        own = ".".join(Path(path).with_suffix("").parts[:2])
        if own == "services.catalogue":
            continue  # the one list of services: read by the tools, imported by no service
        found = {m for m in first_parts(modules, 1) if m == "tooling"}
        found |= {m for m in first_parts(modules, 2) if m.startswith("services.") and m != own}
        if found:
            wrong[path] = sorted(found)
    assert wrong == {}


def test_the_catalogue_lists_every_service_folder_and_the_web_front():
    from services.catalogue import FRONT, SERVICE_NAMES

    folders = {p.parent.name for p in (ROOT / "services").glob("*/__main__.py")}
    assert {*SERVICE_NAMES, FRONT.name} == folders
