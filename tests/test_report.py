"""The HTML report, rendered in headless Chromium: every section and image must show."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import pytest
from conftest import TINY, cli

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "headless Chromium is needed for this test: bash scripts/setup.sh --dev installs it"
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    for opt in ("sgd", "adam"):
        result = cli("optim", "train", *TINY, "--epochs", "1", "--optimizer", opt, "--out", str(root / "runs"))
        assert result.returncode == 0, result.stderr
    out = root / "report.html"
    result = cli("report", str(root / "runs"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text()
    assert html.count('<section id="') == 2
    assert re.findall(r'<img [^>]*src="([^"]{0,22})', html) == ["data:image/png;base64,"] * 2
    assert "http://" not in html and "https://" not in html
    assert "descentlab optim train --seed 0 --optimizer adam" in html


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", report.as_uri()).stdout
    sections = re.findall(r'<section id="([^"]+)" class="concept">\s*<h2>([^<]+)</h2>', dom)
    assert [s for s, _ in sections] == ["optimization", "generalization"]
    rendered = re.findall(r'data-rendered="(\w+)"', dom)
    assert rendered == ["yes"] * 2, rendered
    assert 'data-images-rendered="2"' in dom

    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1100,2600", f"--screenshot={shot}", report.as_uri())
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2600, 1100)
    assert pixels[..., :3].std() > 0.05  # not a blank page


def test_report_rejects_a_non_html_output(report: Path, tmp_path: Path) -> None:
    result = cli("report", str(report.parent / "runs"), "-o", str(tmp_path / "r.pdf"))
    assert result.returncode == 2 and "ending in .html" in result.stderr
