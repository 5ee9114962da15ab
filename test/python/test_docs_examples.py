"""Every ```sql block of README.md and docs/*.md runs: the blocks of one file in order, in one fresh database with the
extension loaded, so later blocks use what earlier ones created.

Fence markers (words after ```sql on the fence line):
- `fragment`: not meant to run (a signature, a piece of a query); skipped.
- `error`: the block's last statement must fail; an output block after it holds text the error must contain.
A ```text output block right after a sql block (blank lines between at most) is the result of that block's last
statement: a header line of column names, then one line per row, cells separated by `|` (padding is ignored).
`'build/release/incremental.duckdb_extension'` in a block is replaced by the built extension's path.
"""

import datetime
import decimal
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BUILT_PATH = "'build/release/incremental.duckdb_extension'"
MARKERS = {"fragment", "error"}
FENCE = re.compile(r"^```(\S*)(.*)$")


class Block:
    def __init__(self, path, line, lang, markers, text):
        self.path, self.line, self.lang, self.markers, self.text = path, line, lang, markers, text
        self.output = None  # the text output block that follows, if any

    def where(self):
        path = self.path.relative_to(REPO) if self.path.is_relative_to(REPO) else self.path
        return f"{path}:{self.line}"


def read_blocks(path):
    """The fenced blocks of a markdown file, each sql block with the output block that follows it."""
    blocks, current, body, gap = [], None, [], True
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if current is None:
            fence = FENCE.match(line)
            if fence:
                words = fence.group(2).split()
                current, body = Block(path, number, fence.group(1), words, None), []
            elif line.strip():
                gap = False
            continue
        if line.rstrip() == "```":
            current.text = "\n".join(body) + "\n"
            previous = blocks[-1] if blocks else None
            if current.lang == "text" and "output" in current.markers:
                assert gap and previous is not None and previous.lang == "sql", (
                    f"{current.where()}: an output block must follow a ```sql block with nothing but blank lines between"
                )
                previous.output = current
            else:
                blocks.append(current)
            current, gap = None, True
        else:
            body.append(line)
    assert current is None, f"{current.where()}: a fence is never closed"
    return [b for b in blocks if b.lang == "sql"]


def runnable(path):
    blocks = read_blocks(path)
    for b in blocks:
        unknown = set(b.markers) - MARKERS
        assert not unknown, f"{b.where()}: unknown marker(s) {sorted(unknown)} on the fence; use one of {sorted(MARKERS)}"
    return [b for b in blocks if "fragment" not in b.markers]


def sql_of(block, extension):
    return block.text.replace(BUILT_PATH, "'" + extension.replace("'", "''") + "'")


def cell(value):
    """A value as DuckDB's CLI prints it, closely enough for the documented results."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime, decimal.Decimal, int, str)):
        return str(value)
    return repr(value)


def table_of(lines):
    return [[c.strip() for c in line.split("|")] for line in lines if line.strip()]


def check_output(block, cursor):
    expected = table_of(block.output.text.splitlines())
    got = [[d[0] for d in cursor.description]] + [[cell(v) for v in row] for row in cursor.fetchall()]
    assert got == expected, (
        f"{block.where()}: the last statement's result differs from the output block at {block.output.where()}\n"
        f"expected: {expected}\ngot:      {got}"
    )


def run_block(con, block, extension):
    statements = con.extract_statements(sql_of(block, extension))
    assert statements, f"{block.where()}: the block holds no statement"
    expect_error = "error" in block.markers
    for i, statement in enumerate(statements):
        last = i == len(statements) - 1
        if last and expect_error:
            with pytest.raises(duckdb.Error) as failure:
                con.execute(statement.query)
            if block.output is not None:
                wanted = block.output.text.strip()
                assert wanted in str(failure.value), f"{block.where()}: the error {failure.value!s} lacks {wanted!r}"
            return
        try:
            cursor = con.execute(statement.query)
        except duckdb.Error as e:
            pytest.fail(f"{block.where()}: statement {i + 1} failed:\n{statement.query.strip()}\n{e}")
        if last and block.output is not None:
            check_output(block, cursor)


def run_file(path, extension, extension_directory):
    """Runs the file's blocks in one fresh database; returns how many ran."""
    blocks = runnable(path)
    config = {"allow_unsigned_extensions": "true", "extension_directory": str(extension_directory)}
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute(f"LOAD '{extension}'")
        for block in blocks:
            run_block(con, block, extension)
    finally:
        con.close()
    return len(blocks)


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_run(path, extension_path, tmp_path):
    run_file(path, extension_path, tmp_path / "extensions")


