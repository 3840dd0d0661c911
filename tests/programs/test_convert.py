"""Models trained with the reference implementation, run by this library: tools/convert_reference.py
turns the reference's saved state_dicts into our format, and cyclegan-translate must then produce
the image the reference's test mode would, within 1/255 per pixel. And back: our checkpoints
convert to .pth files that the reference's networks load strictly and that give the same images.
A .pth file from a stranger is data: one that would run code when unpickled is refused, and the
code does not run, under this torch's weights-only loader and under the converter's own
restricted reader (for torches without one).
Run by ctest: python3 test_convert.py BIN_DIR [--python=PYTHON: run this file under that Python
instead, e.g. one with PyPI's torch; exits 77 (skipped) when PYTHON is empty]"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import convert_reference  # noqa: E402
from reference_networks import NLayerDiscriminator, ResnetGenerator, UnetGenerator, init_weights  # noqa: E402

BIN = None


def reference_test_mode(net, png_path):
    """The reference's test.py for one image: ToTensor, Normalize(0.5, 0.5), G, tensor2im (truncating)."""
    img = np.asarray(Image.open(png_path).convert("RGB"), dtype=np.float32) / 255.0
    x = torch.from_numpy((img.transpose(2, 0, 1) - 0.5) / 0.5)[None]
    with torch.no_grad():
        y = net(x)[0].numpy()
    return ((np.transpose(y, (1, 2, 0)) + 1) / 2.0 * 255.0).astype(np.uint8)


