"""`mopeft bench loop`: the simulated annotator's counts, (d)'s choice of images, and a tiny run end to end."""
import argparse
import json
import shutil
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from app.bench import _loop_runs
from app.bench._loop_annotator import label_image
from app.bench._loop_runs import STRATEGIES, SeedRun, spearman
from app.cli.main import main
from app.metrics.dataset import EvalImage
from app.synth.scenes import eval_images, generate
from fixture_paths import TINY_SAM as FIXTURE

H = W = 32


def square(top: int, left: int, side: int = 8) -> np.ndarray:
    mask = np.zeros((H, W), dtype=bool)
    mask[top:top + side, left:left + side] = True
    return mask


@dataclass(frozen=True)
class Proposed:
    mask_: np.ndarray
    predicted_iou: float = 0.9
    stability: float = 0.96

    @property
    def area(self) -> int:
        return int(self.mask_.sum())

    def mask(self) -> np.ndarray:
        return self.mask_


class Oracle:
    """A predictor that answers any click with the ground-truth instance under the first point (or nothing)."""

    def __init__(self, truth):
        self.truth = truth

    def set_image(self, image):
        pass

    def predict(self, *, points, labels, mask_input, multimask):
        x, y = points[0].astype(int)
        found = [t for t in self.truth if t[y, x]]
        mask = found[0] if found else np.zeros((H, W), bool)
        n = 3 if multimask else 1
        return argparse.Namespace(masks=np.stack([mask] * n), scores=np.ones(n), low_res_logits=np.zeros((n, 8, 8)))


def test_accepting_rejecting_and_clicking_each_cost_their_actions():
    truth = [square(0, 0), square(16, 16), square(0, 20)]
    image = EvalImage("x", np.zeros((H, W, 3), np.uint8), truth, [1, 2, 3])
    shifted = square(1, 0)          # IoU 7/9 with the first instance: rejected
    proposals = [Proposed(truth[1]), Proposed(shifted), Proposed(truth[1].copy())]  # the duplicate is rejected
    done = label_image(Oracle(truth), image, proposals, max_clicks=20, scores={"s": 0.5})
    assert (done.accepted, done.rejected, done.clicks, done.failed) == (1, 2, 2, 0)
    assert done.actions == 1 + 2 + 2 and done.instances == 3 and done.scores == {"s": 0.5}
    assert done.masks[1] is truth[1] or np.array_equal(done.masks[1], truth[1])
    clicks_only = label_image(Oracle([]), image, None, max_clicks=5)   # never reaches the threshold
    assert (clicks_only.actions, clicks_only.failed, clicks_only.accepted) == (15, 3, 0)
    assert all(np.array_equal(m, t) for m, t in zip(clicks_only.masks, truth))   # taken as corrected


def test_spearman_ranks_with_ties_and_refuses_constant_input():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 3, 1]) == pytest.approx(-0.9486833)
    assert spearman([1, 1, 1], [1, 2, 3]) is None and spearman([1, 2], [2, 1]) is None


def _args(**overrides):
    values = dict(rounds=2, images_per_round=1, holdout=1, seeds=1, uncertainty="mean_doubt", auto_params={},
                  max_clicks=2, accepted_masks="proposal", steps=1, blocks="last:2", lr=None,
                  kind_lr={"lora": 0.3, "prefix": 10.0, "gate": 1.0}, adapter_dropout=0.5)
    return argparse.Namespace(**{**values, **overrides})


