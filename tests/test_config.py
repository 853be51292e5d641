"""Config files, presets, field checks and the course's plot style (`llm_from_scratch.config`)."""

import dataclasses

import matplotlib
import pytest

from llm_from_scratch.config import (
    PRESETS,
    ConfigError,
    GPTConfig,
    TrainConfig,
    config_from_dict,
    count_params,
    load_config,
    pick,
    preset,
    preset_fields,
    quick_mode,
    read_config_file,
    save_config,
    write_config_file,
)
from llm_from_scratch.teaching.drawing import smallest_text_px, use_course_style


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".toml", ".json"])
def test_config_file_round_trip(tmp_path, suffix):
    cfg = preset("tiny", dropout=0.1)
    path = save_config(cfg, tmp_path / f"c{suffix}")
    assert load_config(path) == cfg
    assert load_config(path, n_layers=3).n_layers == 3


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_config_file(tmp_path / "missing.yaml")
    for name, text, why in [
        ("c.txt", "x", "must end in"),
        ("c.yaml", "a: [1", "cannot parse"),
        ("c.toml", "a = ", "cannot parse"),
        ("c.json", "{", "cannot parse"),
        ("c.yaml", "- 1\n- 2\n", "mapping"),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=why):
            read_config_file(tmp_path / name)
    with pytest.raises(ConfigError, match="must end in"):
        write_config_file({"a": 1}, tmp_path / "c.ini")
    assert read_config_file(write_config_file({}, tmp_path / "empty.yaml")) == {}


def test_presets_and_unknown_fields():
    assert set(PRESETS) >= {"char", "seed", "tiny", "gpt2"}
    assert preset_fields("tiny") is not PRESETS["tiny"]  # a copy
    with pytest.raises(ConfigError, match="unknown preset"):
        preset_fields("nope")
    with pytest.raises(ConfigError, match="unknown GPTConfig field"):
        config_from_dict({"n_layer": 2})
    tc = config_from_dict({"max_iters": 5}, TrainConfig)
    assert isinstance(tc, TrainConfig) and tc.max_iters == 5


def test_field_checks():
    with pytest.raises(ConfigError):
        GPTConfig(n_layers=True)  # a bool is not a number
    with pytest.raises(ConfigError):
        GPTConfig(d_model=30, n_heads=4)  # heads must divide the width
    with pytest.raises(ConfigError):
        TrainConfig(max_iters=0)
    assert GPTConfig(d_model=64, n_heads=4).d_ff == 256


def test_count_params_matches_the_model():
    from llm_from_scratch.model import GPT

    cfg = preset("tiny")
    n = sum(p.numel() for p in GPT(cfg).parameters())
    assert count_params(cfg) == n
    assert count_params(cfg, embeddings=False) < n
    assert count_params(dataclasses.replace(cfg, bias=False)) < count_params(cfg)


def test_quick_mode_and_pick(monkeypatch):
    monkeypatch.setenv("LLM_FROM_SCRATCH_QUICK", "yes")
    assert quick_mode() and pick(2000, 50) == 50
    monkeypatch.setenv("LLM_FROM_SCRATCH_QUICK", "0")
    assert not quick_mode() and pick(2000, 50) == 2000


def test_course_style_outside_ipython():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_course_style()  # no IPython shell: only rcParams change
    fig, ax = plt.subplots(dpi=100)
    ax.set_title("t", fontsize=12)
    ax.set_xlabel("x", fontsize=8)
    assert smallest_text_px(fig) == pytest.approx(8 * 100 / 72, rel=0.01)
    plt.close(fig)
