"""A process of the DuckLake throughput benchmark (bench/lake.py), on a lake whose catalog is PostgreSQL:

    python bench/lake_worker.py worker META DATA OUT SECONDS NAME THREADS
    python bench/lake_worker.py writer META DATA OUT SECONDS SEED THREADS

`worker` calls incremental_work until SECONDS have passed and writes how many refreshes each call returned, by mode;
`writer` commits a small batch to the sources every 0.2 s (new rows, updates of its earlier rows, now and then a
renamed dimension label) and writes how many batches it committed. THREADS is the process's DuckDB `threads`
setting, or `default`. The figures bench/lake.py reports come from
incremental_history(); these summaries are a cross-check.
"""
import collections
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test/python"))
import lakes  # noqa: E402

# Models are few and refreshes short: a lease of 10 s is renewed long before it could expire.
WORK = ("SELECT mode FROM incremental_work(max_seconds := {seconds}, worker := {name}, lease_seconds := 10, "
        "idle_seconds := 0.5, raise_errors := false)")
BATCH_INSERTS = 20
BATCH_UPDATES = 5


def work(con, deadline, name):
    modes, calls = collections.Counter(), 0
    while True:
        left = deadline - time.time()
        if left < 0.5:
            break
        calls += 1
        for (mode,) in con.execute(WORK.format(seconds=round(left, 1), name=lakes.lit(name))).fetchall():
            modes[mode] += 1
    return {"worker": name, "calls": calls, "modes": dict(modes)}


def write(con, deadline, seed):
    """The rows' ids start above every id of the initial data; only this process writes, so batches never conflict
    with another writer (refreshes write only model tables and their own state)."""
    rnd = random.Random(seed)
    next_id = con.execute("SELECT max(id) + 1 FROM lake.main.ev").fetchone()[0]
    first, batches, failed = next_id, 0, 0
    while time.time() < deadline:
        rows = [(next_id + i, rnd.randrange(1000), rnd.randrange(16), rnd.randrange(100)) for i in range(BATCH_INSERTS)]
        values = ", ".join(f"({i}, {k}, {g}, {v}, now()::TIMESTAMP)" for i, k, g, v in rows)
        moved = [rnd.randrange(first // 2, next_id) for _ in range(BATCH_UPDATES)]
        statements = [f"INSERT INTO lake.main.ev VALUES {values}",
                      f"UPDATE lake.main.ev SET v = v + 1, g = (g + 1) % 16 WHERE id IN ({', '.join(map(str, moved))})"]
        if rnd.random() < 0.05:
            statements.append(f"UPDATE lake.main.dim SET label = 'L{rnd.randrange(5)}' WHERE g = {rnd.randrange(16)}")
        if lakes.commit_all(con, statements):
            next_id += BATCH_INSERTS
            batches += 1
        else:  # counted, not retried
            failed += 1
        time.sleep(0.2)
    return {"writer": seed, "batches": batches, "failed": failed, "rows_inserted": next_id - first}


def main(argv):
    role, meta, data, out, seconds, name, threads = argv[1:8]
    con = lakes.open_lake("postgres", meta, data)
    if threads != "default":
        con.execute(f"SET threads = {int(threads)}")
    deadline = time.time() + float(seconds)
    result = work(con, deadline, name) if role == "worker" else write(con, deadline, int(name))
    con.close()
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
