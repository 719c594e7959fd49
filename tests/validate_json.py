"""Validate netc's JSON documents against docs/schemas: each document names its schema
(`"schema": "netc-query/1"` -> docs/schemas/netc-query.schema.json). Usage:
validate_json.py SCHEMA_DIR DOCUMENT...; prints the schemas used, one per line."""
import json
import pathlib
import sys

import jsonschema
import referencing

schema_dir = pathlib.Path(sys.argv[1])
resources = []
for f in sorted(schema_dir.glob("*.schema.json")):
    schema = json.loads(f.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    resources.append((schema["$id"], referencing.Resource.from_contents(schema)))
registry = referencing.Registry().with_resources(resources)
base = "https://netc.dev/schemas/"
used = set()
failed = False
for path in sys.argv[2:]:
    doc = json.loads(pathlib.Path(path).read_text())
    name = doc.get("schema", "")
    if not name.endswith("/1"):
        print(f"{path}: no netc schema name: {name!r}", file=sys.stderr)
        failed = True
        continue
    uri = base + name[:-2] + ".schema.json"
    validator = jsonschema.Draft202012Validator(
        registry.contents(uri), registry=registry
    )
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:5]:
        print(f"{path}: {list(e.absolute_path)}: {e.message[:300]}", file=sys.stderr)
    failed |= bool(errors)
    used.add(name)
for name in sorted(used):
    print(name)
sys.exit(1 if failed else 0)
