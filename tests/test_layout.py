"""Dependencies point one way (docs: shared DESIGN "Layout"): ``app`` → ``billing`` →
``tenants``, and the free chat imports no paid module — paid modules listen to its events.
Every import counts, at the top of a file or inside a function."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAID = ("app.crm", "app.calls", "app.robot", "app.analytics")
RULES = [  # (package whose files are checked, what they may not import)
    ("tenants", ("app", "billing")),
    ("billing", ("app",)),
    ("app.chat", PAID),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in folder.rglob("*.py")
        for module in imports_of(path)
        if any(within(module, banned) for banned in forbidden)
    )


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[p for p, _ in RULES])
def test_dependencies_point_one_way(package, forbidden):
    assert violations(package, forbidden) == []


def test_the_rule_sees_relative_and_late_imports(tmp_path, monkeypatch):
    """The walker must catch ``from ..crm import x`` and an import inside a function."""
    chat = tmp_path / "app" / "chat"
    chat.mkdir(parents=True)
    (chat / "late.py").write_text("def f():\n    from ..crm import recognition\n")
    (chat / "plain.py").write_text("import app.robot.answers\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("app.chat", PAID) == [
        "app/chat/late.py imports app.crm",
        "app/chat/late.py imports app.crm.recognition",
        "app/chat/plain.py imports app.robot.answers",
    ]
