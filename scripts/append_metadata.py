#!/usr/bin/env python3
"""Turns a cdylib into a loadable .duckdb_extension by appending DuckDB's 534-byte metadata footer."""
import argparse
import os
import shutil

WASM_HEADER = bytes([0x00, 0x93, 0x04, 0x10]) + b"duckdb_signature" + bytes([0x80, 0x04])
FIELD = 32
SIGNATURE = 256


def field(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > FIELD:
        raise SystemExit(f"metadata field too long: {text!r}")
    return raw + b"\0" * (FIELD - len(raw))


def footer(version: str, c_api: str, platform: str) -> bytes:
    # Field order as DuckDB reads it: three unused fields, ABI type, extension version, C API version,
    # platform, magic value.
    fields = ["", "", "", "C_STRUCT", version, c_api, platform, "4"]
    data = WASM_HEADER + b"".join(field(f) for f in fields) + b"\0" * SIGNATURE
    assert len(data) == 534
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("library")
    ap.add_argument("output")
    ap.add_argument("--extension-version", required=True)
    ap.add_argument("--c-api-version", default="v1.2.0")
    ap.add_argument("--platform", default="linux_amd64")
    args = ap.parse_args()
    # Written beside the target and renamed over it: a process that has the old file loaded keeps its copy.
    partial = args.output + ".partial"
    shutil.copyfile(args.library, partial)
    with open(partial, "ab") as out:
        out.write(footer(args.extension_version, args.c_api_version, args.platform))
    os.replace(partial, args.output)


if __name__ == "__main__":
    main()
