"""The pages the programs write, as a real browser shows them: headless Chromium opens
cyclegan-translate's index.html (inputs whose names hold # ? % & " ' < >, spaces, non-ASCII and
escape sequences) and the training report (a run and folder named as oddly), and reports for
each page how many images loaded (naturalWidth > 0) and whether anything runs off the side.
Where Chromium is not installed it exits 77, which ctest reports as skipped, not passed.
Run by ctest: python3 test_browser.py BIN_DIR"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_programs  # noqa: E402
from test_programs import ODD_NAMES, SMALL, png, run, tool  # noqa: E402

SKIP = 77

# Loads each page in an 800-pixel frame (same origin under --allow-file-access-from-files) and,
# once all have loaded, writes what it found into its own body for --dump-dom to print.
PROBE = """<!DOCTYPE html><html><body><pre id="result">pending</pre><script>
const pages = %s;
const found = [];
for (const url of pages) {
  const frame = document.createElement('iframe');
  frame.style.width = '800px';
  frame.style.height = '600px';
  frame.onload = () => {
    const d = frame.contentDocument;
    const images = Array.from(d.images);
    const ok = images.filter(i => i.complete && i.naturalWidth > 0);
    found.push({url: url, images: images.length, loaded: ok.length,
                broken: images.filter(i => !ok.includes(i)).map(i => i.getAttribute('src')),
                overflow: d.documentElement.scrollWidth - d.documentElement.clientWidth,
                title: d.querySelector('h1').textContent});
    if (found.length === pages.length) document.getElementById('result').textContent = 'RESULT ' + JSON.stringify(found);
  };
  frame.src = url;
  document.body.appendChild(frame);
}
</script></body></html>
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def look(browser, pages, work):
    """What Chromium found on each page: a list of dicts (url, images, loaded, broken, overflow, title)."""
    probe = os.path.join(work, "probe.html")
    with open(probe, "w") as f:
        f.write(PROBE % json.dumps([pathlib.Path(p).as_uri() for p in pages]))
    profile = os.path.join(work, "profile")
    p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                        f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom",
                        pathlib.Path(probe).as_uri()], capture_output=True, text=True, timeout=300)
    m = re.search(r"RESULT (.*?)</pre>", p.stdout, re.S)
    if not m:
        raise AssertionError(f"Chromium gave no result (exit {p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    import html
    return json.loads(html.unescape(m.group(1)))


def main():
    test_programs.BIN = sys.argv[1]
    browser = chromium()
    if not browser:
        print("SKIPPED: no Chromium here (apt-get install chromium): the pages were not looked at in a browser")
        return SKIP
    work = tempfile.mkdtemp(prefix="cyclegan_browser_")
    try:
        data = os.path.join(work, "shapes")
        run(tool("cyclegan-demo-data"), "--out", data, "--train", "2", "--test", "1", "--size", "32")
        # The training report of a run whose folder and name URL syntax would misread.
        ckpt = os.path.join(work, "ck #2 ?")
        name = "run #1 ?%&\"'<> \u00e9"
        run(tool("cyclegan-train"), "--dataroot", data, "--checkpoints-dir", ckpt, "--name", name, *SMALL,
            "--n-epochs", "2", "--n-epochs-decay", "0")
        model = os.path.join(ckpt, name, "latest.safetensors")
        # A long checkpoint path, for the title, and inputs with odd names.
        deep = os.path.join(work, *(["a_rather_long_folder_name_" + "x" * 30] * 5))
        os.makedirs(deep)
        shutil.copy(model, os.path.join(deep, "latest.safetensors"))
        inputs = os.path.join(work, "odd names")
        os.makedirs(inputs)
        for n in ODD_NAMES:
            png(os.path.join(inputs, n + ".png"), 12, 8)
        out = os.path.join(work, "results #1 ?%&\u00e9")
        p = subprocess.run([os.fsencode(a) for a in (tool("cyclegan-translate"), "--checkpoint",
                                                     os.path.join(deep, "latest.safetensors"), "--output", out,
                                                     "--threads", "1", inputs)], capture_output=True)
        if p.returncode != 0:
            raise AssertionError(p.stderr.decode(errors="replace"))
        pages = {"translation": os.path.join(out, "index.html"), "training": os.path.join(ckpt, name, "web", "index.html")}
        expected = {"translation": 2 * len(ODD_NAMES), "training": 2}
        failures = []
        by_url = {f["url"]: f for f in look(browser, list(pages.values()), work)}  # in the order they loaded
        for key, page in pages.items():
            found = by_url[pathlib.Path(page).as_uri()]
            print(f"{key}: {found['loaded']} of {found['images']} images loaded, "
                  f"{max(found['overflow'], 0)} px past the side; title {found['title'][:60]!r}...")
            if found["images"] != expected[key] or found["loaded"] != found["images"]:
                failures.append(f"{key}: {found['loaded']} of {found['images']} images loaded (expected {expected[key]}); "
                                f"broken: {found['broken']}")
            if found["overflow"] > 0:
                failures.append(f"{key}: the page is {found['overflow']} px wider than its 800 px frame")
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures))
            return 1
        print("passed: every image of both pages loaded in Chromium, and nothing ran off the side")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
