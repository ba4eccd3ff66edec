"""The stubs (python/ferromq/__init__.pyi) match the runtime package: every public name, class member and
method is in both, methods take the same parameters, and everything public has a docstring."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ferromq

STUB = Path(__file__).resolve().parents[1] / "python" / "ferromq" / "__init__.pyi"
# Protocol methods that are part of the API (other dunders come with every pyclass).
PROTOCOL = {"__enter__", "__exit__", "__aenter__", "__aexit__", "__iter__", "__next__", "__aiter__", "__anext__"}
# The package's submodules: the extension (`_ferromq`, private) and the pure-Python ones
# (`testing`, `pytest_plugin`), which are attributes once imported (the plugin imports them)
# and typed by their own sources, not by the stub.
SUBMODULES = {"testing", "pytest_plugin"}


def public(name: str) -> bool:
    # (Not identifiers: the names pytest's assertion rewriting adds to the modules of a
    # package that registers a plugin, `@py_builtins` and `@pytest_ar`.)
    return name.isidentifier() and (not name.startswith("_") or name in PROTOCOL)


def stub_tree() -> dict[str, dict[str, ast.AST] | ast.AST]:
    tree = ast.parse(STUB.read_text())
    out: dict = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            if any(isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases):
                # The shapes of returned dicts: types for checkers only, nothing at run time.
                continue
            members = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members[item.name] = item
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members[item.target.id] = item
            out[node.name] = (node, members)
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node
    return out


def runtime_names() -> set[str]:
    names = {n for n in dir(ferromq) if public(n) and not inspect.ismodule(getattr(ferromq, n))}
    return names | {"__version__"}


def test_the_package_reexports_the_whole_extension():
    """`import ferromq` is the API: every public name of the extension is in the package, the
    very same object, and the package adds no public name of its own besides submodules."""
    ext = ferromq._ferromq
    public_ext = {n for n in dir(ext) if public(n)}
    assert public_ext <= set(dir(ferromq))
    for n in public_ext:
        assert getattr(ferromq, n) is getattr(ext, n), n
    extra = {n for n in dir(ferromq) if public(n)} - public_ext
    assert extra <= SUBMODULES, extra
    assert ferromq.__version__ == ext.__version__


def stub_params(fn: ast.FunctionDef) -> list[tuple[str, str]]:
    a = fn.args
    params = [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.posonlyargs + a.args]
    if a.vararg:
        params.append((a.vararg.arg, "VAR_POSITIONAL"))
    params += [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs]
    if a.kwarg:
        params.append((a.kwarg.arg, "VAR_KEYWORD"))
    return [p for p in params if p[0] != "self"]


def runtime_params(obj) -> list[tuple[str, str]] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    kinds = {"POSITIONAL_ONLY": "POSITIONAL_OR_KEYWORD"}
    return [(p.name, kinds.get(p.kind.name, p.kind.name)) for p in sig.parameters.values() if p.name != "self"]


def test_module_names_match():
    stub = {n for n in stub_tree() if public(n) or n == "__version__"}
    assert runtime_names() == stub


def test_class_members_and_signatures_match():
    tree = stub_tree()
    for name, entry in tree.items():
        if not isinstance(entry, tuple):
            continue
        node, members = entry
        cls = getattr(ferromq, name)
        if issubclass(cls, BaseException):
            # Exception attributes are set per instance; see test_errors.
            continue
        runtime = {m for m in vars(cls) if public(m)}
        stub = {m for m in members if public(m)}
        assert runtime == stub, f"{name}: runtime-only {runtime - stub}, stub-only {stub - runtime}"
        for m in stub:
            fn = members[m]
            if isinstance(fn, ast.FunctionDef) and not any(
                isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list
            ):
                got = runtime_params(getattr(cls, m))
                if got is not None:
                    assert got == stub_params(fn), f"{name}.{m}"
        # (Classes carry their constructor's text signature from Python 3.10 on.)
        init = runtime_params(cls)
        if "__init__" in members and init is not None:
            assert init == stub_params(members["__init__"]), f"{name}()"


def test_exception_hierarchy_matches():
    tree = stub_tree()
    for name, entry in tree.items():
        if isinstance(entry, tuple):
            node, _ = entry
            cls = getattr(ferromq, name)
            if issubclass(cls, BaseException):
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                assert [b.__name__ for b in cls.__bases__] == bases, name


def test_everything_public_has_a_docstring():
    for name in runtime_names() - {"__version__"}:
        obj = getattr(ferromq, name)
        assert (obj.__doc__ or "").strip(), name
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for m, member in vars(obj).items():
                if not m.startswith("_") and not isinstance(member, obj):
                    assert (member.__doc__ or "").strip(), f"{name}.{m}"
