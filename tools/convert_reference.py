#!/usr/bin/env python3
"""Convert trained models between the reference PyTorch CycleGAN (pytorch-CycleGAN-and-pix2pix)
and this library.

  to-cyclegan: the reference's saved state_dicts (latest_net_G_A.pth, ...; with or without the
               'module.' prefix that DataParallel adds) -> one safetensors file that
               cyclegan-translate and cyclegan::load_network read. The architecture (netG, ngf,
               norm, channels, ...) is read off the tensors' names and shapes.
  to-reference: a cyclegan checkpoint or network file -> <out>/latest_net_G_A.pth etc., which the
               reference's networks load with load_state_dict (strict).

  python3 tools/convert_reference.py to-cyclegan --G-A latest_net_G_A.pth --G-B latest_net_G_B.pth --out model.safetensors
  python3 tools/convert_reference.py to-reference checkpoints/run/latest.safetensors --out converted/

Needs torch (Debian: python3-torch) to read and write .pth files.

A .pth file is a Python pickle, which can name any function to call while it is read. Files come
from strangers (model zoos, paper pages, forums), so they are read as data only: with torch's
weights-only loader where torch has one (1.13 and later), otherwise with a restricted unpickler
that admits only tensors, their storages, OrderedDict and plain containers. A file that holds
anything else is refused, and nothing in it runs. Names from files are printed as printable()
shows them: control characters escaped, long ones cut (the library's rule, core/text.hpp).
"""
import argparse
import inspect
import io
import json
import os
import pickle
import pickletools
import re
import struct
import sys
import tarfile
import types
import zipfile

import torch


class ConversionError(Exception):
    pass


# ---- text from files in messages ------------------------------------------------------------------

# Characters a terminal acts on rather than shows: C0 and C1 controls, DEL, and the invisible marks
# that reorder or break lines. The same set as include/cyclegan/core/text.hpp's.
_ACTS = frozenset([*range(0x20), *range(0x7F, 0xA0), 0x200E, 0x200F, *range(0x2028, 0x202F), *range(0x2066, 0x206A)])


def printable(text, max_length=256):
    """`text` (a str, or a path given as bytes) as it may be printed: the rule of the library's
    printable() (include/cyclegan/core/text.hpp). Control characters and invisible direction or line
    marks show as escapes (\\x1b, \\u202e), bytes that are not UTF-8 as \\xff (undecodable
    bytes of a file name arrive as surrogate escapes); past max_length characters the middle is cut,
    keeping the first and last max_length // 2, with "[... N characters cut ...]" between them."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    units = []
    for ch in str(text):
        c = ord(ch)
        if 0xDC80 <= c <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            units.append(f"\\x{c - 0xDC00:02x}")
        elif c in _ACTS:
            units.append(f"\\x{c:02x}" if c < 0x80 else f"\\u{c:04x}")
        elif 0xD800 <= c <= 0xDFFF:  # a lone surrogate: not a character
            units.append(f"\\u{c:04x}")
        else:
            units.append(ch)
    if len(units) > max_length >= 2:
        head, tail = max_length // 2, max_length - max_length // 2
        units = units[:head] + [f"[... {len(units) - max_length} characters cut ...]"] + units[-tail:]
    return "".join(units)


def _flat(message):
    """A library's multi-line explanation as one line, for printable()."""
    return " ".join(str(message).split())


# ---- reading the reference's files ---------------------------------------------------------------

def torch_has_weights_only():
    """Whether this torch's load takes weights_only (1.13 and later)."""
    try:
        return "weights_only" in inspect.signature(torch.load).parameters
    except (TypeError, ValueError):
        return False


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle names something outside what a state_dict holds."""


def _admitted(module, name):
    """What a state_dict's pickle may name: the rebuild functions of tensors and parameters,
    storages, torch.Size, dtypes, and OrderedDict. Nothing that runs code of the file's choosing."""
    if (module, name) == ("collections", "OrderedDict"):
        return True
    if module == "torch._utils":
        return name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter")
    if module == "torch":
        return name.endswith("Storage") or name == "Size" or isinstance(getattr(torch, name, None), torch.dtype)
    return False


_STRINGS = ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING")


