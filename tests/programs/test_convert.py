"""Models trained with the reference implementation, run by this library: tools/convert_reference.py
turns the reference's saved state_dicts into our format, and cyclegan-translate must then produce
the image the reference's test mode would, within 1/255 per pixel. And back: our checkpoints
convert to .pth files that the reference's networks load strictly and that give the same images.
Run by ctest: python3 test_convert.py BIN_DIR"""
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


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
