#!/usr/bin/env python3
"""Generator inference, ours against OpenVINO and ONNX Runtime on the same machine, in one run.

The paper's generator (resnet_9blocks, ngf 64, instance norm, reflection padding, batch 1; the
reference's N(0, 0.02) weights) is exported from PyTorch to ONNX once, with its weights as
safetensors, a photograph-like input and PyTorch's float32 output on it. Peers: OpenVINO **at its
defaults** (the CPU plugin picks bf16 on CPUs with AVX512_BF16 and f32 elsewhere; the precision it
chose is printed), OpenVINO held to f32 (INFERENCE_PRECISION_HINT=f32), both with the LATENCY hint,
and ONNX Runtime with every graph optimisation. Ours: cyclegan-bench --what infer on the same
weights and input, in each --precision. Each measurement runs in its own process, the sides
alternate, with the same thread count; the table gives medians, the ratio ours / each peer, and how
far every side's output is from PyTorch's float32 one (in levels of 255 of the 8-bit image it
becomes: mean and max, and the relative RMS).

  python3 benchmarks/compare_openvino.py --bench build/benchmarks/cyclegan-bench \\
          --python /path/to/venv/bin/python --sizes 128 256 --threads 2 --precision f32 bf16
  # several builds or kernel sets of ours against the same peers: LABEL=PATH[:KERNELS]
  python3 benchmarks/compare_openvino.py --bench native=build/benchmarks/cyclegan-bench \\
          avx2=build/benchmarks/cyclegan-bench:avx2 --python ...

The Python needs torch, onnx, openvino and onnxruntime (pip install torch onnx openvino onnxruntime).
--peer-isa avx2 limits the peers to AVX2 as well (ONEDNN_MAX_CPU_ISA for OpenVINO's oneDNN,
ORT's MLAS follows the CPU only), to compare our AVX2 kernels on an AVX-512 machine.
"""
import argparse
import array
import math
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare_pytorch import child_line, parse, run_measured, time_calls  # noqa: E402  (the same handling)


def export(python, folder, size):
    """The reference generator with its N(0, 0.02) weights: ONNX model, safetensors weights, a
    photograph-like input (raw float32) and PyTorch's float32 output on it (raw float32)."""
    code = f"""
import sys, torch
sys.path.insert(0, {os.path.join(HERE, '..', 'tests', 'fixtures')!r})
from reference_networks import ResnetGenerator, init_weights
from models_bf16 import photo_like
from common import save_safetensors
torch.manual_seed(0)
g = ResnetGenerator(3, 3, 64, "instance", False, 9).eval()
init_weights(g)
x = photo_like({size}, {size}, 1)
with torch.no_grad():
    y = g(x)
torch.onnx.export(g, x, {os.path.join(folder, 'g.onnx')!r}, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
save_safetensors({os.path.join(folder, 'g.safetensors')!r}, dict(g.state_dict()))
x.numpy().tofile({os.path.join(folder, 'x.raw')!r})
y.numpy().tofile({os.path.join(folder, 'y32.raw')!r})
"""
    subprocess.run([python, "-c", code], check=True, capture_output=True, text=True)


def child(peer, folder, size, runs, threads):
    import numpy as np
    x = np.fromfile(os.path.join(folder, "x.raw"), dtype=np.float32).reshape(1, 3, size, size)
    model = os.path.join(folder, "g.onnx")
    if peer in ("openvino", "openvino_f32"):
        import openvino as ov
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads), "NUM_STREAMS": "1"}
        if peer == "openvino_f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        compiled = core.compile_model(model, "CPU", config)
        hint = compiled.get_property("INFERENCE_PRECISION_HINT")
        print(f"precision {hint.get_type_name() if hasattr(hint, 'get_type_name') else hint}", flush=True)
        request = compiled.create_infer_request()
        step = lambda: request.infer({"x": x})[compiled.output(0)]
    else:
        import onnxruntime as ort
        o = ort.SessionOptions()
        o.intra_op_num_threads, o.inter_op_num_threads = threads, 1
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])
        step = lambda: session.run(None, {"x": x})[0]
    child_line("infer", size, time_calls(runs, step))
    np.asarray(step(), dtype=np.float32).tofile(os.path.join(folder, f"y_{peer}.raw"))


