"""The process test_crash.py kills: it opens the database file, checks what the last (killed) process left, then
changes the sources and refreshes models of every plan class in a loop until it is killed.

    python crash_worker.py setup DB EXTENSION               sources and model definitions, nothing built
    python crash_worker.py work  DB EXTENSION SEED [churn]  check, refresh and verify the small models, then loop
                                                            (with churn: drop or redefine a model first)
    python crash_worker.py final DB EXTENSION               check, refresh each model once, verify all, check again

It talks to the parent in lines on stdout: `check <json problems>`, `verify <json problems>`, `ready`; around every
refresh `begin <model> full|incr` and `end <model> <mode> <ms>`; `mutate`, `drop`, `create` and `checkpoint` before
those steps and `created <model> <ms>` after a drop and create. So the parent can time its SIGKILL and tell where it
landed. Each step commits on its own, so a kill can fall anywhere, checkpoints included.
"""

import json
import random
import re
import sys
import time
from datetime import datetime, timedelta

import duckdb
from sqltext import lit, table_equals_query

BASE = datetime(2024, 3, 1)
BIG_ROWS = 2_000_000

SOURCES = [
    "CREATE TABLE events(id BIGINT, version INT, k INT, day DATE, amount DECIMAL(12,2), loaded_at TIMESTAMP)",
    "CREATE TABLE dims(k INT, label VARCHAR, grp INT)",
    # large enough that a full rebuild of a model over it takes about a second: most kills aimed there land inside
    f"CREATE TABLE big AS SELECT i AS id, CAST(i % 200000 AS INT) AS k, CAST(hash(i) % 1000 AS INT) AS v, "
    f"TIMESTAMP '{BASE}' - INTERVAL 1 DAY + INTERVAL (i % 3600) SECOND AS updated_at FROM range({BIG_ROWS}) t(i)",
]


class M:
    """A model: its name, query and incremental_create options; `key` and `time` for the checks; `big` models are
    verified only at the end (a recomputation over the large source takes seconds)."""

    def __init__(self, name, query, options, key=(), time=None, big=False, kept=()):
        self.name, self.query, self.options, self.key, self.time, self.big = name, query, options, key, time, big
        self.kept = kept  # tables the model keeps in _incremental once built (snapshot copies, its change logs)

    def create_sql(self, replace=False):
        again = ", replace := true" if replace else ""
        return f"CALL incremental_create({lit(self.name)}, {lit(self.query)}, {self.options}{again})"


# In refresh order: each model after the models it reads. The stream below keeps every model's contract (events
# only grow, with a growing loaded_at and days at most 2 behind it; dims change any way but are read as a snapshot;
# big is updated in place, 2000 rows at a time, with a growing updated_at), so after any crash one refresh must
# make verify ok.
MODELS = [
    M("m_window", "SELECT day, k, count(*) AS n, sum(amount) AS total FROM events GROUP BY day, k",
      "time_column := 'day', lookback := INTERVAL '3 days', strategy := 'delete+insert'", time="day"),
    M("m_di_keyed", "SELECT id, max(day) AS day, sum(amount) AS amount FROM events GROUP BY id",
      "unique_key := 'id', time_column := 'day', lookback := INTERVAL '3 days', strategy := 'delete+insert'",
      key=("id",), time="day"),
    M("m_merge", "SELECT id, max(version) AS version, max(loaded_at) AS loaded_at, sum(amount) AS amount "
                 "FROM events GROUP BY id",
      "unique_key := 'id', time_column := 'loaded_at', strategy := 'merge'", key=("id",), time="loaded_at"),
    M("m_append", "SELECT id, version, k, day, amount, loaded_at FROM events",
      "time_column := 'loaded_at', strategy := 'append'", time="loaded_at"),
    M("m_full", "SELECT k, count(*) AS n, sum(amount) AS total FROM events GROUP BY k", "strategy := 'full'"),
    M("per_k", "SELECT k, count(*) AS n, sum(amount) AS total, median(amount) AS med FROM events GROUP BY k",
      "unique_key := 'k', sources := {'events': 'loaded_at'}", key=("k",)),
    M("per_grp", "SELECT d.grp, count(*) AS n, sum(e.amount) AS total FROM events e JOIN dims d ON d.k = e.k "
                 "GROUP BY d.grp",
      "unique_key := 'grp', sources := {'events': 'loaded_at', 'dims': 'snapshot'}", key=("grp",),
      kept=("snapshot of dims for main.per_grp",)),
    M("latest", "SELECT * FROM events QUALIFY row_number() OVER (PARTITION BY id ORDER BY version DESC) = 1",
      "unique_key := 'id', sources := {'events': 'loaded_at'}", key=("id",)),
    M("to_date", "SELECT day, count(*) AS n, sum(count(*)) OVER (ORDER BY day) AS n_to_date, "
                 "sum(sum(amount)) OVER (ORDER BY day) AS total_to_date FROM events GROUP BY day",
      "unique_key := 'day', sources := {'events': 'loaded_at'}", key=("day",)),
    M("r_daily", "SELECT day, count(*) AS n, sum(amount) AS total FROM latest GROUP BY day",
      "unique_key := 'day', sources := {'latest': 'changes'}", key=("day",),
      kept=('changes of "main"."latest" for "main"."r_daily"',)),
    # counts over one model's changes: folded into the stored counts
    M("r_versions", "SELECT version, count(*) AS ids FROM m_merge GROUP BY version",
      "unique_key := 'version', sources := {'m_merge': 'changes'}", key=("version",),
      kept=('changes of "main"."m_merge" for "main"."r_versions"',)),
    M("big_full", "SELECT k, count(*) AS n, sum(v) AS total, max(updated_at) AS last FROM big GROUP BY k",
      "unique_key := 'k', strategy := 'full'", key=("k",), big=True),
    M("big_merge", "SELECT id, k, v, updated_at FROM big",
      "unique_key := 'id', time_column := 'updated_at', strategy := 'merge'", key=("id",), time="updated_at",
      big=True),
]
BY_NAME = {m.name: m for m in MODELS}
# Dropped and defined again now and then, so a kill can fall between the two: then the model is missing, and so
# must be its table and the tables it kept; or redefined in place, to be rebuilt at its next refresh.
CHURN = ("per_grp", "r_versions")
# The chance that a loop's refresh of the model is a full_refresh := true.
FULL_CHANCE = {"big_merge": 0.5}
FULL_CHANCE_DEFAULT = 0.08


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def say(*parts):
    print(*parts, flush=True)


