"""`mopeft bench export`: export time and memory on a generated project (default 1,000 images x 20 instances)."""
from __future__ import annotations

import multiprocessing
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

try:
    import resource          # POSIX; Windows has no ru_maxrss, and the RSS column says n/a there
except ImportError:
    resource = None


def register(sub) -> None:
    p = sub.add_parser("export", help="COCO (RLE, polygons) and PNG export time and peak memory on a generated project")
    p.add_argument("--images", type=int, default=1000, help="images in the generated project")
    p.add_argument("--instances", type=int, default=20, help="instances per image")
    p.add_argument("--size", default="640x480", help="image width x height")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each export (the median is shown)")
    p.set_defaults(run=run)


def _generate(folder: Path, n_images: int, per_image: int, width: int, height: int, rows: list) -> None:
    """Placeholder PNGs (unique content, so unique hashes) and random ellipses, every 10th a ring with a hole."""
    import cv2
    import numpy as np

    from app.store import InstanceSource, Project

    rng = np.random.default_rng(0)
    for n in range(n_images):
        pixels = np.zeros((height, width), np.uint8)
        pixels[0, :8] = np.frombuffer(n.to_bytes(8, "little"), np.uint8)
        cv2.imwrite(str(folder / f"img_{n:05d}.png"), pixels)
    with Project.open(folder, create=True) as project:
        start = time.perf_counter()
        project.images.scan()
        rows.append((f"scan {n_images} images (size + SHA-256)", f"{time.perf_counter() - start:.2f} s", "", "", ""))
        labels = [project.labels.add(name).id for name in ("cell", "nucleus", "debris")]
        canvas = np.zeros((height, width), np.uint8)

        def random_mask(k: int) -> np.ndarray:
            canvas[:] = 0
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            axes = (int(rng.integers(4, 60)), int(rng.integers(4, 60)))
            cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
            if k % 10 == 0:
                cv2.ellipse(canvas, centre, (axes[0] // 2, axes[1] // 2), 0, 0, 360, 0, -1)
            return canvas.astype(bool)

        start = time.perf_counter()
        with project.transaction():
            for image in project.images.list():
                for k in range(per_image):
                    project.instances.add(image.id, labels[k % 3], random_mask(k), InstanceSource.CORRECTED)
        total = n_images * per_image
        rows.append((f"add {total} instances in one transaction", f"{time.perf_counter() - start:.2f} s", "", "", ""))
        first = project.images.list()[0].id
        added, start = [], time.perf_counter()
        for k in range(100):
            added.append(project.instances.add(first, labels[0], random_mask(1)).id)
        per_add = (time.perf_counter() - start) / 100
        rows.append(("add 1 instance, own transaction (what the GUI does)", f"{per_add * 1000:.1f} ms", "", "", ""))
        with project.transaction():
            for instance_id in added:
                project.instances.delete(instance_id)


def _measure(fn, repeat: int) -> tuple[float, float]:
    """Median seconds over `repeat` runs, then the peak traced memory (MiB) of one more run."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def _in_fresh_process(fn, project_dir: Path, *args, create: bool = False) -> tuple[object, float, str]:
    """Run `fn(project, *args)` once in a new Python process: its result, seconds, and its peak RSS growth (MiB).

    ru_maxrss only ever rises over a process's life, so each step gets a process of its own; the growth is
    ru_maxrss after the step minus ru_maxrss before it, once imports are done and the project is open.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result, seconds, growth = pool.submit(_run_measured, fn, project_dir, create, *args).result()
    return result, seconds, "n/a" if growth is None else f"{growth:.1f}"


def _run_measured(fn, project_dir: Path, create: bool, *args) -> tuple[object, float, float | None]:
    from app.store import Project

    with Project.open(project_dir, create=create, readonly=not create) as project:
        before = _max_rss_mib()
        start = time.perf_counter()
        result = fn(project, *args)
        seconds = time.perf_counter() - start
        after = _max_rss_mib()
    return result, seconds, None if before is None else after - before


def _max_rss_mib() -> float | None:
    """The process's peak resident memory so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def run(args) -> int:
    from app.coco.export import export_coco
    from app.coco.importer import import_coco
    from app.coco.png_export import export_png
    from app.store import Project

    width, height = (int(v) for v in args.size.lower().split("x"))
    workdir = Path(tempfile.mkdtemp(prefix="mopeft-bench-export-"))
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        project_dir = workdir / "project"
        project_dir.mkdir()
        start = time.perf_counter()
        _generate(project_dir, args.images, args.instances, width, height, rows)
        rows.insert(0, ("generate the project, in all", f"{time.perf_counter() - start:.1f} s", "", "", ""))
        out = workdir / "out"
        out.mkdir()
        with Project.open(project_dir, readonly=True) as project:
            for name, polygons in (("RLE", False), ("polygons", True)):
                path = out / f"{name}.json"
                result = []
                seconds, peak = _measure(lambda: result.append(export_coco(project, path, polygons)), args.repeat)
                rss = _in_fresh_process(export_coco, project_dir, path, polygons)[2]
                note = f"{path.stat().st_size / 2**20:.1f} MiB file"
                if polygons:
                    note += f"; {len(result[-1].kept_as_rle)} with holes kept as RLE"
                rows.append((f"export COCO, {name}", f"{seconds:.2f} s", f"{peak:.1f}", rss, note))
            seconds, peak = _measure(lambda: export_png(project, out / "png"), 1)
            rss = _in_fresh_process(export_png, project_dir, out / "png")[2]
            rows.append(("export PNG masks", f"{seconds:.2f} s", f"{peak:.1f}", rss,
                         "instance + semantic PNG per image"))
        shutil.move(project_dir / ".mopeft", workdir / "first-project")
        done, seconds, rss = _in_fresh_process(import_coco, project_dir, out / "RLE.json", create=True)
        rows.append(("import the RLE file into a new project", f"{seconds:.2f} s", "", rss,
                     f"{done.annotations_added} annotations added, {done.duplicates_skipped} identical ones "
                     f"skipped, {done.images_added} images hashed"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    total = args.images * args.instances
    print(f"export benchmark: {args.images} images x {args.instances} instances = {total} instances, "
          f"{width}x{height} images, median of {args.repeat} runs; peak traced = tracemalloc peak of one more run; "
          "RSS growth = how far one more run, alone in a fresh process (imports done, project open), raised that "
          "process's peak resident memory (ru_maxrss)")
    print("| step | time | peak traced memory (MiB) | peak RSS growth (MiB) | notes |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0
