"""The one call into app.autoseg that `mopeft auto` and `mopeft eval --auto` make (tests replace `propose`)."""
from __future__ import annotations


class Stopped(Exception):
    """The automatic segmentation was cancelled."""


def propose(engine, rgb, accepted=(), points_per_side: int | None = None, progress=None, cancel=None) -> list:
    """`app.autoseg.propose_instances` on one image with the default parameters (`points_per_side` replaced when
    given): its ProposedMask list, best predicted IoU first. Raises Stopped when `cancel()` stopped it."""
    from app.autoseg import AutoParams, ProposalsCancelled, propose_instances

    params = AutoParams() if points_per_side is None else AutoParams(points_per_side=points_per_side)
    try:
        return propose_instances(engine, rgb, params, accepted=tuple(accepted), progress=progress, cancel=cancel)
    except ProposalsCancelled as exc:
        raise Stopped(str(exc) or "cancelled") from exc
