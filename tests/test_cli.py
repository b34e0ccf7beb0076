"""The command line's surface: every option explained, dates with their format, a version."""
import argparse
import subprocess
import sys

from pipelines.cli import parser
from pipelines.manifest import code_version


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_of_every_command_has_help_and_dates_state_their_format():
    commands = _commands()
    assert {"generate", "run", "student-years", "backtest", "rollback", "forget", "waive", "demo", "docs"} <= set(commands)
    for name, command in commands.items():
        assert command.description or command.format_usage(), name
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{name} {action.option_strings}"
            takes_a_date = getattr(action.type, "__name__", "") == "_date" or action.dest in {"expires", "as_of"}
            if takes_a_date:
                assert "YYYY-MM-DD" in action.help, f"{name} {action.option_strings}: {action.help}"


def test_version_prints_the_code_version():
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"tiedolla {code_version()}"
