"""MoPEFT: a gated mixture of PEFT kinds (LoRA, Prefix, Adapter) inside SAM's image encoder. Pure torch.

    sam = wrap(sam, MoPEFTConfig(kinds=["lora", "prefix", "adapter"], blocks="last:4"))
    ... train the parameters that require grad ...
    gate_values(sam)            # {"blocks.8": {"lora": 0.52, "prefix": 0.47, "adapter": 0.61}, ...}
    save_adapter(sam, "a.safetensors"); load_adapter(other_sam, "a.safetensors")
"""
from app.mopeft.adapter_file import AdapterError, adapted_copy, load_adapter, read_adapter_header, save_adapter
from app.mopeft.cached import encode_from, encode_until, frozen_prefix_length
from app.mopeft.config import MoPEFTConfig
from app.mopeft.fingerprint import base_weight_fingerprint
from app.mopeft.kinds import KIND_REGISTRY, PEFTKind, register_kind
from app.mopeft.kinds.adapter import set_adapter_dropout
from app.mopeft.state import ParameterCount, gate_matrix, gate_values, peft_state_dict, trainable_parameters
from app.mopeft.wrap import WrapInfo, wrap, wrap_info

__all__ = [
    "AdapterError", "KIND_REGISTRY", "adapted_copy", "MoPEFTConfig", "PEFTKind", "ParameterCount", "WrapInfo",
    "base_weight_fingerprint", "encode_from", "encode_until", "frozen_prefix_length", "gate_matrix", "gate_values",
    "load_adapter", "peft_state_dict", "read_adapter_header", "register_kind", "save_adapter",
    "set_adapter_dropout", "trainable_parameters", "wrap", "wrap_info",
]
