"""The demo project folder: sample images copied in, or generated images while there are none."""
import pytest
from PIL import Image

from app.annotate.demo_project import prepare_demo_project
from app.store import Project


def test_samples_are_copied_and_existing_files_kept(tmp_path):
    samples = tmp_path / "samples"
    (samples / "images").mkdir(parents=True)
    Image.new("RGB", (8, 6), "red").save(samples / "images" / "one.png")
    categories = '{"categories": [{"id": 4, "name": "debris"}, {"id": 2, "name": "cell"}]}'
    (samples / "annotations.json").write_text(categories)
    folder = prepare_demo_project(tmp_path / "data", samples)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if ".mopeft" not in p.parts)
    assert files == ["images", "images/one.png"]
    with Project.open(folder) as project:
        assert [label.name for label in project.labels.list()] == ["cell", "debris"]
    Image.new("RGB", (8, 6), "blue").save(folder / "images" / "one.png")
    prepare_demo_project(tmp_path / "data", samples)
    assert Image.open(folder / "images" / "one.png").getpixel((0, 0)) == (0, 0, 255)


@pytest.mark.slow
def test_generated_images_when_there_are_no_samples(tmp_path):
    folder = prepare_demo_project(tmp_path / "data", tmp_path / "no-samples")
    files = sorted(p.name for p in folder.iterdir() if p.name != ".mopeft")
    assert files == [f"generated_{i:02d}.png" for i in range(1, 6)]
    assert Image.open(folder / files[0]).size == (480, 360)