def smooth_image(path, size, seed):
    """A photo-like test image: smooth colour fields plus a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    channels = [np.sin(6 * xx * rng.uniform(0.5, 2) + rng.uniform(0, 6)) * np.cos(5 * yy * rng.uniform(0.5, 2)) for _ in range(3)]
    img = (np.stack(channels, -1) * 100 + 128 + rng.normal(0, 8, (size, size, 3))).clip(0, 255).astype(np.uint8)
    Image.fromarray(img).save(path)


class Convert(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cyclegan_convert_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def translate(self, model, image, direction="AtoB"):
        out = os.path.join(self.tmp, "out_" + os.path.basename(model))
        p = subprocess.run([os.path.join(BIN, "cyclegan-translate"), "--checkpoint", model, "--direction", direction, "--output", out,
                            "--threads", "1", image], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        stem = os.path.splitext(os.path.basename(image))[0]
        return np.asarray(Image.open(os.path.join(out, "images", stem + "_fake.png")).convert("RGB"))

    def check_architecture(self, name, net, size, prefix_module=False):
        torch.manual_seed(hash(name) % 1000)
        init_weights(net)
        with torch.no_grad():  # non-zero biases, so that every tensor is exercised
            for k, v in net.state_dict().items():
                if k.endswith("bias"):
                    v.normal_(0, 0.05)
        net.eval()
        state = net.state_dict()
        if prefix_module:  # as DataParallel saves it
            state = {"module." + k: v for k, v in state.items()}
        pth = os.path.join(self.tmp, f"{name}_net_G_A.pth")
        torch.save(state, pth)
        model = os.path.join(self.tmp, f"{name}.safetensors")
        self.assertEqual(convert_reference.main(["to-cyclegan", "--G-A", pth, "--out", model]), 0)
        image = os.path.join(self.tmp, f"{name}_input.png")
        smooth_image(image, size, seed=len(name))
        ours = self.translate(model, image).astype(int)
        theirs = reference_test_mode(net, image).astype(int)
        diff = np.abs(ours - theirs)
        print(f"{name}: {size}x{size}, largest difference {diff.max()}/255, {np.mean(diff > 0) * 100:.2f}% of values differ")
        self.assertLessEqual(diff.max(), 1)

        # The state_dict saved as plain safetensors, no record: the library recognises the
        # generator by its tensors (Translator::load) and gives the same image.
        plain = os.path.join(self.tmp, f"{name}_state_dict.safetensors")
        convert_reference.write_safetensors(plain, net.state_dict())
        one = os.path.join(self.tmp, f"{name}_one.png")
        p = subprocess.run([os.path.join(BIN, "cyclegan-translate-one"), plain, image, one], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue((np.asarray(Image.open(one).convert("RGB")).astype(int) == ours).all())

    def test_resnet_9blocks(self):
        self.check_architecture("resnet_9blocks", ResnetGenerator(3, 3, 64, "instance", False, 9), 64)

    def test_resnet_6blocks_saved_by_dataparallel(self):
        self.check_architecture("resnet_6blocks", ResnetGenerator(3, 3, 64, "instance", False, 6), 48, prefix_module=True)

    def test_unet_128(self):
        self.check_architecture("unet_128", UnetGenerator(3, 3, 7, 64, "instance"), 128)

    def test_unet_128_batch_norm(self):  # its state_dict has num_batches_tracked counters
        net = UnetGenerator(3, 3, 7, 16, "batch")
        with torch.no_grad():
            for k, v in net.state_dict().items():
                if "running" in k:
                    v.uniform_(0.5, 1.5)
        self.check_architecture("unet_128_batch", net, 128)

    def test_unet_256(self):
        self.check_architecture("unet_256", UnetGenerator(3, 3, 8, 32, "instance"), 256)

    def test_damaged_or_mismatched_pth(self):
        net = ResnetGenerator(3, 3, 8, "instance", False, 6)
        good = os.path.join(self.tmp, "good.pth")
        torch.save(net.state_dict(), good)
        with open(good, "rb") as f:
            data = f.read()
        cut = os.path.join(self.tmp, "cut.pth")
        with open(cut, "wb") as f:
            f.write(data[: len(data) // 2])
        out = os.path.join(self.tmp, "never.safetensors")
        with self.assertRaisesRegex(convert_reference.ConversionError, "cut.pth: not a readable PyTorch file"):
            convert_reference.to_cyclegan(convert_reference.argparse.Namespace(G_A=cut, G_B=None, D_A=None, D_B=None, out=out,
                                                                              padding_type=None, dropout=False))
        disc = os.path.join(self.tmp, "disc.pth")
        torch.save(NLayerDiscriminator(3, 8, 3, "instance").state_dict(), disc)
        with self.assertRaisesRegex(convert_reference.ConversionError, "disc.pth: neither a ResNet generator"):
            convert_reference.to_cyclegan(convert_reference.argparse.Namespace(G_A=disc, G_B=None, D_A=None, D_B=None, out=out,
                                                                              padding_type=None, dropout=False))
        self.assertFalse(os.path.exists(out))
        # A tensor of the wrong shape slips past the converter's reading of names, but not past the
        # library's load, which names the tensor and both shapes.
        state = net.state_dict()
        state["model.1.weight"] = torch.zeros(8, 3, 5, 5)
        odd = os.path.join(self.tmp, "odd.pth")
        torch.save(state, odd)
        self.assertEqual(convert_reference.main(["to-cyclegan", "--G-A", odd, "--out", out]), 0)
        image = os.path.join(self.tmp, "odd.png")
        smooth_image(image, 16, 1)
        p = subprocess.run([os.path.join(BIN, "cyclegan-translate"), "--checkpoint", out, "--output", os.path.join(self.tmp, "o"),
                            image], capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("G_A.model.1.weight", p.stderr)
        self.assertIn("[8, 3, 5, 5]", p.stderr)

    def test_our_checkpoint_back_to_the_reference(self):
        data = os.path.join(self.tmp, "shapes")
        subprocess.run([os.path.join(BIN, "cyclegan-demo-data"), "--out", data, "--train", "3", "--test", "1", "--size", "32"],
                       check=True, capture_output=True)
        ckpt = os.path.join(self.tmp, "ckpt")
        subprocess.run([os.path.join(BIN, "cyclegan-train"), "--dataroot", data, "--checkpoints-dir", ckpt, "--name", "r",
                        "--netG", "resnet_6blocks", "--ngf", "8", "--ndf", "8", "--norm", "batch", "--load-size", "32",
                        "--crop-size", "32", "--n-epochs", "1", "--n-epochs-decay", "0", "--threads", "1", "--quiet"],
                       check=True, capture_output=True)
        latest = os.path.join(ckpt, "r", "latest.safetensors")
        out = os.path.join(self.tmp, "reference")
        self.assertEqual(convert_reference.main(["to-reference", latest, "--out", out]), 0)
        for role in ("G_A", "G_B", "D_A", "D_B"):
            self.assertTrue(os.path.exists(os.path.join(out, f"latest_net_{role}.pth")), role)
        g_b = ResnetGenerator(3, 3, 8, "batch", False, 6)
        g_b.load_state_dict(torch.load(os.path.join(out, "latest_net_G_B.pth")))  # strict: every key, every shape
        NLayerDiscriminator(3, 8, 3, "batch").load_state_dict(torch.load(os.path.join(out, "latest_net_D_A.pth")))
        g_b.eval()
        image = os.path.join(data, "testB", "0000.png")
        diff = np.abs(self.translate(latest, image, "BtoA").astype(int) - reference_test_mode(g_b, image).astype(int))
        self.assertLessEqual(diff.max(), 1)


class Payload:
    """What a malicious .pth holds: unpickling it runs a shell command (here, it makes `marker`)."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


