#!/usr/bin/env python3
"""Ours against PyTorch on the same machine, in one run: a CycleGAN training step of the paper's
configuration (resnet_9blocks, basic PatchGAN, instance norm, LSGAN, identity loss, batch 1), the
generator's inference, the residual blocks' 3x3 convolution, or each layer of the generator and the
PatchGAN forward and backward (--what layers), at several sizes. The two alternate, each measurement
in its own process (so peak memory is its own), with the same thread count; the table gives medians,
the ratio ours / PyTorch, and the achieved GFLOP/s of both (from our FLOP count) beside the
machine's FP32 peak, measured by cyclegan-bench --what peak. --precision bf16 runs ours in bf16
(cyclegan-bench --precision bf16) against PyTorch under torch.autocast("cpu", dtype=torch.bfloat16),
as a PyTorch user gets bf16 on the CPU, and for inference prints how far each side's output moved
from its own float32 output (levels of 255, relative RMS).

  python3 benchmarks/compare_pytorch.py --bench build/benchmarks/cyclegan-bench --sizes 64 128 256 --threads 2
  python3 benchmarks/compare_pytorch.py --bench build/benchmarks/cyclegan-bench --what layers --sizes 128
  python3 benchmarks/compare_pytorch.py --bench build/benchmarks/cyclegan-bench --precision bf16 --sizes 128 256
  # on a machine shared with other jobs: wait for quiet, rerun measurements others disturbed
  python3 benchmarks/compare_pytorch.py --bench build/benchmarks/cyclegan-bench --idle-wait 300
  # several builds of ours (e.g. on a BLAS) alternate with one PyTorch; any Python with torch:
  python3 benchmarks/compare_pytorch.py --bench eigen=build/benchmarks/cyclegan-bench \\
          openblas=build-openblas/benchmarks/cyclegan-bench --python /path/to/venv/bin/python --what infer
"""
import argparse
import array
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The layers of cyclegan-bench --what layers (same names): name, kind, C_in, C_out, kernel, stride,
# and the input's side as a divisor of the image's. Reflect padding is the reference's
# ReflectionPad2d + Conv2d; the stride-2 convolutions pad with zeros, 1 pixel.
LAYERS = [
    ("g_c7s1_64", "conv_reflect", 3, 64, 7, 1, 1),
    ("g_down_128", "conv", 64, 128, 3, 2, 1),
    ("g_down_256", "conv", 128, 256, 3, 2, 2),
    ("g_res_conv3x3", "conv_reflect", 256, 256, 3, 1, 4),
    ("g_up_128", "conv_transpose", 256, 128, 3, 2, 4),
    ("g_up_64", "conv_transpose", 128, 64, 3, 2, 2),
    ("g_c7s1_3", "conv_reflect", 64, 3, 7, 1, 1),
    ("in_relu_64", "in_relu", 64, 64, 0, 0, 1),
    ("in_relu_128", "in_relu", 128, 128, 0, 0, 2),
    ("in_relu_256", "in_relu", 256, 256, 0, 0, 4),
    ("d_conv_64_lrelu", "conv_lrelu", 3, 64, 4, 2, 1),
    ("d_conv_128_lrelu", "conv_lrelu", 64, 128, 4, 2, 2),
    ("d_conv_256_lrelu", "conv_lrelu", 128, 256, 4, 2, 4),
    ("d_conv_512_lrelu", "conv_lrelu", 256, 512, 4, 1, 8),
]


def layer_module(torch, kind, cin, cout, k, stride):
    nn = torch.nn
    if kind == "conv_reflect":
        return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k))
    if kind == "conv":
        return nn.Conv2d(cin, cout, k, stride, 1)
    if kind == "conv_transpose":
        return nn.ConvTranspose2d(cin, cout, k, stride, 1, output_padding=1)
    if kind == "conv_lrelu":
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, 1), nn.LeakyReLU(0.2, True))
    return nn.Sequential(nn.InstanceNorm2d(cin), nn.ReLU(True))


