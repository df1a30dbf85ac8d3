#!/usr/bin/env python3
"""Helper of benches/vs_peers.sh: the Python peers of framecast, and the quality report.

    vs_peers.py list    SRC LIST                 photos under SRC, NUL-separated, into LIST
    vs_peers.py pyvips  SRC LIST DST W H Q       libvips in-process, two worker processes
    vs_peers.py pillow  SRC LIST DST W H Q       Pillow with JPEG draft, two worker processes
    vs_peers.py report  SRC LIST TIMES RSS W H TOOL=DIR...

The render modes are what gets timed, so this module imports nothing heavy at the top: each
mode pays only for the library it uses, as a user's own script would.
"""

import math
import os
import sys
from multiprocessing import Pool

WORKERS = 2
# Only JPEG: shrink-on-load (libvips) and draft (Pillow) are JPEG features, and every tool must
# see exactly the same set of photos for photos/s and PSNR to be comparable.
JPEG_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".jfif"}
EXIF_ORIENTATION = 0x0112
# Below this a frame is not merely softer but wrong (rotated, mirrored, shifted): flag it.
SUSPICIOUS_PSNR_DB = 25.0
# PSNR of identical pictures is infinite; cap it so a mean stays a number.
MAX_PSNR_DB = 99.0


def fit(w, h, box_w, box_h):
    """The largest w x h-shaped size inside box_w x box_h, each side rounded to nearest."""
    scale = min(box_w / w, box_h / h)
    fw = max(1, min(box_w, math.floor(w * scale + 0.5)))
    fh = max(1, min(box_h, math.floor(h * scale + 0.5)))
    return fw, fh


def output_name(rel):
    return os.path.splitext(rel)[0] + ".jpg"


def read_list(path):
    with open(path, "rb") as f:
        return [p.decode() for p in f.read().split(b"\0") if p]


def halves(items):
    # Interleaved, so each process gets a similar mix of large and small photos.
    return [items[i::WORKERS] for i in range(WORKERS)]


# ---------------------------------------------------------------------------------------------
# list


def list_photos(src, list_path):
    """Lists photos the way framecast walks a folder (hidden entries skipped, links followed).

    Anything else framecast would pick up (PNG, HEIC, files without an extension) would make the
    tools' workloads differ, so it is refused rather than silently left out."""
    photos, others = [], []
    for root, dirs, files in os.walk(src, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.startswith("@"))
        for name in sorted(files):
            if name.startswith("."):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)
            ext = os.path.splitext(name)[1].lower()
            (photos if ext in JPEG_EXTENSIONS else others).append(rel)
    if others:
        sys.exit(
            f"vs_peers: {src} holds files that are not JPEG photos, e.g. {others[:3]}; "
            "point BENCH_PHOTOS at a folder of JPEG photos only"
        )
    if not photos:
        sys.exit(f"vs_peers: no JPEG photos under {src}")
    names = [output_name(r) for r in photos]
    if len(set(names)) != len(names):
        sys.exit(f"vs_peers: two photos under {src} would render to the same .jpg name")
    with open(list_path, "wb") as f:
        f.write(b"".join(r.encode() + b"\0" for r in photos))
    print(len(photos))


# ---------------------------------------------------------------------------------------------
# pyvips


def _vips_worker_init():
    # Must be set before libvips starts in this process; one thread per process so the two
    # processes use two cores, not two each.
    os.environ["VIPS_CONCURRENCY"] = "1"


def _vips_render(job):
    import pyvips  # imported in the worker only: libvips must not start before the fork

    src, dst, rels, w, h, q = job
    # libvips 8.15 replaced `strip` with `keep`; the old name still works there but warns.
    drop_metadata = {"keep": "none"} if pyvips.at_least_libvips(8, 15) else {"strip": True}
    for rel in rels:
        out = os.path.join(dst, output_name(rel))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        # thumbnail shrinks on load and applies the EXIF orientation by default.
        frame = pyvips.Image.thumbnail(os.path.join(src, rel), w, height=h)
        frame = frame.gravity("centre", w, h, extend="black")
        frame.jpegsave(out, Q=q, **drop_metadata)


def render_pyvips(src, list_path, dst, w, h, q):
    rels = read_list(list_path)
    with Pool(WORKERS, initializer=_vips_worker_init) as pool:
        pool.map(_vips_render, [(src, dst, part, w, h, q) for part in halves(rels)], chunksize=1)


# ---------------------------------------------------------------------------------------------
# Pillow with draft


