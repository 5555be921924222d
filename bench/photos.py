"""Benchmark: photo normalisation (issue 17 point 7), the part before any storage.

    .venv/bin/python bench/photos.py [--count 1000] [--workers N] [--dir PATH] [--keep]

`--count` phone-sized pictures (3000 × 4000 JPEG, about 2-3 MB each like a phone's: a drawn
head on a blue-ish background, varied in place, size and colour, with sensor-like noise so
the files are as heavy to decode as real ones; every 10th a PNG, every 5th stored turned with
EXIF orientation 6 or 8) are generated ONCE into a temporary directory (timed on its own),
then:

* all of them are normalised by a process pool over every core (`--workers`, default
  os.cpu_count()), reading each file from disk: photos per second, wall clock;
* 50 of them one after another in this process: the single-photo latency (read + normalise),
  p50/p95 wall and CPU. Target of point 7: the upload-to-result p95 ≤ 1 s; the brief for
  normalise.py aims at well under 50 ms of CPU for a 3000 × 4000 JPEG.

No database and no services: normalise.py is pure. The end-to-end ZIP import (dry run and
store, target ≥ 20 photos/s) is measured on top of this by the photos app's part of the
script; `make_images(dir, count)` stays importable for it. Figures are printed as a table for
bench/RESULTS.md; there is no pass/fail exit status.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from bench import benchdb  # noqa: E402 - needs the sys.path entries above

SAMPLES = 50
PHONE = (3000, 4000)
_NOISE_SIDE = 1024


def _noise(seed: int) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.normal(0, 7, size=(_NOISE_SIDE, _NOISE_SIDE, 3)).astype(np.int16)


def make_image(path: Path, index: int) -> Path:
    """One phone-like picture; the same `index` always gives the same file."""
    import random

    import numpy as np
    from PIL import Image

    from tenant_apps.registry.photos.tests import images

    rnd = random.Random(index)
    background = (
        rnd.randint(140, 200),
        rnd.randint(180, 220),
        rnd.randint(220, 250),
    )
    face = (rnd.uniform(0.4, 0.6), rnd.uniform(0.35, 0.5), rnd.uniform(0.25, 0.4))
    # Drawn at a quarter and enlarged: as soft as a phone lens, 16× cheaper to draw.
    small = images.portrait((PHONE[0] // 4, PHONE[1] // 4), background=background, faces=(face,))
    big = np.asarray(small.resize(PHONE, Image.Resampling.BICUBIC), dtype=np.int16)
    noise = _noise(index % 7)
    oy, ox = rnd.randrange(_NOISE_SIDE), rnd.randrange(_NOISE_SIDE)
    tiled = np.roll(noise, (oy, ox), axis=(0, 1))
    reps = (-(-PHONE[1] // _NOISE_SIDE), -(-PHONE[0] // _NOISE_SIDE), 1)
    big += np.tile(tiled, reps)[: PHONE[1], : PHONE[0]]
    img = Image.fromarray(big.clip(0, 255).astype(np.uint8), "RGB")
    if index % 10 == 9:
        target = path.with_suffix(".png")
        target.write_bytes(images.encode(img, "PNG", compress_level=1))
        return target
    orientation = {0: 6, 5: 8}.get(index % 10, 1) if index % 5 == 0 else 1
    target = path.with_suffix(".jpg")
    target.write_bytes(images.encode(img, orientation=orientation, quality=92))
    return target


def _make_one(args: tuple[str, int]) -> str:
    folder, index = args
    return str(make_image(Path(folder) / f"photo-{index:05d}", index))


def make_images(directory: Path, count: int, *, workers: int | None = None) -> list[Path]:
    """`count` phone-sized pictures in `directory`, generated over every core."""
    directory.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        done = pool.map(_make_one, [(str(directory), i) for i in range(count)], chunksize=4)
        return [Path(p) for p in done]


def _normalise_file(path: str) -> tuple[int, int, float]:
    """(bytes out, warnings, CPU seconds) for one file read from disk."""
    from tenant_apps.registry.photos.normalise import normalise

    start = time.process_time()
    result = normalise(Path(path).read_bytes())
    return len(result.jpeg), len(result.warnings), time.process_time() - start


def _warm() -> None:
    # Import cv2/Pillow and load the cascade before the clock starts, in every worker.
    from tenant_apps.registry.photos import normalise

    normalise._cascade()


def run(count: int, workers: int, directory: Path) -> None:
    print(f"generating {count} pictures in {directory} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    paths = make_images(directory, count, workers=workers)
    generate_s = time.perf_counter() - t0
    sizes = [p.stat().st_size for p in paths]

    print(f"normalising them over {workers} processes ...", file=sys.stderr, flush=True)
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm) as pool:
        list(pool.map(_warm_task, range(workers)))  # start every worker before timing
        t0 = time.perf_counter()
        results = list(pool.map(_normalise_file, [str(p) for p in paths], chunksize=8))
        pool_s = time.perf_counter() - t0

    print(f"{SAMPLES} single photos one after another ...", file=sys.stderr, flush=True)
    _warm()
    wall, cpu = [], []
    for path in paths[:SAMPLES]:
        t0, c0 = time.perf_counter(), time.process_time()
        _normalise_file(str(path))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)

    jpeg_sizes = [r[0] for r in results]
    warned = sum(1 for r in results if r[1])
    pool_cpu = [r[2] for r in results]
    load = os.getloadavg()
    mem_kb = benchdb.proc_field("/proc/meminfo", "MemTotal")
    memory = f"{int(mem_kb.split()[0]) / 1024 / 1024:.1f} GiB" if mem_kb else "?"
    lines = [
        f"| photos | {count:,} ({sum(p.suffix == '.png' for p in paths)} PNG, "
        f"{len(range(0, count, 5))} EXIF-turned), {statistics.mean(sizes) / 1e6:.1f} MB mean |",
        "|---|---|",
        f"| generating them (once, {workers} processes) | {generate_s:.1f} s |",
        f"| normalising all, {workers} processes | {pool_s:.2f} s = "
        f"**{count / pool_s:.1f} photos/s** |",
        f"| CPU per photo in the pool, p50 / p95 | {statistics.median(pool_cpu) * 1000:.0f} / "
        f"{benchdb.percentile(pool_cpu, 0.95) * 1000:.0f} ms |",
        f"| single photo (read + normalise), {SAMPLES} in a row, p50 / p95 wall | "
        f"{statistics.median(wall) * 1000:.0f} / {benchdb.percentile(wall, 0.95) * 1000:.0f} ms "
        "(target p95 ≤ 1 s) |",
        f"| single photo CPU, p50 / p95 | {statistics.median(cpu) * 1000:.0f} / "
        f"{benchdb.percentile(cpu, 0.95) * 1000:.0f} ms |",
        f"| national files | {statistics.mean(jpeg_sizes) / 1024:.1f} KB mean, "
        f"{max(jpeg_sizes) / 1024:.1f} KB max; {warned} with a warning |",
        f"| load average (1/5/15 min) | {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} |",
        f"| cpus | {os.cpu_count()} |",
        f"| cpu | {benchdb.proc_field('/proc/cpuinfo', 'model name') or platform.processor()} |",
        f"| memory | {memory} |",
        f"| python | {platform.python_version()} |",
        f"| date_utc | {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} |",
    ]
    print("\n".join(lines), flush=True)


def _warm_task(_: int) -> None:
    time.sleep(0.05)  # long enough that every worker process gets one


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Photo normalisation benchmark.")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, help="where to generate (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated pictures")
    args = parser.parse_args(argv)
    if args.count < SAMPLES:
        parser.error(f"--count must be at least {SAMPLES}")
    directory = args.dir or Path(tempfile.mkdtemp(prefix="bench-photos-"))
    try:
        run(args.count, args.workers, directory)
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
