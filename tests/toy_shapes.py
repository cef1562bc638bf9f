"""Toy one-object scenes and a minimal one-click training loop for the MoPEFT unit tests."""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def scenes(count: int, size: int = 128, seed: int = 0, invert: bool = False):
    """`count` images (3, S, S float 0..255) with one bright disc or square, its mask and a click inside it.

    invert=True gives the shifted domain: dark objects on a bright background.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        img = np.zeros((size, size, 3), np.uint8) + rng.integers(0, 80, 3).astype(np.uint8)
        mask = np.zeros((size, size), np.uint8)
        c = tuple(int(v) for v in rng.integers(20, size - 20, 2))
        r = int(rng.integers(12, 28))
        if rng.random() < 0.5:
            cv2.circle(mask, c, r, 1, -1)
        else:
            cv2.rectangle(mask, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), 1, -1)
        img[mask > 0] = rng.integers(120, 255, 3)
        if invert:
            img = 255 - img
        ys, xs = np.nonzero(mask)
        k = len(ys) // 2
        click = torch.tensor([[[float(xs[k]), float(ys[k])]]])
        out.append((torch.from_numpy(img).permute(2, 0, 1).float(), torch.from_numpy(mask).float(), click))
    return out


def mask_logits(sam, image, click):
    """Single-mask logits at image resolution for one image and one positive click."""
    emb = sam.image_encoder(sam.preprocess(image[None]))
    sparse, dense = sam.prompt_encoder(points=(click, torch.ones(1, 1)), boxes=None, masks=None)
    low, _ = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                              sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                              multimask_output=False)
    return F.interpolate(low, size=image.shape[1:], mode="bilinear", align_corners=False)[0, 0]


def mean_iou(sam, data) -> float:
    """Mean IoU of the thresholded one-click masks against the true masks."""
    ious = []
    with torch.no_grad():
        for image, mask, click in data:
            pred, true = mask_logits(sam, image, click) > 0, mask > 0
            ious.append(((pred & true).sum() / (pred | true).sum().clamp(min=1)).item())
    return float(np.mean(ious))


def train(sam, data, steps: int, lr: float) -> None:
    """AdamW on every parameter that requires grad, BCE + dice on one image per step."""
    opt = torch.optim.AdamW([p for p in sam.parameters() if p.requires_grad], lr=lr)
    for step in range(steps):
        image, mask, click = data[step % len(data)]
        logits = mask_logits(sam, image, click)
        prob = torch.sigmoid(logits)
        dice = 1 - (2 * (prob * mask).sum() + 1) / (prob.sum() + mask.sum() + 1)
        loss = F.binary_cross_entropy_with_logits(logits, mask) + dice
        opt.zero_grad()
        loss.backward()
        opt.step()


def write_toy_project(folder, count: int = 5, seed: int = 11, invert: bool = True):
    """A project folder of `count` toy images, one accepted instance each: inverted (a domain the tiny SAM
    fails on), or with invert=False the domain it was trained on (it scores about 0.93 one-click mIoU there)."""
    from app.store import Project

    folder.mkdir()
    with Project.open(folder, create=True) as project:
        add_toy_scenes(project, folder, count, seed, invert)
    return folder


def add_toy_scenes(project, folder, count: int = 5, seed: int = 11, invert: bool = True) -> None:
    """Write `count` toy images into `folder` (the open `project`'s images folder, on any backend) and accept one
    instance on each (see `write_toy_project`)."""
    data = scenes(count, seed=seed, invert=invert)
    for i, (image, _, _) in enumerate(data):
        cv2.imwrite(str(folder / f"img{i}.png"), image.permute(1, 2, 0).numpy().astype(np.uint8)[:, :, ::-1])
    project.images.scan()
    label = project.labels.add("object")
    for i, (_, mask, _) in enumerate(data):
        project.instances.add(project.images.find(folder / f"img{i}.png").id, label.id, mask.numpy() > 0)
