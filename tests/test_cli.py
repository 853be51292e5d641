"""The `llm-from-scratch` command line: dispatch, errors in one line, flag parsing (`llm_from_scratch.cli`)."""

import argparse

import pytest

from llm_from_scratch import __version__
from llm_from_scratch.commands.flags import float_or_none, int_or_none, parse_bool
from llm_from_scratch.commands.main import main


def test_version_help_and_unknown_command(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"llm-from-scratch {__version__}"
    assert main([]) == 0 and "commands:" in capsys.readouterr().out
    assert main(["nope"]) == 2 and "unknown command 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", ["train", "generate", "data"])
def test_each_command_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0 and f"llm-from-scratch {cmd}" in capsys.readouterr().out


def test_bad_input_is_one_line_with_status_2(tmp_path, capsys):
    assert main(["train", "--n-layers", "two"]) == 2
    assert main(["generate", "--checkpoint", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("llm-from-scratch ") for line in err)


def test_data_command_on_a_text_file(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("hello world\nhello\n")
    assert main(["data", str(f)]) == 0
    assert "18 characters" in capsys.readouterr().out


def test_flag_parsers():
    assert parse_bool("Yes") is True and parse_bool("off") is False
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bool("maybe")
    assert int_or_none("none") is None and int_or_none("3") == 3
    assert float_or_none("NULL") is None and float_or_none("0.5") == 0.5
