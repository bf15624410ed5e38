"""Fetch axe-core (the accessibility checker the browser tests run) from the npm registry into .cache/.

Pinned version, checked against the registry's sha512 integrity; nothing runs it outside the tests.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.14.1"
URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
TARGET = Path(__file__).resolve().parents[1] / ".cache" / f"axe-core-{VERSION}" / "axe.min.js"


def main() -> int:
    if TARGET.is_file():
        return 0
    with urllib.request.urlopen(URL, timeout=60) as response:
        data = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        print(f"fetch_axe: integrity mismatch for {URL}", file=sys.stderr)
        return 1
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            print("fetch_axe: axe.min.js missing from the package", file=sys.stderr)
            return 1
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(member.read())
    print(f"fetch_axe: axe-core {VERSION} in {TARGET.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
