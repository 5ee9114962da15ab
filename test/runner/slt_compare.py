"""Checks of statement errors and query results against a record's expectations (DuckDB runner rules)."""

import hashlib
import math
import re

HASH_LINE = re.compile(r"(\d+) values hashing to ([0-9a-f]{32})")
SHOWN_ROWS = 50  # rows printed per side in a failure report


def error_matches(expected, message):
    """DuckDB convention: the expected text is a substring of the error; <REGEX>: and <!REGEX>: use re."""
    if expected is None:
        return True
    if expected.startswith("<REGEX>:"):
        return re.search(expected[len("<REGEX>:"):], message, re.DOTALL) is not None
    if expected.startswith("<!REGEX>:"):
        return re.search(expected[len("<!REGEX>:"):], message, re.DOTALL) is None
    return expected in message


def _indent(text):
    return "\n".join(f"    {line}" for line in text.split("\n"))


def _render(value):
    """DuckDB's runner spelling: (empty) for the empty string, \\0 for a NUL character."""
    return "(empty)" if value == "" else value.replace("\0", "\\0")


def _value_eq(expected, actual, real):
    if expected == actual:
        return True
    if not real:
        return False
    try:
        e, a = float(expected), float(actual)
    except ValueError:
        return False
    return math.isclose(e, a, rel_tol=1e-9, abs_tol=1e-12)


def _row_eq(expected, actual, types):
    """expected is a list of values, or a str: a line without tabs compared to the whole row."""
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(
            _value_eq(e, a, t == "R") for e, a, t in zip(expected, actual, types.ljust(len(actual), "T"))
        )
    if len(actual) == 1:
        return _value_eq(expected, actual[0], types[:1] == "R")
    return expected in ("\t".join(actual), " ".join(actual)) or expected.split() == " ".join(actual).split()


def _expected_rows(lines, ncols, nactual):
    """Turns expected lines into rows: tab-separated values, one value per line when the line count equals
    the value count (DuckDB's alternative layout), else whole lines compared to the joined row."""
    if ncols == 1:
        return [[line] for line in lines]
    if all("\t" in line for line in lines):
        return [line.split("\t") for line in lines]
    if len(lines) == nactual * ncols and len(lines) != nactual and not any("\t" in line for line in lines):
        return [lines[i:i + ncols] for i in range(0, len(lines), ncols)]
    return [line.split("\t") if "\t" in line else line for line in lines]


def _match_unordered(expected, actual, types):
    """Multiset match: identical rows pair up through a dict, and only the rows left over (those needing the
    real-number tolerance, or written as whole lines) are compared pairwise, so large results stay fast."""
    pool = {}
    for row in actual:
        pool.setdefault(tuple(row), []).append(row)
    left = []
    for row in expected:
        same = pool.get(tuple(row)) if isinstance(row, list) else None
        if same:
            same.pop()
        else:
            left.append(row)
    unused = [row for rows in pool.values() for row in rows]
    for row in left:
        for i, candidate in enumerate(unused):
            if _row_eq(row, candidate, types):
                del unused[i]
                break
        else:
            return False
    return not unused


def _rows_match(rec, expected, actual):
    if rec.sort == "valuesort":
        exp_values = sorted(v for line in expected for v in line.split("\t"))
        act_values = sorted(v for row in actual for v in row)
        real = "R" in rec.types
        return len(exp_values) == len(act_values) and all(
            _value_eq(e, a, real) for e, a in zip(exp_values, act_values))
    rows = _expected_rows(expected, len(rec.types), len(actual))
    if len(rows) != len(actual):
        return False
    if rec.sort == "rowsort":
        return _match_unordered(rows, actual, rec.types)
    return all(_row_eq(e, a, rec.types) for e, a in zip(rows, actual))


def _sorted_values(rec, actual):
    """The flat value list DuckDB hashes: rows sorted for rowsort, values sorted for valuesort."""
    if rec.sort == "rowsort":
        actual = sorted(actual)
    values = [v for row in actual for v in row]
    return sorted(values) if rec.sort == "valuesort" else values


def _hash(values):
    digest = hashlib.md5()
    for value in values:
        digest.update(value.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _show(lines):
    shown = [f"    {line}" for line in lines[:SHOWN_ROWS]]
    if len(lines) > SHOWN_ROWS:
        shown.append(f"    ... ({len(lines) - SHOWN_ROWS} more)")
    return "\n".join(shown) if shown else "    (no rows)"


def check_query(rec, result, labels):
    """Returns None when the query result is as expected, else the failure explanation."""
    if result.error is not None:
        return f"query failed:\n{_indent(result.error)}"
    if result.ncols is not None and result.ncols != len(rec.types):
        return f"wrong column count: {len(rec.types)} type codes, result has {result.ncols} columns"
    actual = [[_render(v) for v in row] for row in result.rows]
    shown_actual = ["\t".join(row) for row in (sorted(actual) if rec.sort == "rowsort" else actual)]
    if rec.expected is not None:
        hashed = HASH_LINE.fullmatch(rec.expected[0].strip()) if len(rec.expected) == 1 else None
        if hashed:
            values = _sorted_values(rec, actual)
            count, digest = int(hashed.group(1)), hashed.group(2)
            if (count, digest) != (len(values), _hash(values)):
                return (f"expected:\n    {count} values hashing to {digest}\n"
                        f"actual:\n    {len(values)} values hashing to {_hash(values)}\n{_show(shown_actual)}")
        elif not _rows_match(rec, rec.expected, actual):
            return f"expected:\n{_show(rec.expected)}\nactual:\n{_show(shown_actual)}"
    if rec.label is not None:
        values = _sorted_values(rec, actual)
        if rec.label not in labels:
            labels[rec.label] = values
        elif labels[rec.label] != values:
            return f"result differs from earlier query labelled {rec.label!r}:\n{_show(labels[rec.label])}\n" \
                   f"actual:\n{_show(values)}"
    return None


def check_statement(rec, error):
    """Returns None when the statement behaved as the record says, else the failure explanation."""
    if rec.expect == "ok":
        return None if error is None else f"statement failed:\n{_indent(error)}"
    if error is None:
        return None if rec.expect == "maybe" else "statement succeeded but an error was expected"
    if error_matches(rec.message, error):
        return None
    return f"expected error containing:\n{_indent(rec.message)}\nactual error:\n{_indent(error)}"