def test_readme_runs_as_pasted_in_the_cli(extension_path, cli_path, tmp_path):
    """The README's blocks, pasted in order into `duckdb -unsigned` started in the repo root, run without error."""
    parts = [f"SET extension_directory = '{tmp_path / 'extensions'}';"]
    splitter = duckdb.connect()
    for block in runnable(REPO / "README.md"):
        sql = sql_of(block, extension_path)
        if "error" in block.markers:
            # Everything up to the statement documented to fail.
            sql = "".join(f"{s.query}\n;\n" for s in splitter.extract_statements(sql)[:-1])
        parts.append(sql)
    done = subprocess.run(
        [cli_path, "-unsigned", "-bail", ":memory:"],
        input="\n".join(parts), capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert done.returncode == 0 and not done.stderr.strip(), f"CLI failed ({done.returncode}): {done.stderr}"


def test_readme_has_its_examples():
    """The extraction finds the quickstart first and all the README's examples, so none is silently left out."""
    blocks = runnable(REPO / "README.md")
    assert len(blocks) >= 15, [b.where() for b in blocks]
    assert blocks[0].text.startswith(f"LOAD {BUILT_PATH};"), blocks[0].where()
    assert "CREATE TABLE orders" in blocks[0].text and "incremental_verify" in blocks[0].text
    assert sum(b.output is not None for b in blocks) >= 5


def test_install_by_path_then_load_by_name(extension_path, tmp_path):
    """README, Install: INSTALL '<path>' puts it in this DuckDB version's directory; LOAD incremental then finds it."""
    config = {"allow_unsigned_extensions": "true", "extension_directory": str(tmp_path)}
    with duckdb.connect(config=config) as con:
        con.execute(f"INSTALL '{extension_path}'")
    with duckdb.connect(config=config) as con:
        con.execute("LOAD incremental")
        (installed,) = con.execute(
            "SELECT install_path FROM duckdb_extensions() WHERE extension_name = 'incremental' AND loaded"
        ).fetchone()
        assert f"/v{duckdb.__version__}/" in installed, installed
        assert con.execute("SELECT count(*) FROM incremental_models()").fetchone() == (0,)


@pytest.mark.parametrize(
    "markdown, complaint",
    [
        ("```sql\nSELECT 1 AS a;\n```\n\n```text output\na\n2\n```\n", "differs from the output block"),
        ("```sql\nSELECT * FROM no_such_table;\n```\n", "statement 1 failed"),
        ("```sql\nSELECT 1;\nSELECT nope;\n```\n", "statement 2 failed"),
        ("```sql error\nSELECT 1;\n```\n", "DID NOT RAISE"),
        ("```sql error\nSELECT nope;\n```\n\n```text output\nsomething else\n```\n", "lacks"),
        ("```sql frgment\nSELECT 1;\n```\n", "unknown marker"),
        ("Text.\n\n```text output\na\n```\n", "must follow a ```sql block"),
    ],
)
def test_a_broken_example_fails(markdown, complaint, extension_path, tmp_path):
    """The checker itself: a wrong result, a failing statement or a stray marker fails the docs test."""
    doc = tmp_path / "broken.md"
    doc.write_text(markdown)
    with pytest.raises((AssertionError, pytest.fail.Exception)) as failure:
        run_file(doc, extension_path, tmp_path / "extensions")
    assert complaint in str(failure.value), str(failure.value)
