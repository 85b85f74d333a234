"""Docs, schema and code agree: README field table == JSON Schema == Article dataclass; every command, every
HABR_* setting and the CI test command are documented."""

import json
import re
from dataclasses import fields
from pathlib import Path

from habrmirror import settings
from habrmirror.cli import build_parser
from habrmirror.items import Article

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCHEMA = json.loads((ROOT / "habrmirror" / "schema" / "article.schema.json").read_text(encoding="utf-8"))


def readme_field_table() -> dict[str, str]:
    section = README.split("### Index fields", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", section, flags=re.M))


def test_field_table_schema_and_dataclass_agree() -> None:
    table = readme_field_table()
    dataclass_fields = [f.name for f in fields(Article)]
    assert list(table) == dataclass_fields
    assert list(SCHEMA["properties"]) == dataclass_fields
    assert SCHEMA["required"] == dataclass_fields


def test_field_table_types_match_the_schema() -> None:
    for name, documented in readme_field_table().items():
        prop = SCHEMA["properties"][name]
        kinds = prop.get("type") or (["object", "null"] if "oneOf" in prop else ["null"])
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if kinds == ["array"]:
            assert documented.strip() == f"array of {prop['items']['type']}", name
        else:
            assert [k.strip() for k in documented.split(",")] == kinds, name


def test_every_command_is_documented() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name in commands:
        assert f"`habrmirror {name}" in README, f"command {name} is not in the README"
        assert "Example:" in (commands[name].epilog or ""), f"{name} --help has no example"


def test_every_setting_is_documented() -> None:
    names = [name for name in dir(settings) if name.startswith("HABR_")]
    assert names
    for name in names:
        assert f"`{name}`" in README, f"{name} is not in the README"


def test_ci_runs_the_readme_test_command() -> None:
    block = README.split("## Two commands", 1)[1].split("```", 2)[1]
    test_command = [line for line in block.splitlines() if line.strip() and not line.startswith("#")][-1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_documented_command_exists() -> None:
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    table = README.split("## Commands", 1)[1].split("### Exit codes", 1)[0]
    documented = set(re.findall(r"^\| `habrmirror ([a-z]+)", table, flags=re.M))
    assert documented == set(commands)
