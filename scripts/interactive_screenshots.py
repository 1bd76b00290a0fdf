"""Screenshots of the lab book's interactive figures before and after moving a control, in headless Chromium.

    python scripts/interactive_screenshots.py [--out docs/screenshots/interactive]

For each figure of :data:`descentlab.labbook.explorers.EXPLORERS` it writes a page holding that figure alone
(the lab book's stylesheet and scripts), then ``NAME-before.png`` as the page opens and ``NAME-after.png``
after a script has moved one control the way a reader would (``MOVES``: it sets the control and sends the
event the page listens to).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from descentlab.labbook.explorers import EXPLORERS, explorer_html
from descentlab.report import Chapter
from descentlab.report.html import render

# name -> JavaScript that moves one control (run after the page's own scripts)
MOVES = {
    "momentum": "var a = document.querySelector('#interactive-momentum input[name=lr]'); a.value = 8;"
    "a.dispatchEvent(new Event('input'));"
    "var s = document.querySelector('#interactive-momentum input[name=beta]'); s.value = 3;"
    "s.dispatchEvent(new Event('input'));",
    "race": "var s = document.querySelector('#interactive-race input[name=start]'); s.value = 0;"
    "s.dispatchEvent(new Event('input'));"
    "var c = document.querySelector('#interactive-race input[value=rmsprop]'); c.checked = true;"
    "c.dispatchEvent(new Event('change'));",
    "adaptive": "var s = document.querySelector('#interactive-adaptive input[name=decay]'); s.value = 0;"
    "s.dispatchEvent(new Event('input'));",
    "dropout": "var s = document.querySelector('#interactive-dropout input[name=keep]'); s.value = 6;"
    "s.dispatchEvent(new Event('input'));",
}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]


def page(name: str, move: str = "") -> str:
    """A page with the figure ``name`` alone; ``move`` runs once the page has drawn it."""
    html = render([Chapter(f"chapter-{name}", name, [explorer_html(name)])], f"interactive figure: {name}")
    script = f"<script>document.addEventListener('DOMContentLoaded', function () {{ {move} }});</script>"
    return html.replace("</body>", script + "</body>") if move else html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots/interactive", help="folder of the PNGs")
    args = parser.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("interactive_screenshots.py: headless Chromium is needed (bash scripts/setup.sh --dev)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in EXPLORERS:
            for when, move in (("before", ""), ("after", MOVES[name])):
                html = Path(tmp) / f"{name}-{when}.html"
                html.write_text(page(name, move), encoding="utf-8")
                shot = out / f"{name}-{when}.png"
                subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp}/profile", "--window-size=1000,1000",
                                "--virtual-time-budget=5000", f"--screenshot={shot.resolve()}", html.as_uri()],
                               check=True, capture_output=True, timeout=120)  # fmt: skip
                print(shot)


if __name__ == "__main__":
    main()
