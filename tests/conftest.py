"""Session-wide isolation: nothing in the suite touches the network or the user's Hugging Face cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _offline_isolated_hf_home(tmp_path_factory: pytest.TempPathFactory):
    hf_home = tmp_path_factory.mktemp("hf_home")
    saved = {key: os.environ.get(key) for key in ("HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    os.environ["HF_HOME"] = str(hf_home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    yield hf_home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
