"""Automatic segmentation, Qt-free: propose every instance of an image with the active SAM (issue 21)."""
from app.autoseg.generator import ProposalsCancelled, outside_accepted, propose_instances
from app.autoseg.params import AutoParams
from app.autoseg.proposal import ProposedMask

__all__ = ["AutoParams", "ProposalsCancelled", "ProposedMask", "outside_accepted", "propose_instances"]
