"""TileRequests: a newer view's requests replace an older one's, in the order asked and at most `limit`; a tile
taken and not yet received is not asked for twice; closing wakes a waiting decoder."""
import threading

from app.tiles.tile_requests import TileRequest, TileRequests


def _row(level, *xs):
    return [TileRequest(level, (x, 0, x + 512, 512)) for x in xs]


def _taken(requests, count):
    return [requests.take().key for _ in range(count)]


def test_a_newer_view_drops_the_requests_of_an_older_one():
    requests = TileRequests(limit=3)
    requests.want(_row(0, 0, 512, 1024))
    requests.want(_row(0, 4096, 4608, 5120, 5632))
    assert _taken(requests, 3) == [(0, 4096, 0), (0, 4608, 0), (0, 5120, 0)]   # the old view's are gone; limit 3
    requests.want(_row(1, 0))
    assert _taken(requests, 1) == [(1, 0, 0)]


def test_a_taken_tile_is_not_asked_for_again_until_received():
    requests = TileRequests(limit=8)
    requests.want(_row(0, 0, 512))
    assert _taken(requests, 1) == [(0, 0, 0)]
    requests.want(_row(0, 0, 512))          # a paint before the tile reached the canvas
    assert _taken(requests, 1) == [(0, 512, 0)]
    requests.received((0, 0, 0))            # evicted later: it may be asked for again
    requests.want(_row(0, 0))
    assert _taken(requests, 1) == [(0, 0, 0)]


def test_close_wakes_a_waiting_decoder_and_drops_what_waits():
    requests = TileRequests(limit=8)
    got = []
    decoder = threading.Thread(target=lambda: got.append(requests.take()))
    decoder.start()
    requests.close()
    decoder.join(timeout=30)
    assert not decoder.is_alive() and got == [None]
    requests.want(_row(0, 0))
    assert requests.take() is None