def _check_pickle(stream):
    """Reads one pickle's opcodes without running any (pickletools) and refuses it unless every
    name it looks up is admitted: GLOBAL and INST name theirs in the opcode; STACK_GLOBAL
    (protocol 4) takes two strings from the stack, which must be the two pushes just before it
    (literals, or memo entries that hold one); the extension registry is refused."""
    memo, recent, top = {}, [], None  # recent: the values of the latest pushes (a str, or None)
    for op, arg, _ in pickletools.genops(stream):
        name = op.name
        if name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            if not _admitted(module, attr):
                raise RefusedGlobal(f"it names {module}.{attr}, which a state_dict does not hold")
        elif name == "STACK_GLOBAL":
            if len(recent) < 2 or not all(isinstance(v, str) for v in recent[-2:]) or not _admitted(*recent[-2:]):
                shown = ".".join(v for v in recent[-2:] if isinstance(v, str)) or "a name built on the stack"
                raise RefusedGlobal(f"it names {shown}, which a state_dict does not hold")
        elif name in ("EXT1", "EXT2", "EXT4"):
            raise RefusedGlobal(f"it uses the pickle opcode {name}, which torch.save does not write")
        if name in ("FRAME", "PROTO"):  # framing: no change to the stack
            continue
        if name == "MEMOIZE":
            memo[len(memo)] = top
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = top
        else:  # every other opcode: its result (if any) is now on top; strings are tracked
            top = arg if name in _STRINGS else memo.get(arg) if name in ("GET", "BINGET", "LONG_BINGET") else None
            recent = (recent + [top])[-2:]


