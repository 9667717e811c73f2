"""The in-process engine keeps models loaded while their weights fit its budget (issue 24 item 3)."""

from pathlib import Path

import pytest

from harness.models import _inprocess
from harness.errors import ConfigError
from harness.models._inprocess import LocalModels, resident_budget


class FakeLlama:
    opened: list[str] = []
    closed: list[str] = []

    def __init__(self, model_path: str, logits_all: bool = False, **_kw):
        self.path = model_path
        self.logits_all = logits_all
        FakeLlama.opened.append(Path(model_path).name + (" (logits_all)" if logits_all else ""))

    def close(self):
        FakeLlama.closed.append(Path(self.path).name)


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setattr("harness.models._lazy_grammar.lazy_llama_class", lambda: FakeLlama)
    monkeypatch.setattr(_inprocess, "_quiet_notes", lambda: None)
    FakeLlama.opened, FakeLlama.closed = [], []
    sizes = {"a": 100, "b": 200, "c": 300}  # MB
    paths = {}
    for name, mb in sizes.items():
        p = tmp_path / f"{name}.gguf"
        with p.open("wb") as f:
            f.truncate(mb * 2**20)  # sparse: the size is what counts
        paths[name] = p
    eng = LocalModels({n: str(p) for n, p in paths.items()}, threads=1)
    eng.paths = paths
    return eng


def test_models_that_fit_stay_loaded_across_switches(engine):
    engine.resident_budget = 2 * 2**30
    for alias in ["a", "b", "c", "a", "b", "c", "a"]:
        engine._model(alias)
    assert FakeLlama.opened == ["a.gguf", "b.gguf", "c.gguf"] and engine.loads == 3 and FakeLlama.closed == []
    engine._unload()
    assert sorted(FakeLlama.closed) == ["a.gguf", "b.gguf", "c.gguf"]


def test_over_the_budget_the_least_recently_used_goes_first(engine):
    engine.resident_budget = (200 + 300 + 2 * 64) * 2**20  # b and c fit together, not a as well
    for alias in ["b", "c", "b", "a"]:
        engine._model(alias)
    assert FakeLlama.closed == ["c.gguf"]  # b was used after c
    assert list(engine._resident) == [str(engine.paths["b"]), str(engine.paths["a"])]


def test_calls_that_ask_for_logprobs_get_an_instance_of_their_own(engine):
    # A confidence stage needs every position's logits (a full-vocabulary projection per prompt
    # token); the model's other calls must not pay for it, before or after.
    engine.resident_budget = 2 * 2**30
    plain = engine._model("a")
    probs = engine._model("a", logits_all=True)
    assert not plain.logits_all and probs.logits_all
    assert engine._model("a") is plain and engine._model("a", logits_all=True) is probs
    assert FakeLlama.opened == ["a.gguf", "a.gguf (logits_all)"] and FakeLlama.closed == []


def test_an_unknown_budget_keeps_one_model_as_before(engine):
    engine.resident_budget = 0
    for alias in ["a", "b", "a"]:
        engine._model(alias)
    assert FakeLlama.opened == ["a.gguf", "b.gguf", "a.gguf"] and len(engine._resident) == 1


def test_the_budget_is_half_the_available_memory_or_the_setting(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    8000000 kB\n")
    monkeypatch.delenv("TIERWISE_RESIDENT_MB", raising=False)
    assert resident_budget(meminfo) == 8000000 * 1024 // 2
    assert resident_budget(tmp_path / "missing") == 0
    monkeypatch.setenv("TIERWISE_RESIDENT_MB", "300")
    assert resident_budget(meminfo) == 300 * 2**20


@pytest.mark.parametrize("value", ["3OO", "-1", "1.5", "2GB"])
def test_a_bad_resident_setting_is_refused_with_the_variable_and_the_fix(tmp_path, monkeypatch, value):
    monkeypatch.setenv("TIERWISE_RESIDENT_MB", value)
    with pytest.raises(ConfigError, match=rf"TIERWISE_RESIDENT_MB='{value}'.*fix: set it to"):
        resident_budget(tmp_path / "meminfo")


def test_an_empty_resident_setting_is_unset(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:    8000000 kB\n")
    monkeypatch.setenv("TIERWISE_RESIDENT_MB", " ")
    assert resident_budget(meminfo) == 8000000 * 1024 // 2
