"""`mopeft download`: fetch a SAM checkpoint (or any file by URL and sha256), with a progress bar on stderr.

Ctrl+C stops cleanly: the bytes received stay in `<file>.part` and the same command resumes them.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

_MB = 1_000_000


class TextProgress:
    """`progress(done, total)` callback drawing `[#####-----]  42%  157.3/375.0 MB` on one line of a stream."""

    def __init__(self, stream: TextIO, width: int = 30, interval: float = 0.1):
        self.stream, self.width, self.interval = stream, width, interval
        self._last = float("-inf")
        self._drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and done != total:
            return
        self._last = now
        if total:
            filled = self.width * done // total
            line = (f"[{'#' * filled}{'-' * (self.width - filled)}] {100 * done // total:3d}%  "
                    f"{done / _MB:.1f}/{total / _MB:.1f} MB")
        else:
            line = f"{done / _MB:.1f} MB"
        self.stream.write("\r" + line)
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the progress line, if one was drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def register(sub) -> None:
    p = sub.add_parser("download", help="download a SAM checkpoint, checked by sha256; resumes after an interruption",
                       description="Download an official SAM checkpoint by name, or any file with --url and "
                                   "--sha256. Ctrl+C keeps the part received; run the same command to resume.")
    p.add_argument("name", nargs="?", help="official checkpoint to fetch: vit_b, vit_l or vit_h (SAM 2.1's names "
                                          "are registered, their hashes not yet pinned)")
    p.add_argument("--url", help="download this URL instead of a named checkpoint (needs --sha256)")
    p.add_argument("--sha256", help="expected sha256 of the file at --url")
    p.add_argument("--size", type=int, help="expected size in bytes of the file at --url (optional)")
    p.add_argument("--out", type=Path, help="file or folder to save to (default: the checkpoint folder)")
    p.set_defaults(run=run)


def run(args) -> int:
    if bool(args.name) == bool(args.url):
        print("error: give a checkpoint name (vit_b, vit_l, vit_h) or --url with --sha256, not both",
              file=sys.stderr)
        return 2
    from app.sam.checkpoints import CHECKPOINTS
    from app.sam.download import DownloadError, download

    if args.name:
        info = CHECKPOINTS.get(args.name)
        if info is None or not info.url:
            known = ", ".join(name for name, entry in CHECKPOINTS.items() if entry.url)
            print(f"error: {args.name!r} is not a downloadable checkpoint; choose one of {known}", file=sys.stderr)
            return 2
        if info.sha256 is None:
            print(f"error: the sha256 of {info.name} ({info.url}) is not pinned in this version; download it with "
                  f"--url {info.url} --sha256 HEX --out {info.path}, HEX being the hash its publisher lists",
                  file=sys.stderr)
            return 2
        url, sha256, size, out = info.url, info.sha256, info.size, args.out or info.path
    else:
        if not args.sha256:
            print("error: --url needs --sha256, the expected hash of the file", file=sys.stderr)
            return 2
        url, sha256, size, out = args.url, args.sha256, args.size, args.out
    print(f"downloading {url}", file=sys.stderr)
    bar = TextProgress(sys.stderr)
    try:
        path = download(url, out, sha256, size, progress=bar)
    except KeyboardInterrupt:
        bar.close()
        print("cancelled; the part received is kept, run the same command to resume", file=sys.stderr)
        return 130
    except (DownloadError, ValueError, OSError) as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    bar.close()
    print(path)
    return 0