def connect(db, extension):
    con = duckdb.connect(db, config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    return con


def rows(con, sql):
    return con.execute(sql).fetchall()


def problems(con, thorough=False):
    """What a crash must never leave: catalog, history, kept tables and model tables that disagree. The check for
    duplicated keys of the big models (a second each) is `thorough` only."""
    out = []
    names = [r[0] for r in rows(con, "SELECT table_name FROM _incremental.models")]
    catalog = {}
    for name in names:
        table = ident('state of "main".' + ident(name))
        state = rows(con, "SELECT built, CASE WHEN source_marks <> '{}' THEN source_marks ELSE watermark END, last_mode, "
                            f"status FROM _incremental.{table}")
        if len(state) != 1:
            out.append(f"model {name} has {len(state)} state rows, not 1")
        catalog[name] = state[0] if state else (False, None, None, None)
    listed = {r[0] for r in rows(con, "SELECT name FROM incremental_models()")}
    if listed != set(catalog):
        out.append(f"incremental_models() lists {sorted(listed)}, the catalog table holds {sorted(catalog)}")
    missing = {m.name for m in MODELS} - set(catalog)
    if missing - set(CHURN) or set(catalog) - set(BY_NAME):
        out.append(f"catalog holds {sorted(catalog)}; expected every model (only {CHURN} may be missing)")
    tables = {(s, t): c for s, t, c in rows(con, "SELECT schema_name, table_name, comment FROM duckdb_tables() "
                                                 "WHERE database_name = current_database()")}
    out += [f"leftover table {s}.{t}" for s, t in tables if "__incremental_rebuild" in t]
    built = {name for name, (b, *_) in catalog.items() if b}
    for s, t in tables:
        if s == "main" and t not in ("events", "dims", "big") and t not in built and "__incremental" not in t:
            out.append(f"table main.{t} exists but no built model owns it (catalog: {catalog.get(t)})")
    for name in sorted(built):
        comment = tables.get(("main", name))
        if comment is None or not comment.startswith(f"incremental model {name}:"):
            state = "missing" if comment is None else "unmarked"
            out.append(f"model {name} is built in the catalog, but its table is {state}")
    states = {t for s, t in tables if s == "_incremental" and t.startswith("state of ")}
    if states != {f'state of "main".{ident(name)}' for name in catalog}:
        out.append(f"_incremental holds the state tables {sorted(states)}, the catalog's models are {sorted(catalog)}")
    kept = {t for s, t in tables if s == "_incremental"} - {"models", "history", "catalog_version"} - states
    expected = {t for name in built for t in BY_NAME[name].kept if name in BY_NAME}
    if kept != expected:
        out.append(f"_incremental keeps {sorted(kept)}, the built models own {sorted(expected)}")
    for name in sorted(built):
        for t in BY_NAME[name].kept if name in BY_NAME else []:
            mark = tables.get(("_incremental", t))
            if t in kept and mark != f"kept by the incremental extension for model {name}":
                out.append(f"kept table {t} of model {name} carries the mark {mark!r}")

    history = rows(con, "SELECT run_id, model, mode, rows_inserted, rows_deleted, watermark_after, "
                        "CAST(started_at AS VARCHAR) FROM incremental_history()")
    ids = [h[0] for h in history]
    if len(ids) != len(set(ids)):
        out.append(f"history run ids repeat: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
    out += [f"history row {h} is for a model not in the catalog" for h in history if h[1] not in catalog]
    for name, (is_built, watermark, last_mode, status) in sorted(catalog.items()):
        mine = sorted((h for h in history if h[1] == name), key=lambda h: (h[6], h[0]))
        ok = [h for h in mine if h[2] != "failed"]
        want_status = "failed" if mine and mine[-1][2] == "failed" else "ok" if ok else "defined"
        if bool(ok) != bool(is_built) or status != want_status:
            out.append(f"model {name}: built={is_built} status={status}, but its history is {mine}")
        if ok and (ok[-1][2], ok[-1][5]) != (last_mode, watermark):
            out.append(f"model {name}: catalog says mode {last_mode} watermark {watermark}, last run {ok[-1]}")
        if not is_built or ("main", name) not in tables:
            continue
        m, table = BY_NAME[name], ident(name)
        count = rows(con, f"SELECT count(*) FROM {table}")[0][0]
        if count != sum(h[3] - h[4] for h in ok):
            out.append(f"model {name}: {count} rows, but its history inserted minus deleted "
                       f"{sum(h[3] - h[4] for h in ok)}: {ok}")
        if m.key and (thorough or not m.big):
            dup = rows(con, f"SELECT count(*) FROM (SELECT {', '.join(m.key)} FROM {table} GROUP BY ALL "
                            f"HAVING count(*) > 1)")[0][0]
            if dup:
                out.append(f"model {name}: {dup} duplicated keys")
        if m.time:
            newest = rows(con, f"SELECT CAST(max({m.time}) AS VARCHAR) FROM {table}")[0][0]
            if newest != watermark:
                out.append(f"model {name}: watermark {watermark}, but the newest {m.time} in the table is {newest}")
        then = as_of_last_refresh(m, watermark)
        if then and not table_equals_query(con, table, then):
            out.append(f"model {name}: the table is not its query over the sources as of its last refresh "
                       f"(watermark {watermark}): {then}")
    return out


def as_of_last_refresh(m, watermark):
    """The model's query over its sources as they were at its last refresh, rebuilt from what the catalog keeps, or
    None where that cannot be known. events only grow and each batch has one loaded_at, so events then are the rows
    up to the stored watermark (of the table's time column, or of the events source); dims then is the snapshot
    copy; an upstream model then is its table now less the net changes logged for this reader since."""
    def replace(query, name, relation):  # `relation` read under the table's alias, else under its name
        return re.sub(rf"\b(FROM|JOIN) {name}( [a-z]\b)?", lambda g: f"{g[1]} {relation} AS {(g[2] or name).strip()}",
                      query)

    if m.name in ("m_append", "m_merge") or "'events': 'loaded_at'" in m.options:
        bound = json.loads(watermark)["events"] if watermark and watermark.startswith("{") else watermark
        where = f"loaded_at <= TIMESTAMP {lit(bound)}" if bound else "false"
        query = replace(m.query, "events", f"(SELECT * FROM events WHERE {where})")
        if "'dims': 'snapshot'" in m.options:
            query = replace(query, "dims", f"_incremental.{ident(m.kept[0])}")
        return query
    if "'changes'" in m.options:
        upstream, log = re.search(r"'(\w+)': 'changes'", m.options)[1], f"_incremental.{ident(m.kept[0])}"
        net = f"(SELECT * EXCLUDE (__incremental_diff), sum(__incremental_diff) AS __n FROM {log} GROUP BY ALL)"
        then = (f"(SELECT * FROM (FROM {upstream} EXCEPT ALL SELECT * EXCLUDE (__n) FROM {net} WHERE __n > 0) "
                f"UNION ALL SELECT * EXCLUDE (__n) FROM {net} WHERE __n < 0)")
        return replace(m.query, upstream, then)
    return None


def refresh(con, name, full=False):
    pending = rows(con, f"SELECT last_mode IS NULL OR pending_rebuild IS NOT NULL FROM incremental_models() "
                        f"WHERE name = {lit(name)}")[0][0]
    full_build = full or pending or name in ("m_full", "big_full")
    say("begin", name, "full" if full_build else "incr")
    started = time.monotonic()
    mode = rows(con, f"SELECT mode FROM incremental_refresh({lit(name)}{', full_refresh := true' if full else ''})")
    say("end", name, mode[0][0], f"{(time.monotonic() - started) * 1000:.1f}")


def defined(con):
    return {r[0] for r in rows(con, "SELECT name FROM incremental_models()")}


def verify(con, models):
    failed = []
    for m in models:
        res = rows(con, f"SELECT rows_missing, rows_extra, ok FROM incremental_verify({lit(m.name)})")[0]
        if not res[2]:
            failed.append(f"model {m.name}: verify after a refresh: {res[0]} rows missing, {res[1]} extra")
    return failed


def mutate(con, rng):
    """One batch of source changes, in one transaction: new events an hour after the last (some late by up to two
    days, some new versions of old ids), dimension rows inserted, updated or deleted, and big updated in place."""
    con.execute("BEGIN")
    at, max_id = rows(con, f"SELECT coalesce(max(loaded_at), TIMESTAMP '{BASE}'), coalesce(max(id), 0) FROM events")[0]
    at += timedelta(hours=1)
    old = [rng.randint(1, max_id) for _ in range(rng.randint(0, 8))] if max_id else []
    versions = dict(rows(con, f"SELECT id, max(version) FROM events WHERE id IN ({', '.join(map(str, old))}) "
                              "GROUP BY id")) if old else {}
    values, next_id = [], max_id + 1
    for id_ in list(versions) + list(range(next_id, next_id + rng.randint(0, 25))):
        versions[id_] = versions.get(id_, 0) + 1
        k = "NULL" if rng.random() < 0.05 else str(rng.randint(1, 15))
        day = (at - timedelta(days=rng.randint(0, 2))).date()
        amount = "NULL" if rng.random() < 0.05 else f"{rng.randint(-500, 5000) / 100:.2f}"
        values.append(f"({id_}, {versions[id_]}, {k}, DATE '{day}', {amount}, TIMESTAMP '{at}')")
    if values:
        con.execute(f"INSERT INTO events VALUES {', '.join(values)}")
    for _ in range(rng.randint(0, 2)):
        k, grp = rng.randint(1, 16), rng.choice(["NULL", "1", "2", "3"])
        con.execute(f"DELETE FROM dims WHERE k = {k}")
        if rng.random() < 0.8:
            con.execute(f"INSERT INTO dims VALUES ({k}, 'label {rng.randint(1, 4)}', {grp})")
    first = rng.randrange(BIG_ROWS - 2000)
    con.execute(f"UPDATE big SET v = v + 1, updated_at = TIMESTAMP '{at}' WHERE id BETWEEN {first} AND {first + 1999}")
    con.execute("COMMIT")


def churn(con, rng, present):
    """Drops a model and defines it again, or redefines it in place (replace := true: the next refresh rebuilds)."""
    name, started = rng.choice(CHURN), time.monotonic()
    if name in present and rng.random() < 0.3:
        say("create", name)
        con.execute(BY_NAME[name].create_sql(replace=True))
    else:
        if name in present:
            say("drop", name)
            con.execute(f"CALL incremental_drop({lit(name)})")
        say("create", name)
        con.execute(BY_NAME[name].create_sql())
    say("created", name, f"{(time.monotonic() - started) * 1000:.1f}")


def work(con, seed, churn_first):
    rng = random.Random(seed)
    found = problems(con)
    say("check", json.dumps(found))
    present = defined(con)
    for name in CHURN:
        if name not in present:
            con.execute(BY_NAME[name].create_sql())
    small = [m for m in MODELS if not m.big]
    for m in small:
        refresh(con, m.name)
    say("verify", json.dumps(verify(con, small)))
    say("ready")
    while True:
        say("mutate")
        mutate(con, rng)
        if churn_first or rng.random() < 0.1:
            churn_first = False
            churn(con, rng, defined(con))
        if rng.random() < 0.1:
            say("begin refresh_all incr")
            rows(con, "SELECT * FROM incremental_refresh_all()")
            say("end refresh_all")
            continue
        for m in MODELS:
            refresh(con, m.name, rng.random() < FULL_CHANCE.get(m.name, FULL_CHANCE_DEFAULT))
        if rng.random() < 0.3:  # a kill inside a checkpoint leaves the WAL to be replayed over a half-written file
            say("checkpoint")
            con.execute("CHECKPOINT")


def final(con):
    found = problems(con, thorough=True)
    say("check", json.dumps(found))
    present = defined(con)
    for name in CHURN:
        if name not in present:
            con.execute(BY_NAME[name].create_sql())
    for m in MODELS:
        refresh(con, m.name)
    say("verify", json.dumps(verify(con, MODELS) + problems(con, thorough=True)))


def main():
    command, db, extension = sys.argv[1:4]
    con = connect(db, extension)
    if command == "setup":
        for sql in SOURCES:
            con.execute(sql)
        for m in MODELS:
            con.execute(m.create_sql())
    elif command == "work":
        work(con, int(sys.argv[4]), sys.argv[5:] == ["churn"])
    elif command == "final":
        final(con)
    con.close()


if __name__ == "__main__":
    main()