def child_line(what, size, ms, gflop=None):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(ms)
    rate = f"{gflop / (median / 1000):.1f}" if gflop else "-"
    print(f"{what} {size} median_ms {median:.2f} peak_rss_mb {rss:.1f} gflops {rate}", flush=True)


def time_calls(runs, f):
    f()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def pytorch_layers(torch, size, runs):
    """Each layer's forward (no_grad), then its backward with the input's and the weights' gradients,
    timed apart, as cyclegan-bench --what layers does."""
    for name, kind, cin, cout, k, stride, div in LAYERS:
        m = layer_module(torch, kind, cin, cout, k, stride)
        s = size // div
        x = (torch.sin(0.37 * torch.arange(cin * s * s, dtype=torch.float32)) + 0.1).reshape(1, cin, s, s)
        with torch.no_grad():
            y = m(x)
        # FLOPs as cyclegan-bench counts them: a transposed convolution's GEMM runs over its input's pixels.
        pixels = x.shape[2] * x.shape[3] if kind == "conv_transpose" else y.shape[2] * y.shape[3]
        gflop = 2.0 * cin * cout * k * k * pixels / 1e9 if k else None

        def forward():
            with torch.no_grad():
                m(x)
        child_line(name + "_forward", size, time_calls(runs, forward), gflop)
        dy = (torch.sin(0.37 * torch.arange(y.numel(), dtype=torch.float32)) + 0.1).reshape(y.shape)
        xg = x.clone().requires_grad_(True)
        ms = []
        for i in range(runs + 1):  # the first is a warm-up
            xg.grad = None
            out = m(xg)
            t0 = time.perf_counter()
            out.backward(dy)
            if i:
                ms.append((time.perf_counter() - t0) * 1000)
        child_line(name + "_backward", size, ms, gflop and 2 * gflop)


