"""The client cannot drift from the server: checked against the live /openapi.json."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import longshore
from longshore_stack import REPO_ROOT, LongshoreStack

PKG = Path(__file__).resolve().parents[1]
ASYNC_CLIENT = PKG / "src" / "longshore" / "_async" / "client.py"
SYNC_CLIENT = PKG / "src" / "longshore" / "_sync" / "client.py"
ASYNC_ADMIN = PKG / "src" / "longshore" / "_async" / "admin.py"
SYNC_ADMIN = PKG / "src" / "longshore" / "_sync" / "admin.py"
TYPES = PKG / "src" / "longshore" / "types.py"

#: Operations the client leaves out on purpose: probes, the gateways' intake, public pages.
EXCLUDED = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/hooks/{endpoint_id}"),
    ("GET", "/v/{code}"),
}
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture(scope="module")
def spec_bytes(longshore: LongshoreStack) -> bytes:
    response = httpx.get(f"{longshore.api_url}/openapi.json", timeout=30)
    response.raise_for_status()
    return response.content


@pytest.fixture(scope="module")
def spec(spec_bytes: bytes) -> dict[str, Any]:
    import json

    parsed: dict[str, Any] = json.loads(spec_bytes)
    return parsed


def spec_operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def client_routes(source: Path) -> dict[tuple[str, str], bool]:
    """Every ``_request("METHOD", "/path", ...)`` of a client module → whether it sends an
    Idempotency-Key."""
    routes: dict[tuple[str, str], bool] = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "_request"
        ):
            continue
        args = node.args
        if len(args) < 2 or not all(isinstance(a, ast.Constant) for a in args[:2]):
            continue  # the definition's own recursive use, if any
        method, path = args[0].value, args[1].value  # type: ignore[attr-defined]
        idempotent = any(k.arg == "idempotency_key" for k in node.keywords)
        routes[(method, path)] = routes.get((method, path), False) or idempotent
    return routes


def operator_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """The operations behind an operator key (the ``OperatorAuth`` scheme): the admin client's."""
    return {
        key
        for key, op in spec_operations(spec).items()
        if any("OperatorAuth" in requirement for requirement in op.get("security", []))
    }


def test_operator_operations_are_the_admin_routes(spec: dict[str, Any]) -> None:
    # What the split below rests on: /v1/admin is operator-only, and nothing else is.
    admin_paths = {key for key in spec_operations(spec) if key[1].startswith("/v1/admin/")}
    assert len(admin_paths) == 11
    assert operator_operations(spec) == admin_paths


def test_every_operation_has_a_client_method(spec: dict[str, Any]) -> None:
    ops = set(spec_operations(spec)) - EXCLUDED - operator_operations(spec)
    routes = set(client_routes(ASYNC_CLIENT))
    assert len(routes) > 60
    assert sorted(ops - routes) == [], "operations of /openapi.json the client lacks"
    assert sorted(routes - ops) == [], "client routes /openapi.json does not have"


def test_every_operator_operation_has_an_admin_client_method(spec: dict[str, Any]) -> None:
    ops = operator_operations(spec)
    routes = set(client_routes(ASYNC_ADMIN))
    assert sorted(ops - routes) == [], "operations of /v1/admin the admin client lacks"
    assert sorted(routes - ops) == [], "admin client routes that are not /v1/admin operations"


@pytest.mark.parametrize(
    ("sync", "source"), [(SYNC_CLIENT, ASYNC_CLIENT), (SYNC_ADMIN, ASYNC_ADMIN)]
)
def test_sync_client_has_the_same_routes(sync: Path, source: Path) -> None:
    assert client_routes(sync) == client_routes(source)


def test_idempotency_key_exactly_where_documented(spec: dict[str, Any]) -> None:
    documented = {
        key
        for key, op in spec_operations(spec).items()
        if any(
            p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
            for p in op.get("parameters", [])
        )
    }
    routes = {**client_routes(ASYNC_CLIENT), **client_routes(ASYNC_ADMIN)}
    sent = {key for key, idem in routes.items() if idem}
    assert documented
    assert sent == documented


def _load_script(name: str) -> ModuleType:
    path = PKG / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_longshore_scripts_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_types_are_generated_from_the_live_spec(spec_bytes: bytes) -> None:
    generate_types = _load_script("generate_types")
    expected = generate_types.generate(spec_bytes)
    assert TYPES.read_text() == expected, (
        "src/longshore/types.py is stale: run "
        "python clients/python/scripts/generate_types.py <URL of longshore-api dev>"
    )


@pytest.mark.parametrize("name", ["client.py", "admin.py"])
def test_sync_client_is_generated_from_the_async_one(name: str) -> None:
    generate_sync = _load_script("generate_sync")
    assert name in generate_sync.MODULES
    assert (PKG / "src" / "longshore" / "_sync" / name).read_text() == generate_sync.render(name), (
        f"src/longshore/_sync/{name} is stale: run python clients/python/scripts/generate_sync.py"
    )


def test_version_is_the_api_version(spec: dict[str, Any]) -> None:
    assert longshore.__version__ == spec["info"]["version"]
    cargo = tomllib.loads((REPO_ROOT / "Cargo.toml").read_text())
    assert longshore.__version__ == cargo["workspace"]["package"]["version"]
    from importlib.metadata import version

    assert version("longshore") == longshore.__version__
