#!/usr/bin/env python3
"""Generator inference, ours against OpenVINO and ONNX Runtime on the same machine, in one run.

The paper's generator (resnet_9blocks, ngf 64, instance norm, reflection padding, batch 1, float32)
is exported from PyTorch to ONNX once (the reference's architecture: tests/fixtures/
reference_networks.py); OpenVINO compiles it for the CPU with f32 precision (no bf16 down-conversion)
and the LATENCY hint, ONNX Runtime runs it with every graph optimisation; ours runs
cyclegan-bench --what infer. Each measurement runs in its own process, the sides alternate, with the
same thread count; the table gives medians and the ratio ours / peer.

  python3 benchmarks/compare_openvino.py --bench build/benchmarks/cyclegan-bench \\
          --python /path/to/venv/bin/python --sizes 128 256 --threads 2
  # several builds or kernel sets of ours against the same peers: LABEL=PATH[:KERNELS]
  python3 benchmarks/compare_openvino.py --bench native=build/benchmarks/cyclegan-bench \\
          avx2=build/benchmarks/cyclegan-bench:avx2 --python ...

The Python needs torch, onnx, openvino and onnxruntime (pip install torch onnx openvino onnxruntime).
--peer-isa avx2 limits the peers to AVX2 as well (ONEDNN_MAX_CPU_ISA for OpenVINO's oneDNN,
ORT's MLAS follows the CPU only), to compare our AVX2 kernels on an AVX-512 machine.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare_pytorch import child_line, parse, run_measured, time_calls  # noqa: E402  (the same handling)


def export(python, path, size):
    """The reference generator, default-initialised weights (normal 0.02), to ONNX at one size."""
    code = f"""
import sys, torch
sys.path.insert(0, {os.path.join(HERE, '..', 'tests', 'fixtures')!r})
from reference_networks import ResnetGenerator, init_weights
torch.manual_seed(0)
g = ResnetGenerator(3, 3, 64, "instance", False, 9).eval()
init_weights(g)
x = torch.zeros(1, 3, {size}, {size})
torch.onnx.export(g, x, {path!r}, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
"""
    subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)


def child(peer, model, size, runs, threads):
    import numpy as np
    x = np.sin(0.01 * np.arange(3 * size * size, dtype=np.float32)).reshape(1, 3, size, size)
    if peer == "openvino":
        import openvino as ov
        core = ov.Core()
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                                                     "INFERENCE_NUM_THREADS": str(threads), "NUM_STREAMS": "1"})
        request = compiled.create_infer_request()
        step = lambda: request.infer({"x": x})
    else:
        import onnxruntime as ort
        o = ort.SessionOptions()
        o.intra_op_num_threads, o.inter_op_num_threads = threads, 1
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
        step = lambda: session.run(None, {"x": x})
    child_line("infer", size, time_calls(runs, step))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, nargs="+", help="cyclegan-bench, or several as LABEL=PATH[:KERNELS]")
    p.add_argument("--python", default=sys.executable, help="the Python with torch, onnx, openvino and onnxruntime")
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    p.add_argument("--peers", nargs="+", default=["openvino", "onnxruntime"])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--runs", type=int, default=7, help="timed inferences per process")
    p.add_argument("--rounds", type=int, default=3, help="alternating processes per side")
    p.add_argument("--peer-isa", choices=["native", "avx2"], default="native")
    p.add_argument("--idle-wait", type=float, default=0, metavar="S", help="as compare_pytorch.py's")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], int(args.child[2]), args.runs, args.threads)

    benches = []
    for b in args.bench:
        label, _, rest = b.rpartition("=")
        path, _, kernels = rest.partition(":")
        benches.append((label or "ours", path, kernels))
    versions = subprocess.run([args.python, "-c", "import openvino, onnxruntime, torch; "
                               "print(openvino.__version__, onnxruntime.__version__, torch.__version__)"],
                              capture_output=True, text=True, check=True).stdout.split()
    t = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=t)
    peer_env = dict(env, **({"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2"} if args.peer_isa == "avx2" else {}))
    with open("/proc/cpuinfo") as f:
        model_name = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    print(f"CPU {model_name}; {args.threads} threads; OpenVINO {versions[0]}, ONNX Runtime {versions[1]}, "
          f"exported by torch {versions[2]}; peers' ISA: {args.peer_isa}; ours: "
          + ", ".join(f"{l}={b}{':' + k if k else ''}" for l, b, k in benches), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            model = os.path.join(tmp, f"resnet9_{size}.onnx")
            export(args.python, model, size)
            ours = {label: [] for label, _, _ in benches}
            peers = {peer: [] for peer in args.peers}
            for _ in range(args.rounds):
                for label, bench, kernels in benches:
                    cmd = [bench, "--what", "infer", "--size", str(size), "--runs", str(args.runs), "--threads", t]
                    ours[label].append(parse(run_measured(cmd + (["--cpu-kernels", kernels] if kernels else []), env,
                                                          args.idle_wait))["infer"][0])
                for peer in args.peers:
                    cmd = [args.python, __file__, "--runs", str(args.runs), "--threads", t, "--bench", bench,
                           "--child", peer, model, str(size)]
                    peers[peer].append(parse(run_measured(cmd, peer_env, args.idle_wait))["infer"][0])
            for label, ms in ours.items():
                o = statistics.median(ms)
                line = f"infer {size:4}  {label:>10} {o:8.1f} ms"
                for peer, pms in peers.items():
                    m = statistics.median(pms)
                    line += f"   {peer} {m:8.1f} ms  ratio {o / m:5.2f}"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
