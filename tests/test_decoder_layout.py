"""The shared fast-decoder pieces against torch's own operations: the per-pixel up-scaler with SAM 2's
high-resolution maps in scrambled order, and OpenCV's bilinear resize."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.decoder_layout import bilinear, scrambled_rows, upscale_and_project


def _upscaler(c: int):
    torch.manual_seed(0)
    conv1, conv2 = nn.ConvTranspose2d(c, c // 4, 2, 2), nn.ConvTranspose2d(c // 4, c // 8, 2, 2)
    norm = nn.LayerNorm(c // 4)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.5, 0.5)
    return conv1, norm, nn.GELU(), conv2, nn.GELU()


@pytest.mark.parametrize("batch", [None, 3])
def test_upscaler_with_high_res_maps_is_the_transposed_convolutions(batch):
    c, h, w = 32, 5, 7
    conv1, norm, gelu, conv2, _ = layers = _upscaler(c)
    b = batch or 1
    emb, s1, s0 = torch.randn(b, c, h, w), torch.randn(c // 4, 2 * h, 2 * w), torch.randn(c // 8, 4 * h, 4 * w)
    hyper = torch.randn(b, 3, c // 8)
    with torch.no_grad():
        x = conv1(emb) + s1
        x = gelu(norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        x = gelu(conv2(x) + s0)
        want = (hyper @ x.flatten(2)).view(b, 3, 4 * h, 4 * w)
        keys = emb.flatten(2).transpose(1, 2).reshape(-1, c)
        high_res = (scrambled_rows(s1, 1), scrambled_rows(s0, 2))
        got = upscale_and_project(layers, keys, hyper if batch else hyper[0], (h, w), high_res)
    assert got.shape == (want.shape if batch else want.shape[1:])
    assert torch.allclose(got, want if batch else want[0], atol=1e-5)


@pytest.mark.parametrize("size", [(1024, 1024), (700, 900), (97, 161), (256, 256)])
def test_bilinear_is_torchs_interpolate(size):
    plane = np.random.default_rng(0).normal(size=(256, 256)).astype(np.float32) * 5
    want = F.interpolate(torch.from_numpy(plane)[None, None], size, mode="bilinear", align_corners=False)[0, 0]
    got = bilinear(plane, size)
    # equal up to the rounding of the source coordinates at non-integer scales: ~2e-5 of the logits' range
    assert got.shape == size and np.abs(got - want.numpy()).max() <= 1e-4 * np.abs(plane).max()
