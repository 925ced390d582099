"""The package's layers, imports pointing down only (every import, also those inside functions):

    io, layerspec, opkinds, artifacts, _trace, _kernel_exit   (the bottom: files, layer specs, formats)
    ops | hw | data                                (side by side: none imports another)
    space
    nas
    dance
    report
    stages                                         (the top: imported by nothing but itself)

and inside ``stages`` one module per DVC stage that no other module imports; no import circles
between the modules of a package; the bottom and ``hw`` import no PyTorch at all."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "nasa_lib"
RANK = {"io": 0, "layerspec": 0, "opkinds": 0, "artifacts": 0, "_trace": 0, "_kernel_exit": 0, "__init__": 0,
        "ops": 1, "hw": 1, "data": 1, "space": 2, "nas": 3, "dance": 4, "report": 5, "stages": 6}
STAGE_MODULES = ("data", "pretrain", "search", "retrain", "hw_mapping", "dance_dataset", "dance_evaluator",
                 "dance_coexplore", "report")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every nasa_lib module ``path`` imports (absolute names; ``from . import x`` gives ``pkg.x``)."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("nasa_lib")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("nasa_lib"):
                continue
            found.add(target)
            for alias in node.names:          # "from . import figures": the module nasa_lib.x.figures
                candidate = f"{target}.{alias.name}"
                if (ROOT.parent / Path(*candidate.split("."))).with_suffix(".py").exists():
                    found.add(candidate)
    return found


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_top_level_module_has_a_layer():
    assert {_top(m) for m in MODULES} <= set(RANK)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    mine = _top(module)
    for target in _imports(MODULES[module]):
        theirs = _top(target)
        if theirs == mine or RANK[theirs] == RANK[mine] == 0:     # the bottom's files may use each other
            continue
        assert RANK[theirs] < RANK[mine], f"{module} imports {target}: {theirs} is not below {mine}"


def test_stage_modules_are_imported_by_nothing():
    for module, path in MODULES.items():
        for target in _imports(path):
            for stage in STAGE_MODULES:
                if target == f"nasa_lib.stages.{stage}":
                    assert module.startswith("nasa_lib.stages.run_stage"), f"{module} imports {target}"


def test_no_import_circles_between_modules():
    graph = {m: {t for t in _imports(p) if t in MODULES and t != m} for m, p in MODULES.items()}
    # a package's __init__ re-exporting its modules is not an edge back into the package
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_the_bottom_layer_and_the_hardware_model_load_without_pytorch():
    code = ("import sys; import nasa_lib.io, nasa_lib.layerspec, nasa_lib.opkinds, nasa_lib.artifacts, nasa_lib.hw, "
            "nasa_lib.stages.params, nasa_lib.stages.paths, nasa_lib.stages.notebook; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
