"""The layer rule of docs/architecture.md, checked on the source: blueprints → web → domain →
crypto, arrows pointing down only, and the domain usable where Flask is not installed.

Run alone as `make layers` (or `pytest tests/test_layers.py`)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ("reporter", "team", "audit")
WEB_ONLY = (
    *("flask", "flask_wtf", "flask_babel", "flask_limiter", "werkzeug", "jinja2", "wtforms"),
    *("markdown_it", "segno"),
)


def _modules(package: str) -> list[Path]:
    return sorted(path for path in (ROOT / package).rglob("*.py") if "__pycache__" not in path.parts)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module the file imports, relative imports resolved to absolute names."""
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "crypto":
        return "crypto"
    if parts[0] != "app" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in ("web", "domain", *BLUEPRINTS) else None


ALLOWED = {
    "crypto": {"crypto"},
    "domain": {"domain", "crypto"},
    "web": {"web", "domain", "crypto"},
    **{blueprint: {blueprint, "web", "domain", "crypto"} for blueprint in BLUEPRINTS},
}


@pytest.mark.parametrize("path", _modules("app") + _modules("crypto"), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_only(path):
    layer = _layer(_name(path))
    if layer is None:  # app/__init__.py wires everything; app/cli.py uses the domain
        return
    for module in _imports(path):
        target = _layer(module)
        assert target is None or target in ALLOWED[layer], f"{_name(path)} ({layer}) imports {module} ({target})"
        top = module.split(".")[0]
        if layer in ("domain", "crypto"):
            assert top not in WEB_ONLY, f"{_name(path)} imports {module}: the {layer} layer is Flask-free"


def test_the_cli_and_wsgi_need_no_web_layer_but_the_factory():
    for path in (ROOT / "app" / "cli.py",):
        imported = {module.split(".")[0] for module in _imports(path)}
        assert "flask" not in imported
        assert not any(_layer(module) == "web" for module in _imports(path))


def test_nothing_imports_the_app_package_back():
    """Modules inside app/ import their neighbours, never `app` itself (that was an import cycle)."""
    for path in _modules("app"):
        if path == ROOT / "app" / "__init__.py":
            continue
        assert "app" not in _imports(path), path


def _module_level_imports(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports when it is loaded (imports inside functions run later
    and cannot make a cycle at import time)."""
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return found & known


def test_no_import_cycles():
    modules = {_name(path): path for path in _modules("app") + _modules("crypto")}
    graph = {name: _module_level_imports(path, set(modules)) for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        assert name not in trail, "import cycle: " + " -> ".join([*trail[trail.index(name) :], name])
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


BLOCK_WEB = """
import importlib, pkgutil, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"{{name}} is not installed here")
sys.meta_path.insert(0, Refuse())
import app.domain
for info in pkgutil.walk_packages(app.domain.__path__, "app.domain."):
    importlib.import_module(info.name)
print("ok", sorted(name for name in sys.modules if name.split(".")[0] in {blocked!r}))
"""


def test_the_domain_imports_where_flask_is_not_installed():
    """As in a virtualenv without Flask: every domain module imports, none pulls in the web."""
    code = BLOCK_WEB.format(blocked=set(WEB_ONLY))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok []"