def pytorch_child(what, size, runs, threads, precision="f32", dump=None):
    import contextlib
    import itertools

    import torch
    torch.set_num_threads(threads)
    if what == "layers":
        return pytorch_layers(torch, size, runs)
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures"))
    from reference_networks import GANLoss, NLayerDiscriminator, ResnetGenerator, cycle_gan_step, init_weights
    torch.manual_seed(0)
    # bf16 as PyTorch's users get it on the CPU: autocast around the forwards (the backwards follow them).
    bf16 = lambda: torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    a = torch.sin(0.01 * torch.arange(3 * size * size, dtype=torch.float32)).reshape(1, 3, size, size)
    b = torch.cos(0.013 * torch.arange(3 * size * size, dtype=torch.float32)).reshape(1, 3, size, size)
    out = {}
    if what == "train":
        nets = [ResnetGenerator(3, 3, 64, "instance", False, 9), ResnetGenerator(3, 3, 64, "instance", False, 9),
                NLayerDiscriminator(3, 64, 3, "instance"), NLayerDiscriminator(3, 64, 3, "instance")]
        for n in nets:
            init_weights(n)
        opts = [torch.optim.Adam(itertools.chain(nets[0].parameters(), nets[1].parameters()), lr=2e-4, betas=(0.5, 0.999)),
                torch.optim.Adam(itertools.chain(nets[2].parameters(), nets[3].parameters()), lr=2e-4, betas=(0.5, 0.999))]
        gan = GANLoss("lsgan")

        def step():
            with bf16():
                cycle_gan_step(nets, opts, a, b, gan)
    elif what == "infer":
        g = ResnetGenerator(3, 3, 64, "instance", False, 9).eval()
        init_weights(g)

        def step():
            with torch.no_grad(), bf16():
                out["y"] = g(a).float()
    else:  # conv3x3: the residual blocks' padded convolution, forward, at size / 4
        conv = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(256, 256, 3))
        x = torch.full((1, 256, size // 4, size // 4), 0.5)

        def step():
            with torch.no_grad(), bf16():
                conv(x)
    child_line(what, size, time_calls(runs, step))
    if dump and "y" in out:
        out["y"].numpy().tofile(dump)


def moved(f32_file, other_file):
    """How far an output moved from the float32 one: mean and max levels of 255, relative RMS."""
    def read(path):
        values = array.array("f")
        with open(path, "rb") as f:
            values.frombytes(f.read())
        return values
    ref, y = read(f32_file), read(other_file)
    levels = [abs(a - b) * 127.5 for a, b in zip(y, ref)]
    rms = math.sqrt(sum((a - b) ** 2 for a, b in zip(y, ref)) / sum(b * b for b in ref))
    return f"{sum(levels) / len(levels):5.2f} levels mean, {max(levels):5.1f} max, relative RMS {rms:.2e}"


def parse(out):
    """{name: (median_ms, peak_rss_mb, gflop or None)} from the lines of either side."""
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if "median_ms" not in f:
            continue
        ms, rate = float(f[f.index("median_ms") + 1]), f[f.index("gflops") + 1] if "gflops" in f else "-"
        rows[f[0]] = (ms, float(f[f.index("peak_rss_mb") + 1]), None if rate == "-" else float(rate) * ms / 1000)
    return rows


def cpu_seconds():
    """CPU time used so far by the whole machine, and by this process's finished children."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), children.ru_utime + children.ru_stime


def run_measured(cmd, env, idle_wait):
    """Runs one measuring process. On a shared machine (idle_wait > 0) it first waits up to idle_wait
    seconds until other processes use under 0.2 core, and reruns (twice at most) a process during
    which they used more: one busy neighbour on 2 cores slows a 2-thread OpenMP run several times
    over, not by half, so such a run says nothing about either side."""
    for attempt in range(3):
        deadline = time.time() + idle_wait
        while idle_wait > 0 and time.time() < deadline:
            m0 = cpu_seconds()[0]
            time.sleep(0.5)
            if (cpu_seconds()[0] - m0) / 0.5 < 0.2:
                break
        (m0, c0), t0 = cpu_seconds(), time.time()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        (m1, c1), wall = cpu_seconds(), time.time() - t0
        others = ((m1 - m0) - (c1 - c0)) / wall  # cores' worth used by everything but the measured process
        if idle_wait <= 0 or others < 0.25:
            break
        print(f"  (other processes used {others:.1f} cores during {os.path.basename(cmd[0])} {' '.join(cmd[-2:])}; "
              f"{'measuring again' if attempt < 2 else 'kept'})", file=sys.stderr, flush=True)
    return out


def rate(gflop, ms):
    return f"{gflop / (ms / 1000):6.1f}" if gflop else "     -"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, nargs="+", help="cyclegan-bench, or several as LABEL=PATH")
    p.add_argument("--python", default=sys.executable, help="the Python (with torch) that runs the PyTorch side")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    p.add_argument("--what", nargs="+", default=["train", "infer"], help="train, infer, conv3x3, layers")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=5, help="timed steps per process")
    p.add_argument("--rounds", type=int, default=2, help="alternating processes per side")
    p.add_argument("--idle-wait", type=float, default=0, metavar="S",
                   help="shared machine: wait up to S s for it to be idle before each process, and rerun one disturbed by others")
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32",
                   help="bf16: ours in bf16 against PyTorch under CPU autocast to bfloat16")
    p.add_argument("--dump", help=argparse.SUPPRESS)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return pytorch_child(args.child[0], int(args.child[1]), args.runs, args.threads, args.precision, args.dump)

    benches = []  # (label, path): an unlabelled build is named by its file or, for cyclegan-bench, its build folder
    for b in args.bench:
        label, _, path = b.rpartition("=")
        name = os.path.basename(path)
        if name == "cyclegan-bench":
            name = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
        benches.append((label or ("ours" if len(args.bench) == 1 else name), path))
    if len({label for label, _ in benches}) < len(benches):
        p.error("two --bench entries have the same label; name them LABEL=PATH")
    version = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                             check=True).stdout.strip()
    # A BLAS under Eigen (cmake/blas.cmake) takes its thread count from its own variables.
    t = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, BLIS_NUM_THREADS=t)
    peak = run_measured([benches[0][1], "--what", "peak", "--runs", "9", "--threads", t], env, args.idle_wait).split()
    peak = float(peak[peak.index("gflops") + 1]) * float(peak[peak.index("median_ms") + 1]) / float(peak[peak.index("min_ms") + 1])
    print(f"PyTorch {version} ({args.python}), {args.threads} threads, {args.precision}"
          f"{' (PyTorch: torch.autocast cpu bfloat16)' if args.precision == 'bf16' else ''}; ours: "
          + ", ".join(f"{l}={b}" for l, b in benches)
          + f"\nFP32 peak (FMA loop, best of 9, {args.threads} threads): {peak:.0f} GFLOP/s", flush=True)
    for what in args.what:
        for size in args.sizes:
            ours = {label: [] for label, _ in benches}
            theirs = []
            for _ in range(args.rounds):  # alternate, so drifts in machine load hit both sides
                for label, bench in benches:
                    ours[label].append(parse(run_measured([bench, "--what", what, "--runs", str(args.runs), "--threads", t,
                                                           "--size", str(size), "--precision", args.precision], env, args.idle_wait)))
                theirs.append(parse(run_measured([args.python, __file__, "--bench", benches[0][1], "--runs", str(args.runs),
                                                  "--threads", t, "--precision", args.precision, "--child", what, str(size)],
                                                 env, args.idle_wait)))
            names = list(theirs[0]) if what == "layers" else [what]
            for name in names:
                key = name if what != "conv3x3" else "conv3x3_forward"  # ours also prints the backward
                t_ms = statistics.median(r[name][0] for r in theirs)
                t_mb = max(r[name][1] for r in theirs)
                for label, runs in ours.items():
                    o_ms = statistics.median(r[key][0] for r in runs)
                    o_mb = max(r[key][1] for r in runs)
                    gflop = runs[0][key][2]
                    who = "" if len(benches) == 1 else f"{label:>16} "
                    memory = "" if what == "layers" else (f"   peak memory ours {o_mb:7.0f} MB  PyTorch {t_mb:7.0f} MB  "
                                                          f"ratio {o_mb / t_mb:4.2f}")
                    print(f"{who}{name:25} {size:4}  ours {o_ms:9.2f} ms  PyTorch {t_ms:9.2f} ms  ratio {o_ms / t_ms:5.2f}   "
                          f"GFLOP/s ours {rate(gflop, o_ms)}  PyTorch {rate(gflop, t_ms)}{memory}", flush=True)
            if what == "infer" and args.precision == "bf16":  # each side's bf16 output against its own float32 one
                with tempfile.TemporaryDirectory() as tmp:
                    f = lambda n: os.path.join(tmp, n)
                    for precision in ("f32", "bf16"):
                        subprocess.run([args.python, __file__, "--bench", benches[0][1], "--runs", "1", "--threads", t,
                                        "--precision", precision, "--dump", f(f"torch_{precision}"), "--child", what, str(size)],
                                       env=env, check=True, capture_output=True)
                        for label, bench in benches:
                            subprocess.run([bench, "--what", what, "--runs", "1", "--threads", t, "--size", str(size),
                                            "--precision", precision, "--output", f(f"{label}_{precision}")],
                                           env=env, check=True, capture_output=True)
                    print(f"{'':>16} infer {size:4} bf16 against f32: PyTorch autocast {moved(f('torch_f32'), f('torch_bf16'))}")
                    for label, _ in benches:
                        print(f"{label:>16} infer {size:4} bf16 against f32: ours {moved(f(f'{label}_f32'), f(f'{label}_bf16'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
