"""The `llm-from-scratch` command line (`llm_from_scratch.commands`): dispatch, errors in one line, flag parsing, and
each flag's `--help` default equal to the value a run uses."""

import argparse
import dataclasses
import re

import pytest

from llm_from_scratch import __version__
from llm_from_scratch.commands.finetune import finetune_config, finetune_parser
from llm_from_scratch.commands.flags import float_or_none, int_or_none, parse_bool
from llm_from_scratch.commands.generate import _generation_config, generate_parser
from llm_from_scratch.commands.main import main
from llm_from_scratch.commands.train import resolve_configs, train_parser
from llm_from_scratch.config import GenerationConfig, GPTConfig, TrainConfig


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


def _help_defaults(parser: argparse.ArgumentParser, cls: type) -> dict[str, str]:
    """flag dest -> the default its --help line prints, for the fields of dataclass `cls`."""
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for a in parser._actions:
        m = re.search(r"\(default: (.*)\)$", a.help or "")
        if a.dest in names and m:
            out[a.dest] = m.group(1).replace("%%", "%")
    return out


def _check_help(parser: argparse.ArgumentParser, config: object, skip: set[str] = frozenset()) -> int:
    shown = _help_defaults(parser, type(config))
    assert shown, "no field flags found"
    for name, text in shown.items():
        if name not in skip:
            assert text == str(getattr(config, name)), f"--{name}: help says {text}, the run uses {getattr(config, name)}"
    return len(shown)


def test_every_help_default_is_the_value_the_run_uses():
    """One default per setting: what `--help` prints is what a run without the flag gets."""
    p = train_parser()
    plan = resolve_configs(vars(p.parse_args([])))  # reads the corpus: vocab_size is the tokenizer's
    assert _check_help(p, plan.tc) == len(dataclasses.fields(TrainConfig))
    assert _check_help(p, plan.cfg, skip={"vocab_size"}) == len(dataclasses.fields(GPTConfig))
    g = generate_parser()
    assert _check_help(g, _generation_config(g.parse_args(["--checkpoint", "x"]), None)) >= 8
    f = finetune_parser()
    args = vars(f.parse_args(["--checkpoint", "x", "--data", "y", "--task", "classify"]))
    assert _check_help(f, finetune_config(args)) >= 10
    assert plan.tc.lr == TrainConfig().lr and finetune_config(args).lr == TrainConfig().lr
    assert _generation_config(g.parse_args(["--checkpoint", "x"]), None).temperature == 0.8 != GenerationConfig().temperature
