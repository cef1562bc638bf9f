"""Fine-tuning on a large image: crops of the model's side at full resolution around the accepted instances
(every instance whole in some crop, pixels and masks cut out alike, the image's name kept for the split), and a
run through the service on a project holding a large image trains on such crops."""
import pytest
import cv2
import numpy as np

from app.metrics.dataset import EvalImage
from app.mopeft import MoPEFTConfig
from app.services.training_run import FineTuneRun
from app.store.project import Project
from app.training.finetune.crops import as_crops_if_large, crop_examples
from app.training.finetune.examples import collect_examples
from app.training.finetune.events import StepEvent
from app.training.finetune.settings import TrainSettings


def disc(shape, x, y, r):
    mask = np.zeros(shape, np.uint8)
    cv2.circle(mask, (x, y), r, 1, -1)
    return mask.astype(bool)


def large_example():
    shape = (900, 1200)
    rgb = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    masks = [disc(shape, 100, 100, 30), disc(shape, 160, 150, 20), disc(shape, 1000, 700, 40),
             np.pad(np.ones((300, 20), bool), ((300, 300), (580, 600)))]   # 300 px tall: more than a crop
    return EvalImage("big.png", rgb, masks, [11, 12, 13, 14])


def test_every_instance_is_whole_in_a_crop_of_the_model_side():
    example = large_example()
    crops = crop_examples(example, 128)
    assert sorted(i for c in crops for i in c.instance_ids) == [11, 12, 13, 14]   # each once
    assert len(crops) == 3   # the two near discs share a crop
    for crop in crops:
        assert crop.name == "big.png" and crop.rgb.shape == (128, 128, 3)
        # the crop's pixels are the image's at full resolution: find where it was cut
        ys, xs = np.nonzero((example.rgb[:, :, 0] == crop.rgb[0, 0, 0]))
        origin = next((x, y) for y, x in zip(ys, xs) if np.array_equal(example.rgb[y:y + 128, x:x + 128], crop.rgb))
        for i, mask in zip(crop.instance_ids, crop.masks):
            full = example.masks[example.instance_ids.index(i)]
            x, y = origin
            np.testing.assert_array_equal(mask, full[y:y + 128, x:x + 128])
            if i != 14:
                assert mask.sum() == full.sum()   # whole
    (tall,) = [c for c in crops if c.instance_ids == [14]]
    assert tall.masks[0].sum() == 128 * 20   # cut at the crop's edges, centred on it


def test_only_large_images_are_cropped():
    small = EvalImage("small.png", np.zeros((200, 250, 3), np.uint8), [disc((200, 250), 50, 50, 10)], [1])
    assert as_crops_if_large(small, 128) == [small]
    assert len(as_crops_if_large(large_example(), 128)) == 3


@pytest.mark.slow
def test_a_run_on_a_project_with_a_large_image_trains_on_its_crops(tmp_path, tiny_sam):
    folder = tmp_path / "proj"
    folder.mkdir()
    example = large_example()
    cv2.imwrite(str(folder / "big.png"), example.rgb[:, :, ::-1])
    small = np.full((100, 120, 3), 40, np.uint8)
    cv2.imwrite(str(folder / "small.png"), small)
    settings = TrainSettings(MoPEFTConfig(blocks="last:2"), steps=2, lr=1e-2)
    with Project.open(folder, create=True) as project:
        project.images.scan()
        label = project.labels.add("cell")
        big = project.images.find("big.png")
        for mask in example.masks:
            project.instances.add(big.id, label.id, mask)
        project.instances.add(project.images.find("small.png").id, label.id, disc((100, 120), 50, 50, 15))
        examples, _ = collect_examples(project, crop_side=128)
        assert sorted(e.rgb.shape[:2] for e in examples) == [(100, 120)] + [(128, 128)] * 3
        events = []
        run = FineTuneRun.begin(project, "tiny-fixture", settings)
        outcome = run.run(tiny_sam, on_event=events.append, project=project)
        run.finish(project, outcome, "always")
    assert len([e for e in events if isinstance(e, StepEvent)]) == 2
    assert outcome.train_images + outcome.validation_images == 4   # three crops and the small image
