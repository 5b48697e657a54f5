"""src/ is grouped by concern; each package says its concern in a docstring and imports only from the
packages below it (LAYERS), never a private name from another package, and never the pipeline (stages/,
stages/plumbing/). Read from the source (ast), function-level imports included."""
import ast

from tests.helpers import REPO

SRC = REPO / "src"
# Bottom to top: a module imports from its own package or from a lower layer only.
LAYERS = [{"common"}, {"labels"}, {"config"}, {"data", "sample"}, {"face_crop", "models"},
          {"inference", "reports"}, {"training", "deploy"}, {"tuning"}]
LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}


def package_of(module: str) -> str:
    """'src.training.loop' -> 'training'; 'src' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def src_imports(path, top="src"):
    """(module imported, names imported) for every `from <top>... import` / `import <top>...` in the file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == top:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names if alias.name.split(".")[0] == top)


def modules():
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        yield path, module.removesuffix(".__init__")


def test_every_package_is_in_a_layer_and_says_its_concern():
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    flat = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert packages | flat == set(LAYER), "a package or top-level module was added: give it a layer"
    for package in packages:
        docstring = ast.get_docstring(ast.parse((SRC / package / "__init__.py").read_text()))
        assert docstring, f"src/{package}/__init__.py: no docstring saying the package's concern"


def test_imports_go_only_downward_and_never_reach_private_names():
    wrong = []
    for path, module in modules():
        here = package_of(module)
        if not here:
            continue
        for imported, names in src_imports(path):
            there = package_of(imported)
            if not there or there == here:
                continue
            if LAYER[there] >= LAYER[here]:
                wrong.append(f"{module} imports {imported} (layer {LAYER[there]} >= {LAYER[here]})")
            wrong += [f"{module} imports the private {imported}.{name}" for name in names if name.startswith("_")]
    assert wrong == []


def test_the_library_never_imports_the_pipeline():
    assert [(module, imported) for path, module in modules() for imported, _ in src_imports(path, "stages")] == []


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check itself can fail: an upward import in a file is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from src.training.loop import train_model\n")
    assert list(src_imports(bad)) == [("src.training.loop", ["train_model"])]
    assert LAYER[package_of("src.training.loop")] > LAYER[package_of("src.config.params")]
