"""Synthetic annotated scenes: the in-domain `shapes` generator and out-of-domain ones (cells, texture, camouflage)."""
from app.synth.scenes import DOMAINS, Scene, eval_images, generate, make_scene

__all__ = ["DOMAINS", "Scene", "eval_images", "generate", "make_scene"]
