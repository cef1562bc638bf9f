"""PEFT kinds behind a registry: importing this package registers lora, prefix, adapter (the bottleneck) and
decoder_lora.

The import order is the registry's order, which is the order of the default mixture (lora, prefix, adapter).
"""
from app.mopeft.kinds import lora  # noqa: F401, I001  (registration side effect, in this order)
from app.mopeft.kinds import prefix  # noqa: F401
from app.mopeft.kinds import bottleneck  # noqa: F401
from app.mopeft.kinds import decoder_lora  # noqa: F401
from app.mopeft.kinds.base import KIND_REGISTRY, KindConfig, ModelKind, PEFTKind, PEFTModule, Site, register_kind

__all__ = ["KIND_REGISTRY", "KindConfig", "ModelKind", "PEFTKind", "PEFTModule", "Site", "register_kind"]
