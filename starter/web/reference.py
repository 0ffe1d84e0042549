"""``python -m starter.web.reference > docs/api.md``: the API reference, rendered from the app's
OpenAPI schema so the document cannot drift from the routes (a test compares them)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from escalation.settings import Settings
from starter.api import Escalations
from starter.web.app import create_app

REGENERATE = "python -m starter.web.reference > docs/api.md"
METHODS = ("get", "post", "put", "patch", "delete")


async def _never_connected() -> Escalations:
    raise RuntimeError("the reference only reads the schema")


def openapi_schema(config_dir: Path) -> dict[str, Any]:
    """The schema of the app over ``config_dir`` (routes do not depend on the configuration)."""
    return create_app(Settings(config_dir=config_dir), _never_connected, env={}).openapi()


def _anchor(name: str) -> str:
    return f"[{name}](#{name.lower()})"


def type_of(schema: dict[str, Any]) -> str:
    """A schema as a short type expression: ``list[Incident]``, ``string (date-time) | null``."""
    if ref := schema.get("$ref"):
        return _anchor(ref.rsplit("/", 1)[-1])
    if variants := schema.get("anyOf") or schema.get("oneOf"):
        return " \\| ".join(type_of(variant) for variant in variants)
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{type_of(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema and schema["additionalProperties"] is not False:
        values = schema["additionalProperties"]  # a schema, or true for any value
        return f"map[string, {type_of(values if isinstance(values, dict) else {})}]"
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _parameters(operation: dict[str, Any]) -> list[str]:
    rows = [
        f"| `{p['name']}` | {p['in']} | {type_of(p.get('schema', {}))} | "
        f"{'yes' if p.get('required') else 'no'} | {_cell(p.get('description', ''))} |"
        for p in operation.get("parameters", [])
    ]
    if not rows:
        return []
    return ["| Parameter | In | Type | Required | Description |", "|---|---|---|---|---|", *rows, ""]


def _body(operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    return [f"Body ({kind}): {type_of(media.get('schema', {}))}\n" for kind, media in content.items()]


def _responses(operation: dict[str, Any]) -> list[str]:
    lines = []
    for code, response in sorted(operation.get("responses", {}).items()):
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        returned = f": {type_of(schema)}" if schema else ""
        lines.append(f"- `{code}` {_cell(response.get('description', ''))}{returned}")
    return ["Responses:", "", *lines, ""]


def _operation(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    for text in (operation.get("summary"), operation.get("description")):
        if text:
            lines += [" ".join(text.split()), ""]
    return lines + _parameters(operation) + _body(operation) + _responses(operation)


def _model(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if description := schema.get("description"):
        lines += [" ".join(description.split()), ""]
    if "enum" in schema:
        return [*lines, f"One of: {type_of(schema)}", ""]
    required = set(schema.get("required", []))
    rows = [
        f"| `{field}` | {type_of(spec)} | {'yes' if field in required else 'no'} | "
        f"{_cell(spec.get('description', ''))} |"
        for field, spec in schema.get("properties", {}).items()
    ]
    return [*lines, "| Field | Type | Required | Description |", "|---|---|---|---|", *rows, ""]


def render(schema: dict[str, Any]) -> str:
    """The reference as Markdown: every route grouped by tag, then every schema."""
    info = schema["info"]
    lines = [
        f"# {info['title']} HTTP API {info['version']}",
        "",
        f"<!-- generated from the OpenAPI schema by: {REGENERATE} -->",
        "",
        info.get("summary", ""),
        "",
    ]
    operations = [
        (operation.get("tags", ["other"])[0], method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    for tag in dict.fromkeys(tag for tag, *_ in operations):
        lines += [f"## {tag.capitalize()}", ""]
        for _, method, path, operation in (entry for entry in operations if entry[0] == tag):
            lines += _operation(method, path, operation)
    lines += ["## Schemas", ""]
    for name, model in schema.get("components", {}).get("schemas", {}).items():
        lines += _model(name, model)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.stdout.write(render(openapi_schema(Settings.from_env().config_dir)))


if __name__ == "__main__":
    main()
