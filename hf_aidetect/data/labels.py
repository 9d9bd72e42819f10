"""The fixed label space: real=0, fake=1, whatever the source calls its classes."""

from __future__ import annotations

REAL = 0
FAKE = 1
LABEL_NAMES: tuple[str, str] = ("real", "fake")
ID2LABEL: dict[int, str] = {REAL: "real", FAKE: "fake"}
LABEL2ID: dict[str, int] = {"real": REAL, "fake": FAKE}

# Folder / label-string aliases, compared lower-cased. Keep this the single source of truth.
LABEL_ALIASES: dict[str, int] = {
    **dict.fromkeys(("real", "0_real", "human", "authentic", "genuine", "original"), REAL),
    **dict.fromkeys(("fake", "1_fake", "ai", "generated", "synthetic", "ai_generated", "ai-generated"), FAKE),
}


def canonical_label(name: str | int) -> int | None:
    """Map a class folder name or label value to 0 (real) / 1 (fake); ``None`` when unknown."""
    if isinstance(name, bool):
        return None
    if isinstance(name, int):
        return name if name in ID2LABEL else None
    key = str(name).strip().lower()
    if key in LABEL_ALIASES:
        return LABEL_ALIASES[key]
    if key.isdigit() and int(key) in ID2LABEL:
        return int(key)
    return None


def known_aliases() -> str:
    """Human-readable list of accepted class names, for error messages."""
    real = sorted(k for k, v in LABEL_ALIASES.items() if v == REAL)
    fake = sorted(k for k, v in LABEL_ALIASES.items() if v == FAKE)
    return f"real: {', '.join(real)}; fake: {', '.join(fake)} (case-insensitive)"
