"""MoPEFTHieraBlock: SAM 2's Hiera block (transformers' Sam2MultiScaleBlock) with the PEFT kinds' hook points.

The block re-uses the wrapped block's own modules under the same attribute names (layer_norm1, attn, layer_norm2,
mlp, proj), so Meta's weights keep their keys. Hiera differs from SAM 1's ViT block in three ways the hooks see:
the first block of a stage widens the channels (qkv reads `in_dim`, writes 3·`dim`; the residual goes through
`proj`), it pools its queries (2x2 max pool after the split: the prefix attends with the pooled queries, the keys
and values keep the full window), and the windows shrink with the pooled grid. The attention is transformers' eager
path, step for step, so a block whose kinds are at their initial values computes exactly what the plain one does.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers.models.sam2.modeling_sam2 import do_pool, window_partition, window_unpartition

from app.mopeft.block import PEFTBlock
from app.mopeft.kinds import PEFTKind


class MoPEFTHieraBlock(PEFTBlock):
    """A Hiera block whose attention and MLP are adjusted by gated PEFT kinds (`self.peft`)."""

    def __init__(self, block: nn.Module, kinds: list[PEFTKind]) -> None:
        super().__init__()
        self.layer_norm1 = block.layer_norm1
        self.attn = block.attn
        self.layer_norm2 = block.layer_norm2
        self.mlp = block.mlp
        if block.dim != block.dim_out:
            self.proj = block.proj
        self.dim, self.dim_out = block.dim, block.dim_out
        self.window_size, self.query_stride = block.window_size, block.query_stride
        self.peft = nn.ModuleDict({k.name: k for k in kinds})

    def _gates(self, sublayer: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: k.gate(x) for name, k in self.peft.items() if k.sublayer == sublayer}

    def forward(self, hidden_states: torch.Tensor, **kwargs) -> torch.Tensor:
        residual = hidden_states
        x = self.layer_norm1(hidden_states)
        gates = self._gates("attn", x)  # one value per image, before the windows
        if self.dim != self.dim_out:
            residual = do_pool(self.proj(x), self.query_stride)
        window_size = self.window_size
        if window_size > 0:
            H, W = x.shape[1], x.shape[2]
            x, pad_hw = window_partition(x, window_size)
            per_image = x.shape[0] // residual.shape[0]
            gates = {name: g.repeat_interleave(per_image, dim=0) for name, g in gates.items()}
        x = self._attention(x, gates)
        if self.query_stride:
            window_size = self.window_size // self.query_stride[0]
            H, W = residual.shape[1:3]
            pad_hw = (H + (-H) % window_size, W + (-W) % window_size) if window_size > 0 else None
        if self.window_size > 0:
            x = window_unpartition(x, window_size, pad_hw, (H, W))
        x = residual + x

        h = self.layer_norm2(x)
        m = self.mlp(h)
        for name, g in self._gates("mlp", h).items():
            m = self.peft[name].adjust_mlp(h, m, g)
        return x + m

    def _attention(self, x: torch.Tensor, gates: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sam2MultiScaleAttention.forward on the eager path, with the kinds' hooks."""
        attn = self.attn
        heads = attn.num_attention_heads
        B, H, W, _ = x.shape
        qkv = attn.qkv(x)
        for name, g in gates.items():
            qkv = self.peft[name].adjust_qkv(x, qkv, g)
        q, k, v = torch.unbind(qkv.reshape(B, H * W, 3, heads, -1), 2)
        if attn.query_stride:
            q = do_pool(q.reshape(B, H, W, -1), attn.query_stride)
            H, W = q.shape[1:3]
            q = q.reshape(B, H * W, heads, -1)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, N, head_dim)
        probs = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * attn.scale, dim=-1, dtype=torch.float32)
        out = torch.matmul(probs.to(q.dtype), v)
        if gates:
            n, head_dim = q.shape[2], q.shape[3]
            flat = out.reshape(B * heads, n, head_dim)
            for name, g in gates.items():
                flat = self.peft[name].adjust_attention(q.reshape(B * heads, n, head_dim), flat, g)
            out = flat.view(B, heads, n, head_dim)
        return attn.proj(out.transpose(1, 2).contiguous().reshape(B, H, W, -1))
