#!/usr/bin/env python3
"""Rebuilds sigma-windows.tar.gz: the SigmaHQ rules that `rampart run` loads by default.

Selection: rules under rules/windows/ of the SigmaHQ archive in $RAMPART_SHARED_DATA
(default ../shared/data beside the workspace), with level medium, high or critical and a
status other than deprecated or unsupported. Files are copied unchanged (each keeps its
`author` field, as the Detection Rule License asks); the archive is reproducible (sorted
members, zero mtimes and owners).
"""
import io
import os
import re
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("RAMPART_SHARED_DATA", os.path.join(HERE, "../../../../shared/data"))
SOURCE = os.path.join(SHARED, "sigma-rules", "sigmahq_rules_all.tar.gz")
LEVELS = {"medium", "high", "critical"}
EXCLUDED_STATUS = {"deprecated", "unsupported"}


def field(text, name):
    match = re.search(rf"^{name}:\s*(\w+)", text, re.M)
    return match.group(1) if match else ""


def main():
    selected = []
    with tarfile.open(SOURCE, "r:gz") as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.startswith("rules/windows/") and member.name.endswith(".yml")):
                continue
            data = archive.extractfile(member).read()
            text = data.decode("utf-8", "replace")
            if field(text, "level") in LEVELS and field(text, "status") not in EXCLUDED_STATUS:
                selected.append((member.name, data))
    selected.sort()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=9) as archive:
        for name, data in selected:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    with open(os.path.join(HERE, "sigma-windows.tar.gz"), "wb") as f:
        f.write(out.getvalue())
    print(f"{len(selected)} rules, {len(out.getvalue())} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