def _pillow_render(job):
    from PIL import Image, ImageOps

    src, dst, rels, w, h, q = job
    for rel in rels:
        out = os.path.join(dst, output_name(rel))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with Image.open(os.path.join(src, rel)) as im:
            stored_w, stored_h = im.size
            # Orientations 5-8 swap the sides: the fit is of the upright picture, but the draft
            # size is asked in the stored (sideways) one.
            sideways = im.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
            upright = (stored_h, stored_w) if sideways else (stored_w, stored_h)
            fw, fh = fit(*upright, w, h)
            # draft picks the largest DCT scale (1/2, 1/4, 1/8) that still leaves at least the
            # size asked for, so the Lanczos step below never has to upscale.
            im.draft("RGB", (fh, fw) if sideways else (fw, fh))
            frame = ImageOps.exif_transpose(im)
            if frame.mode != "RGB":
                frame = frame.convert("RGB")
            frame = frame.resize((fw, fh), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (w, h))
        canvas.paste(frame, ((w - fw) // 2, (h - fh) // 2))
        canvas.save(out, "JPEG", quality=q)


def render_pillow(src, list_path, dst, w, h, q):
    rels = read_list(list_path)
    with Pool(WORKERS) as pool:
        pool.map(_pillow_render, [(src, dst, part, w, h, q) for part in halves(rels)], chunksize=1)


# ---------------------------------------------------------------------------------------------
# report


def reference(path, w, h):
    """The careful frame: full-size decode, upright, exact Lanczos to the fitted size, centred.

    Returns the frame and the box of the picture in it (the black bars are left out of PSNR:
    every tool gets them exactly right and they would only inflate the score)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        pic = ImageOps.exif_transpose(im).convert("RGB")
    fw, fh = fit(*pic.size, w, h)
    pic = pic.resize((fw, fh), Image.Resampling.LANCZOS)
    x, y = (w - fw) // 2, (h - fh) // 2
    return pic, (x, y, x + fw, y + fh)


def psnr(a, b):
    from PIL import ImageChops, ImageStat

    # ImageStat's sum2 comes from the histogram, so it is exact with no numpy needed.
    diff = ImageChops.difference(a, b)
    sq = sum(ImageStat.Stat(diff).sum2)
    mse = sq / (a.size[0] * a.size[1] * len(a.getbands()))
    if mse == 0:
        return MAX_PSNR_DB
    return min(MAX_PSNR_DB, 10 * math.log10(255 * 255 / mse))


def _score(job):
    """PSNR of every tool's frame of one photo, and what is wrong with the frames, if anything."""
    from PIL import Image

    src, rel, w, h, tools = job
    ref, box = reference(os.path.join(src, rel), w, h)
    scores, problems = {}, []
    for tool, out_dir in tools:
        out = os.path.join(out_dir, output_name(rel))
        try:
            with Image.open(out) as im:
                fmt, size = im.format, im.size
                frame = im.convert("RGB")
        except OSError as e:
            problems.append(f"{tool}: {output_name(rel)}: unreadable: {e}")
            continue
        if fmt != "JPEG" or size != (w, h):
            problems.append(f"{tool}: {output_name(rel)} is a {fmt} of {size[0]}x{size[1]}")
            continue
        scores[tool] = psnr(ref, frame.crop(box))
    return rel, scores, problems


def _files_under(root):
    return {
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    }


def report(src, list_path, times_path, rss_path, w, h, tool_dirs):
    rels = read_list(list_path)
    tools = [spec.split("=", 1) for spec in tool_dirs]
    expected = {output_name(r) for r in rels}

    # Exactly one frame per photo: a missing one would flatter the photos/s of its tool.
    problems = []
    for tool, out_dir in tools:
        got = _files_under(out_dir)
        for name in sorted(expected - got):
            problems.append(f"{tool}: no frame for {name}")
        for name in sorted(got - expected):
            problems.append(f"{tool}: unexpected file {name}")

    with Pool(WORKERS) as pool:
        results = pool.map(_score, [(src, r, w, h, tools) for r in rels], chunksize=1)
    for _, _, p in results:
        problems.extend(p)
    if problems:
        print("vs_peers: FAILED, the tools did not each make one %dx%d frame per photo:" % (w, h))
        for p in problems:
            print("  " + p)
        sys.exit(1)

    best = {}
    with open(times_path) as f:
        for line in f:
            tool, micros = line.split()
            rate = len(rels) / (int(micros) / 1e6)
            best[tool] = max(best.get(tool, 0.0), rate)

    labels = {
        "framecast": "framecast",
        "pyvips": "pyvips (2 procs)",
        "vips-cli": "vips CLI (2 at once)",
        "pillow": "Pillow draft (2 procs)",
    }
    print()
    print(f"{len(rels)} photos, {w}x{h}, best of the timed runs, PSNR against careful Pillow")
    print(f"{'tool':<24}{'photos/s':>10}{'PSNR dB':>10}{'worst dB':>10}")
    for tool, _ in tools:
        per_photo = [(s[tool], rel) for rel, s, _ in results]
        mean = sum(v for v, _ in per_photo) / len(per_photo)
        worst = min(per_photo)
        print(f"{labels.get(tool, tool):<24}{best[tool]:>10.1f}{mean:>10.2f}{worst[0]:>10.2f}")
    for tool, _ in tools:
        for value, rel in sorted((s[tool], rel) for rel, s, _ in results):
            if value < SUSPICIOUS_PSNR_DB:
                print(f"warning: {tool} frame of {rel} is only {value:.1f} dB: rotated or shifted?")

    peers = {t: r for t, r in best.items() if t != "framecast"}
    fastest = max(peers, key=peers.get)
    ratio = best["framecast"] / peers[fastest]
    print(f"framecast / fastest peer: {ratio:.2f}  (fastest peer: {labels.get(fastest, fastest)})")

    with open(rss_path) as f:
        for line in f:
            if "Maximum resident set size" in line:
                kib = int(line.rsplit(":", 1)[1])
                print(f"framecast peak RSS: {kib / 1024:.0f} MiB")
                break
        else:
            sys.exit("vs_peers: no 'Maximum resident set size' in the output of /usr/bin/time -v")


def main(argv):
    mode, args = argv[1], argv[2:]
    if mode == "list":
        list_photos(*args)
    elif mode in ("pyvips", "pillow"):
        src, list_path, dst, w, h, q = args
        render = render_pyvips if mode == "pyvips" else render_pillow
        render(src, list_path, dst, int(w), int(h), int(q))
    elif mode == "report":
        src, list_path, times_path, rss_path, w, h, *tool_dirs = args
        report(src, list_path, times_path, rss_path, int(w), int(h), tool_dirs)
    else:
        sys.exit(f"vs_peers.py: unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv)
