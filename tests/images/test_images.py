"""Image files come out as an image viewer shows them: a corpus written here by Pillow (and, for what
Pillow cannot write, by hand) in every format read_image takes, each bit depth and colour mode, and
with every orientation tag, is read by read_image (through the image_dump program) and compared with
Pillow's pixels after ImageOps.exif_transpose. Lossless formats must agree exactly (16-bit ones
within a level: stb keeps the high byte, libtiff rounds v / 257); JPEG within the difference of two
decoders. Run by ctest: python3 test_images.py PATH/TO/image_dump"""
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

import numpy as np
from PIL import Image, ImageOps

DUMP = None
W, H = 37, 23  # odd and oblong: a wrong turn or mirror changes the shape or the pixels


def dump(channels, paths, regions=False):
    """read_image(path, channels) for each path (regions: TiffReader's regions of 7x5): an HxWxC
    uint8 array, or the error's text, or for a TIFF that does not stream, ("nostream", why)."""
    out = subprocess.run([DUMP, *(["--regions"] if regions else []), str(channels), *paths], capture_output=True,
                         check=True).stdout
    results, at = [], 0
    for _ in paths:
        nl = out.index(b"\n", at)
        head = out[at:nl].decode(errors="replace")
        at = nl + 1
        if head.startswith("error "):
            results.append(head[6:])
            continue
        if head.startswith("nostream "):
            results.append(("nostream", head[9:]))
            continue
        w, h, c = map(int, head.split())
        results.append(np.frombuffer(out[at:at + w * h * c], np.uint8).reshape(h, w, c))
        at += w * h * c
    return results


