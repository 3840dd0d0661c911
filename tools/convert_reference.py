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
"""
import argparse
import json
import os
import re
import struct
import sys

import torch


class ConversionError(Exception):
    pass


# ---- reading the reference's files ---------------------------------------------------------------

def load_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # truncated zip, pickle garbage, not a torch file
        raise ConversionError(f"{path}: not a readable PyTorch file ({type(e).__name__}: {e})")
    if hasattr(obj, "state_dict") and not isinstance(obj, dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{path}: holds no state_dict (a dict of tensors)")
    state = {}
    for k, v in obj.items():
        k = k[len("module."):] if k.startswith("module.") else k
        if k.endswith("num_batches_tracked"):
            continue  # PyTorch's counter, unused with the default momentum; we do not keep it
        state[k] = v.detach().to(torch.float32).contiguous()
    if not state:
        raise ConversionError(f"{path}: the state_dict is empty")
    return state


def shape(state, key, path):
    if key not in state:
        raise ConversionError(f"{path}: expected tensor '{key}' is missing; is this a CycleGAN generator?")
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
            raise ConversionError(f"{path}: a U-Net with {num_downs} levels; the reference's are unet_128 (7) and unet_256 (8)")
        outer_up = "model.model.3.weight"
        output_nc = shape(state, outer_up, path)[1]
        if norm is None:
            norm = "instance" if "model.model.1.model.1.bias" in keys else "none"
        return {"netG": f"unet_{128 if num_downs == 7 else 256}", "ngf": ngf, "input_nc": input_nc, "output_nc": output_nc,
                "norm": norm, "padding": "reflect", "dropout": "0", "upsample": "transposed"}
    blocks = sorted({int(m.group(1)) for k in keys for m in [re.match(r"model\.(\d+)\.conv_block\.", k)] if m})
    if not blocks:
        raise ConversionError(f"{path}: neither a ResNet generator (no model.N.conv_block.*) nor a U-Net (no model.model.*)")
    ngf, input_nc = shape(state, "model.1.weight", path)[:2]
    last = max(int(k.split(".")[1]) for k in keys if re.match(r"model\.\d+\.weight$", k))
    output_nc = shape(state, f"model.{last}.weight", path)[0]
    convs = sorted({int(m.group(1)) for k in keys for m in [re.match(rf"model\.{blocks[0]}\.conv_block\.(\d+)\.weight$", k)] if m
                    and len(state[k].shape) == 4})
    if len(convs) != 2:
        raise ConversionError(f"{path}: residual block model.{blocks[0]} has {len(convs)} convolutions, expected 2")
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
        raise ConversionError(f"{path}: not a PatchGAN discriminator (no model.0.weight)")
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
    try:
        with open(path, "rb") as f:
            raw = f.read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
    except Exception as e:
        raise ConversionError(f"{path}: not a safetensors file ({type(e).__name__}: {e})")
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if info["dtype"] != "F32" or end > len(data):
            raise ConversionError(f"{path}: tensor '{name}' is {info['dtype']} or runs past the end of the file (truncated?)")
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32).reshape(info["shape"]).clone()
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
                raise ConversionError(f"{path}: its {k} is {v}, but another file given says {info[k]}")
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
    print(f"wrote {args.out}: {len(tensors)} tensors, " + ", ".join(f"{k}={v}" for k, v in sorted(info.items())))


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
        raise ConversionError(f"{args.checkpoint}: holds no G_A/G_B/D_A/D_B tensors")
    print("wrote " + ", ".join(written))


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
