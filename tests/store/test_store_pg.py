"""What only a project on PostgreSQL has: several writers at once, the images root (recorded, mapped per machine,
given), credentials kept out of URLs, and errors that name the database and the problem."""
import json

import numpy as np
import pytest
from PIL import Image as PILImage

from app.store import Project, ProjectNotFoundError, StoreError
from app.store.errors import ServerAuthError, ServerUnavailableError
from app.store.pg_throwaway import SUPERUSER


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "share" / "cells"
    folder.mkdir(parents=True)
    PILImage.new("RGB", (20, 10)).save(folder / "a.png")
    return folder


def test_two_writers_at_once_see_each_others_commits(pg_server, images):
    url = pg_server.new_database()
    with Project.open(url, create=True, images_root=images) as first, Project.open(url) as second:
        first.images.scan()
        label = second.labels.add("cell")
        mask = np.zeros((10, 20), bool)
        mask[2:5, 3:9] = True
        made = first.instances.add(1, label.id, mask)
        assert second.instances.get(made.id).area == 18
        assert first.created and not second.created and second.folder == images.resolve()


@pytest.mark.slow
def test_the_recorded_images_root_is_mapped_for_this_machine(pg_server, images, tmp_path, monkeypatch):
    url = pg_server.new_database()
    Project.open(url, create=True, images_root=images).close()
    elsewhere = tmp_path / "mounted" / "cells"        # the same share, mounted at another place here
    elsewhere.parent.mkdir()
    images.rename(elsewhere)
    with pytest.raises(ProjectNotFoundError, match=r"not on this machine.*images-roots\.json"):
        Project.open(url)
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    (config / "mopeft-annotator").mkdir(parents=True)
    (config / "mopeft-annotator" / "images-roots.json").write_text(json.dumps({str(images.parent): str(
        elsewhere.parent)}))
    with Project.open(url, readonly=True) as project:
        assert project.path_of("a.png") == elsewhere.resolve() / "a.png"
    with Project.open(url, readonly=True, images_root=elsewhere) as project:   # given: wins, and is not recorded
        assert project.folder == elsewhere.resolve()


def test_a_new_project_needs_its_images_root(pg_server):
    url = pg_server.new_database()
    with pytest.raises(ProjectNotFoundError, match="needs the folder of its images"):
        Project.open(url, create=True)
    with pytest.raises(ProjectNotFoundError, match="holds no MoPEFT project.*mopeft migrate"):
        Project.open(url)


@pytest.mark.slow
def test_passwords_in_urls_are_refused_without_repeating_them(images):
    for url in ("postgresql://me:s3cret@db.example/cells", "postgres://me@db.example/cells?password=s3cret"):
        with pytest.raises(StoreError, match="holds a password.*pgpass.*PGPASSWORD") as refused:
            Project.open(url, images_root=images)
        assert "s3cret" not in str(refused.value)


def test_errors_name_the_database_and_the_problem(pg_server, images):
    missing = pg_server.url("no_such_db")
    with pytest.raises(ProjectNotFoundError, match=r"no_such_db\?.*: the database does not exist.*createdb"):
        Project.open(missing, images_root=images)
    stranger = pg_server.url("postgres", user="nobody_here")
    with pytest.raises(ServerAuthError, match="nobody_here.*refused the login"):
        Project.open(stranger, images_root=images)
    down = f"postgresql://{SUPERUSER}@/cells?host={pg_server.folder}&port=1"
    with pytest.raises(ServerUnavailableError, match="port=1: cannot reach the database server"):
        Project.open(down, images_root=images)


@pytest.mark.slow
def test_an_adapter_version_without_a_checksum_is_not_loaded_from_a_shared_project(pg_server, images):
    url = pg_server.new_database()
    with Project.open(url, create=True, images_root=images) as project:
        path = project.adapters_dir / "v.safetensors"
        path.write_bytes(b"w")
        version = project.adapters.add(path, "demo", {}, {})
        with project._db.transaction() as writer:      # as a version recorded before schema step 5
            writer.execute("UPDATE adapter_versions SET sha256 = NULL WHERE id = ?", (version.id,))
        with pytest.raises(StoreError, match="records no checksum.*mopeft migrate"):
            project.adapters.file(project.adapters.get(version.id))