def _check_not_torchscript(path):
    """Refuses a TorchScript archive (a program, not a state_dict), which torch.load would hand to
    torch.jit.load (torch 1.13 does so even with weights_only)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        return  # not a zip: torch.load says what it is
    if any(n == "constants.pkl" or n.endswith("/constants.pkl") for n in names):
        raise RefusedGlobal("it is a TorchScript archive (a program), not a state_dict")


def _check_file(path):
    """_check_pickle on every pickle torch.load would read from `path`: a zip archive's .pkl
    members, or the legacy format's four (magic number, protocol, system info, the object). The
    old tar format is refused."""
    with open(path, "rb") as f:
        if zipfile.is_zipfile(f):
            with zipfile.ZipFile(f) as z:
                for n in z.namelist():
                    if n.endswith(".pkl"):
                        _check_pickle(io.BytesIO(z.read(n)))
            return
        f.seek(0)
        if tarfile.is_tarfile(path):
            raise RefusedGlobal("it is in PyTorch's old tar format; convert it with torch 1.13 or later")
        f.seek(0)
        for _ in range(4):
            _check_pickle(f)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if _admitted(module, name):
            return super().find_class(module, name)
        raise RefusedGlobal(f"it names {module}.{name}, which a state_dict does not hold")


def _restricted_pickle_module():
    """A pickle module for torch.load(pickle_module=...) that admits only what _admitted() names.
    torch subclasses its Unpickler (to map module names) and calls its load for the legacy
    format's header. (torch 1.13 ignores pickle_module when weights_only is False: the scan of
    _check_file, which runs first, is what makes this path safe on every torch.)"""
    m = types.ModuleType("cyclegan_restricted_pickle")
    m.Unpickler = _RestrictedUnpickler
    m.load = lambda f, **kw: _RestrictedUnpickler(f, **kw).load()
    m.UnpicklingError = pickle.UnpicklingError
    return m


def load_pth(path, restricted=None):
    """The object a .pth file holds, read as data only: torch's weights-only loader, or, where
    torch has none (or `restricted` is True, as a test asks), every pickle in the file scanned
    without running it and then read with the restricted unpickler. Raises ConversionError for a
    damaged file and for one that holds anything but tensors, storages, OrderedDict and plain
    containers (a pickled object whose loading would run code)."""
    if restricted is None:
        restricted = not torch_has_weights_only()
    where = printable(path)
    try:
        _check_not_torchscript(path)
        if restricted:
            _check_file(path)
            extra = {"weights_only": False} if torch_has_weights_only() else {}  # the restriction is ours
            return torch.load(path, map_location="cpu", pickle_module=_restricted_pickle_module(), **extra)
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        refused = isinstance(e, RefusedGlobal) or "Weights only load failed" in str(e)
        if refused:
            raise ConversionError(
                f"{where}: refused: the file holds more than tensors ({printable(_flat(e), 300)}). The converter reads "
                "weights only and runs no code from a file. If you trust where it came from, load it in PyTorch "
                "yourself and save only its state_dict (torch.save(net.state_dict(), 'clean.pth')), then convert that")
        # a truncated zip, pickle garbage, not a torch file
        raise ConversionError(f"{where}: not a readable PyTorch file ({type(e).__name__}: {printable(_flat(e), 300)})")


def load_state_dict(path):
    obj = load_pth(path)
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{printable(path)}: holds no state_dict (a dict of tensors)")
    state = {}
    for k, v in obj.items():
        k = k[len("module."):] if k.startswith("module.") else k
        if k.endswith("num_batches_tracked"):
            continue  # PyTorch's counter, unused with the default momentum; we do not keep it
        state[k] = v.detach().to(torch.float32).contiguous()
    if not state:
        raise ConversionError(f"{printable(path)}: the state_dict is empty")
    return state


def shape(state, key, path):
    if key not in state:
        raise ConversionError(f"{printable(path)}: expected tensor '{key}' is missing; is this a CycleGAN generator?")
    return list(state[key].shape)


def describe_generator(state, path):
    """netG, ngf, channels, norm, padding, dropout, read off a generator's state_dict."""
    keys = set(state)
    norm = "batch" if any(k.endswith("running_mean") for k in keys) else None
    if any(k.startswith("model.model.") for k in keys):
        first = "model.model.0.weight"
        ngf, input_nc = shape(state, first, path)[:2]
        # Each level below the outermost adds one "model.3" (its submodule) to the innermost keys, and
        # the innermost level's own up-convolution sits at model.3 too.
        def model3_pairs(key):
            parts = key.split(".")
            return sum(1 for a, b in zip(parts, parts[1:]) if a == "model" and b == "3")
        num_downs = max(model3_pairs(k) for k in keys) + 1
        if num_downs not in (7, 8):
            raise ConversionError(f"{printable(path)}: a U-Net with {num_downs} levels; the reference's are unet_128 (7) and "
                                  "unet_256 (8)")
        outer_up = "model.model.3.weight"
        output_nc = shape(state, outer_up, path)[1]
        if norm is None:
            norm = "instance" if "model.model.1.model.1.bias" in keys else "none"
        return {"netG": f"unet_{128 if num_downs == 7 else 256}", "ngf": ngf, "input_nc": input_nc, "output_nc": output_nc,
                "norm": norm, "padding": "reflect", "dropout": "0", "upsample": "transposed"}
    blocks = sorted({int(m.group(1)) for k in keys for m in [re.match(r"model\.(\d+)\.conv_block\.", k)] if m})
    if not blocks:
        raise ConversionError(f"{printable(path)}: neither a ResNet generator (no model.N.conv_block.*) nor a U-Net "
                              "(no model.model.*)")
    ngf, input_nc = shape(state, "model.1.weight", path)[:2]
    last = max(int(k.split(".")[1]) for k in keys if re.match(r"model\.\d+\.weight$", k))
    output_nc = shape(state, f"model.{last}.weight", path)[0]
    convs = sorted({int(m.group(1)) for k in keys for m in [re.match(rf"model\.{blocks[0]}\.conv_block\.(\d+)\.weight$", k)] if m
                    and len(state[k].shape) == 4})
    if len(convs) != 2:
        raise ConversionError(f"{printable(path)}: residual block model.{blocks[0]} has {len(convs)} convolutions, expected 2")
    # Block layouts: [pad, conv, norm, ReLU, (Dropout), pad, conv, norm], or without the pads
    # for zero padding; so the second convolution's distance tells dropout apart.
    zero = convs[0] == 0
    dropout = convs[1] - convs[0] == (4 if zero else 5)
    if norm is None:
        norm = "instance" if "model.1.bias" in keys else "none"
    return {"netG": f"resnet_{len(blocks)}blocks", "ngf": ngf, "input_nc": input_nc, "output_nc": output_nc, "norm": norm,
            "padding": "zero" if zero else "reflect", "dropout": "1" if dropout else "0", "upsample": "transposed"}


def describe_discriminator(state, path):
    keys = set(state)
    if any(k.startswith("net.") for k in keys):
        return {"netD": "pixel", "ndf": shape(state, "net.0.weight", path)[0], "n_layers_D": 3}
    convs = sorted(int(k.split(".")[1]) for k in keys if re.match(r"model\.\d+\.weight$", k) and len(state[k].shape) == 4)
    if not convs or convs[0] != 0:
        raise ConversionError(f"{printable(path)}: not a PatchGAN discriminator (no model.0.weight)")
    n_layers = len(convs) - 2
    return {"netD": "basic" if n_layers == 3 else "n_layers", "ndf": shape(state, "model.0.weight", path)[0], "n_layers_D": n_layers}


# ---- safetensors, by hand (no extra package) -----------------------------------------------------

