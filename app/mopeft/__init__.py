"""MoPEFT: a gated mixture of PEFT kinds (LoRA, Prefix, bottleneck adapter) inside the image encoder of SAM 1 (ViT)
or SAM 2.1 (Hiera). Pure torch.

    sam = wrap(sam, MoPEFTConfig(kinds=["lora", "prefix", "adapter"], blocks="last:4"))  # kinds: KIND_REGISTRY
    ... train the parameters that require grad ...
    gate_values(sam)            # {"blocks.8": {"lora": 0.52, "prefix": 0.47, "adapter": 0.61}, ...}
    save_adapter(sam, "a.safetensors"); load_adapter(other_sam, "a.safetensors")
"""
from app.mopeft.adapter_file import (AdapterError, adapted_copy, load_adapter, read_adapter_base, read_adapter_header,
                                     save_adapter)
from app.mopeft.cached import encode_from, encode_until, frozen_prefix_length
from app.mopeft.config import MoPEFTConfig, mixture
from app.mopeft.fingerprint import base_weight_fingerprint
from app.mopeft.hooks import after_training, before_step
from app.mopeft.kinds import KIND_REGISTRY, KindConfig, PEFTKind, register_kind
from app.mopeft.state import ParameterCount, gate_matrix, gate_values, peft_kinds, peft_state_dict, trainable_parameters
from app.mopeft.wrap import WrapInfo, wrap, wrap_info

__all__ = [
    "AdapterError", "KIND_REGISTRY", "KindConfig", "adapted_copy", "after_training", "before_step", "MoPEFTConfig",
    "PEFTKind", "ParameterCount", "WrapInfo", "base_weight_fingerprint", "encode_from", "encode_until",
    "frozen_prefix_length", "gate_matrix", "gate_values", "load_adapter", "mixture", "peft_kinds", "peft_state_dict",
    "read_adapter_base", "read_adapter_header", "register_kind", "save_adapter", "trainable_parameters", "wrap",
    "wrap_info",
]
