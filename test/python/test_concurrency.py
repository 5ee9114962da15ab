"""Refreshes of one model from several threads at once run one after the other instead of failing on a conflict."""
import threading


def test_concurrent_refreshes_of_one_model_serialize(con):
    con.execute("CREATE TABLE src AS SELECT i AS id, i % 7 AS g FROM range(300000) t(i)")
    con.execute("CALL incremental_create('m', 'SELECT id, g FROM src', unique_key := 'id')")
    con.execute("CALL incremental_refresh('m')")
    con.execute("UPDATE src SET g = g + 1 WHERE id % 3 = 0")
    results, errors = [], []

    def refresh():
        cursor = con.cursor()
        try:
            results.append(cursor.execute("SELECT mode, rows_updated FROM incremental_refresh('m')").fetchone())
        except Exception as e:  # collected and asserted below
            errors.append(str(e))

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(results) == [("incremental", 0), ("incremental", 0), ("incremental", 100000)]
    assert con.execute("SELECT ok FROM incremental_verify('m')").fetchone() == (True,)


def test_run_ids_stay_unique_under_concurrent_refreshes(con):
    """Refreshes of different models in 8 threads write history rows in concurrent transactions: every run id is
    distinct (ids counted from the history's maximum collided: each transaction read the same maximum)."""
    con.execute("CREATE TABLE src AS SELECT i AS id FROM range(100) t(i)")
    for i in range(8):
        con.execute(f"CALL incremental_create('m{i}', 'SELECT id FROM src', unique_key := 'id')")
    errors = []

    def refresh(i):
        cursor = con.cursor()
        for _ in range(25):
            try:
                cursor.execute(f"CALL incremental_refresh('m{i}')").fetchall()
            except Exception as e:  # collected and asserted below
                errors.append(str(e))

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM incremental_history()").fetchone() == (200, 200)
