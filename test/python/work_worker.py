"""A process of the workers test: `worker` runs incremental_work against a lake until its time is up and appends every
row it returned to a file (one JSON object a line, written after each call, so a killed worker loses only its last
call's rows); `writer` inserts, updates and deletes rows of the lake's sources until its time is up.

    python work_worker.py worker META DATA OUT SECONDS NAME LEASE_SECONDS
    python work_worker.py writer META DATA OUT SECONDS NAME SEED
"""
import json
import random
import sys
import time

import lakes

WORK_CALL = (
    "SELECT model, mode, worker, reason, epoch_us(started_at), epoch_us(finished_at), error "
    "FROM incremental_work(max_seconds := 4, worker := {name}, lease_seconds := {lease}, idle_seconds := 1, "
    "raise_errors := false)"
)


def work(con, out, deadline, name, lease):
    call = WORK_CALL.format(name=lakes.lit(name), lease=float(lease))
    while time.time() < deadline:
        rows = con.execute(call).fetchall()
        with open(out, "a") as f:
            for model, mode, worker, reason, started, finished, error in rows:
                f.write(json.dumps({"model": model, "mode": mode, "worker": worker, "reason": reason,
                                    "started_us": started, "finished_us": finished, "error": error}) + "\n")


def write(con, out, deadline, name, seed):
    """Each writer owns the ids of its own range, so its updates and deletes only touch rows it inserted; DuckLake
    still detects conflicts per table, so a batch that conflicts with the other writer is counted and not retried."""
    rnd = random.Random(seed)
    base = (seed + 1) * 1_000_000
    mine, counter, done, conflicts = [], 0, 0, 0
    while time.time() < deadline:
        new = []
        for _ in range(rnd.randint(1, 6)):
            counter += 1
            new.append((base + counter, rnd.randrange(40), rnd.randrange(8), rnd.randrange(100)))
        values = ", ".join(f"({i}, {k}, {g}, {v})" for i, k, g, v in new)
        statements = [f"INSERT INTO lake.ev VALUES {values}"]
        gone = None
        if len(mine) > 10:
            moved = rnd.sample(mine, 3)
            statements.append(f"UPDATE lake.ev SET v = v + 7, g = (g + 1) % 8 WHERE id IN ({', '.join(map(str, moved))})")
            gone = rnd.choice([m for m in mine if m not in moved])
            statements.append(f"DELETE FROM lake.ev WHERE id = {gone}")
        if rnd.random() < 0.1:
            statements.append(f"UPDATE lake.dim SET label = 'L' || CAST({rnd.randrange(4)} AS VARCHAR) WHERE g = {rnd.randrange(8)}")
        if lakes.commit_all(con, statements):
            mine += [n[0] for n in new]
            if gone is not None:
                mine.remove(gone)
            done += 1
        else:  # a DuckLake conflict with the other writer
            conflicts += 1
        time.sleep(0.05)
    with open(out, "a") as f:
        f.write(json.dumps({"writer": name, "batches": done, "conflicts": conflicts}) + "\n")


def main(argv):
    role, meta, data, out, seconds, name, extra = argv[1:8]
    con = lakes.open_lake("postgres", meta, data)
    deadline = time.time() + float(seconds)
    if role == "worker":
        work(con, out, deadline, name, extra)
    else:
        write(con, out, deadline, name, int(extra))
    con.close()


if __name__ == "__main__":
    main(sys.argv)
