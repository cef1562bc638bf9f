"""Loading SAM 2.1: Meta's layout and transformers', registered names, refusals; a download from 127.0.0.1."""
import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from app.cli.main import main
from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS, CheckpointError, CheckpointInfo, load_sam
from app.sam2 import build_sam2, load_sam2
from sam2_layout import to_official


def _official_bytes(model) -> bytes:
    buf = io.BytesIO()
    torch.save({"model": to_official(model.state_dict())}, buf)
    return buf.getvalue()


def _embedding(model, x):
    with torch.no_grad():
        return model.get_image_embeddings(x)


@pytest.mark.slow
def test_meta_file_loads_into_the_same_model(tmp_path):
    source = build_sam2("sam2_tiny")
    path = tmp_path / "meta.pt"
    path.write_bytes(_official_bytes(source))
    loaded = load_sam2(path, device="cpu")
    assert loaded.arch == "sam2_tiny" and loaded.path == path
    x = torch.randn(1, 3, 128, 128)
    for a, b in zip(_embedding(source, x), _embedding(loaded.model, x)):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_transformers_layout_loads_and_other_files_are_refused(tmp_path):
    good = tmp_path / "hf.pt"
    torch.save(build_sam2("sam2_tiny").state_dict(), good)
    assert load_sam2(good, device="cpu").arch == "sam2_tiny"
    with pytest.raises(CheckpointError, match="sam2.1_hiera_t was asked for"):
        load_sam2(good, device="cpu", arch="sam2.1_hiera_t")
    state = torch.load(good)
    state["vision_encoder.backbone.blocks.0.attn.qkv.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match="NaN"):
        load_sam2(tmp_path / "nan.pt", device="cpu")
    del state["mask_decoder.iou_token.weight"]
    torch.save(state, tmp_path / "short.pt")
    with pytest.raises(CheckpointError, match="lacks mask_decoder.iou_token.weight"):
        load_sam2(tmp_path / "short.pt", device="cpu")
    from app.sam.variants import build_sam

    torch.save(build_sam("tiny").state_dict(), tmp_path / "sam1.pth")
    with pytest.raises(CheckpointError, match="not a SAM 2.1 checkpoint"):
        load_sam2(tmp_path / "sam1.pth", device="cpu")


def test_families_refuse_each_others_registered_names(tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    assert {n for n, i in CHECKPOINTS.items() if i.family == "sam2"} == {
        "sam2.1_hiera_t", "sam2.1_hiera_s", "sam2.1_hiera_b+", "sam2.1_hiera_l"}
    with pytest.raises(CheckpointError, match="load it with app.sam2.load_sam2"):
        load_sam("sam2.1_hiera_t", device="cpu")
    with pytest.raises(CheckpointError, match="load it with app.sam.load_sam"):
        load_sam2("vit_b", device="cpu")
    with pytest.raises(CheckpointError, match="mopeft download sam2.1_hiera_s"):
        load_sam2("sam2.1_hiera_s", device="cpu")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.payload
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def served_meta_file():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.payload = _official_bytes(build_sam2("sam2_tiny"))
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}/sam2.1_hiera_tiny.pt"
    srv.shutdown()
    srv.server_close()


@pytest.mark.slow
def test_registered_meta_file_downloads_and_loads_by_name(served_meta_file, tmp_path, monkeypatch, capsys):
    srv, url = served_meta_file
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    sha = hashlib.sha256(srv.payload).hexdigest()
    monkeypatch.setitem(CHECKPOINTS, "sam2_tiny", CheckpointInfo(
        "sam2_tiny", "sam2_tiny", "sam2.1_hiera_tiny.pt", url, sha, len(srv.payload), family="sam2"))
    assert main(["download", "sam2_tiny"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "sam2.1_hiera_tiny.pt")
    assert load_sam2("sam2_tiny", device="cpu").arch == "sam2_tiny"


def test_download_refuses_a_name_whose_hash_is_not_pinned(capsys):
    if CHECKPOINTS["sam2.1_hiera_t"].sha256 is not None:
        pytest.skip("the hash is pinned")
    assert main(["download", "sam2.1_hiera_t"]) == 2
    assert "--sha256" in capsys.readouterr().err
