#!/usr/bin/python3
"""Makes the kiosk's bundled font: a subset of Noto Sans CJK SC Regular (SIL OFL 1.1) from
Debian's fonts-noto-cjk, cut with fontTools to what a service hall's screens need:

  * every character of GB 2312 (6,763 hanzi, covering the names, places and terms of the
    content; rarer characters in names fall back to the system's fonts at run time);
  * ASCII, Latin-1, general punctuation, CJK symbols and punctuation, full-width forms;
  * every character written in the kiosk's .slint files, translations and sample content,
    so nothing the kiosk itself says depends on the fallback.

The family is renamed "Kiosk Sans SC" so that the embedded subset, not a system font of the
same name, is what the UI asks for. Run it again after adding characters outside GB 2312 to
the UI; kiosk's test `the_bundled_font_covers_every_character_the_ui_writes` says when.

    scripts/make-kiosk-font.sh        # installs fonts-noto-cjk and fonttools if missing
"""

import pathlib
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = pathlib.Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
OUT = ROOT / "kiosk/ui/fonts/KioskSansSC-Regular.otf"
FAMILY = "Kiosk Sans SC"


def gb2312() -> set[int]:
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return chars


def ranges() -> set[int]:
    spans = [
        (0x0020, 0x007E),  # ASCII
        (0x00A0, 0x00FF),  # Latin-1
        (0x2010, 0x206F),  # general punctuation (— … ‘ ’ “ ”)
        (0x2190, 0x21FF),  # arrows
        (0x2460, 0x24FF),  # enclosed numbers ①
        (0x25A0, 0x25FF),  # geometric shapes ● ○ ▲
        (0x2600, 0x26FF),  # ★ ☆
        (0x3000, 0x303F),  # CJK symbols and punctuation 、。〔〕
        (0xFF00, 0xFFEF),  # full-width forms ，：（）
    ]
    return {c for lo, hi in spans for c in range(lo, hi + 1)}


def written_by_the_kiosk() -> set[int]:
    chars = set()
    globs = [
        ("kiosk/ui", "**/*.slint"),
        ("kiosk/ui", "**/*.po"),
        ("config/content-sample", "**/*.md"),
        ("config/content-sample", "**/*.toml"),
        ("kiosk/src", "**/*.rs"),
    ]
    for folder, pattern in globs:
        for path in sorted((ROOT / folder).glob(pattern)):
            chars.update(ord(c) for c in path.read_text(encoding="utf-8") if ord(c) >= 0x80)
    return chars


def sc_face(collection: TTCollection):
    for font in collection.fonts:
        if font["name"].getDebugName(1) == "Noto Sans CJK SC":
            return font
    sys.exit(f"{SOURCE}: no 'Noto Sans CJK SC' face")


def main() -> None:
    font = sc_face(TTCollection(str(SOURCE)))
    options = subset.Options()
    # The default features (kerning, ligatures, marks) and no more: "*" would keep the
    # vertical and other locales' forms, twice the glyphs.
    options.layout_features = [f for f in options.layout_features if f not in ("locl", "vert", "vrt2", "vkrn")]
    options.hinting = False  # the renderer does not hint; dropping them saves about a tenth
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=gb2312() | ranges() | written_by_the_kiosk())
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 16):
            names.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 4:
            names.setName(f"{FAMILY} Regular", 4, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 6:
            names.setName("KioskSansSC-Regular", 6, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            names.setName(f"{FAMILY} Regular (subset of Noto Sans CJK SC)", 3,
                          record.platformID, record.platEncID, record.langID)
    font["CFF "].cff.fontNames = ["KioskSansSC-Regular"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT))
    print(f"{OUT.relative_to(ROOT)}: {len(font.getGlyphOrder())} glyphs, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