@pytest.mark.slow
def test_d_labels_the_most_uncertain_images_first_and_work_done_once_is_shared(tiny_sam, monkeypatch):
    images = eval_images(generate("cells", 5, 1, 128))
    doubt = {image.name: 0.0 for image in images}
    by_pixels = {image.rgb.tobytes(): image.name for image in images}
    calls = []

    def fake_propose(engine, rgb, params):
        name = by_pixels[rgb.tobytes()]
        calls.append(name)
        return [Proposed(np.zeros((128, 128), bool), predicted_iou=1 - doubt[name], stability=1.0)]

    monkeypatch.setattr(_loop_runs, "propose", fake_propose)
    run = SeedRun(tiny_sam, images, seed=0, args=_args(), log=lambda line: None)
    doubt.update({images[i].name: 0.1 * n for n, i in enumerate(run.pool)})   # the last in order is most uncertain
    result = run.run(STRATEGIES["d"], "lora")
    picked = [r["images"][0]["image"] for r in result["rounds"]]
    assert picked == [images[run.pool[-1]].name, images[run.pool[-2]].name]
    assert len(result["held_out"]) == 3 and all(r["finetune_seconds"] > 0 for r in result["rounds"])
    base_calls = len(calls)
    c = run.run(STRATEGIES["c"], "lora")   # its base-model proposals were made for (d) already
    assert len(calls) - base_calls == 3   # held out after rounds 1 and 2, and round 2's image, with c's models
    b = run.run(STRATEGIES["b"], "lora")   # (c) accepted nothing: it trained on (b)'s instances, so (b) reuses them
    assert [r["finetune_seconds"] for r in b["rounds"]] == [r["finetune_seconds"] for r in c["rounds"]]


@pytest.mark.slow
def test_tiny_run_writes_every_strategy_to_the_json_the_table_and_a_png(tmp_path, capsys):
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    assert main(["synth", "--domain", "cells", "--count", "3", "--seed", "1", "--size", "128",
                 "--out", str(tmp_path / "cells")]) == 0
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["bench", "loop", "--model", str(model), "--data", str(tmp_path / "cells" / "annotations.json"),
                 "--rounds", "2", "--images-per-round", "1", "--holdout", "1", "--seeds", "1", "--steps", "2",
                 "--blocks", "last:2", "--max-clicks", "2", "--points-per-side", "4", "--out", str(out)]) == 0
    report = json.loads((out / "loop.json").read_text())
    result = report["datasets"]["cells"]
    assert list(result["strategies"]) == ["a", "b/mopeft", "c/mopeft", "d/mopeft"]
    for entry in result["strategies"].values():
        assert len(entry["held_out"]) == 3 and len(entry["labelled"]) == 2
        assert all(s["mean"] > 0 for s in entry["held_out"])
        assert entry["strategy"] in "cd" or all(s["mean"] <= 2 for s in entry["held_out"])   # 2 clicks at most
        assert (entry["finetune_seconds"][0]["mean"] > 0) == (entry["strategy"] != "a")
    assert set(result["uncertainty"]) == {"mean_doubt", "area_doubt", "scarcity"}
    assert all(set(stat) == {"spearman", "spearman_clicks", "images"} for stat in result["uncertainty"].values())
    table = (out / "loop.md").read_text()
    assert table == capsys.readouterr().out
    for label in ("(a) clicks only", "(b) clicks", "(c) (b)", "(d) (c)"):
        assert label in table
    png = out / "loop-cells.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = cv2.imread(str(png))
    assert picture is not None and picture.shape[:2] == (400, 640)


@pytest.mark.slow
def test_too_few_images_and_unknown_strategies_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["bench", "loop", "--data", "a.json", "--strategies", "a,e", "--out", str(tmp_path)])
    assert "--strategies" in capsys.readouterr().err
    model = tmp_path / "tiny.pth"
    shutil.copy(FIXTURE, model)
    assert main(["synth", "--domain", "cells", "--count", "2", "--size", "64", "--out", str(tmp_path / "c")]) == 0
    assert main(["bench", "loop", "--model", str(model), "--data", str(tmp_path / "c" / "annotations.json"),
                 "--out", str(tmp_path / "out")]) == 1
    assert "13 images with instances needed" in capsys.readouterr().err


def test_proposals_use_what_the_app_proposes_with_for_the_model_unless_overridden():
    from app.bench.loop import proposal_params
    from app.services.proposing import params_for

    demo, sam = proposal_params("demo", {}), proposal_params("vit_b", {})
    assert demo == params_for("demo").to_dict() and (demo["pred_iou_thresh"], demo["points_per_side"]) == (0.5, 16)
    assert (sam["pred_iou_thresh"], sam["stability_score_thresh"]) == (0.88, 0.95)
    assert proposal_params("demo", {"pred_iou_thresh": 0.7})["pred_iou_thresh"] == 0.7