def write_safetensors(path, tensors, metadata=None):
    """float64 tensors stay F64, everything else is written as F32; replaced atomically."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach()
        dtype = "F64" if t.dtype == torch.float64 else "F32"
        data = t.to(torch.float64 if dtype == "F64" else torch.float32).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Tensors (F32) and metadata of a safetensors file: JSON and raw numbers, nothing executed.
    Raises ConversionError naming the file, and the tensor, for anything malformed."""
    where = printable(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        n = struct.unpack("<Q", raw[:8])[0]
        if n > len(raw) - 8:
            raise ValueError(f"header length {n} runs past the end of the file (truncated?)")
        header = json.loads(raw[8:8 + n])
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except Exception as e:
        raise ConversionError(f"{where}: not a safetensors file ({type(e).__name__}: {printable(_flat(e), 300)})")
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        try:
            dtype, dims, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            ints = all(isinstance(v, int) and v >= 0 for v in [*dims, begin, end])
        except (KeyError, TypeError, ValueError):
            raise ConversionError(f"{where}: tensor '{printable(name)}' lacks dtype, shape or data_offsets")
        if dtype != "F32" or not ints or not begin <= end <= len(data) or end - begin != 4 * int(torch.Size(dims).numel()):
            raise ConversionError(f"{where}: tensor '{printable(name)}' is {printable(str(dtype))}, not F32 with a shape that "
                                  "fits its bytes, or runs past the end of the file (truncated?)")
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(dims).clone()
    return tensors, meta


# ---- the two directions --------------------------------------------------------------------------

def to_cyclegan(args):
    tensors, info = {}, {}
    for role in ("G_A", "G_B", "D_A", "D_B"):
        path = getattr(args, role)
        if not path:
            continue
        state = load_state_dict(path)
        desc = describe_generator(state, path) if role.startswith("G") else describe_discriminator(state, path)
        if role == "G_B":
            desc["input_nc"], desc["output_nc"] = desc["output_nc"], desc["input_nc"]  # record A -> B channels
        for k, v in desc.items():
            if k in info and str(info[k]) != str(v):
                raise ConversionError(f"{printable(path)}: its {k} is {v}, but another file given says {info[k]}")
            info[k] = v
        for k, v in state.items():
            tensors[f"{role}.{k}"] = v
    if not any(k.startswith("G_") for k in tensors):
        raise ConversionError("give at least one generator (--G-A or --G-B)")
    if args.padding_type:
        info["padding"] = args.padding_type
    if args.dropout:
        info["dropout"] = "1"
    info.setdefault("netD", "basic")
    info.setdefault("ndf", 64)
    info.setdefault("n_layers_D", 3)
    meta = {"format": "cyclegan.network", "format_version": "1", "converted_from": "pytorch-CycleGAN-and-pix2pix"}
    meta.update({f"info.{k}": v for k, v in info.items()})
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {printable(args.out)}: {len(tensors)} tensors, " + ", ".join(f"{k}={v}" for k, v in sorted(info.items())))


def to_reference(args):
    tensors, meta = read_safetensors(args.checkpoint)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for role in ("G_A", "G_B", "D_A", "D_B"):
        state = {k[len(role) + 1:]: v for k, v in tensors.items() if k.startswith(role + ".")}
        if not state:
            continue
        for k in list(state):
            if k.endswith("running_mean"):  # the reference's BatchNorm2d expects its counter
                state[k[: -len("running_mean")] + "num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
        path = os.path.join(args.out, f"{args.epoch}_net_{role}.pth")
        torch.save(state, path)
        written.append(path)
    if not written:
        raise ConversionError(f"{printable(args.checkpoint)}: holds no G_A/G_B/D_A/D_B tensors")
    print("wrote " + ", ".join(printable(w) for w in written))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("to-cyclegan", help="reference .pth files -> cyclegan safetensors")
    for role in ("G_A", "G_B", "D_A", "D_B"):
        a.add_argument("--" + role.replace("_", "-"), dest=role, help=f"the reference's latest_net_{role}.pth")
    a.add_argument("--out", required=True)
    a.add_argument("--padding-type", choices=["reflect", "replicate", "zero"],
                   help="reflect and replicate leave no trace in the weights: say replicate if it was trained so")
    a.add_argument("--dropout", action="store_true", help="the generator was built with dropout (no trace in the weights)")
    b = sub.add_parser("to-reference", help="cyclegan safetensors -> reference .pth files")
    b.add_argument("checkpoint")
    b.add_argument("--out", required=True)
    b.add_argument("--epoch", default="latest", help="file name prefix, as the reference's --epoch")
    args = p.parse_args(argv)
    try:
        (to_cyclegan if args.command == "to-cyclegan" else to_reference)(args)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