def read_floats(path):
    values = array.array("f")
    with open(path, "rb") as f:
        values.frombytes(f.read())
    return values


def deviation(folder, name):
    """How far an output is from PyTorch's float32 one: mean and max levels of 255, relative RMS."""
    ref, y = read_floats(os.path.join(folder, "y32.raw")), read_floats(os.path.join(folder, name))
    levels = [abs(a - b) * 127.5 for a, b in zip(y, ref)]
    rms = math.sqrt(sum((a - b) ** 2 for a, b in zip(y, ref)) / sum(b * b for b in ref))
    return sum(levels) / len(levels), max(levels), rms


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", required=True, nargs="+", help="cyclegan-bench, or several as LABEL=PATH[:KERNELS]")
    p.add_argument("--python", default=sys.executable, help="the Python with torch, onnx, openvino and onnxruntime")
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    p.add_argument("--precision", nargs="+", default=["f32", "bf16"], help="ours: f32 and/or bf16")
    p.add_argument("--peers", nargs="+", default=["openvino", "openvino_f32", "onnxruntime"])
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
        for precision in args.precision:
            benches.append((f"{label or 'ours'} {precision}", path, kernels, precision))
    versions = subprocess.run([args.python, "-c", "import openvino, onnxruntime, torch; "
                               "print(openvino.__version__, onnxruntime.__version__, torch.__version__)"],
                              capture_output=True, text=True, check=True).stdout.split()
    t = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=t)
    peer_env = dict(env, **({"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2"} if args.peer_isa == "avx2" else {}))
    with open("/proc/cpuinfo") as f:
        lines = f.read().splitlines()
    model_name = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in lines if l.startswith("flags")), [])
    print(f"CPU {model_name} ({', '.join(f for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16') if f in flags)}); "
          f"{args.threads} threads; OpenVINO {versions[0]}, ONNX Runtime {versions[1]}, exported by torch {versions[2]}; "
          f"peers' ISA: {args.peer_isa}; ours: " + ", ".join(f"{l}={b}{':' + k if k else ''}" for l, b, k, _ in benches), flush=True)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            export(args.python, folder, size)
            ours = {label: [] for label, _, _, _ in benches}
            peers = {peer: [] for peer in args.peers}
            chosen = {}
            for _ in range(args.rounds):
                for label, bench, kernels, precision in benches:
                    cmd = [bench, "--what", "infer", "--size", str(size), "--runs", str(args.runs), "--threads", t,
                           "--precision", precision, "--weights", os.path.join(folder, "g.safetensors"),
                           "--input", os.path.join(folder, "x.raw"), "--output", os.path.join(folder, f"y_{label}.raw")]
                    ours[label].append(parse(run_measured(cmd + (["--cpu-kernels", kernels] if kernels else []), env,
                                                          args.idle_wait))["infer"][0])
                for peer in args.peers:
                    cmd = [args.python, __file__, "--runs", str(args.runs), "--threads", t, "--bench", args.bench[0],
                           "--child", peer, folder, str(size)]
                    out = run_measured(cmd, peer_env, args.idle_wait)
                    peers[peer].append(parse(out)["infer"][0])
                    chosen.update({peer: l.split()[1] for l in out.splitlines() if l.startswith("precision ")})
            medians = {peer: statistics.median(ms) for peer, ms in peers.items()}
            rows = [(label, statistics.median(ms), f"y_{label}.raw") for label, ms in ours.items()]
            rows += [(peer + (f" ({chosen[peer]})" if peer in chosen else ""), medians[peer], f"y_{peer}.raw") for peer in args.peers]
            for label, ms, output in rows:
                mean, most, rms = deviation(folder, output)
                line = f"infer {size:4}  {label:>26} {ms:8.1f} ms"
                if not any(label.startswith(peer) for peer in args.peers):
                    line += "".join(f"   /{peer} {ms / m:5.2f}" for peer, m in medians.items())
                print(line + f"   from PyTorch f32: {mean:5.2f} levels mean, {most:5.1f} max, relative RMS {rms:.2e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
