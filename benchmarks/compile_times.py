#!/usr/bin/env python3
"""How long a user's program takes to compile, and how much memory the compiler needs: the README's
Translator program, a Conv2d network, PaperCycleGAN's training step and examples/train.cpp
(benchmarks/compile/), each built as a consumer of the installed CMake package (find_package, the
kernels compiled once into the package's library) and with the headers only, in Release. Prints the
median of --runs compilations of each translation unit (wall and user seconds, the compiler's peak
resident memory) and the ratio header-only / package.

  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j
  python3 benchmarks/compile_times.py --build build --runs 3
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGRAMS = ["translator", "conv_network", "train_step", "train"]


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


def compile_commands(build):
    """{program: (directory, command)} for each program's translation unit."""
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    out = {}
    for e in entries:
        name = os.path.splitext(os.path.basename(e["file"]))[0]
        if name in PROGRAMS:
            out[name] = (e["directory"], e.get("command") or shlex.join(e["arguments"]))
    return out


def measure(directory, command, runs):
    """Median wall and user seconds and peak memory (MB) of `runs` compilations."""
    wall, user, mb = [], [], []
    for _ in range(runs):
        r = subprocess.run(["/usr/bin/time", "-f", "%e %U %M", "sh", "-c", command + " -o /dev/null"], cwd=directory,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"compilation failed: {command}\n{r.stderr[-3000:]}")
        w, u, m = r.stderr.strip().splitlines()[-1].split()
        wall.append(float(w)), user.append(float(u)), mb.append(int(m) / 1024)
    return statistics.median(wall), statistics.median(user), statistics.median(mb)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True, help="a configured and built cyclegan build folder, to install from")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--programs", nargs="+", default=PROGRAMS, choices=PROGRAMS)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "prefix")
        run(["cmake", "--install", args.build, "--prefix", prefix])
        results = {}
        for way, options in (("package", [f"-DCMAKE_PREFIX_PATH={prefix}"]), ("header-only", ["-DHEADER_ONLY=ON"])):
            build = os.path.join(tmp, way)
            run(["cmake", "-S", os.path.join(HERE, "compile"), "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                 f"-DCYCLEGAN_SOURCE={ROOT}", f"-DCYCLEGAN_INCLUDE={os.path.join(ROOT, 'include')}"] + options)
            commands = compile_commands(build)
            for program in args.programs:
                results[(way, program)] = measure(*commands[program], args.runs)
        compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
        print(f"{compiler}; {cpu}; {os.cpu_count()} cores; median of {args.runs} compilations of one translation unit (Release)")
        for program in args.programs:
            pw, pu, pm = results[("package", program)]
            hw, hu, hm = results[("header-only", program)]
            print(f"{program:14} package {pw:6.1f} s ({pu:5.1f} s user) {pm:6.0f} MB   header-only {hw:6.1f} s ({hu:5.1f} s user) "
                  f"{hm:6.0f} MB   package / header-only: time {pw / hw:4.2f}, memory {pm / hm:4.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
