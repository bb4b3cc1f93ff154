"""Photo and file evidence: checked by size and by content (not by the name the browser sends), stored on disk
under EVIDENCE_DIR/<case instance id>/, outside the database; task data keeps only the reference
``evidence/<instance id>/<file name>``."""
from __future__ import annotations

import uuid
from pathlib import Path

from flask_babel import gettext as _

from engine.exceptions import FormInvalid, NotFound

#: Accepted kinds by their first bytes: a renamed executable is refused whatever its extension says.
SIGNATURES = {
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
    b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
    b"GIF87a": ("gif", "image/gif"),
    b"GIF89a": ("gif", "image/gif"),
    b"%PDF-": ("pdf", "application/pdf"),
}
MIME = {ext: mime for ext, mime in SIGNATURES.values()} | {"webp": "image/webp"}


def kind_of(head: bytes) -> str | None:
    for signature, (ext, _mime) in SIGNATURES.items():
        if head.startswith(signature):
            return ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def check(content: bytes, max_bytes: int, filename: str | None, field_name: str) -> str:
    """The kind (file extension) of ``content`` when it may be stored; raises FormInvalid naming the field."""
    filename = filename or field_name
    if len(content) > max_bytes:
        limit = max_bytes // (1024 * 1024)
        raise FormInvalid(_("%(file)s is larger than %(mb)s MB", file=filename, mb=limit),
                          {field_name: _("%(file)s: at most %(mb)s MB", file=filename, mb=limit)})
    ext = kind_of(content[:16])
    if ext is None:
        raise FormInvalid(_("%(file)s is not a JPEG, PNG, GIF, WebP image or a PDF", file=filename),
                          {field_name: _("%(file)s: only JPEG, PNG, GIF, WebP or PDF", file=filename)})
    return ext


def save(directory: str, instance_id: int, content: bytes, ext: str) -> str:
    """Write checked content (see :func:`check`) as a file of the case; returns its reference."""
    folder = Path(directory) / str(int(instance_id))
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{ext}"
    (folder / name).write_bytes(content)
    return f"evidence/{int(instance_id)}/{name}"


def store(directory: str, instance_id: int, upload, max_bytes: int, field_name: str) -> str:
    """Save one uploaded file (a werkzeug FileStorage); returns its reference. Raises FormInvalid naming the field."""
    content = upload.read(max_bytes + 1)
    return save(directory, instance_id, content, check(content, max_bytes, upload.filename, field_name))


def listing(directory: str, instance_id: int) -> list[str]:
    folder = Path(directory) / str(int(instance_id))
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def path_of(directory: str, instance_id: int, name: str) -> tuple[Path, str]:
    """The file of a reference, refusing any name that is not one this module wrote."""
    stem, _, ext = name.partition(".")
    if len(stem) != 32 or not all(c in "0123456789abcdef" for c in stem) or ext not in MIME:
        raise NotFound(f"no evidence {name}")
    path = Path(directory) / str(int(instance_id)) / name
    if not path.is_file():
        raise NotFound(f"no evidence {name}")
    return path, MIME[ext]


def check_references(directory: str, instance_id: int, field_names: list[str], data: dict) -> None:
    """Every evidence reference in ``data`` names a file stored for this case: the form, the API and the command line
    may send references, and one that names nothing (or another case's file) would be a photo nobody can see.
    Raises FormInvalid naming each field with a reference that is not stored."""
    errors = {}
    for name in field_names:
        refs = data.get(name)
        refs = [refs] if isinstance(refs, str) else refs
        if not isinstance(refs, list):
            continue
        for ref in refs:
            prefix = f"evidence/{int(instance_id)}/"
            try:
                if not isinstance(ref, str) or not ref.startswith(prefix):
                    raise NotFound(ref)
                path_of(directory, instance_id, ref.removeprefix(prefix))
            except NotFound:
                errors[name] = _("%(ref)s is not a file stored for this case", ref=str(ref)[:80])
                break
    if errors:
        raise FormInvalid(_("Evidence references must name files stored for this case"), errors)


def copy_all(directory: str, from_instance: int, into_instance: int) -> list[str]:
    """Copy every file of one case into another (a merged report's photos join the case it was merged into).
    Returns the new references."""
    refs = []
    for name in listing(directory, from_instance):
        source, _mime = path_of(directory, from_instance, name)
        folder = Path(directory) / str(int(into_instance))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(source.read_bytes())   # the name is a fresh uuid: no clash
        refs.append(f"evidence/{int(into_instance)}/{name}")
    return refs
