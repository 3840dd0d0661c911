#!/usr/bin/env python3
"""Issue 27's large images as a user runs them: cyclegan-translate --format tif on TIFF scenes
written by `cyclegan-bench --what scene`, each run a whole process timed here, its peak resident
memory read from the kernel (getrusage of the child).

  benchmarks/large_images.py --build build [--threads 2] [--runs budget exactness gigapixel exact]

1. Whole-image 2048x2048, the paper's generator (resnet_9blocks, ngf 64, untrained: one step of
   cyclegan-train on the demo data): the per-pixel time every ratio below is against.
2. budget: 8000x6000 with --max-memory 2G, sampled statistics (the fast mode); exact: the same with
   exact statistics (24 passes over ever longer prefixes: about an hour on 2 cores).
3. exactness: 3000x2000 and 2047x1531 whole and in tiles of 1024 with exact and with
   sampled statistics, each tiled output's difference from the whole one in levels of 255.
4. gigapixel: a 32768x32768 BigTIFF with a small generator (ngf 16) in a 1G budget,
   sampled statistics; the output is checked to be a BigTIFF.

Prints one line per run: what, seconds, microseconds per pixel, ratio to whole-image 2048's, peak
resident MB. The CPU is printed first: name it beside every number (docs/performance.md)."""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def timed(cmd):
    """Runs cmd; returns (seconds, peak resident MB of that process, stdout)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)  # this child's own rusage, not the largest of all children's
        seconds = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{stdout}\n{stderr}")
    return seconds, usage.ru_maxrss / 1024, stdout  # Linux reports KiB


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", help="folder for the scenes and outputs (default: a temporary one)")
    ap.add_argument("--runs", nargs="+", default=["budget"], choices=["budget", "exact", "exactness", "gigapixel"],
                    help="which of 2-4 to run after the whole 2048x2048 baseline (default: budget)")
    a = ap.parse_args()
    tool = lambda name: os.path.join(a.build, "examples" if name != "cyclegan-bench" else "benchmarks", name)
    work = a.work or tempfile.mkdtemp(prefix="cyclegan_large_")
    os.makedirs(work, exist_ok=True)
    print(f"cpu: {cpu_name()}, {a.threads} threads; work in {work}", flush=True)

    data = os.path.join(work, "shapes")
    if not os.path.isdir(data):
        subprocess.run([tool("cyclegan-demo-data"), "--out", data, "--train", "1", "--test", "1", "--size", "32"], check=True,
                       capture_output=True)

    def checkpoint(ngf):
        ckpt = os.path.join(work, f"ckpt_ngf{ngf}")
        model = os.path.join(ckpt, "run", "latest.safetensors")
        if not os.path.exists(model):
            subprocess.run([tool("cyclegan-train"), "--dataroot", data, "--checkpoints-dir", ckpt, "--name", "run", "--netG",
                            "resnet_9blocks", "--ngf", str(ngf), "--ndf", "4", "--load-size", "32", "--crop-size", "32",
                            "--threads", str(a.threads), "--quiet", "--n-epochs", "1", "--n-epochs-decay", "0"],
                           check=True, capture_output=True)
        return model

    def scene(width, height):
        path = os.path.join(work, f"scene_{width}x{height}.tif")
        if not os.path.exists(path):
            subprocess.run([tool("cyclegan-bench"), "--what", "scene", "--size", str(width), "--height", str(height), "--output",
                            path], check=True, capture_output=True)
        return path

    per_pixel_whole = None

    def translate(name, model, width, height, *options):
        nonlocal per_pixel_whole
        out = os.path.join(work, "out_" + name)
        seconds, peak_mb, _ = timed([tool("cyclegan-translate"), "--checkpoint", model, "--output", out, "--threads",
                                     str(a.threads), "--format", "tif", *options, scene(width, height)])
        us = seconds / (width * height) * 1e6
        per_pixel_whole = per_pixel_whole or us
        print(f"{name}: {width}x{height} {' '.join(options) or 'whole'}: {seconds:.1f} s, {us:.3f} us/pixel, "
              f"{us / per_pixel_whole:.2f}x whole 2048's, peak resident {peak_mb:.0f} MB", flush=True)
        return os.path.join(out, "images", f"scene_{width}x{height}_fake.tif")

    paper = checkpoint(64)
    translate("whole_2048", paper, 2048, 2048)
    if "budget" in a.runs:
        translate("budget_2G_sampled", paper, 8000, 6000, "--max-memory", "2G", "--tile-statistics", "sampled")
    if "exact" in a.runs:
        translate("budget_2G_exact", paper, 8000, 6000, "--max-memory", "2G", "--tile-statistics", "exact")
    if "exactness" in a.runs:  # tiles against whole-image translation, in levels of 255 (Pillow reads our 8-bit TIFFs)
        import numpy as np
        from PIL import Image
        for width, height in ((3000, 2000), (2047, 1531)):
            whole = np.asarray(Image.open(translate(f"whole_{width}x{height}", paper, width, height)), dtype=int)
            for statistics in ("exact", "sampled"):
                got = np.asarray(Image.open(translate(f"{statistics}_{width}x{height}", paper, width, height, "--tile", "1024",
                                                      "--tile-statistics", statistics)), dtype=int)
                d = np.abs(got - whole)
                print(f"  {statistics} tiles of 1024 at {width}x{height} against whole: mean {d.mean():.4f}, max {d.max()} "
                      f"levels of 255, {(d > 0).mean() * 100:.3f}% of samples differ", flush=True)
    if "gigapixel" in a.runs:
        out = translate("gigapixel_1G_sampled", checkpoint(16), 32768, 32768, "--max-memory", "1G", "--tile-statistics",
                        "sampled")
        with open(out, "rb") as f:
            head = f.read(4)
        kind = "BigTIFF" if head[2:4] in (bytes([43, 0]), bytes([0, 43])) else "classic TIFF"
        print(f"gigapixel output: {os.path.getsize(out) / 1e6:.0f} MB, {kind}")


if __name__ == "__main__":
    main()
