"""Fetch the official EMNIST archive and keep only the Letters split, verified by sha256.

The download resumes from a ``.part`` file with an HTTP Range request, shows a progress bar,
and each extracted file is checked against the sha256 of the official release before it is
moved into place, so a cache directory never holds a half-written or altered file.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from ..errors import DataFormatError, LettersError

OFFICIAL_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"

# sha256 of the official gzip'd files inside gzip.zip (from the release's Git LFS pointers,
# recorded in EMNIST/README.md).
LETTERS_FILES: dict[str, str] = {
    "emnist-letters-train-images-idx3-ubyte.gz": "6288f418a917e007bf5fddb823a2dc7a5c6a35031401b93292a539cb12bd881f",
    "emnist-letters-train-labels-idx1-ubyte.gz": "9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c",
    "emnist-letters-test-images-idx3-ubyte.gz": "50f0e93d75b99b463e9760b8345866f22587fa2c2fba472730a5ba09c693412d",
    "emnist-letters-test-labels-idx1-ubyte.gz": "924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb",
}


class DownloadError(LettersError):
    """The archive could not be fetched or did not verify."""


def default_data_dir() -> Path:
    """Where ``letters data download`` puts the data and ``letters train`` looks for it."""
    from platformdirs import user_cache_dir

    override = os.environ.get("LETTERS_DATA_DIR")
    return Path(override) if override else Path(user_cache_dir("handwritten-letters")) / "emnist-letters"


def _progress(total: int | None, initial: int, label: str):
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, desc=label,
        disable=not sys.stderr.isatty(), file=sys.stderr,
    )


def fetch(url: str, destination: Path, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``destination``, resuming a previous partial download."""
    partial = destination.with_name(destination.name + ".part")
    destination.parent.mkdir(parents=True, exist_ok=True)
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part file is complete
            partial.replace(destination)
            return destination
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: cannot connect ({getattr(exc, 'reason', exc)})") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length else None
        with open(partial, "ab" if resumed else "wb") as out, _progress(total, have, destination.name) as bar:
            try:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
            except OSError as exc:
                raise DownloadError(
                    f"{url}: connection lost after {out.tell()} bytes ({exc}); run the command again to resume"
                ) from None
    if total is not None and partial.stat().st_size != total:
        raise DownloadError(
            f"{url}: got {partial.stat().st_size} of {total} bytes; run the command again to resume"
        )
    partial.replace(destination)
    return destination


def _sha256_of_member(archive: zipfile.ZipFile, member: str, out_path: Path) -> str:
    digest = hashlib.sha256()
    with archive.open(member) as src, open(out_path, "wb") as out:
        for block in iter(lambda: src.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def extract_letters(archive_path: Path, dest: Path, expected: dict[str, str] | None = None) -> list[Path]:
    """Extract the Letters files from the EMNIST archive, each verified before it is kept."""
    expected = LETTERS_FILES if expected is None else expected
    try:
        archive = zipfile.ZipFile(archive_path)
    except zipfile.BadZipFile:
        archive_path.unlink(missing_ok=True)
        raise DownloadError(f"{archive_path}: not a zip archive (deleted; run the command again)") from None
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with archive:
        by_name = {Path(name).name: name for name in archive.namelist()}
        for name, sha256 in expected.items():
            if name not in by_name:
                raise DataFormatError(f"{archive_path}: archive has no member {name}")
            target = dest / name
            temporary = dest / (name + ".tmp")
            actual = _sha256_of_member(archive, by_name[name], temporary)
            if actual != sha256:
                temporary.unlink()
                raise DownloadError(f"{archive_path}: {name} has sha256 {actual}, expected {sha256}")
            temporary.replace(target)
            written.append(target)
    return written


def download_letters(
    dest: Path | None = None,
    url: str = OFFICIAL_URL,
    expected: dict[str, str] | None = None,
    keep_archive: bool = False,
) -> list[Path]:
    """Fetch (or resume) the archive, extract and verify the Letters files into ``dest``."""
    expected = LETTERS_FILES if expected is None else expected
    dest = dest or default_data_dir()
    if all((dest / name).exists() for name in expected):
        return [dest / name for name in expected]
    archive = fetch(url, dest / "emnist-gzip.zip")
    files = extract_letters(archive, dest, expected)
    if not keep_archive:
        archive.unlink()
    return files