def pattern(smooth=False):
    """RGB 8-bit, different along each axis, so every orientation differs from every other."""
    y, x = np.mgrid[0:H, 0:W]
    r = x * 255 // (W - 1)
    g = y * 255 // (H - 1)
    b = (x + 2 * y) * 255 // (W - 1 + 2 * (H - 1)) if smooth else ((x // 3 + y // 5) % 2) * 200 + x
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def pattern16():
    y, x = np.mgrid[0:H, 0:W]
    return np.stack([x * 65535 // (W - 1), y * 65535 // (H - 1), (x * y * 97) % 65536], axis=-1).astype(np.uint16)


def png16(path, values):
    """A 16-bit PNG (grey or RGB) by hand: Pillow writes 16-bit grey only."""
    h, w = values.shape[:2]
    colour = 0 if values.ndim == 2 else 2
    raw = b"".join(b"\x00" + values[r].astype(">u2").tobytes() for r in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def tiff16(path, values, orientation=1, extra=None):
    """An uncompressed 16-bit RGB (or RGB + one extra sample of kind `extra`: 0 unspecified, 1
    associated alpha, 2 unassociated alpha) TIFF by hand, little-endian, one strip."""
    h, w, c = values.shape
    data = values.astype("<u2").tobytes()
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, c, None), (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, None),
               (274, 3, 1, orientation), (277, 3, 1, c), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    if extra is not None:
        entries.append((338, 3, 1, extra))
    ifd_size = 2 + 12 * len(entries) + 4
    bits_at = 8 + ifd_size
    data_at = bits_at + 2 * c
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_at
        if tag == 273:
            value = data_at
        out += struct.pack("<HHI", tag, kind, count)
        out += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    out += struct.pack("<I", 0) + struct.pack("<" + "H" * c, *([16] * c)) + data
    with open(path, "wb") as f:
        f.write(out)


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def rgba16():
    """pattern16 with an alpha of 0x8000-0xFFFF, and colours no larger than it (valid premultiplied)."""
    rgb = pattern16().astype(np.uint32)
    alpha = 0x8000 + (rgb[..., 0] // 2)
    return np.dstack([rgb * alpha[..., None] // 65536, alpha]).astype(np.uint16)


def pgm16(path, values):
    h, w = values.shape
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n65535\n" % (w, h) + values.astype(">u2").tobytes())


def viewer(path):
    """What Pillow shows for a file: orientation applied, as RGBA 8-bit (16-bit grey keeps its high
    byte, as Pillow's own conversions would clip it). Pillow turns TIFFs by their tag on loading
    (and exif_transpose would turn them twice)."""
    img = Image.open(path)
    img.load()
    if img.format != "TIFF":
        img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = (np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8)
        return np.stack([grey, grey, grey, np.full_like(grey, 255)], axis=-1)
    return np.asarray(img.convert("RGBA"))


def orient(array, o):
    """EXIF orientation o applied to an HxWxC array, written independently of Pillow's transpose."""
    return {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
            5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
            8: lambda a: np.rot90(a, 1)}[o](array)


def make_corpus(folder):
    """Writes the corpus into folder: name -> (path, expected RGBA or None for Pillow's, largest and
    mean error allowed)."""
    files = {}
    rgb = Image.fromarray(pattern())
    smooth = Image.fromarray(pattern(smooth=True))
    rgba = Image.fromarray(np.dstack([pattern(), (pattern()[..., 0] // 2 + 100)]).astype(np.uint8), "RGBA")

    def add(name, save, expected=None, max_error=0, mean_error=0.0):
        path = os.path.join(folder, name)
        save(path)
        files[name] = (path, expected, max_error, mean_error)

    for mode in ("RGB", "L", "LA", "RGBA", "P", "1"):
        src = rgba if "A" in mode else rgb
        add(f"png_{mode}.png", lambda p, s=src, m=mode: s.convert(m).save(p))
    add("png_P_transparency.png", lambda p: rgb.convert("P").save(p, transparency=3))
    add("png_I16.png", lambda p: Image.fromarray(pattern16()[..., 0]).save(p))
    add("png_rgb16.png", lambda p: png16(p, pattern16()), expected=None, max_error=1)
    for mode in ("RGB", "RGBA", "L", "P", "1"):
        src = rgba if mode == "RGBA" else rgb
        add(f"bmp_{mode}.bmp", lambda p, s=src, m=mode: s.convert(m).save(p))
    for mode in ("RGB", "RGBA", "L", "P"):
        src = rgba if mode == "RGBA" else rgb
        add(f"tga_{mode}.tga", lambda p, s=src, m=mode: s.convert(m).save(p))
        add(f"tga_rle_{mode}.tga", lambda p, s=src, m=mode: s.convert(m).save(p, compression="tga_rle"))
    add("ppm_rgb.ppm", lambda p: rgb.save(p))
    add("pgm_grey.pgm", lambda p: rgb.convert("L").save(p))
    add("pgm_16.pgm", lambda p: pgm16(p, pattern16()[..., 1]), max_error=1)
    add("pnm_rgb.pnm", lambda p: rgb.save(p, format="PPM"))
    add("pbm_bits.pbm", lambda p: rgb.convert("1").save(p))
    grey = np.asarray(rgb.convert("L"))
    add("pgm_text.pgm", lambda p: write(p, 
        "P2\n# written by hand\n%d %d\n255\n" % (W, H) + " ".join(map(str, grey.flatten())) + "\n"))
    add("ppm_text.ppm", lambda p: write(p, 
        "P3\n%d %d\n255\n" % (W, H) + "\n".join(" ".join(map(str, row.flatten())) for row in pattern())))
    add("pbm_text.pbm", lambda p: write(p, 
        "P1\n%d %d\n" % (W, H) + "\n".join(" ".join("1" if v < 128 else "0" for v in row) for row in grey)))
    add("pgm_maxval15.pgm", lambda p: write(p, b"P5 %d %d 15\n" % (W, H) + (grey // 17).tobytes()))
    for mode in ("RGB", "L", "RGBA", "LA", "P", "1"):
        src = rgba if "A" in mode else rgb
        for compression in (None, "tiff_lzw", "tiff_deflate", "packbits"):
            add(f"tiff_{mode}_{compression}.tif", lambda p, s=src, m=mode, c=compression: s.convert(m).save(p, compression=c))
    add("tiff_I16.tiff", lambda p: Image.fromarray(pattern16()[..., 0]).save(p), max_error=1)
    add("tiff_rgb16.tif", lambda p: tiff16(p, pattern16()), max_error=1)
    for kind in (0, 1, 2):
        add(f"tiff_rgba16_extra{kind}.tif", lambda p, k=kind: tiff16(p, rgba16(), extra=k), max_error=1)
    add("tiff_jpeg.tif", lambda p: smooth.save(p, compression="jpeg", quality=95), max_error=60, mean_error=3)
    add("tiff_cmyk.tif", lambda p: rgb.convert("CMYK").save(p), max_error=1)
    add("jpeg_rgb444.jpg", lambda p: smooth.save(p, quality=95, subsampling=0), max_error=40, mean_error=1.5)
    add("jpeg_rgb420.jpg", lambda p: smooth.save(p, quality=95), max_error=60, mean_error=3)
    add("jpeg_grey.jpg", lambda p: smooth.convert("L").save(p, quality=95), max_error=40, mean_error=1.5)
    # progressive: scans of DC then AC bands, tables between them (image.hpp checks each scan's)
    add("jpeg_progressive.jpg", lambda p: smooth.save(p, quality=95, progressive=True), max_error=60, mean_error=3)
    add("jpeg_progressive_grey.jpg", lambda p: smooth.convert("L").save(p, quality=95, progressive=True, optimize=True),
        max_error=40, mean_error=1.5)
    for o in range(1, 9):
        exif = Image.Exif()
        exif[274] = o
        add(f"jpeg_orientation_{o}.jpg", lambda p, e=exif.tobytes(): smooth.save(p, quality=95, subsampling=0, exif=e),
            max_error=40, mean_error=1.5)
        add(f"png_orientation_{o}.png", lambda p, e=exif.tobytes(): rgb.save(p, exif=e))
        add(f"tiff_orientation_{o}.tif", lambda p, o=o: rgb.save(p, tiffinfo={274: o}))
        add(f"tiff16_orientation_{o}.tif", lambda p, o=o: tiff16(p, pattern16(), o), max_error=1)
    return files


class Images(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="cyclegan_images_")
        cls.files = make_corpus(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def expected(self, name, path):
        if name.startswith("tiff_rgba16_extra"):  # unspecified: opaque; associated: divided out; unassociated: as is
            kind = int(name[len("tiff_rgba16_extra")])
            v = (rgba16() >> 8).astype(int)
            rgb, alpha = v[..., :3], v[..., 3:]
            if kind == 0:
                alpha = np.full_like(alpha, 255)
            if kind == 1:
                rgb = np.minimum(255, (rgb * 255 + alpha // 2) // alpha)
            return np.dstack([rgb, alpha]).astype(np.uint8)
        if name.startswith(("png_rgb16", "tiff_rgb16", "tiff16_")):  # Pillow cannot read these: from our own values
            o = int(name.split("_")[-1].split(".")[0]) if "orientation" in name else 1
            rgb = (pattern16() >> 8).astype(np.uint8)
            return orient(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), o)
        if name in ("pgm_text.pgm", "pgm_maxval15.pgm", "pbm_text.pbm", "ppm_text.ppm"):  # from the values written
            grey = np.asarray(Image.fromarray(pattern()).convert("L")).astype(int)
            rgb = {"pgm_text.pgm": np.dstack([grey] * 3), "ppm_text.ppm": pattern().astype(int),
                   "pgm_maxval15.pgm": np.dstack([(grey // 17 * 255 + 7) // 15] * 3),
                   "pbm_text.pbm": np.dstack([np.where(grey < 128, 0, 255)] * 3)}[name]
            return np.dstack([rgb, np.full(rgb.shape[:2], 255)]).astype(np.uint8)
        if name == "tiff_cmyk.tif":  # libtiff's separated-to-RGB: (255 - C)(255 - K) / 255; Pillow's differs
            cmyk = np.asarray(Image.open(path)).astype(np.uint32)
            rgb = ((255 - cmyk[..., :3]) * (255 - cmyk[..., 3:]) + 127) // 255
            return np.dstack([rgb, np.full(rgb.shape[:2], 255)]).astype(np.uint8)
        return viewer(path)

    def test_every_file_as_pillow_shows_it(self):
        names = sorted(self.files)
        ours4 = dump(4, [self.files[n][0] for n in names])
        ours3 = dump(3, [self.files[n][0] for n in names])
        ours1 = dump(1, [self.files[n][0] for n in names])
        failures = []
        for name, got4, got3, got1 in zip(names, ours4, ours3, ours1):
            path, _, max_error, mean_error = self.files[name]
            if isinstance(got4, str):
                failures.append(f"{name}: {got4}")
                continue
            want = self.expected(name, path).astype(int)
            if got4.shape != want.shape:
                failures.append(f"{name}: shape {got4.shape}, Pillow {want.shape}")
                continue
            diff = np.abs(got4.astype(int) - want)
            if diff.max() > max_error or diff.mean() > max(mean_error, 1e-9 if max_error == 0 else max_error):
                failures.append(f"{name}: largest difference {diff.max()}, mean {diff.mean():.2f} "
                                f"(allowed {max_error}, {mean_error})")
            # 3 channels are the first 3 of 4; 1 channel is the luminance of those.
            if not np.array_equal(got3, got4[..., :3]):
                failures.append(f"{name}: 3 channels differ from the first 3 of 4")
            lum = (got4[..., 0].astype(int) * 77 + got4[..., 1].astype(int) * 150 + got4[..., 2].astype(int) * 29) >> 8
            if np.abs(got1[..., 0].astype(int) - lum).max() > 1:
                failures.append(f"{name}: 1 channel is not the luminance")
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertGreater(len(names), 80)

    def test_tiffs_read_by_regions_equal_the_whole_image(self):
        """TiffReader (the route of translations by parts) gives read_image's pixels, region by region."""
        names = sorted(n for n in self.files if n.endswith((".tif", ".tiff")))
        paths = [self.files[n][0] for n in names]
        streamed = []
        for channels in (3, 4):
            for name, whole, parts in zip(names, dump(channels, paths), dump(channels, paths, regions=True)):
                if isinstance(parts, tuple):
                    continue
                self.assertNotIsInstance(parts, str, f"{name}: {parts}")
                self.assertTrue(np.array_equal(whole, parts), f"{name} in {channels} channels: regions differ from read_image")
                streamed.append(name)
        # grey, RGB, four compressions, 16 bits, unassociated alpha, JPEG
        for name in ("tiff_L_None.tif", "tiff_RGB_tiff_lzw.tif", "tiff_RGB_tiff_deflate.tif", "tiff_RGB_packbits.tif",
                     "tiff_rgb16.tif", "tiff_rgba16_extra2.tif", "tiff_jpeg.tif", "tiff_orientation_1.tif"):
            self.assertIn(name, streamed)
        nostream = dict((n, r[1]) for n, r in zip(names, dump(4, paths, regions=True)) if isinstance(r, tuple))
        self.assertIn("orientation", nostream["tiff_orientation_6.tif"])
        self.assertIn("premultiplied", nostream["tiff_rgba16_extra1.tif"])

    def test_tiffs_written_are_read_by_pillow(self):
        """write_image's TIFFs (TiffWriter: deflate-compressed tiles with the predictor) as Pillow reads them."""
        for channels, mode in ((1, "L"), (3, "RGB"), (4, "RGBA")):
            big = Image.fromarray(np.tile(pattern(), (13, 9, 1))).convert(mode)  # 333x299: tiles of 256 and a remainder
            src = os.path.join(self.tmp.name, f"big_{mode}.png")
            out = os.path.join(self.tmp.name, f"written_{mode}.tif")
            big.save(src)
            subprocess.run([DUMP, "--copy", str(channels), src, out], check=True)
            with Image.open(out) as written:
                self.assertEqual(written.mode, mode)
                self.assertEqual(written.info.get("compression"), "tiff_adobe_deflate")
                self.assertTrue(np.array_equal(np.asarray(written), np.asarray(big)), mode)

    def test_orientations_differ_and_match_their_definition(self):
        """The tags are really applied: each of the 8 gives a different image, the one its definition says."""
        base = dump(3, [self.files["tiff_orientation_1.tif"][0]])[0]
        for kind in ("tiff", "png"):
            got = dump(3, [self.files[f"{kind}_orientation_{o}.{'tif' if kind == 'tiff' else 'png'}"][0] for o in range(1, 9)])
            for o in range(1, 9):
                self.assertTrue(np.array_equal(got[o - 1], orient(base, o)), f"{kind} orientation {o}")

    def test_damaged_files_are_refused_by_name(self):
        broken = []
        for name in ("tiff_RGB_tiff_lzw.tif", "tiff_RGB_None.tif", "jpeg_orientation_6.jpg"):
            path = self.files[name][0]
            with open(path, "rb") as f:
                data = f.read()
            cut = os.path.join(self.tmp.name, "cut_" + name)
            with open(cut, "wb") as f:
                f.write(data[: len(data) // 3])
            broken.append(cut)
        for path, got in zip(broken, dump(3, broken)):
            if not isinstance(got, str):  # a decoder may fill the missing rows; it must not crash
                continue
            self.assertIn(os.path.basename(path), got)


if __name__ == "__main__":
    if sys.argv[1] == "--write-corpus":  # seeds for scripts/fuzz.sh
        os.makedirs(sys.argv[2], exist_ok=True)
        make_corpus(sys.argv[2])
        sys.exit(0)
    DUMP = sys.argv.pop(1)
    unittest.main(verbosity=2)
