"""The programs as a person uses them: cyclegan-demo-data, cyclegan-train, cyclegan-translate.
Every bad input must give a clear message naming the file and the problem, a non-zero exit, and
lose nothing already saved. Run by ctest: python3 test_programs.py BIN_DIR"""
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

BIN = None
SMALL = ["--netG", "resnet_6blocks", "--ngf", "4", "--ndf", "4", "--load-size", "32", "--crop-size", "32",
         "--threads", "1", "--quiet"]


def run(*args, check=True, env=None, timeout=600):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def tool(name):
    return os.path.join(BIN, name)


def png(path, width, height, channels=3, value=128):
    """A valid PNG written by hand (zlib, stored rows), so tests need no image library."""
    import zlib
    colour = {1: 0, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\x00" + bytes([value] * (width * channels)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def losses_by_iteration(csv):
    rows = {}
    with open(csv) as f:
        next(f)
        for line in f:
            cells = line.strip().split(",")
            rows[int(cells[1])] = cells[2:10]
    return rows


def demo_data(out, train, test):
    """cyclegan-demo-data's shapes at 32 pixels: `train` images per domain to train on, `test` to translate."""
    run(tool("cyclegan-demo-data"), "--out", out, "--train", train, "--test", test, "--size", "32")
    return out


class TempFolderCase(unittest.TestCase):
    """A temporary folder per test class (self.tmp), removed after it; dir(name) is a fresh one in it."""
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cyclegan_" + cls.__name__.lower() + "_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def dir(self, name):
        d = os.path.join(self.tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d


class Programs(TempFolderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = demo_data(os.path.join(cls.tmp, "shapes"), 6, 3)

    def train(self, dataroot, ckpt, *extra, check=True, name="run"):
        return run(tool("cyclegan-train"), "--dataroot", dataroot, "--checkpoints-dir", ckpt, "--name", name, *SMALL, *extra,
                   check=check)

    def copy_data(self, name):
        d = os.path.join(self.tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(self.data, d)
        return d

    # ---- the normal path --------------------------------------------------------------------

    def test_help_lists_the_reference_options(self):
        out = run(tool("cyclegan-train"), "--help").stdout
        for option in ["--dataroot", "--name", "--checkpoints-dir", "--netG", "--netD", "--n-layers-D", "--ngf", "--ndf",
                       "--norm", "--init-type", "--init-gain", "--no-dropout", "--gan-mode", "--lambda-A", "--lambda-B",
                       "--lambda-identity", "--pool-size", "--lr", "--beta1", "--lr-policy", "--n-epochs",
                       "--n-epochs-decay", "--load-size", "--crop-size", "--preprocess", "--no-flip", "--input-nc",
                       "--output-nc", "--continue-train", "--epoch", "--save-epoch-freq", "--seed", "--threads", "--device"]:
            self.assertIn(option, out)
        self.assertIn("--direction", run(tool("cyclegan-translate"), "--help").stdout)

    def test_every_gan_mode_trains_and_is_recorded(self):
        """--gan-mode picks the loss at run time (GANLoss): each mode trains, its losses differ from the
        others' on the same data and seed, and the checkpoint records the mode."""
        import json
        first_losses = {}
        for mode in ["lsgan", "vanilla", "hinge", "wgangp"]:
            ckpt = self.dir("ckpt_gan_" + mode)
            self.train(self.data, ckpt, "--gan-mode", mode, "--max-dataset-size", "1", "--n-epochs", "1",
                       "--n-epochs-decay", "0", "--seed", "5")
            run_dir = os.path.join(ckpt, "run")
            first_losses[mode] = tuple(losses_by_iteration(os.path.join(run_dir, "loss_log.csv"))[1])
            with open(os.path.join(run_dir, "latest.safetensors"), "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
                meta = json.loads(f.read(n))["__metadata__"]
            self.assertEqual([v for k, v in meta.items() if k.endswith("gan_mode")], [mode], meta)
        self.assertEqual(len(set(first_losses.values())), 4, first_losses)

    def test_train_report_translate(self):
        ckpt = self.dir("ckpt_main")
        out = self.train(self.data, ckpt, "--n-epochs", "1", "--n-epochs-decay", "1", "--save-epoch-freq", "1").stdout
        run_dir = os.path.join(ckpt, "run")
        for f in ["latest.safetensors", "1.safetensors", "2.safetensors", "loss_log.csv", "web/index.html"]:
            self.assertTrue(os.path.exists(os.path.join(run_dir, f)), f)
        self.assertIn("report:", out)
        self.assertEqual(len(losses_by_iteration(os.path.join(run_dir, "loss_log.csv"))), 12)
        # The report parses as XML (so its inline SVG is well-formed) and every image it shows exists.
        page = os.path.join(run_dir, "web", "index.html")
        root = ET.parse(page).getroot()
        ns = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}
        self.assertEqual(len(root.findall(".//s:svg", ns)), 2)
        self.assertGreater(len(root.findall(".//s:polyline", ns)), 0)
        images = [img.get("src") for img in root.findall(".//h:img", ns)]
        self.assertEqual(len(images), 2)  # one grid per epoch
        for src in images:
            self.assertTrue(os.path.exists(os.path.join(run_dir, "web", src)), src)

        # Translate a folder and a single file of another size; outputs keep the input's size.
        odd = os.path.join(self.tmp, "odd.png")
        png(odd, 37, 23)
        results = os.path.join(self.tmp, "results")
        run(tool("cyclegan-translate"), "--checkpoint", os.path.join(run_dir, "latest.safetensors"), "--direction", "BtoA",
            "--output", results, "--threads", "1", os.path.join(self.data, "testB"), odd)
        root = ET.parse(os.path.join(results, "index.html")).getroot()
        srcs = [img.get("src") for img in root.iter("{http://www.w3.org/1999/xhtml}img")]
        self.assertEqual(len(srcs), 2 * 4)
        for src in srcs:
            self.assertTrue(os.path.exists(os.path.join(results, src)), src)
        with open(os.path.join(results, "images", "odd_fake.png"), "rb") as f:
            width, height = struct.unpack(">II", f.read(24)[16:24])
        self.assertEqual((width, height), (37, 23))

    def test_resume_is_exact_and_ctrl_c_saves(self):
        # Uninterrupted: two epochs. Interrupted: Ctrl-C in the first epoch, then --continue-train.
        ckpt = self.dir("ckpt_resume")
        args = ["--n-epochs", "1", "--n-epochs-decay", "1", "--seed", "3"]
        self.train(self.data, ckpt, *args, name="whole")
        data = self.copy_data("slow_data")  # more images, so there is time to interrupt
        demo_data(data, 40, 1)
        full = self.train(data, ckpt, *args, name="reference")
        log = os.path.join(ckpt, "part", "loss_log.csv")
        p = subprocess.Popen([tool("cyclegan-train"), "--dataroot", data, "--checkpoints-dir", ckpt, "--name", "part",
                              *SMALL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        def rows():
            if not os.path.exists(log):
                return 0
            with open(log) as f:
                return len(f.readlines())
        while time.time() < deadline and rows() < 6:
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 130, out + err)
        self.assertIn("interrupted: saved", out)
        stopped_at = max(losses_by_iteration(log))
        self.assertLess(stopped_at, 80)
        self.train(data, ckpt, *args, "--continue-train", name="part")
        ours, reference = losses_by_iteration(log), losses_by_iteration(os.path.join(ckpt, "reference", "loss_log.csv"))
        self.assertEqual(sorted(ours), sorted(reference))
        for it in reference:  # the same numbers, to the digits the log keeps
            self.assertEqual(ours[it], reference[it], f"iteration {it} (interrupted after {stopped_at})")

    def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(self):
        ckpt = self.dir("ckpt_nan")
        # One image per epoch: epoch 1 ends (finite) and is saved; Adam's 1e30 steps ruin epoch 2.
        p = self.train(self.data, ckpt, "--max-dataset-size", "1", "--n-epochs", "3", "--n-epochs-decay", "0", "--lr", "1e30",
                       "--lambda-identity", "0", check=False)
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"loss \w+ is (nan|inf|-nan|-inf) at iteration [23] \(epoch [23]\)")
        latest = os.path.join(ckpt, "run", "latest.safetensors")
        self.assertIn(latest, p.stderr)
        run(tool("cyclegan-translate"), "--checkpoint", latest, "--output", os.path.join(self.tmp, "nan_out"),
            os.path.join(self.data, "testA", "0000.png"))  # still a readable checkpoint

    def test_grayscale_rgb_mixed_and_tiny_images_train(self):
        data = self.copy_data("mixed")
        png(os.path.join(data, "trainA", "gray.png"), 32, 32, channels=1)
        png(os.path.join(data, "trainA", "rgba.png"), 40, 30, channels=4)
        png(os.path.join(data, "trainB", "one_pixel.png"), 1, 1)
        with open(os.path.join(data, "trainA", "notes.txt"), "w") as f:
            f.write("not an image")
        p = self.train(data, self.dir("ckpt_mixed"), "--n-epochs", "1", "--n-epochs-decay", "0")
        self.assertIn("notes.txt", p.stderr)  # skipped with a warning

    def png_size(self, path):
        with open(path, "rb") as f:
            return struct.unpack(">II", f.read(24)[16:24])

    def dead_pid(self):
        child = os.fork()
        if child == 0:
            os._exit(0)
        os.waitpid(child, 0)
        return child

    def test_any_size_trains_and_translates(self):
        # Portrait images through scale_width: 64 wide, 98 high, rounded to 100 for the networks.
        data = self.dir("portrait")
        for domain in ("trainA", "trainB"):
            os.makedirs(os.path.join(data, domain))
            for k in range(3):
                png(os.path.join(data, domain, f"{k}.png"), 50, 77, value=40 + 60 * k)
        ckpt = self.dir("ckpt_portrait")
        run_dir = os.path.join(ckpt, "run")
        os.makedirs(run_dir)
        # A killed run's temporary files (ours, by name and dead process) go; anyone else's stay.
        stale = os.path.join(run_dir, f".latest.safetensors.tmp-{self.dead_pid()}-0-42")
        with open(stale, "wb") as f:
            f.write(b"\0" * 1000)
        with open(os.path.join(run_dir, "notes.tmp"), "w") as f:
            f.write("mine")
        p = self.train(data, ckpt, "--preprocess", "scale_width", "--load-size", "64", "--crop-size", "32",
                       "--n-epochs", "1", "--n-epochs-decay", "0")
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(os.path.join(run_dir, "notes.tmp")))
        self.assertIn("removed 1 temporary files left by an interrupted run", p.stdout)

        # Crops the networks cannot take: refused before training, naming the smallest that works.
        small = self.dir("small_images")
        for domain in ("trainA", "trainB"):
            os.makedirs(os.path.join(small, domain))
            png(os.path.join(small, domain, "a.png"), 20, 20)
        for crop in ("16", "8"):
            p = self.train(small, self.dir("ckpt_tiny_crop"), "--load-size", crop, "--crop-size", crop, check=False)
            self.assert_fails(p, f"--crop-size {crop}", "multiples of 4 and at least 24", "use 24")
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "ckpt_tiny_crop", "run", "latest.safetensors")))
        p = self.train(small, self.dir("ckpt_odd_crop"), "--load-size", "30", "--crop-size", "30", check=False)
        self.assert_fails(p, "--crop-size 30", "use 28 or 32")

        # Tiny and odd images translate at their own size.
        tiny = self.dir("tiny")
        sizes = [(1, 1), (2, 2), (3, 3), (4, 4), (7, 5)]
        for w, h in sizes:
            png(os.path.join(tiny, f"{w}x{h}.png"), w, h)
        out = self.dir("tiny_out")
        run(tool("cyclegan-translate"), "--checkpoint", os.path.join(run_dir, "latest.safetensors"), "--output", out,
            "--threads", "1", tiny)
        for w, h in sizes:
            self.assertEqual(self.png_size(os.path.join(out, "images", f"{w}x{h}_fake.png")), (w, h))

        # A file's alpha comes back onto the output (an RGB model, an RGBA and a grey+alpha file).
        from PIL import Image
        Image.new("RGBA", (9, 6), (200, 30, 90, 77)).save(os.path.join(tiny, "rgba.png"))
        Image.new("LA", (5, 7), (120, 201)).save(os.path.join(tiny, "la.png"))
        out = self.dir("alpha_out")
        run(tool("cyclegan-translate"), "--checkpoint", os.path.join(run_dir, "latest.safetensors"), "--output", out,
            "--threads", "1", os.path.join(tiny, "rgba.png"), os.path.join(tiny, "la.png"), os.path.join(tiny, "3x3.png"))
        for name, size, alpha in (("rgba", (9, 6), 77), ("la", (5, 7), 201)):
            fake = Image.open(os.path.join(out, "images", f"{name}_fake.png"))
            self.assertEqual((fake.mode, fake.size), ("RGBA", size))
            self.assertEqual(set(fake.getdata(3)), {alpha})
        self.assertEqual(Image.open(os.path.join(out, "images", "3x3_fake.png")).mode, "RGB")

    def test_translate_one_takes_any_size_and_equals_translate(self):
        # The documented ten-line program: a resnet_9blocks at the paper's width, an odd-sized photo.
        ckpt = self.dir("ckpt_r9")
        run(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", ckpt, "--name", "run", "--netG",
            "resnet_9blocks", "--ndf", "4", "--load-size", "32", "--crop-size", "32", "--threads", "2", "--quiet",
            "--max-dataset-size", "1", "--n-epochs", "1", "--n-epochs-decay", "0")
        model = os.path.join(ckpt, "run", "latest.safetensors")
        photo = os.path.join(self.tmp, "photo.png")
        from PIL import Image
        y, x = __import__("numpy").mgrid[0:131, 0:257]
        Image.fromarray(__import__("numpy").dstack([x % 256, y * 2 % 256, (x + y) % 256]).astype("uint8")).save(photo)
        one = os.path.join(self.tmp, "photo_one.png")
        run(tool("cyclegan-translate-one"), model, photo, one)
        out = self.dir("r9_out")
        run(tool("cyclegan-translate"), "--checkpoint", model, "--output", out, "--threads", "2", photo)
        a, b = Image.open(one), Image.open(os.path.join(out, "images", "photo_fake.png"))
        self.assertEqual(a.size, (257, 131))
        self.assertEqual(list(a.getdata()), list(b.getdata()))

        # In tiles, every norm on the whole image's statistics: the same pixels, but for the odd
        # level where sums in another order round the other way (exact); sampled windows that here
        # cover the image give the same.
        import numpy as np
        whole = np.asarray(a, dtype=int)
        for extra in (["--tile", "128"], ["--tile", "100", "--tile-statistics", "sampled"]):
            tiled_out = self.dir("r9_tiled")
            p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", tiled_out, "--threads", "2", *extra, photo)
            self.assertIn(f"tiles of {extra[1]} pixels with a halo of 88", p.stdout)
            tiled = np.asarray(Image.open(os.path.join(tiled_out, "images", "photo_fake.png")), dtype=int)
            self.assertEqual(tiled.shape, whole.shape)
            self.assertLessEqual(np.abs(tiled - whole).max(), 1)
            self.assertLess((tiled != whole).mean(), 0.01)
        p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", self.dir("r9_bad"), "--tile-statistics",
                "mean", photo, check=False)
        self.assert_fails(p, "--tile-statistics")

        # A TIFF by parts (--format tif): the pixels of the PNG route in the same tiles, written as a
        # tiled TIFF only (no copy of the input, no page); --bits needs --format tif.
        photo_tif = os.path.join(self.tmp, "photo_tif.tif")
        Image.open(photo).save(photo_tif, compression="tiff_lzw")
        png_out, tif_out = self.dir("r9_tiles_png"), self.dir("r9_tiles_tif")
        run(tool("cyclegan-translate"), "--checkpoint", model, "--output", png_out, "--threads", "2", "--tile", "128", photo)
        p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", tif_out, "--threads", "2", "--tile", "128",
                "--format", "tif", photo_tif)
        self.assertIn("TIFFs in", p.stdout)
        self.assertEqual(os.listdir(os.path.join(tif_out, "images")), ["photo_tif_fake.tif"])
        self.assertFalse(os.path.exists(os.path.join(tif_out, "index.html")))
        with Image.open(os.path.join(tif_out, "images", "photo_tif_fake.tif")) as t:
            self.assertEqual(list(t.getdata()), list(Image.open(os.path.join(png_out, "images", "photo_fake.png")).getdata()))
        p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", self.dir("r9_bits"), "--bits", "16", photo,
                check=False)
        self.assert_fails(p, "--bits 16 needs --format tif")

        # Progress per tile on stderr, and Ctrl-C: it stops after the tile running, writes nothing
        # of the image (no output, no temporary file) and exits 130. Tiles of 32 pixels with a halo
        # of 88 and 24 passes take minutes; the signal goes when the first tile is reported.
        stopped_out = self.dir("r9_stopped")
        err_path = os.path.join(self.tmp, "stopped_err.txt")
        with open(err_path, "w") as err_file:
            p = subprocess.Popen([tool("cyclegan-translate"), "--checkpoint", model, "--output", stopped_out, "--threads", "2",
                                  "--tile", "32", photo], stdout=subprocess.PIPE, stderr=err_file, text=True)
            deadline = time.time() + 120
            def err_text():
                with open(err_path) as f:
                    return f.read()
            while time.time() < deadline and "tile 1 of" not in err_text():
                time.sleep(0.05)
            p.send_signal(signal.SIGINT)
            out, _ = p.communicate(timeout=120)
        err = err_text()
        self.assertEqual(p.returncode, 130, out + err)
        self.assertIn("statistics pass 1: tile 1 of 45", err)
        self.assertNotIn("output pass", err)
        self.assertIn("interrupted: 0 of 1 images translated and written", err)
        self.assertEqual(os.listdir(os.path.join(stopped_out, "images")), [])

        # A memory budget (tests/test_checkpoint.cpp tiles within one): the photo fits in 1G whole; with
        # the generator's 45 MB of weights nothing fits in 1M.
        budget_out = self.dir("r9_budget")
        p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", budget_out, "--threads", "2", "--max-memory",
                "1G", photo)
        self.assertIn("memory budget 1.0 GiB", p.stdout)
        tiled = np.asarray(Image.open(os.path.join(budget_out, "images", "photo_fake.png")), dtype=int)
        self.assertLessEqual(np.abs(tiled - whole).max(), 1)
        p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", self.dir("r9_budget_small"), "--threads", "2",
                "--max-memory", "1M", photo, check=False)
        self.assert_fails(p, "over the memory budget of 1.0 MiB: raise the budget")
        for bad in ("2X", "-5", "1.5G"):
            p = run(tool("cyclegan-translate"), "--checkpoint", model, "--output", self.dir("r9_budget_bad"), "--max-memory", bad,
                    photo, check=False)
            self.assert_fails(p, "--max-memory", "is not a size")

    def test_hidden_and_other_files_are_skipped_and_one_bad_file_does_not_stop_a_batch(self):
        data = self.copy_data("hidden")
        a = os.path.join(data, "trainA")
        for name, content in ((".DS_Store", b"\0\0\0\1Bud1"), ("._0000.png", b"\0\5\x16\7AppleDouble"),
                              ("Thumbs.db", b"\xd0\xcf\x11\xe0"), ("readme.txt", b"hello")):
            with open(os.path.join(a, name), "wb") as f:
                f.write(content)
        os.makedirs(os.path.join(a, ".ipynb_checkpoints"))
        with open(os.path.join(a, ".ipynb_checkpoints", "x.png"), "wb") as f:
            f.write(b"not even a png")
        os.makedirs(os.path.join(a, "sub"))
        png(os.path.join(a, "sub", "extra.png"), 32, 32)
        ckpt = self.dir("ckpt_hidden")
        p = self.train(data, ckpt, "--n-epochs", "1", "--n-epochs-decay", "0")
        skipped = [line for line in p.stderr.splitlines() if "skipped" in line]
        self.assertEqual(len(skipped), 1, p.stderr)
        self.assertIn("3 hidden", skipped[0])
        self.assertIn("2 not images by name", skipped[0])
        self.assertIn("7 images in A", p.stdout)  # 6 + sub/extra.png

        # The same folder translates (7 images), plus a good and a truncated file given by name.
        good, cut = os.path.join(self.tmp, "good.png"), os.path.join(self.tmp, "cut.png")
        png(good, 20, 12)
        png(cut, 20, 12)
        with open(cut, "r+b") as f:
            f.truncate(40)
        out = self.dir("hidden_out")
        p = run(tool("cyclegan-translate"), "--checkpoint", os.path.join(ckpt, "run", "latest.safetensors"), "--output",
                out, "--threads", "1", a, cut, good, check=False)
        self.assert_fails(p, "cut.png", "1 of 9 images could not be translated")
        self.assertIn("translated 8 of 9", p.stdout)
        self.assertEqual(self.png_size(os.path.join(out, "images", "good_fake.png")), (20, 12))
        self.assertFalse(os.path.exists(os.path.join(out, "images", "cut_fake.png")))
        self.assertTrue(os.path.exists(os.path.join(out, "index.html")))

    def test_translate_never_reads_its_own_output(self):
        # --output inside (or equal to) an input folder: run again and again, the results are the
        # inputs' alone, never translations of earlier results.
        ckpt = self.dir("ckpt_own_output")
        self.train(self.data, ckpt, "--n-epochs", "1", "--n-epochs-decay", "0")
        latest = os.path.join(ckpt, "run", "latest.safetensors")
        for inside in ("", "results"):
            folder = self.dir("own_output")
            for k in range(3):
                png(os.path.join(folder, f"a{k}.png"), 12, 8, value=40 * k)
            output = os.path.join(folder, inside)
            for attempt in range(3):
                p = run(tool("cyclegan-translate"), "--checkpoint", latest, "--output", output, "--threads", "1", folder)
                self.assertIn("translated 3 of 3", p.stdout)
                if attempt:
                    self.assertIn("this command's output folder", p.stderr)
                self.assertEqual(sorted(os.listdir(os.path.join(output, "images"))),
                                 sorted(f"a{k}_{kind}.png" for k in range(3) for kind in ("real", "fake")))
        # The output folder given as the input: nothing of its own to translate.
        p = run(tool("cyclegan-translate"), "--checkpoint", latest, "--output", output, os.path.join(output, "images"),
                check=False)
        self.assert_fails(p, "this command's output folder")

    # ---- bad input: a clear message, a non-zero exit ------------------------------------------

    def assert_fails(self, p, *fragments):
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        for fragment in fragments:
            self.assertIn(fragment, p.stderr)

    def test_missing_and_empty_folders(self):
        missing = os.path.join(self.tmp, "no_such_dataset")
        self.assert_fails(self.train(missing, self.dir("ckpt_missing"), check=False), missing, "does not exist")
        empty = self.dir("empty_dataset")
        os.makedirs(os.path.join(empty, "trainA"))
        os.makedirs(os.path.join(empty, "trainB"))
        self.assert_fails(self.train(empty, self.dir("ckpt_empty"), check=False), os.path.join(empty, "trainA"))
        only_text = self.copy_data("only_text")
        shutil.rmtree(os.path.join(only_text, "trainB"))
        os.makedirs(os.path.join(only_text, "trainB"))
        with open(os.path.join(only_text, "trainB", "readme.txt"), "w") as f:
            f.write("x")
        self.assert_fails(self.train(only_text, self.dir("ckpt_text"), check=False), os.path.join(only_text, "trainB"))

    def test_truncated_png_and_corrupt_jpeg(self):
        data = self.copy_data("truncated")
        victim = os.path.join(data, "trainA", "0003.png")
        with open(victim, "rb") as f:
            content = f.read()
        with open(victim, "wb") as f:
            f.write(content[: len(content) // 2])
        self.assert_fails(self.train(data, self.dir("ckpt_trunc"), "--n-epochs", "1", "--n-epochs-decay", "0", check=False),
                          "0003.png")
        data = self.copy_data("corrupt")
        with open(os.path.join(data, "trainB", "broken.jpg"), "wb") as f:
            f.write(b"\xff\xd8\xff\xe0" + os.urandom(300))
        self.assert_fails(self.train(data, self.dir("ckpt_jpeg"), "--n-epochs", "1", "--n-epochs-decay", "0", check=False),
                          "broken.jpg")

    def test_images_smaller_than_the_crop(self):
        data = self.copy_data("small")
        png(os.path.join(data, "trainA", "small.png"), 20, 40)
        p = self.train(data, self.dir("ckpt_small"), "--preprocess", "crop", check=False)
        self.assert_fails(p, "small.png", "20x40")

    def test_bad_checkpoints(self):
        ckpt = self.dir("ckpt_bad")
        self.train(self.data, ckpt, "--n-epochs", "1", "--n-epochs-decay", "0")
        latest = os.path.join(ckpt, "run", "latest.safetensors")
        with open(latest, "rb") as f:
            good = f.read()
        # Another architecture: refused, with the differences named; nothing overwritten.
        p = self.train(self.data, ckpt, "--continue-train", "--ngf", "8", "--n-epochs", "2", check=False)
        self.assert_fails(p, latest, "--ngf: the checkpoint has 4, the command line says 8")
        with open(latest, "rb") as f:
            self.assertEqual(f.read(), good)
        # Truncated: refused by training and by translation.
        cut = os.path.join(ckpt, "run", "9.safetensors")
        with open(cut, "wb") as f:
            f.write(good[: len(good) // 3])
        self.assert_fails(self.train(self.data, ckpt, "--continue-train", "--epoch", "9", check=False), cut)
        self.assert_fails(run(tool("cyclegan-translate"), "--checkpoint", cut, "--output", os.path.join(self.tmp, "o"),
                              self.data + "/testA", check=False), cut)

    def test_failed_checkpoint_write_keeps_the_last_one(self):
        ckpt = self.dir("ckpt_full")
        self.train(self.data, ckpt, "--n-epochs", "1", "--n-epochs-decay", "1")
        latest = os.path.join(ckpt, "run", "latest.safetensors")
        with open(latest, "rb") as f:
            good = f.read()
        # A file-size limit below a checkpoint's size: the save fails like a full disk would.
        limit_kb = max(16, len(good) // 1024 // 2)
        cmd = " ".join([f"ulimit -f {limit_kb};", tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", ckpt,
                        "--name", "run", *SMALL, "--n-epochs", "2", "--n-epochs-decay", "1", "--continue-train"])
        p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
        self.assert_fails(p, "latest.safetensors")
        with open(latest, "rb") as f:
            self.assertEqual(f.read(), good)
        self.assertEqual([n for n in os.listdir(os.path.join(ckpt, "run")) if ".tmp" in n], [])

    def test_unwritable_output_folder(self):
        blocker = os.path.join(self.tmp, "a_file")
        with open(blocker, "w") as f:
            f.write("x")
        ckpt = self.dir("ckpt_out")
        self.train(self.data, ckpt, "--n-epochs", "1", "--n-epochs-decay", "0")
        p = run(tool("cyclegan-translate"), "--checkpoint", os.path.join(ckpt, "run", "latest.safetensors"), "--output",
                os.path.join(blocker, "results"), os.path.join(self.data, "testA"), check=False)
        self.assert_fails(p, os.path.join(blocker, "results"))
        p = self.train(self.data, os.path.join(blocker, "checkpoints"), check=False)
        self.assert_fails(p, blocker)

    def test_device_cuda(self):
        # With a GPU (and a build with the GPU backend) --device cuda trains and translates; without
        # one, both programs refuse with a message naming the option.
        ckpt = self.dir("ckpt_cuda")
        p = self.train(self.data, ckpt, "--device", "cuda", "--n-epochs", "1", "--n-epochs-decay", "0", check=False)
        if not has_gpu():
            self.assert_fails(p, "--device cuda")
            p = run(tool("cyclegan-translate"), "--device", "cuda", "--checkpoint", "none.safetensors",
                    os.path.join(self.data, "testA"), check=False)
            self.assert_fails(p, "--device cuda")
            return
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = self.dir("results_cuda")
        p = run(tool("cyclegan-translate"), "--device", "cuda", "--checkpoint", os.path.join(ckpt, "run", "latest.safetensors"),
                "--output", out, os.path.join(self.data, "testA"), check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(any(n.endswith("_fake.png") for n in os.listdir(os.path.join(out, "images"))))


# ---- text from files: what reaches a terminal and a page --------------------------------------

# What a file name or a checkpoint's metadata holds to attack a terminal: clear the screen, set the
# window title (OSC ... BEL), a C1 CSI, a right-to-left override, a byte that is not UTF-8 (as
# Python passes it in a file name).
EVIL = "\x1b[2J\x1b]0;OWNED\x07evil\u009b31m\u202egnp\udcff"
EVIL_SHOWN = "\\x1b[2J\\x1b]0;OWNED\\x07evil\\u009b31m\\u202egnp\\xff"  # as printable() shows it
# The same in a file's JSON (metadata, tensor names), which holds characters, not bytes: y-umlaut for the byte.
EVIL_TEXT, EVIL_TEXT_SHOWN = EVIL.replace("\udcff", "\u00ff"), EVIL_SHOWN.replace("\\xff", "\u00ff")
ACTS = set(range(0x20)) | set(range(0x7F, 0xA0)) | {0x200E, 0x200F} | set(range(0x2028, 0x202F)) | set(range(0x2066, 0x206A))


def raw_controls(output):
    """What in a program's output (bytes) a terminal would act on: characters of ACTS other than
    the line breaks the program prints itself, and bytes that are not UTF-8."""
    try:
        text = output.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"a byte that is not UTF-8 at {e.start}: {output[max(0, e.start - 20):e.start + 5]!r}"]
    return [f"U+{ord(c):04X} at {i}: {text[max(0, i - 20):i + 5]!r}" for i, c in enumerate(text) if ord(c) in ACTS and c != "\n"]


def run_bytes(*args):
    """A program's exit code, stdout and stderr as bytes (its output may not be UTF-8)."""
    p = subprocess.run([os.fsencode(a) for a in args], capture_output=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def rewrite_safetensors(src, dst, meta=None, extra=None):
    """A copy of a safetensors file with metadata entries replaced and F32 tensors added (name ->
    list of floats), written with json as any writer would."""
    import json
    with open(src, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    header["__metadata__"].update(meta or {})
    for name, values in (extra or {}).items():
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [len(data), len(data) + 4 * len(values)]}
        data += struct.pack(f"<{len(values)}f", *values)
    text = json.dumps(header).encode()
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def page_links(page):
    """Each <img src> of an XHTML page, as a browser opens it: resolved against the page's file URL,
    the query and fragment cut off, percent-escapes decoded to bytes; with the file that names."""
    import pathlib
    import urllib.parse
    base = pathlib.Path(os.path.abspath(page)).as_uri()
    out = []
    for img in ET.parse(page).getroot().iter("{http://www.w3.org/1999/xhtml}img"):
        url = urllib.parse.urlparse(urllib.parse.urljoin(base, img.get("src")))
        out.append((img.get("src"), urllib.parse.unquote_to_bytes(url.path)))
    return out


# File names that URL syntax, HTML or a terminal would misread, for the pages' test.
ODD_NAMES = ["x#1", "q?a", "p%41", "a&b", 'say "hi"', "it's", "<img src=x onerror=alert(1)>", "two  spaces",
             "z\u00e9bra \u6771\u4eac", "esc" + EVIL]


class NamesFromFiles(TempFolderCase):
    """Names from files (a checkpoint's metadata and tensor names, file and folder names) reach the
    terminal as printable() shows them, and the pages link to files of any name."""
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = demo_data(os.path.join(cls.tmp, "shapes"), 2, 1)
        ckpt = os.path.join(cls.tmp, "ckpt")
        run(tool("cyclegan-train"), "--dataroot", cls.data, "--checkpoints-dir", ckpt, "--name", "run", *SMALL,
            "--n-epochs", "1", "--n-epochs-decay", "0")
        cls.model = os.path.join(ckpt, "run", "latest.safetensors")

    def assert_clean(self, output):
        self.assertEqual(raw_controls(output), [], output)

    def test_metadata_tensor_names_and_file_names_are_escaped(self):
        # The checkpoint: info.netG with escape sequences.
        evil_model = os.path.join(self.tmp, "netG.safetensors")
        rewrite_safetensors(self.model, evil_model, meta={"info.netG": "resnet_" + EVIL_TEXT})
        code, out, err = run_bytes(tool("cyclegan-translate"), "--checkpoint", evil_model, "--output",
                                   os.path.join(self.tmp, "o1"), os.path.join(self.data, "testA"))
        self.assertNotEqual(code, 0)
        self.assert_clean(out + err)
        self.assertIn(("the generator 'resnet_" + EVIL_TEXT_SHOWN + "' is not one this library knows").encode(), err)
        # A tensor whose name holds them: listed, escaped, by translation and by a resumed training.
        extra = os.path.join(self.tmp, "extra_ckpt", "run", "latest.safetensors")
        os.makedirs(os.path.dirname(extra))
        rewrite_safetensors(self.model, extra, extra={"G_A." + EVIL_TEXT: [1.0]})
        shown = ("unexpected: G_A." + EVIL_TEXT_SHOWN + " [1]").encode()
        code, out, err = run_bytes(tool("cyclegan-translate"), "--checkpoint", extra, "--output", os.path.join(self.tmp, "o2"),
                                   os.path.join(self.data, "testA"))
        self.assertNotEqual(code, 0)
        self.assert_clean(out + err)
        self.assertIn(shown, err)
        code, out, err = run_bytes(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir",
                                   os.path.join(self.tmp, "extra_ckpt"), "--name", "run", *SMALL, "--continue-train")
        self.assertNotEqual(code, 0)
        self.assert_clean(out + err)
        self.assertIn(shown, err)

        # File and folder names: a missing input, a damaged one, a file that is no image, and the
        # checkpoint and output folders, in every line the programs print.
        folder = self.dir("in_" + EVIL)
        png(os.path.join(folder, "good.png"), 8, 8)
        with open(os.path.join(folder, "bad_" + EVIL + ".png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n and then nothing")
        with open(os.path.join(folder, "notes_" + EVIL + ".txt"), "w") as f:
            f.write("x")
        model_copy = os.path.join(self.dir("models_" + EVIL), "m.safetensors")
        shutil.copy(self.model, model_copy)
        code, out, err = run_bytes(tool("cyclegan-translate"), "--checkpoint", model_copy, "--output",
                                   os.path.join(self.tmp, "out_" + EVIL), folder, os.path.join(self.tmp, "missing_" + EVIL + ".png"))
        self.assertNotEqual(code, 0)
        self.assert_clean(out + err)
        self.assertIn(("missing_" + EVIL_SHOWN + ".png: no such file or folder").encode(), err)
        code, out, err = run_bytes(tool("cyclegan-translate"), "--checkpoint", model_copy, "--output",
                                   os.path.join(self.tmp, "out_" + EVIL), folder)
        self.assertEqual(code, 1)
        self.assert_clean(out + err)
        self.assertIn(("bad_" + EVIL_SHOWN + ".png").encode(), err)
        self.assertIn(("notes_" + EVIL_SHOWN + ".txt").encode(), err)  # the warning of what was skipped
        self.assertIn(("models_" + EVIL_SHOWN + "/m.safetensors").encode(), out)
        self.assertIn(("out_" + EVIL_SHOWN + "/index.html").encode(), out)
        code, out, err = run_bytes(tool("cyclegan-translate-one"), os.path.join(self.tmp, "none_" + EVIL), folder, "x.png")
        self.assertNotEqual(code, 0)
        self.assert_clean(out + err)
        self.assertIn(("none_" + EVIL_SHOWN + ": no such file").encode(), err)
        # Training: a dataset whose folder and files have such names, and a checkpoints folder.
        data = self.dir("data_" + EVIL)
        shutil.copytree(os.path.join(self.data, "trainA"), os.path.join(data, "trainA"))
        shutil.copytree(os.path.join(self.data, "trainB"), os.path.join(data, "trainB"))
        with open(os.path.join(data, "trainA", "notes_" + EVIL + ".txt"), "w") as f:
            f.write("x")
        with open(os.path.join(data, "trainB", "cut_" + EVIL + ".png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n and then nothing")
        code, out, err = run_bytes(tool("cyclegan-train"), "--dataroot", data, "--checkpoints-dir",
                                   os.path.join(self.tmp, "ck_" + EVIL), *SMALL, "--n-epochs", "1", "--n-epochs-decay", "0")
        self.assertNotEqual(code, 0)
        self.assert_clean(out + err)
        self.assertIn(("notes_" + EVIL_SHOWN + ".txt").encode(), err)
        self.assertIn(("cut_" + EVIL_SHOWN + ".png").encode(), err)
        os.remove(os.path.join(data, "trainB", "cut_" + EVIL + ".png"))
        code, out, err = run_bytes(tool("cyclegan-train"), "--dataroot", data, "--checkpoints-dir",
                                   os.path.join(self.tmp, "ck_" + EVIL), *SMALL, "--n-epochs", "1", "--n-epochs-decay", "0")
        self.assertEqual(code, 0, err)
        self.assert_clean(out + err)
        self.assertIn(("ck_" + EVIL_SHOWN + "/experiment/latest.safetensors").encode(), out)

    def check_page(self, page, expected_images):
        """The page parses as XML, each image it shows opens (as a browser resolves its link), and
        its text holds no raw control character."""
        links = page_links(page)
        self.assertEqual(len(links), expected_images)
        for src, path in links:
            self.assertTrue(os.path.exists(path), f"{src} -> {path!r}")
        with open(page, "rb") as f:
            self.assert_clean(f.read())

    def test_page_links_open_the_files_of_any_name(self):
        inputs = self.dir("odd names")
        for name in ODD_NAMES:
            png(os.path.join(inputs, name + ".png"), 6, 4)
        out = os.path.join(self.tmp, "results #1 ?%&\u00e9")
        code, _, err = run_bytes(tool("cyclegan-translate"), "--checkpoint", self.model, "--output", out, "--threads", "1", inputs)
        self.assertEqual(code, 0, err)
        page = os.path.join(out, "index.html")
        self.check_page(page, 2 * len(ODD_NAMES))
        labels = [td.text for td in ET.parse(page).getroot().iter("{http://www.w3.org/1999/xhtml}td") if td.text]
        self.assertEqual(sorted(labels), sorted(n.replace(EVIL, EVIL_SHOWN) + ".png" for n in ODD_NAMES))
        # The training report: its grids, under a run whose name and folder are as odd.
        name = "run #1 ?%&\"'<> \u00e9"
        ckpt = os.path.join(self.tmp, "ck #2 ?")
        run(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", ckpt, "--name", name, *SMALL,
            "--n-epochs", "2", "--n-epochs-decay", "0")
        self.check_page(os.path.join(ckpt, name, "web", "index.html"), 2)


def lr_by_epoch(csv):
    """{epoch: the learning rates its rows logged}."""
    rates = {}
    with open(csv) as f:
        next(f)
        for line in f:
            cells = line.strip().split(",")
            rates.setdefault(int(cells[0]), set()).add(float(cells[10]))
    return rates


def reference_rates(policy, epochs, lr=2e-4, n_epochs=1, n_epochs_decay=0, lr_decay_iters=50):
    """The rate of each epoch as the reference's get_scheduler gives it, by torch.optim's own
    schedulers (Debian's python3-torch), stepped once per epoch; plateau with the constant metric
    its CycleGAN passes."""
    import torch
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=lr)
    if policy == "linear":
        s = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0 - max(0, e + 1 - n_epochs) / float(n_epochs_decay + 1))
    elif policy == "step":
        s = torch.optim.lr_scheduler.StepLR(opt, step_size=lr_decay_iters, gamma=0.1)
    elif policy == "cosine":
        s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_epochs, eta_min=0)
    else:
        s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.2, threshold=0.01, patience=5)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()  # (no gradient: nothing changes, but the scheduler sees the order it expects)
        s.step(0) if policy == "plateau" else s.step()
    return rates


class Resume(TempFolderCase):
    """What a resumed run does with its options: every epoch's rate follows them from the first
    resumed step, changed options are named, architecture options that differ are refused by name,
    and epoch counts that leave nothing to train are refused."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = demo_data(os.path.join(cls.tmp, "shapes"), 2, 1)

    def train(self, name, *extra, check=True):
        # one image per epoch: one step each
        return run(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", self.ckpt, "--name", name, *SMALL,
                   "--max-dataset-size", "1", *extra, check=check)

    def setUp(self):
        self.ckpt = os.path.join(self.tmp, "ckpt")
        os.makedirs(self.ckpt, exist_ok=True)

    def log(self, name):
        return os.path.join(self.ckpt, name, "loss_log.csv")

    def assert_rates(self, name, expected):
        rates = lr_by_epoch(self.log(name))
        self.assertEqual(sorted(rates), list(range(1, len(expected) + 1)))
        for epoch, want in enumerate(expected, 1):
            self.assertEqual(len(rates[epoch]), 1, f"epoch {epoch}: {rates[epoch]}")
            self.assertAlmostEqual(rates[epoch].pop() / 2e-4, want / 2e-4, places=5, msg=f"epoch {epoch}")

    def test_an_extended_run_trains_at_the_rate_its_options_give(self):
        # The reported cases: a finished constant run extended by an epoch; a decay lengthened.
        self.train("extended", "--n-epochs", "1", "--n-epochs-decay", "0")
        p = self.train("extended", "--n-epochs", "2", "--n-epochs-decay", "0", "--continue-train")
        self.assertIn("note: --n-epochs: the checkpoint has 1, the command line says 2", p.stdout)
        self.assertIn("note: epoch 2 trains at lr 0.0002, where the checkpoint's options gave 0", p.stdout)
        self.assert_rates("extended", reference_rates("linear", 2, n_epochs=2))
        self.train("decay", "--n-epochs", "1", "--n-epochs-decay", "1")
        self.train("decay", "--n-epochs", "1", "--n-epochs-decay", "3", "--continue-train")
        self.assert_rates("decay", [2e-4, 1e-4, 1e-4, 5e-5])  # epochs 1-2 by the first options, 3-4 by the second
        self.assert_rates("decay", reference_rates("linear", 2, n_epochs=1, n_epochs_decay=1) +
                          reference_rates("linear", 4, n_epochs=1, n_epochs_decay=3)[2:])

    def test_a_new_lr_on_resume_is_used_from_the_first_resumed_step(self):
        self.train("new_lr", "--n-epochs", "3", "--n-epochs-decay", "0", "--save-epoch-freq", "1")
        p = self.train("new_lr", "--n-epochs", "3", "--n-epochs-decay", "0", "--continue-train", "--epoch", "1", "--lr",
                       "0.0001")
        self.assertIn("note: --lr: the checkpoint has 0.0002, the command line says 0.0001", p.stdout)
        self.assert_rates("new_lr", [2e-4, 1e-4, 1e-4])
        # Two epochs only, resumed after the first: the new rate is that of the second.
        self.train("new_lr_2", "--n-epochs", "2", "--n-epochs-decay", "0", "--save-epoch-freq", "1")
        self.train("new_lr_2", "--n-epochs", "2", "--n-epochs-decay", "0", "--continue-train", "--epoch", "1", "--lr", "5e-5")
        self.assert_rates("new_lr_2", [2e-4, 5e-5])

    def test_every_policy_resumes_exactly_at_the_reference_rates(self):
        args = ["--n-epochs", "3", "--n-epochs-decay", "5", "--lr-decay-iters", "2", "--save-epoch-freq", "1"]
        for policy in ("linear", "step", "cosine", "plateau"):
            with self.subTest(policy=policy):
                whole = f"whole_{policy}"
                p = self.train(whole, "--lr-policy", policy, *args)
                self.assertIn("epoch 8/8 done", p.stdout)
                expected = reference_rates(policy, 8, n_epochs=3, n_epochs_decay=5, lr_decay_iters=2)
                self.assert_rates(whole, expected)
                if policy == "plateau":  # the constant metric stops improving: the rate drops after patience + 1 epochs
                    self.assertEqual(expected[6:], [2e-4, 2e-4 * 0.2])
                # The same run resumed after epoch 4 (the folder copied): the same log, to the digit.
                split = f"split_{policy}"
                shutil.copytree(os.path.join(self.ckpt, whole), os.path.join(self.ckpt, split))
                p = self.train(split, "--lr-policy", policy, *args, "--continue-train", "--epoch", "4")
                self.assertNotIn("note:", p.stdout)  # nothing changed
                with open(self.log(whole)) as a, open(self.log(split)) as b:
                    whole_rows, split_rows = a.read().splitlines(), b.read().splitlines()
                strip = lambda rows: [row.rsplit(",", 1)[0] for row in rows]  # all but the seconds
                self.assertEqual(strip(split_rows), strip(whole_rows))

    def test_epoch_counts_that_leave_nothing_to_train_are_refused(self):
        p = self.train("nothing", "--n-epochs", "0", "--n-epochs-decay", "0", check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("--n-epochs 0 --n-epochs-decay 0: no epoch to train", p.stderr)
        self.assertNotIn("done:", p.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.ckpt, "nothing")))  # nothing written
        # A finished run resumed with no more epochs: refused, its files as they were.
        p = self.train("finished", "--n-epochs", "2", "--n-epochs-decay", "0")
        latest = os.path.join(self.ckpt, "finished", "latest.safetensors")
        done = re.search(r"done: checkpoint (.*)\nreport: (.*)\n", p.stdout)  # what "done" names exists
        self.assertTrue(os.path.isfile(done.group(1)) and os.path.isfile(done.group(2)), p.stdout)
        files = {}
        for n in ("latest.safetensors", "loss_log.csv"):
            with open(os.path.join(self.ckpt, "finished", n), "rb") as f:
                files[n] = f.read()
        for epochs in (["--n-epochs", "2"], ["--n-epochs", "1"]):
            p = self.train("finished", *epochs, "--n-epochs-decay", "0", "--continue-train", check=False)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn(f"{latest} continues at epoch 3, but --n-epochs {epochs[1]} --n-epochs-decay 0 end the run after "
                          f"epoch {epochs[1]}: nothing is left to train; raise --n-epochs or --n-epochs-decay", p.stderr)
            self.assertNotIn("done:", p.stdout)
            for n, content in files.items():
                with open(os.path.join(self.ckpt, "finished", n), "rb") as f:
                    self.assertEqual(f.read(), content, n)

    # Each architecture option, changed on resume: (the base run's options, the change, the line naming it).
    ARCHITECTURE = [
        ([], ["--netG", "resnet_9blocks"], "--netG: the checkpoint has resnet_6blocks, the command line says resnet_9blocks"),
        ([], ["--netD", "pixel"], "--netD: the checkpoint has basic, the command line says pixel"),
        ([], ["--ngf", "8"], "--ngf: the checkpoint has 4, the command line says 8"),
        ([], ["--ndf", "2"], "--ndf: the checkpoint has 4, the command line says 2"),
        (["--netD", "n_layers", "--n-layers-D", "2"], ["--netD", "n_layers", "--n-layers-D", "3"],
         "--n-layers-D: the checkpoint has 2, the command line says 3"),
        ([], ["--norm", "batch"], "--norm: the checkpoint has instance, the command line says batch"),
        (["--lambda-identity", "0"], ["--lambda-identity", "0", "--input-nc", "1"],
         "--input-nc: the checkpoint has 3, the command line says 1"),
        (["--lambda-identity", "0"], ["--lambda-identity", "0", "--output-nc", "4"],
         "--output-nc: the checkpoint has 3, the command line says 4"),
        ([], ["--padding-type", "zero"], "--padding-type: the checkpoint has reflect, the command line says zero"),
        ([], ["--upsample", "resize_conv"], "--upsample: the checkpoint has transposed, the command line says resize_conv"),
        ([], ["--dropout"], "--dropout: the checkpoint has --no-dropout, the command line says --dropout"),
    ]

    def test_other_architecture_options_are_named_on_resume(self):
        bases = {}
        for base, change, line in self.ARCHITECTURE:
            with self.subTest(change=change):
                name = "_".join(["arch"] + base).replace("-", "")
                if name not in bases:
                    self.train(name, "--n-epochs", "1", "--n-epochs-decay", "0", *base)
                    with open(os.path.join(self.ckpt, name, "latest.safetensors"), "rb") as f:
                        bases[name] = f.read()
                p = self.train(name, "--n-epochs", "2", "--n-epochs-decay", "0", "--continue-train", *base, *change, check=False)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                latest = os.path.join(self.ckpt, name, "latest.safetensors")
                self.assertIn(f"{latest}: the checkpoint was trained with other architecture options than this command line's",
                              p.stderr)
                self.assertIn(line, p.stderr)
                self.assertEqual(p.stderr.count("the checkpoint has"), 1, p.stderr)  # that option alone
                self.assertIn("resume with the checkpoint's (", p.stderr)
                self.assertIn("or train a new model under another --name", p.stderr)
                self.assertNotIn("missing:", p.stderr)  # no tensor list
                with open(latest, "rb") as f:
                    self.assertEqual(f.read(), bases[name])
        # A checkpoint of another model kind.
        other = os.path.join(self.ckpt, "other_kind")
        shutil.copytree(os.path.join(self.ckpt, "arch"), other)
        latest = os.path.join(other, "latest.safetensors")
        rewrite_safetensors(latest, latest, meta={"info.model": "cut"})
        p = self.train("other_kind", "--n-epochs", "2", "--n-epochs-decay", "0", "--continue-train", check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("the checkpoint holds a cut model, this program trains cycle_gan", p.stderr)

    def test_a_record_from_the_file_is_shown_printable(self):
        self.train("evil_record", "--n-epochs", "1", "--n-epochs-decay", "0")
        latest = os.path.join(self.ckpt, "evil_record", "latest.safetensors")
        rewrite_safetensors(latest, latest, meta={"info.netG": "resnet_" + EVIL_TEXT, "info.lr": EVIL_TEXT})
        run_dir = os.path.join(self.ckpt, "evil_record")
        code, out, err = run_bytes(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", self.ckpt,
                                   "--name", "evil_record", *SMALL, "--max-dataset-size", "1", "--n-epochs", "2",
                                   "--n-epochs-decay", "0", "--continue-train")
        self.assertEqual(code, 1)
        self.assertEqual(raw_controls(out + err), [], out + err)
        self.assertIn(("--netG: the checkpoint has resnet_" + EVIL_TEXT_SHOWN + ", the command line says resnet_6blocks").encode(),
                      err)
        self.assertTrue(os.path.isdir(run_dir))

    def test_translate_checks_architecture_options_against_the_checkpoint(self):
        self.train("for_translate", "--n-epochs", "1", "--n-epochs-decay", "0")
        latest = os.path.join(self.ckpt, "for_translate", "latest.safetensors")
        translate = [tool("cyclegan-translate"), "--checkpoint", latest, "--threads", "1", os.path.join(self.data, "testA")]
        out = os.path.join(self.tmp, "translated")
        # As the reference's test.py is run: the options repeated, and right, change nothing.
        run(*translate, "--output", out, "--netG", "resnet_6blocks", "--ngf", "4", "--norm", "instance", "--no-dropout")
        self.assertTrue(os.path.exists(os.path.join(out, "index.html")))
        for option, line in ((["--netG", "resnet_9blocks"], "--netG: the checkpoint has resnet_6blocks, the command line says resnet_9blocks"),
                             (["--ngf", "64"], "--ngf: the checkpoint has 4, the command line says 64"),
                             (["--norm", "batch"], "--norm: the checkpoint has instance, the command line says batch"),
                             (["--input-nc", "1"], "--input-nc: the checkpoint has 3, the command line says 1"),
                             (["--dropout"], "--dropout: the checkpoint has --no-dropout, the command line says --dropout")):
            with self.subTest(option=option):
                wrong = os.path.join(self.tmp, "translated_wrong")
                p = run(*translate, "--output", wrong, *option, check=False)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn(f"{latest}: the checkpoint's generator is not the one this command line describes", p.stderr)
                self.assertIn(line, p.stderr)
                self.assertIn("leave these options out: the checkpoint records its architecture", p.stderr)
                self.assertFalse(os.path.exists(wrong))


class Memory(TempFolderCase):
    """Out of memory (under an address-space limit, as a container's or `ulimit -v`'s): the error
    says what was being allocated, how much, for which file or option, and what to change."""

    LIMIT = 4 << 30  # bytes of address space: room for the programs and their libraries, not for these sizes

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.data = demo_data(os.path.join(cls.tmp, "shapes"), 1, 1)

    def limited(self, *args):
        import resource
        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (self.LIMIT, self.LIMIT))
        p = subprocess.run([str(a) for a in args], capture_output=True, text=True, preexec_fn=limit, timeout=600)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)  # an error, not a crash
        self.assertNotIn("terminate called", p.stderr)
        self.assertNotRegex(p.stderr, r"error: (std::)?bad_alloc")
        return p.stderr

    def train(self, dataroot, *extra):
        return self.limited(tool("cyclegan-train"), "--dataroot", dataroot, "--checkpoints-dir", self.dir("ckpt"), *SMALL,
                            "--n-epochs", "1", "--n-epochs-decay", "0", *extra)

    def test_networks_too_large(self):
        err = self.train(self.data, "--ngf", "800")  # 1.2e9 parameters per generator: 36 GiB to train
        for part in ("out of memory building the networks", "--ngf 800", "parameters per generator", "36.4 GiB",
                     "cannot allocate 4.6 GiB for a tensor of [1, 1, 1, 1221401603]", "use a smaller --ngf or --ndf"):
            self.assertIn(part, err)
        err = self.train(self.data, "--ngf", "1000000")  # more than a tensor holds, whatever the memory
        self.assertIn("the networks are too large (--ngf 1000000", err)
        self.assertIn("a network holds at most 2147483647 parameters; use a smaller --ngf or --ndf", err)

    def test_images_too_large_to_load_or_train(self):
        err = self.train(self.data, "--load-size", "16384", "--crop-size", "16384")
        self.assertIn("out of memory reading '" + os.path.join(self.data, "train"), err)
        self.assertIn("(32x32, resized to 16384x16384 by preprocess resize_and_crop at load_size 16384", err)
        self.assertIn("use smaller images, a smaller --load-size, or --preprocess crop", err)
        big = self.dir("big")
        for domain in ("trainA", "trainB"):
            os.makedirs(os.path.join(big, domain))
            png(os.path.join(big, domain, "big.png"), 4096, 4096, channels=1)
        err = self.train(big, "--preprocess", "none")
        self.assertIn("out of memory in a training step on images of [1, 3, 4096, 4096] (--batch-size 1, --preprocess none)",
                      err)
        self.assertRegex(err, r"cannot allocate [\d.]+ [MG]iB for a tensor of \[")
        self.assertIn("use smaller images, a mode that crops (--preprocess crop), a smaller --batch-size", err)

    def test_an_image_too_large_to_translate(self):
        ckpt = self.dir("ckpt_translate")
        run(tool("cyclegan-train"), "--dataroot", self.data, "--checkpoints-dir", ckpt, "--name", "run", *SMALL, "--n-epochs",
            "1", "--n-epochs-decay", "0")
        huge = os.path.join(self.tmp, "huge16k.png")
        png(huge, 16000, 16000, channels=1)
        small = os.path.join(self.tmp, "small.png")
        png(small, 20, 10)
        err = self.limited(tool("cyclegan-translate"), "--checkpoint", os.path.join(ckpt, "run", "latest.safetensors"),
                           "--output", self.dir("out"), "--threads", "1", huge, small)
        self.assertIn("1 of 2 images could not be translated", err)
        self.assertIn(f"{huge} (16000x16000: 2.9 GiB as the generator's input, 3.8 GiB for each of its first layers' "
                      "outputs): out of memory translating it", err)
        self.assertIn("translate it in tiles (--tile 512)", err)


class Options(TempFolderCase):
    """Every numeric option of every program: values out of its range are refused before any
    work, naming the option and the range (the library's, core/option_range.hpp); the range's own
    edges are taken."""

    # program -> option -> (values refused, the range the message gives, values taken)
    TABLE = {
        "cyclegan-train": {
            "--n-layers-D": (["0", "6", "2.5"], "an integer from 1 to 5", ["1", "5"]),
            "--ngf": (["0", "-1", "16777217", "abc"], "an integer from 1 to 16777216", ["1"]),
            "--ndf": (["0", "-8"], "an integer from 1 to 16777216", ["1"]),
            "--input-nc": (["2", "0", "5"], "not in {1,3,4}", ["1", "4"]),
            "--output-nc": (["2", "-3"], "not in {1,3,4}", ["1", "4"]),
            "--init-gain": (["-0.02", "nan", "inf"], "a number >= 0", ["0"]),
            "--lambda-A": (["-10", "nan"], "a number >= 0", ["0"]),
            "--lambda-B": (["-1", "-inf"], "a number >= 0", ["0"]),
            "--lambda-identity": (["-0.5"], "a number >= 0", ["0"]),
            "--pool-size": (["-1", "1.5"], "an integer >= 0", ["0"]),
            "--lr": (["-0.0002", "nan", "inf", "1e999"], "a number >= 0", ["0", "1e30"]),
            "--beta1": (["1.5", "1", "-0.1"], "a number in [0, 1)", ["0", "0.999"]),
            "--n-epochs": (["-1", "1.5"], "an integer >= 0", ["0"]),
            "--n-epochs-decay": (["-3"], "an integer >= 0", ["0"]),
            "--lr-decay-iters": (["0", "-5"], "an integer >= 1", ["1"]),
            "--load-size": (["0", "100000"], "an integer from 1 to 16384", ["16384"]),
            "--crop-size": (["0", "20000"], "an integer from 1 to 16384", ["1"]),
            "--max-dataset-size": (["0", "-1"], "an integer >= 1", ["1"]),
            "--batch-size": (["0", "-2"], "an integer >= 1", ["1"]),
            "--save-epoch-freq": (["-1"], "an integer >= 0", ["0"]),
            "--seed": (["-1", "1.5"], "an integer >= 0", ["0", "18446744073709551615"]),
            "--threads": (["-1", "5000"], "an integer from 0 to 1024", ["0", "1024"]),
        },
        "cyclegan-translate": {
            "--threads": (["-1", "100000"], "an integer from 0 to 1024", ["0"]),
            "--ngf": (["0"], "an integer from 1 to 16777216", ["1"]),  # checked against the checkpoint
            "--input-nc": (["2"], "not in {1,3,4}", ["1"]),
            "--output-nc": (["0"], "not in {1,3,4}", ["4"]),
            "--tile": (["-1", "1.5", "1048577"], "an integer from 0 to 1048576", ["0", "1048576"]),
            "--halo": (["-2"], "an integer from -1 to 1048576", ["-1", "0"]),
            "--bits": (["12", "-8"], "not in {0,8,16}", ["0", "16"]),
        },
        "cyclegan-demo-data": {
            "--train": (["0", "-1"], "an integer >= 1", ["1"]),
            "--test": (["0"], "an integer >= 1", ["1"]),
            "--size": (["7", "1025"], "an integer from 8 to 1024", ["8"]),
            "--seed": (["-1", "4294967296"], "an integer from 0 to 4294967295", ["4294967295"]),
        },
    }

    def command(self, program, option, value, out):
        """The program with `option value` and everything else valid but a missing input, so
        that a value it takes fails later, on the input, and writes nothing."""
        missing = os.path.join(self.tmp, "no_such_input")
        if program == "cyclegan-train":
            return [tool(program), "--dataroot", missing, "--checkpoints-dir", out, *SMALL, option, value]
        if program == "cyclegan-translate":
            return [tool(program), "--checkpoint", os.path.join(missing, "x.safetensors"), "--output", out, option, value,
                    missing]
        return [tool(program), "--out", out, "--train", "1", "--test", "1", "--size", "8", option, value]

    def numeric_options(self, program):
        """The options whose value --help gives as a number (INT, UINT, FLOAT)."""
        import re
        return set(re.findall(r"^\s+(--[\w-]+)(?:,[\w-]+)* (?:INT|UINT|FLOAT)\b", run(tool(program), "--help").stdout, re.M))

    def test_every_numeric_option_is_in_the_table(self):
        for program, options in self.TABLE.items():
            self.assertEqual(self.numeric_options(program), set(options), program)

    def test_out_of_range_values_are_refused_before_any_work(self):
        for program, options in self.TABLE.items():
            for option, (refused, range_text, taken) in options.items():
                for value in refused:
                    with self.subTest(program=program, option=option, value=value):
                        out = os.path.join(self.tmp, "out")
                        shutil.rmtree(out, ignore_errors=True)
                        p = run(*self.command(program, option, value, out), check=False)
                        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
                        self.assertIn(option + ": ", p.stderr)
                        self.assertIn(range_text, p.stderr)
                        self.assertFalse(os.path.exists(out), "wrote before refusing")
                for value in taken:  # the edges: past the command line (the run fails later, on its missing input)
                    with self.subTest(program=program, option=option, value=value):
                        out = os.path.join(self.tmp, "out")
                        shutil.rmtree(out, ignore_errors=True)
                        p = run(*self.command(program, option, value, out), check=program == "cyclegan-demo-data")
                        self.assertNotIn("Run with --help", p.stderr)
                        self.assertNotIn(range_text, p.stderr)

    def test_shapes_demo_arguments(self):
        for args, fragment in ((["-3"], "steps is -3; it must be an integer from 1 to"),
                               (["abc"], "steps 'abc' is not a number"),
                               (["10", "-1"], "threads is -1; it must be an integer from 0 to 1024")):
            p = run(tool("cyclegan-shapes-demo"), *args, check=False)
            self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
            self.assertIn(fragment, p.stderr)


def has_gpu():
    """An NVIDIA GPU with a working driver is present (nvidia-smi lists one)."""
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return False


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
