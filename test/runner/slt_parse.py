"""Parser for DuckDB-dialect sqllogictest (.test) files into record objects."""

import re
from dataclasses import dataclass, field

SORT_MODES = ("nosort", "rowsort", "valuesort")
SLEEP_UNITS = {
    "second": 1.0, "seconds": 1.0,
    "millisecond": 1e-3, "milliseconds": 1e-3,
    "microsecond": 1e-6, "microseconds": 1e-6,
    "nanosecond": 1e-9, "nanoseconds": 1e-9,
}


class ParseError(Exception):
    def __init__(self, line, message):
        super().__init__(f"line {line}: {message}")


@dataclass
class Record:
    line: int
    directive: str  # the record's first line, shown in reports


@dataclass
class Statement(Record):
    expect: str  # "ok", "error" or "maybe"
    sql: str
    message: str | None  # expected error text after ----, if any


@dataclass
class Query(Record):
    types: str
    sort: str
    label: str | None
    sql: str
    expected: list[str] | None  # None when the record has no ---- section


@dataclass
class Require(Record):
    args: list[str]


@dataclass
class RequireEnv(Record):
    name: str
    value: str | None


@dataclass
class Load(Record):
    path: str | None  # None: in-memory database
    read_only: bool


@dataclass
class Restart(Record):
    pass


@dataclass
class Mode(Record):
    mode: str


@dataclass
class Halt(Record):
    pass


@dataclass
class Sleep(Record):
    seconds: float


@dataclass
class Loop(Record):
    var: str
    # Tokens are kept raw so that bounds like ${n} from an enclosing loop can be substituted at run time.
    kind: str  # "loop" (range start..end, end exclusive) or "foreach" (explicit values)
    tokens: list[str]
    body: list = field(default_factory=list)


def _block(lines, i):
    """Lines from i up to (not including) the next blank line; returns (block, next index)."""
    start = i
    while i < len(lines) and lines[i].strip():
        i += 1
    return lines[start:i], i


def _split_result(block):
    """Splits a record body at its ---- line into (sql lines, expected lines or None)."""
    for at, line in enumerate(block):
        if line.strip() == "----":
            return block[:at], block[at + 1:]
    return block, None


def _statement(tokens, body, lineno):
    if len(tokens) != 2 or tokens[1] not in ("ok", "error", "maybe"):
        raise ParseError(lineno, "expected 'statement ok|error|maybe'")
    sql, expected = _split_result(body)
    if not sql:
        raise ParseError(lineno, "statement without SQL")
    if expected is not None and tokens[1] == "ok":
        raise ParseError(lineno, "'statement ok' cannot have an expected result")
    message = "\n".join(expected) if expected else None
    return Statement(lineno, " ".join(tokens), tokens[1], "\n".join(sql), message)


def _query(tokens, body, lineno):
    if len(tokens) < 2 or not re.fullmatch(r"[A-Za-z]+", tokens[1]):
        raise ParseError(lineno, "expected 'query <typecodes> [sortmode] [label]'")
    sort, label = "nosort", None
    for token in tokens[2:]:
        if token in SORT_MODES:
            sort = token
        elif label is None:
            label = token
        else:
            raise ParseError(lineno, f"unexpected query option {token!r}")
    sql, expected = _split_result(body)
    if not sql:
        raise ParseError(lineno, "query without SQL")
    return Query(lineno, " ".join(tokens), tokens[1].upper(), sort, label, "\n".join(sql), expected)


def _simple(tokens, lineno):
    """Single-line directives."""
    word, args = tokens[0], tokens[1:]
    directive = " ".join(tokens)
    if word == "require":
        if not args:
            raise ParseError(lineno, "require needs an argument")
        return Require(lineno, directive, args)
    if word == "require-env":
        if len(args) not in (1, 2):
            raise ParseError(lineno, "expected 'require-env NAME [VALUE]'")
        return RequireEnv(lineno, directive, args[0], args[1] if len(args) == 2 else None)
    if word == "load":
        read_only = args[-1:] == ["readonly"]
        paths = args[:-1] if read_only else args
        if len(paths) > 1:
            raise ParseError(lineno, "expected 'load [PATH] [readonly]'")
        path = paths[0] if paths and paths[0] != ":memory:" else None
        return Load(lineno, directive, path, read_only)
    if word == "restart" and not args:
        return Restart(lineno, directive)
    if word == "halt" and not args:
        return Halt(lineno, directive)
    if word == "mode" and len(args) == 1:
        return Mode(lineno, directive, args[0])
    if word == "sleep":
        if len(args) != 2 or args[1] not in SLEEP_UNITS:
            raise ParseError(lineno, "expected 'sleep N seconds|milliseconds|microseconds|nanoseconds'")
        try:
            return Sleep(lineno, directive, float(args[0]) * SLEEP_UNITS[args[1]])
        except ValueError:
            raise ParseError(lineno, f"bad sleep duration {args[0]!r}") from None
    raise ParseError(lineno, f"unsupported directive {directive!r}")


def _loop(tokens, lineno):
    word = tokens[0]
    directive = " ".join(tokens)
    if word in ("loop", "concurrentloop"):
        if len(tokens) != 4:
            raise ParseError(lineno, "expected 'loop VAR START END'")
        return Loop(lineno, directive, tokens[1], "loop", tokens[2:])
    if len(tokens) < 3:
        raise ParseError(lineno, "expected 'foreach VAR VALUE...'")
    return Loop(lineno, directive, tokens[1], "foreach", tokens[2:])


def parse(text):
    """Returns the list of top-level records of a test file; loops hold their bodies."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    root = []
    stack = [root]  # innermost open loop body last
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            i += 1
            continue
        tokens = raw.split()
        word = tokens[0]
        if word in ("statement", "query"):
            body, i = _block(lines, i + 1)
            if word == "statement":
                stack[-1].append(_statement(tokens, body, lineno))
            else:
                stack[-1].append(_query(tokens, body, lineno))
            continue
        i += 1
        if word in ("loop", "concurrentloop", "foreach", "concurrentforeach"):
            loop = _loop(tokens, lineno)
            stack[-1].append(loop)
            stack.append(loop.body)
        elif word == "endloop":
            if len(stack) == 1:
                raise ParseError(lineno, "endloop without loop")
            stack.pop()
        else:
            stack[-1].append(_simple(tokens, lineno))
    if len(stack) > 1:
        raise ParseError(len(lines), "missing endloop")
    return root
