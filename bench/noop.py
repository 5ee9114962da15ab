"""The cost of a refresh that finds nothing to do: a model with a column-watermark source over 100k rows, refreshed
60 times with no change; prints the median of the last 50 in milliseconds, for each extension file given.

    .hosts/py15/bin/python bench/noop.py build/release/incremental.duckdb_extension [other.duckdb_extension ...]
"""
import statistics
import sys
import time

import duckdb


def noop_ms(extension):
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    con.execute("CREATE TABLE orders AS SELECT range AS id, range % 100 AS cust, range::INT AS amt, "
                "TIMESTAMP '2024-01-01' + INTERVAL (range) SECOND AS updated_at FROM range(100000)")
    con.execute("CALL incremental_create('m', 'SELECT cust, sum(amt) AS s, count(*) AS n FROM orders GROUP BY cust', "
                "unique_key := 'cust', sources := {'orders': 'updated_at'})")
    con.execute("CALL incremental_refresh('m')")
    times = []
    for _ in range(60):
        start = time.perf_counter()
        mode = con.execute("SELECT mode FROM incremental_refresh('m')").fetchone()[0]
        times.append((time.perf_counter() - start) * 1000)
        assert mode == "noop", mode
    con.close()
    return statistics.median(times[10:])


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"{path}: no-op refresh, median of 50: {noop_ms(path):.1f} ms")
