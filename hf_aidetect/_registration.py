"""The seed CNN joins transformers' Auto classes as soon as they exist, without ``import hf_aidetect``
importing transformers or torch.

``AutoConfig.register`` / ``AutoModelForImageClassification.register`` need the Auto classes, which live in
``transformers.models.auto.configuration_auto`` / ``modeling_auto``. :func:`install` (run by
``import hf_aidetect``) registers right away when those modules are already loaded; otherwise it adds an
import hook that registers the moment each of them has finished loading, before anything can call
``from_pretrained`` on them. So in every process that imports hf_aidetect (our CLI, our library, a user's
``import hf_aidetect`` before ``pipeline(...)``), a saved seed CNN loads without ``trust_remote_code``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importlib.abc costs 20 ms at start-up (importlib.resources)
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

logger = logging.getLogger(__name__)

CONFIG_AUTO = "transformers.models.auto.configuration_auto"
MODEL_AUTO = "transformers.models.auto.modeling_auto"
# Modules a registration imports: none may be still executing (``__spec__._initializing``) when it runs,
# since such a module may be the one that imported the Auto module and its names are not all defined yet.
_CONFIG_IMPORTS = (
    "transformers.configuration_utils",
    "hf_aidetect.models.seed_cnn.configuration_seed_cnn",
    "hf_aidetect.models.backbones.configuration_backbone_detector",
    "hf_aidetect.models.backbones.modeling_backbone_detector",  # imports AutoModel: wait until it has loaded
)
_MODEL_IMPORTS = (
    *_CONFIG_IMPORTS,
    "hf_aidetect.models.seed_cnn.modeling_seed_cnn",  # a user's first import may be the CNN itself
    "transformers.modeling_utils",
    "transformers.modeling_layers",
    "transformers.modeling_outputs",
    "transformers.initialization",
)
_LOCK = threading.RLock()
_done: set[str] = set()


def _initializing(name: str) -> bool:
    module = sys.modules.get(name)
    return module is not None and bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _loaded(name: str) -> bool:
    return name in sys.modules and not _initializing(name)


def register_config() -> None:
    """``AutoConfig`` knows ``seed_cnn`` and ``backbone_detector``; ``save_pretrained`` writes their
    ``auto_map``."""
    with _LOCK:
        if "config" in _done:
            return
        from hf_aidetect.models.backbones.configuration_backbone_detector import BackboneDetectorConfig
        from hf_aidetect.models.seed_cnn.configuration_seed_cnn import SeedCNNConfig

        auto = importlib.import_module(CONFIG_AUTO)
        for config_class in (SeedCNNConfig, BackboneDetectorConfig):
            auto.AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
            config_class.register_for_auto_class()
        _done.add("config")


def register_model() -> None:
    """``AutoModelForImageClassification`` builds the seed CNN and the backbone detector from their configs
    (and ships their code)."""
    with _LOCK:
        if "model" in _done:
            return
        register_config()
        from hf_aidetect.models.backbones.configuration_backbone_detector import BackboneDetectorConfig
        from hf_aidetect.models.backbones.modeling_backbone_detector import (
            BackboneDetectorForImageClassification,
        )
        from hf_aidetect.models.seed_cnn.configuration_seed_cnn import SeedCNNConfig
        from hf_aidetect.models.seed_cnn.modeling_seed_cnn import SeedCNNForImageClassification

        auto = importlib.import_module(MODEL_AUTO)
        for config_class, model_class in (
            (SeedCNNConfig, SeedCNNForImageClassification),
            (BackboneDetectorConfig, BackboneDetectorForImageClassification),
        ):
            auto.AutoModelForImageClassification.register(config_class, model_class, exist_ok=True)
            model_class.register_for_auto_class("AutoModelForImageClassification")
        _done.add("model")


def register_auto_classes() -> None:
    """Register both now (imports transformers and torch); idempotent."""
    register_model()


# (the Auto module whose arrival triggers it, modules it imports, the registration)
_PENDING: list[tuple[str, Sequence[str], Callable[[], None]]] = [
    (CONFIG_AUTO, _CONFIG_IMPORTS, register_config),
    (MODEL_AUTO, _MODEL_IMPORTS, register_model),
]


def _run_ready() -> None:
    """Run every pending registration whose Auto module has loaded while nothing it imports is still
    executing; drop the hook when none is left."""
    with _LOCK:
        for entry in list(_PENDING):
            trigger, imports, register = entry
            if entry not in _PENDING:  # a registration's own imports ran this already
                continue
            if _loaded(trigger) and not any(_initializing(name) for name in imports):
                _PENDING.remove(entry)
                try:
                    register()
                except Exception:  # never break the user's transformers import; loading a CNN will say why
                    logger.warning(
                        "Could not register hf_aidetect's models with transformers.", exc_info=True
                    )
        if not _PENDING:
            sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _AfterImport)]


class _AfterImport:
    """Finds nothing itself: lends the real loader of a watched module a hook that runs after it."""

    watched = frozenset(name for trigger, imports, _ in _PENDING for name in (trigger, *imports))

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.watched:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Hooked(spec.loader)
                return spec
        return None


class _Hooked:
    """Executes the module with its own loader, puts that loader back, then runs what became ready."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        # The import system marks the module whole only after this returns: treat it as whole now.
        sys.modules.setdefault(module.__name__, module)
        spec = module.__spec__
        initializing = getattr(spec, "_initializing", False)
        if spec is not None:
            spec._initializing = False
        try:
            _run_ready()
        finally:
            if spec is not None:
                spec._initializing = initializing


def install() -> None:
    """Register now what transformers has already loaded; hook the rest (run by ``import hf_aidetect``)."""
    _run_ready()
    with _LOCK:
        if _PENDING and not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _AfterImport())
