"""Make ``descentlab/report/assets/stix-two-math.woff2``: the math font the lab book embeds.

Browsers lay out MathML with a font's OpenType MATH table (how far a bracket stretches, how large a sum sign
is in display style); a page that names no math font leaves both at text size on machines without one (most
Linux desktops). The lab book embeds STIX Two Math (SIL Open Font License 1.1, no reserved font name; the
license is ``assets/STIX-OFL.txt``), cut to the characters mathematics uses so the page stays small:
Latin, Greek, operators, arrows, brackets and their extension pieces, and the italic, bold, script and
double-struck letters that MathML maps variables to. The MATH table and every glyph it reaches (larger
variants, bracket pieces) are kept.

The font comes from npm (fontsource's package carries the whole font despite its "latin" file name), so
run this where the registries are reachable; it needs ``fonttools`` and ``brotli``::

    npm pack @fontsource/stix-two-math@5.3.0 && tar xzf fontsource-stix-two-math-5.3.0.tgz
    python scripts/subset_math_font.py package/files/stix-two-math-latin-400-normal.woff2
"""

from __future__ import annotations

import argparse
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "descentlab" / "report" / "assets" / "stix-two-math.woff2"
RANGES = (
    "U+0020-007E,U+00A0-00FF,U+0131,U+0237,U+02C6-02DC,U+0300-036F,U+0391-03C9,U+03D0-03F6,U+2000-206F,"
    "U+20D0-20F0,U+2100-214F,U+2190-21FF,U+2200-22FF,U+2300-23FF,U+25A0-25FF,U+27C0-27FF,U+2980-29FF,"
    "U+2A00-2AFF,U+1D400-1D4CF,U+1D538-1D56B,U+1D6A8-1D755,U+1D7CE-1D7D7"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("font", type=Path, help="STIX Two Math (.woff2, .woff or .otf)")
    args = parser.parse_args()
    from fontTools import subset  # a maintainer's tool: not a dependency of descentlab

    subset.main([str(args.font), f"--unicodes={RANGES}", "--layout-features=*", "--flavor=woff2",
                 f"--output-file={OUT}"])  # fmt: skip
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
