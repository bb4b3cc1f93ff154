"""Compiling the UI's message catalogues (``.po`` to ``.mo``): imports only Babel, so that setup.py can run it.

The ``.mo`` files are build output and git-ignored; the ``.po`` files are the source (docs/i18n.md).
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every ``messages.po`` under ``directory`` whose ``.mo`` is missing or older; the compiled files.

    ``make assets`` and the wheel build (setup.py) call this; the app calls it too at start, so that a checkout
    run without either (pytest straight from git) still speaks Chinese. A read-only install is left as it is."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    done = []
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalog)
        except OSError as err:
            log.warning("could not compile %s: %s", po, err)
            continue
        done.append(mo)
    return done


if __name__ == "__main__":
    for path in compile_catalogues():
        print(f"compiled {path}")
