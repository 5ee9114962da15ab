"""SQL helpers shared by the differential tests: literals, and a table compared with its query as multisets."""


def lit(text):
    return "'" + str(text).replace("'", "''") + "'"


def table_equals_query(con, name, query):
    """True when table `name` holds exactly the rows of `query`, duplicates counted (EXCEPT ALL both ways)."""
    return con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT * FROM ({query}) EXCEPT ALL SELECT * FROM {name})) + "
        f"(SELECT count(*) FROM (SELECT * FROM {name} EXCEPT ALL SELECT * FROM ({query})))"
    ).fetchone()[0] == 0