# What a file name or a tensor name holds to attack a terminal (as in test_programs.py): clear the
# screen, set the window title, a C1 CSI, a right-to-left override, a byte that is not UTF-8.
EVIL = "\x1b[2J\x1b]0;OWNED\x07evil\u009b31m\u202egnp\udcff"
EVIL_SHOWN = "\\x1b[2J\\x1b]0;OWNED\\x07evil\\u009b31m\\u202egnp\\xff"
ACTS = set(range(0x20)) | set(range(0x7F, 0xA0)) | {0x200E, 0x200F} | set(range(0x2028, 0x202F)) | set(range(0x2066, 0x206A))


def raw_controls(output):
    """Characters of `output` (bytes) a terminal acts on, line breaks aside, or bytes not UTF-8."""
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"a byte that is not UTF-8 at {e.start}"]
    return [f"U+{ord(c):04X} at {i}" for i, c in enumerate(text) if ord(c) in ACTS and c != "\n"]


CONVERTER = os.path.join(HERE, "..", "..", "tools", "convert_reference.py")


class FilesFromStrangers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cyclegan_strangers_")
        cls.net = ResnetGenerator(3, 3, 4, "batch", False, 6)
        print(f"torch {torch.__version__}, weights_only: {convert_reference.torch_has_weights_only()}")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def convert(self, pth, out):
        """The converter as a person runs it: its exit code and its error output (bytes)."""
        p = subprocess.run([sys.executable, CONVERTER, "to-cyclegan", "--G-A", pth, "--out", out], capture_output=True)
        return p.returncode, p.stderr

    def malicious_files(self):
        """(name, path, marker) for each way a .pth can carry code: a payload among a state_dict's
        tensors (zip and legacy formats, pickle protocols 2 and 4), a payload as the whole file, a
        pickled nn.Module (its classes), and a TorchScript archive."""
        files = []
        for proto in (2, 4):
            for zipped in (True, False):
                name = f"payload_p{proto}_{'zip' if zipped else 'legacy'}"
                marker = self.path(name + ".PWNED")
                state = dict(self.net.state_dict())
                state["model.1.weight"] = Payload(marker)
                torch.save(state, self.path(name + ".pth"), pickle_protocol=proto, _use_new_zipfile_serialization=zipped)
                files.append((name, self.path(name + ".pth"), marker))
        marker = self.path("whole.PWNED")
        torch.save(Payload(marker), self.path("whole.pth"))
        files.append(("whole", self.path("whole.pth"), marker))
        torch.save(self.net, self.path("module.pth"))
        files.append(("module", self.path("module.pth"), None))
        torch.jit.script(torch.nn.Conv2d(1, 1, 1)).save(self.path("script.pth"))
        files.append(("torchscript", self.path("script.pth"), None))
        return files

    def test_the_payloads_are_real(self):
        # Loaded as torch.load loads by default before PyTorch 2.6, each payload runs: the files
        # below are real attacks, so their refusal means something.
        for name, pth, marker in self.malicious_files():
            if marker is None:
                continue
            extra = {"weights_only": False} if convert_reference.torch_has_weights_only() else {}
            try:
                torch.load(pth, map_location="cpu", **extra)
            except Exception:
                pass  # loading goes wrong after the command has run
            self.assertTrue(os.path.exists(marker), name)
            os.remove(marker)

    def test_a_pth_that_would_run_code_is_refused_and_nothing_runs(self):
        for name, pth, marker in self.malicious_files():
            with self.subTest(name):
                out = self.path(name + ".safetensors")
                code, err = self.convert(pth, out)
                self.assertEqual(code, 1, err)
                self.assertIn(b"refused: the file holds more than tensors", err)
                self.assertIn(b"runs no code from a file", err)
                self.assertFalse(os.path.exists(out))
                if marker:
                    self.assertFalse(os.path.exists(marker), "the payload ran")
                # The reader for torches without weights_only, forced: the same refusal.
                with self.assertRaisesRegex(convert_reference.ConversionError, "refused: the file holds more than tensors"):
                    convert_reference.load_pth(pth, restricted=True)
                if marker:
                    self.assertFalse(os.path.exists(marker), "the payload ran in the restricted reader")

    def test_state_dicts_load_through_both_readers(self):
        # What torch.save writes for a state_dict: zip and legacy, protocols 2 and 4, Parameters.
        state = self.net.state_dict()
        cases = [("zip", state, {}), ("legacy", state, {"_use_new_zipfile_serialization": False}),
                 ("protocol4", state, {"pickle_protocol": 4}),
                 ("parameters", {k: torch.nn.Parameter(v) if v.is_floating_point() else v for k, v in state.items()}, {})]
        for name, obj, options in cases:
            pth = self.path(f"good_{name}.pth")
            torch.save(obj, pth, **options)
            for restricted in (False, True):
                if name == "protocol4" and not restricted:
                    continue  # torch's weights-only loader reads protocol 2, which torch.save writes by default
                with self.subTest(name=name, restricted=restricted):
                    got = convert_reference.load_pth(pth, restricted=restricted)
                    self.assertEqual(sorted(got), sorted(state))
                    for k, v in state.items():
                        self.assertTrue(torch.equal(got[k], v), k)
        out = self.path("good.safetensors")
        code, err = self.convert(self.path("good_legacy.pth"), out)
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.exists(out))

    def test_names_from_files_are_printed_escaped(self):
        # The converter's rule is the library's: the same text for the same name.
        self.assertEqual(convert_reference.printable(EVIL), EVIL_SHOWN)
        self.assertEqual(convert_reference.printable("z\u00e9bra \u6771\u4eac/x#1 'q'.png"), "z\u00e9bra \u6771\u4eac/x#1 'q'.png")
        self.assertEqual(convert_reference.printable("abcdefgh", 4), "ab[... 4 characters cut ...]gh")
        long = "/data/" + "d" * 1000 + "/last.pth"
        shown = convert_reference.printable(long)
        self.assertTrue(shown.startswith("/data/ddd") and shown.endswith("d/last.pth"), shown)
        self.assertIn(f"[... {len(long) - 256} characters cut ...]", shown)
        missing = self.path("model_" + EVIL + ".safetensors")
        p = subprocess.run([os.fsencode(a) for a in (os.path.join(BIN, "cyclegan-translate-one"), missing, "x.png", "y.png")],
                           capture_output=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(os.fsencode(convert_reference.printable(missing)) + b": no such file", p.stderr)

        # A damaged .pth whose name holds escape sequences; a safetensors file whose tensor name does.
        bad = self.path("cut_" + EVIL + ".pth")
        with open(bad, "wb") as f:
            f.write(b"PK\x03\x04 not much of a zip")
        code, err = self.convert(bad, self.path("never.safetensors"))
        self.assertEqual(code, 1)
        self.assertEqual(raw_controls(err), [], err)
        self.assertIn(os.fsencode(convert_reference.printable(bad)) + b": not a readable PyTorch file", err)
        odd = self.path("odd.safetensors")
        convert_reference.write_safetensors(odd, {"G_A." + EVIL.replace("\udcff", "\u00ff"): torch.zeros(2)})
        with open(odd, "rb") as f:
            raw = f.read()
        with open(odd, "wb") as f:
            f.write(raw.replace(b'"F32"', b'"F16"'))
        p = subprocess.run([sys.executable, CONVERTER, "to-reference", odd, "--out", self.path("ref")], capture_output=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(raw_controls(p.stderr), [], p.stderr)
        self.assertIn(("tensor 'G_A." + EVIL_SHOWN.replace("\\xff", "\u00ff") + "' is F16").encode(), p.stderr)


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    if len(sys.argv) > 1 and sys.argv[1].startswith("--python="):
        other = sys.argv.pop(1)[len("--python="):]
        if not other:
            print("SKIPPED: no second torch given (configure with -DCYCLEGAN_PYPI_TORCH_PYTHON=/path/to/python, a Python "
                  "with PyPI's torch, numpy and Pillow)")
            sys.exit(77)
        sys.exit(subprocess.run([other, os.path.abspath(__file__), BIN, *sys.argv[1:]]).returncode)
    unittest.main(verbosity=2)
