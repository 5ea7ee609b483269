"""The README is the user's reference: it must name every setting and every CLI command."""

from pathlib import Path

from botdesk.cli import main
from botdesk.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_quick_start_is_the_two_make_commands_first():
    first_block = README.split("```")[1]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]] == [
        "make run",
        "make test",
    ]


def test_every_setting_is_documented():
    missing = [name for name in Settings.model_fields if f"`BOTDESK_{name}`" not in README]
    assert missing == []


def test_every_command_is_documented():
    missing = [name for name in main.commands if f"`botdesk {name}" not in README]
    assert missing == []
