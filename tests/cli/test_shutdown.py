"""The exit-time gc.freeze is registered once, by the recipe launcher and by the CLI."""

from __future__ import annotations

import gc

import hf_aidetect._shutdown as shutdown


def test_freeze_is_registered_once(monkeypatch):
    registered = []
    monkeypatch.setattr(shutdown, "_FREEZE_REGISTERED", False)
    monkeypatch.setattr(shutdown.atexit, "register", registered.append)
    shutdown.freeze_heap_at_exit()
    shutdown.freeze_heap_at_exit()
    assert registered == [gc.freeze]


def test_recipe_launcher_registers_it(monkeypatch):
    from hf_aidetect.training import launch

    calls = []
    monkeypatch.setattr(launch, "freeze_heap_at_exit", lambda: calls.append("freeze"))
    import hf_aidetect.training.config as config

    monkeypatch.setattr(config, "parse_recipe_args", lambda argv, config=None: ("s", "t", "m"))
    assert launch.run_recipe(lambda *args: calls.append(args), []) == 0
    assert calls == ["freeze", ("s", "t", "m")]
