"""The README is the front door and docs/ the manual: the two commands come first, every
setting and every CLI command is documented where a user looks for it."""

from pathlib import Path

import click
import yaml

from botdesk.cli import main
from botdesk.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def test_quick_start_is_the_two_make_commands_first():
    first_block = README.split("```")[1]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]] == [
        "make run",
        "make test",
    ]


def test_every_setting_is_documented():
    settings_page = (DOCS / "settings.md").read_text()
    missing = [name for name in Settings.model_fields if f"`BOTDESK_{name}`" not in settings_page]
    assert missing == []


def test_every_command_is_documented():
    cli_page = (DOCS / "cli.md").read_text()
    names = main.list_commands(click.Context(main))
    missing = [name for name in names if f"`botdesk {name}" not in cli_page]
    assert len(names) > 10
    assert missing == []


def test_every_page_is_in_the_manual_and_linked_from_the_readme():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = {next(iter(entry.values())) for entry in config["nav"]}
    pages = {path.name for path in DOCS.glob("*.md")}
    assert pages == in_nav
    unlinked = [page for page in pages - {"index.md"} if f"(docs/{page})" not in README]
    assert unlinked == []
