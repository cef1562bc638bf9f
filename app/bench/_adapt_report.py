"""What `mopeft bench adapt` writes: the markdown tables and a gate heatmap PNG per dataset (OpenCV, no Qt)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.mopeft import KIND_REGISTRY, gate_matrix
from app.mopeft.kinds.bottleneck import DROPOUT_FROM


def config_name(config: str) -> str:
    """A configuration's name in the tables: "MoPEFT", or "<kind> only" ("Prefix only")."""
    return "MoPEFT" if config == "mopeft" else f"{KIND_REGISTRY[config].label} only" if config in KIND_REGISTRY \
        else config


def _pm(stat: dict, digits: int) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _scales(kind_lr: dict | None) -> str:
    return ", ".join(f"{kind} {scale:g}x" for kind, scale in kind_lr.items()) if kind_lr else "default"


def _dropout(report: dict) -> str:
    p = report.get("adapter_dropout")
    return f", adapter dropout {p:g} after the first {DROPOUT_FROM:.0%} of the steps" if p else ""


def _kept(report: dict) -> str:
    if not report.get("holdout"):
        return ""
    return (f", weights kept from the step (every {report['select_every']}) scoring best on the last "
            f"{report['holdout']} training images, held out")


def markdown(report: dict) -> str:
    """The results table (one row per dataset and configuration) and the gate table of MoPEFT per dataset."""
    lines = [f"`{report['model']}` on {report['device']}, {report['steps']} steps, blocks {report['blocks']}, "
             f"{report['seeds']} seed(s), learning-rate scales {_scales(report.get('kind_lr'))}"
             f"{_dropout(report)}{_kept(report)}; "
             "1-click mIoU (higher is better) and NoC@85 (lower is better) on each dataset's test file, mean ± std "
             "over seeds.", "",
             "| dataset | configuration | 1-click mIoU | NoC@85 | trainable parameters | training time (s) |",
             "|---|---|---|---|---|---|"]
    for name, result in report["datasets"].items():
        zero = result["zero_shot"]
        lines.append(f"| {name} | zero-shot | {zero['miou_1click']:.3f} | {zero['noc85']:.2f} | 0 | 0 |")
        best = max(result["configs"], key=lambda c: result["configs"][c]["miou_1click"]["mean"])
        for config, r in result["configs"].items():
            label = config_name(config) + (" **(best)**" if config == best else "")
            lines.append(f"| {name} | {label} | {_pm(r['miou_1click'], 3)} | {_pm(r['noc85'], 2)} | "
                         f"{r['trainable']:,} | {r['seconds']['mean']:.0f} |")
    gated = {name: r["gates"] for name, r in report["datasets"].items() if r.get("gates")}
    if gated:
        lines += ["", "Mean MoPEFT gate per kind (averaged over blocks and test images; per block in the heatmaps):",
                  "", "| dataset | " + " | ".join(_kinds(gated)) + " | favoured |",
                  "|---|" + "---|" * (len(_kinds(gated)) + 1)]
        for name, gates in gated.items():
            means = kind_means(gates)
            lines.append(f"| {name} | " + " | ".join(f"{means.get(k, float('nan')):.3f}" for k in _kinds(gated))
                         + f" | {max(means, key=means.get)} |")
    return "\n".join(lines) + "\n"


def kind_means(gates: dict[str, dict[str, float]]) -> dict[str, float]:
    """Mean gate of each kind over the blocks."""
    _, kinds, values = gate_matrix(gates)
    return {kind: float(np.nanmean(values[:, j])) for j, kind in enumerate(kinds)}


def _kinds(gated: dict) -> list[str]:
    kinds: list[str] = []
    for gates in gated.values():
        kinds += [k for k in gate_matrix(gates)[1] if k not in kinds]
    return kinds


def gate_heatmap_png(gates: dict[str, dict[str, float]], title: str, path: Path, cell=(90, 30)) -> Path:
    """A blocks x kinds heatmap of gate values (viridis, 0 to 1) with the value in each cell, as a PNG."""
    blocks, kinds, values = gate_matrix(gates)
    cw, ch = cell
    left, top = 110, 60
    image = np.full((top + ch * len(blocks) + 10, left + cw * len(kinds) + 10, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, title, (8, 22), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    scale = np.clip(np.nan_to_num(values, nan=0.0) * 255, 0, 255).astype(np.uint8)
    colours = cv2.applyColorMap(scale, cv2.COLORMAP_VIRIDIS)
    for j, kind in enumerate(kinds):
        cv2.putText(image, kind, (left + j * cw + 8, top - 10), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, block in enumerate(blocks):
        y = top + i * ch
        cv2.putText(image, block.replace("blocks.", "block "), (8, y + ch - 10), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        for j in range(len(kinds)):
            x = left + j * cw
            if np.isnan(values[i, j]):
                continue
            colour = tuple(int(c) for c in colours[i, j])
            cv2.rectangle(image, (x, y), (x + cw - 2, y + ch - 2), colour, -1)
            ink = (0, 0, 0) if values[i, j] > 0.6 else (255, 255, 255)
            cv2.putText(image, f"{values[i, j]:.2f}", (x + 20, y + ch - 10), font, 0.5, ink, 1, cv2.LINE_AA)
    path = Path(path)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: could not write the heatmap")
    return path
