"""Checkpoint downloads end to end against a local HTTP server with Range support (127.0.0.1 only)."""
import hashlib
import io
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from app.cli.main import main
from app.sam.checkpoints import CHECKPOINT_DIR_ENV, CHECKPOINTS, CheckpointInfo, load_sam
from app.sam.download import ChecksumMismatch, DownloadCancelled, DownloadError, download
from app.sam.variants import build_sam


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves the payload at /sam_tiny.pth, honours `Range: bytes=N-` unless told not to, can cut the first reply."""

    def do_GET(self):
        srv = self.server
        if self.path != "/sam_tiny.pth":
            self.send_error(404)
            return
        body = srv.payload
        match = not srv.ignore_range and re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(match.group(1)) if match else 0
        rest = body[start:]
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        sent = rest[: srv.cut_first_after] if srv.cut_first_after is not None and not srv.log else rest
        try:
            self.wfile.write(sent)
        except ConnectionError:  # the client hung up early, as it does on a wrong size
            sent = b""
        srv.log.append((self.headers.get("Range"), len(sent)))
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def payload():
    buf = io.BytesIO()
    torch.save(build_sam("tiny").state_dict(), buf)
    return buf.getvalue()


@pytest.fixture
def server(payload):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    srv.payload, srv.log, srv.cut_first_after, srv.ignore_range = payload, [], None, False
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/sam_tiny.pth"
    yield srv
    srv.shutdown()
    srv.server_close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_download_verifies_reports_progress_and_loads(server, payload, tmp_path):
    seen = []
    path = download(server.url, tmp_path / "m.pth", _sha(payload), len(payload),
                    progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == payload
    assert not (tmp_path / "m.pth.part").exists()
    assert seen[-1] == (len(payload), len(payload))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert load_sam(path, device="cpu").arch == "tiny"


def test_dropped_connection_is_resumed_with_a_range_request(server, payload, tmp_path):
    half = len(payload) // 2
    server.cut_first_after = half
    path = download(server.url, tmp_path, _sha(payload), len(payload), retry_wait=0)
    assert path == tmp_path / "sam_tiny.pth"
    assert path.read_bytes() == payload
    assert server.log == [(None, half), (f"bytes={half}-", len(payload) - half)]


def test_server_without_range_support_sends_the_whole_file_again(server, payload, tmp_path):
    server.cut_first_after, server.ignore_range = 1000, True
    path = download(server.url, tmp_path / "m.pth", _sha(payload), retry_wait=0)
    assert path.read_bytes() == payload
    assert server.log == [(None, 1000), ("bytes=1000-", len(payload))]


def test_corrupted_transfer_is_refused_and_leaves_nothing(server, payload, tmp_path):
    server.payload = payload[:-100] + bytes(100)
    final = tmp_path / "m.pth"
    with pytest.raises(ChecksumMismatch) as exc:
        download(server.url, final, _sha(payload))
    message = str(exc.value)
    assert str(final) in message and _sha(payload) in message and _sha(server.payload) in message
    assert not final.exists() and not (tmp_path / "m.pth.part").exists()


def test_cancel_keeps_the_part_and_the_next_call_resumes(server, payload, tmp_path):
    stop = threading.Event()
    final = tmp_path / "m.pth"

    def progress(done, total):
        if done > 0:
            stop.set()

    with pytest.raises(DownloadCancelled):
        download(server.url, final, _sha(payload), progress=progress, cancel=stop)
    part = tmp_path / "m.pth.part"
    kept = part.stat().st_size
    assert not final.exists() and 0 < kept < len(payload)
    assert download(server.url, final, _sha(payload)).read_bytes() == payload
    assert server.log[-1] == (f"bytes={kept}-", len(payload) - kept)


def test_verified_file_already_in_place_is_not_fetched_again(server, payload, tmp_path):
    final = tmp_path / "m.pth"
    final.write_bytes(payload)
    assert download(server.url, final, _sha(payload), len(payload)) == final
    assert server.log == []


def test_http_error_and_wrong_size_and_unreachable_server_fail_clearly(server, payload, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url.replace("sam_tiny", "missing"), tmp_path / "a.pth", _sha(payload))
    with pytest.raises(DownloadError, match=f"offers {len(payload)} bytes, expected 10"):
        download(server.url, tmp_path / "b.pth", _sha(payload), size=10)
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(DownloadError, match="cannot reach the server"):
        download(f"http://127.0.0.1:{port}/x.pth", tmp_path / "c.pth", _sha(payload), retries=0)
    with pytest.raises(ValueError, match="64 hexadecimal"):
        download(server.url, tmp_path / "d.pth", "abc")


@pytest.fixture
def tiny_registered(server, payload, tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINT_DIR_ENV, str(tmp_path))
    info = CheckpointInfo("tiny", "tiny", "sam_tiny.pth", server.url, _sha(payload), len(payload))
    monkeypatch.setitem(CHECKPOINTS, "tiny", info)
    return info


@pytest.mark.slow
def test_cli_downloads_a_registered_checkpoint_with_a_progress_bar(tiny_registered, tmp_path, capsys):
    assert main(["download", "tiny"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / "sam_tiny.pth")
    assert "100%" in err and "[" + "#" * 30 + "]" in err
    assert load_sam("tiny", device="cpu").arch == "tiny"


def test_cli_downloads_by_url_and_hash(server, payload, tmp_path, capsys):
    out_file = tmp_path / "by_url.pth"
    assert main(["download", "--url", server.url, "--sha256", _sha(payload), "--out", str(out_file)]) == 0
    assert out_file.read_bytes() == payload
    assert main(["download", "--url", server.url, "--sha256", "0" * 64, "--out", str(tmp_path / "x.pth")]) == 1
    assert "expected " + "0" * 64 in capsys.readouterr().err
    assert main(["download", "--url", server.url]) == 2


def test_cli_ctrl_c_keeps_the_part_for_resume(tiny_registered, tmp_path, monkeypatch, capsys):
    def interrupt(self, done, total):
        if done:
            raise KeyboardInterrupt

    monkeypatch.setattr("app.cli.download.TextProgress.__call__", interrupt)
    assert main(["download", "tiny"]) == 130
    assert "resume" in capsys.readouterr().err
    assert (tmp_path / "sam_tiny.pth.part").stat().st_size > 0
    assert not (tmp_path / "sam_tiny.pth").exists()
