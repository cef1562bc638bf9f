"""Downloads stay bounded against hostile servers on 127.0.0.1: endless bodies, trickles, odd redirects, links."""
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.cli.main import main
from app.sam.download import DownloadError, download

PAYLOAD = bytes(range(256)) * 64


class _HostileHandler(BaseHTTPRequestHandler):
    """/endless: no Content-Length, bytes until the client hangs up; /trickle: one byte every 20 ms;
    /to-file and /to-ftp: redirect to those schemes; /ok: the payload."""

    def do_GET(self):
        srv = self.server
        if self.path == "/ok":
            self._send(PAYLOAD)
        elif self.path in ("/to-file", "/to-ftp"):
            self.send_response(302)
            self.send_header("Location", srv.file_url if self.path == "/to-file" else "ftp://127.0.0.1:1/x.pth")
            self.end_headers()
        elif self.path == "/endless":
            self.send_response(200)
            self.end_headers()
            self._stream(PAYLOAD, pause=0)
        elif self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self._stream(b"x", pause=0.02)
        else:
            self.send_error(404)

    def _send(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, piece, pause):
        try:
            while not self.server.stopping.is_set():
                self.wfile.write(piece)
                self.wfile.flush()
                self.server.sent += len(piece)
                time.sleep(pause)
        except ConnectionError:  # the client stopped reading, as it must
            pass
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile(tmp_path):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _HostileHandler)
    srv.daemon_threads = True
    srv.stopping, srv.sent = threading.Event(), 0
    local = tmp_path / "local.pth"
    local.write_bytes(PAYLOAD)
    srv.file_url = local.as_uri()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.stopping.set()
    srv.shutdown()
    srv.server_close()


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_endless_body_stops_past_the_expected_size_and_keeps_nothing(hostile, tmp_path):
    final = tmp_path / "out" / "m.pth"
    with pytest.raises(DownloadError, match=f"more than the {len(PAYLOAD)} bytes expected"):
        download(hostile.base + "/endless", final, SHA, size=len(PAYLOAD), retries=0)
    assert not final.exists() and not final.with_name("m.pth.part").exists()


def test_endless_body_of_unknown_size_stops_at_the_byte_cap(hostile, tmp_path):
    final = tmp_path / "m.pth"
    with pytest.raises(DownloadError, match="more than the 100000 bytes expected"):
        download(hostile.base + "/endless", final, SHA, retries=0, max_bytes=100_000)
    assert not final.exists() and not (tmp_path / "m.pth.part").exists()


@pytest.mark.slow
def test_trickle_below_the_minimum_rate_stops_with_a_message_and_keeps_the_part(hostile, tmp_path):
    final = tmp_path / "m.pth"
    with pytest.raises(DownloadError, match="stalled .* bytes/s .* run again to resume"):
        download(hostile.base + "/trickle", final, SHA, retries=0, min_rate=10_000, rate_window=0.3)
    assert not final.exists()
    assert 0 < (tmp_path / "m.pth.part").stat().st_size < len(PAYLOAD)


@pytest.mark.slow
def test_trickle_past_the_overall_deadline_stops_with_a_message(hostile, tmp_path):
    with pytest.raises(DownloadError, match="not finished within 0.5 s"):
        download(hostile.base + "/trickle", tmp_path / "m.pth", SHA, retries=0, min_rate=0, deadline=0.5)
    assert not (tmp_path / "m.pth").exists()


@pytest.mark.parametrize("path, scheme", [("/to-file", "file://"), ("/to-ftp", "ftp://")])
def test_redirect_to_another_scheme_is_refused(hostile, tmp_path, path, scheme):
    final = tmp_path / "m.pth"
    with pytest.raises(DownloadError, match=f"redirects to {scheme}.*only http and https"):
        download(hostile.base + path, final, SHA, retries=0)
    assert not final.exists() and not (tmp_path / "m.pth.part").exists()


def test_a_url_that_is_not_http_is_refused_before_anything_is_read(hostile, tmp_path, capsys):
    final = tmp_path / "copy.pth"
    with pytest.raises(DownloadError, match="only http and https"):
        download(hostile.file_url, final, SHA)
    assert not final.exists()
    assert main(["download", "--url", hostile.file_url, "--sha256", SHA, "--out", str(final)]) == 1
    assert "only http and https" in capsys.readouterr().err and not final.exists()


def test_a_planted_part_link_is_not_written_through(hostile, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"the user's own file")
    final = tmp_path / "m.pth"
    (tmp_path / "m.pth.part").symlink_to(victim)
    with pytest.raises(DownloadError, match="symbolic link"):
        download(hostile.base + "/ok", final, SHA, retries=0)
    assert victim.read_bytes() == b"the user's own file" and not final.exists()


def test_a_well_behaved_server_still_downloads(hostile, tmp_path):
    final = download(hostile.base + "/ok", tmp_path / "m.pth", SHA, len(PAYLOAD), deadline=30)
    assert final.read_bytes() == PAYLOAD
