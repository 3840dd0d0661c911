#!/usr/bin/env python3
"""Ours against PyTorch on the same machine, in one run: a CycleGAN training step of the paper's
configuration (resnet_9blocks, basic PatchGAN, instance norm, LSGAN, identity loss, batch 1), the
generator's inference, and the residual blocks' 3x3 convolution, at several sizes. The two
alternate, each measurement in its own process (so peak memory is its own), with the same thread
count; the table gives medians and the ratio ours / PyTorch.

  python3 benchmarks/compare_pytorch.py --bench build/benchmarks/cyclegan-bench --sizes 64 128 256 --threads 2
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def pytorch_child(what, size, runs, threads):
    import itertools

    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
    from reference_networks import GANLoss, NLayerDiscriminator, ResnetGenerator, cycle_gan_step, init_weights
    torch.set_num_threads(threads)
    a = torch.sin(0.01 * torch.arange(3 * size * size, dtype=torch.float32)).reshape(1, 3, size, size)
    b = torch.cos(0.013 * torch.arange(3 * size * size, dtype=torch.float32)).reshape(1, 3, size, size)
    if what == "train":
        nets = [ResnetGenerator(3, 3, 64, "instance", False, 9), ResnetGenerator(3, 3, 64, "instance", False, 9),
                NLayerDiscriminator(3, 64, 3, "instance"), NLayerDiscriminator(3, 64, 3, "instance")]
        for n in nets:
            init_weights(n)
        opts = [torch.optim.Adam(itertools.chain(nets[0].parameters(), nets[1].parameters()), lr=2e-4, betas=(0.5, 0.999)),
                torch.optim.Adam(itertools.chain(nets[2].parameters(), nets[3].parameters()), lr=2e-4, betas=(0.5, 0.999))]
        gan = GANLoss("lsgan")
        step = lambda: cycle_gan_step(nets, opts, a, b, gan)
    elif what == "infer":
        g = ResnetGenerator(3, 3, 64, "instance", False, 9).eval()

        def step():
            with torch.no_grad():
                g(a)
    else:  # conv3x3: the residual blocks' padded convolution, forward, at size / 4
        conv = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(256, 256, 3))
        x = torch.full((1, 256, size // 4, size // 4), 0.5)

        def step():
            with torch.no_grad():
                conv(x)
    step()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{what} {size} median_ms {statistics.median(ms):.2f} peak_rss_mb {rss:.1f}")


def parse(line):
    f = line.split()
    return float(f[f.index("median_ms") + 1]), float(f[f.index("peak_rss_mb") + 1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, help="path to cyclegan-bench")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    p.add_argument("--what", nargs="+", default=["train", "infer"])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=5, help="timed steps per process")
    p.add_argument("--rounds", type=int, default=2, help="alternating processes per side")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return pytorch_child(args.child[0], int(args.child[1]), args.runs, args.threads)

    import torch
    print(f"PyTorch {torch.__version__} ({sys.executable}), {args.threads} threads; ours: {args.bench}")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    rows = []
    for what in args.what:
        for size in args.sizes:
            ours, theirs = [], []
            for _ in range(args.rounds):  # alternate, so drifts in machine load hit both sides
                out = subprocess.run([args.bench, "--what", "train" if what == "train" else what, "--size", str(size), "--runs",
                                      str(args.runs), "--threads", str(args.threads)], capture_output=True, text=True, env=env,
                                     check=True).stdout
                ours.append(parse([l for l in out.splitlines() if l.split()[0] in (what, what + "_forward")][0]))
                out = subprocess.run([sys.executable, __file__, "--bench", args.bench, "--runs", str(args.runs), "--threads",
                                      str(args.threads), "--child", what, str(size)], capture_output=True, text=True, env=env,
                                     check=True).stdout
                theirs.append(parse(out.splitlines()[-1]))
            o_ms = statistics.median(m for m, _ in ours)
            t_ms = statistics.median(m for m, _ in theirs)
            o_mb, t_mb = max(r for _, r in ours), max(r for _, r in theirs)
            rows.append((what, size, o_ms, t_ms, o_ms / t_ms, o_mb, t_mb, o_mb / t_mb))
            print(f"{what:6} {size:4}  ours {o_ms:9.1f} ms  PyTorch {t_ms:9.1f} ms  ratio {o_ms / t_ms:5.2f}   "
                  f"peak memory ours {o_mb:7.0f} MB  PyTorch {t_mb:7.0f} MB  ratio {o_mb / t_mb:4.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
