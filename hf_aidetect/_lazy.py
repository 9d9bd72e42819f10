"""Lazy package attributes: ``import hf_aidetect.x`` stays cheap until a heavy symbol is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, attributes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that imports ``attributes[name]`` (a module path) on first use."""

    def __getattr__(name: str) -> Any:
        if name in attributes:
            return getattr(importlib.import_module(attributes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def lazy_dir(namespace: Mapping[str, Any], attributes: Mapping[str, str]) -> Callable[[], list[str]]:
    """A module-level ``__dir__`` listing the lazy attributes too (``dir()``, ``help()``, completion)."""

    def __dir__() -> list[str]:
        return sorted({*namespace, *attributes})

    return __dir__
