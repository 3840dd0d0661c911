#!/usr/bin/env python3
"""Ours against PyTorch on the same GPU, in one run: the paper's CycleGAN training step
(resnet_9blocks, basic PatchGAN, instance norm, LSGAN, identity loss 0.5, batch 1, Adam) or the
generator's inference, at one or more sizes. Processes alternate (ours, PyTorch, ours, ...), each
measuring several steps after two warm-up steps; the table gives medians, the ratio ours / PyTorch
and each side's peak GPU memory. PyTorch runs eagerly with its defaults, which it prints
(cudnn.benchmark off; TF32 allowed in convolutions, not in matrix products); ours uses TF32 in
convolutions likewise (--tf32 off turns it off on both sides).

  python3 benchmarks/compare_pytorch_gpu.py --bench build-gpu/benchmarks/cyclegan-bench-cuda --sizes 256
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def pytorch_child(what, size, runs, tf32):
    import itertools

    import torch
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
    from reference_networks import GANLoss, NLayerDiscriminator, ResnetGenerator, cycle_gan_step, init_weights
    torch.backends.cudnn.allow_tf32 = tf32
    dev = torch.device("cuda")
    n = 3 * size * size
    a = torch.sin(0.01 * torch.arange(n, dtype=torch.float32)).reshape(1, 3, size, size).to(dev)
    b = torch.sin(0.013 * torch.arange(n, dtype=torch.float32)).reshape(1, 3, size, size).to(dev)
    if what == "train":
        nets = [ResnetGenerator(3, 3, 64, "instance", False, 9), ResnetGenerator(3, 3, 64, "instance", False, 9),
                NLayerDiscriminator(3, 64, 3, "instance"), NLayerDiscriminator(3, 64, 3, "instance")]
        for m in nets:
            init_weights(m)
            m.to(dev)
        opts = [torch.optim.Adam(itertools.chain(nets[0].parameters(), nets[1].parameters()), lr=2e-4, betas=(0.5, 0.999)),
                torch.optim.Adam(itertools.chain(nets[2].parameters(), nets[3].parameters()), lr=2e-4, betas=(0.5, 0.999))]
        gan = GANLoss("lsgan").to(dev)

        def step():
            cycle_gan_step(nets, opts, a, b, gan)
    else:
        g = ResnetGenerator(3, 3, 64, "instance", False, 9).to(dev).eval()

        def step():
            with torch.no_grad():
                g(a)
    for _ in range(2):
        step()
    torch.cuda.synchronize()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1000)
    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"{what} {size} median_ms {statistics.median(ms):.2f} min_ms {min(ms):.2f} steps {runs} peak_gpu_mb {peak:.1f}",
          flush=True)


def parse(line):
    f = line.split()
    return {f[i]: float(f[i + 1]) for i in range(2, len(f) - 1, 2)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, help="path to cyclegan-bench-cuda")
    p.add_argument("--sizes", type=int, nargs="+", default=[256])
    p.add_argument("--what", nargs="+", default=["train", "infer"])
    p.add_argument("--runs", type=int, default=10, help="timed steps per process")
    p.add_argument("--rounds", type=int, default=2, help="alternating processes per side")
    p.add_argument("--tf32", choices=["on", "off"], default="on")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        pytorch_child(args.child[0], int(args.child[1]), args.runs, args.tf32 == "on")
        return
    import torch
    print(f"PyTorch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, GPU {torch.cuda.get_device_name(0)}; "
          f"cudnn.benchmark={torch.backends.cudnn.benchmark}, cudnn.allow_tf32={args.tf32 == 'on'}, "
          f"matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}", flush=True)
    print("| what | size | ours (ms) | PyTorch (ms) | time ratio | ours peak GPU (MB) | PyTorch peak GPU (MB) |")
    print("|---|---|---|---|---|---|---|")
    for what in args.what:
        for size in args.sizes:
            ours, theirs = [], []
            for _ in range(args.rounds):
                out = subprocess.run([args.bench, "--what", what, "--size", str(size), "--runs", str(args.runs),
                                      "--tf32", args.tf32], capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"cyclegan-bench-cuda failed:\n{out.stdout}{out.stderr}")
                ours.append(parse(out.stdout.strip().splitlines()[-1]))
                out = subprocess.run([sys.executable, __file__, "--bench", args.bench, "--runs", str(args.runs),
                                      "--tf32", args.tf32, "--child", what, str(size)], capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"PyTorch child failed:\n{out.stdout}{out.stderr}")
                theirs.append(parse(out.stdout.strip().splitlines()[-1]))
            o = statistics.median(r["median_ms"] for r in ours)
            t = statistics.median(r["median_ms"] for r in theirs)
            om = max(r["peak_gpu_mb"] for r in ours)
            tm = max(r["peak_gpu_mb"] for r in theirs)
            print(f"| {what} | {size} | {o:.2f} | {t:.2f} | **{o / t:.2f}** | {om:.0f} | {tm:.0f} |", flush=True)


if __name__ == "__main__":
    main()
