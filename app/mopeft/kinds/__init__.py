"""PEFT kinds behind a registry: importing this package registers lora, prefix and adapter."""
from app.mopeft.kinds import adapter, lora, prefix  # noqa: F401  (registration side effect)
from app.mopeft.kinds.base import KIND_REGISTRY, PEFTKind, PEFTModule, register_kind

__all__ = ["KIND_REGISTRY", "PEFTKind", "PEFTModule", "register_kind"]
