"""Only services/llm/ may construct provider chat models: everything else gets guarded ones."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROVIDER_CLASSES = {
    "ChatGoogleGenerativeAI",
    "ChatGemini",
    "ChatOllama",
    "GoogleGenerativeAI",
    "OllamaLLM",
}
PROVIDER_PACKAGES = ("langchain_google_genai", "langchain_ollama", "google.genai", "ollama")
EXCLUDED = {"tests", ".venv", "var", ".git", "node_modules"}


def _sources() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not EXCLUDED & set(path.relative_to(ROOT).parts)
    ]


def _is_provider(module: str) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in PROVIDER_PACKAGES)


def _provider_references(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Name) and node.id in PROVIDER_CLASSES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in PROVIDER_CLASSES:
            found.append(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module and _is_provider(node.module):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_provider(a.name)]
    return found


def test_provider_models__are_referenced_only_in_services_llm() -> None:
    offenders = {
        str(path.relative_to(ROOT)): refs
        for path in _sources()
        if (refs := _provider_references(path))
        and path.relative_to(ROOT).parts[:2] != ("services", "llm")
    }
    assert offenders == {}


def _builds_chat_models(refs: list[str]) -> bool:
    """A chat-model class or LangChain's provider package: what builds a chat model (the
    SDK itself, `google.genai`, only sends what a chat model asks)."""
    return any(ref in PROVIDER_CLASSES or ref.startswith("langchain_") for ref in refs)


def test_provider_models__are_built_in_one_module() -> None:
    builders = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if path.relative_to(ROOT).parts[:2] == ("services", "llm")
        and _builds_chat_models(_provider_references(path))
    ]
    assert builders == ["services/llm/providers.py"]
