"""The hostile-input cases: the statements run before, the call, the expected message, what the call may change,
and the bug it shows if it shows one. The expected message is the whole text after DuckDB's prefix, or a compiled
pattern when DuckDB 1.5 and 2.0 word their part differently; OK(...) is a call that must succeed with that first
result row."""

import re

import duckdb

# What a call may change: nothing; (a refresh or verify that fails) the models' status and history; or one model,
# its table and the extension's own tables (a call that succeeds).
NONE, RUNS = ("nothing",), ("runs",)


def MODEL(name, table=None):
    return ("model", name, table if table is not None else name)


class OK:
    def __init__(self, *row):
        self.row = row

    def __repr__(self):
        return f"OK{self.row}"


Q = "SELECT order_id, order_date, amount FROM orders"
QS = "SELECT order_id, amount, updated_at FROM orders"
M1 = f"CALL incremental_create('m1', '{Q}', unique_key := 'order_id')"
BAD_Q = "incremental: the query of model m1 is invalid: "
NOT_SELECT = BAD_Q + (
    "it holds a statement other than SELECT (such as CALL, PRAGMA, INSERT or DROP); pass a single SELECT (or FROM ...) query"
)
EMPTY = BAD_Q + "it is empty; pass a SELECT statement"
NOT_MODEL = (
    "incremental: {0} is a table or view, not a model; define a model that reads it with "
    "incremental_create('new_name', 'SELECT ... FROM {0}'), or list models with SELECT name FROM incremental_models()"
)
OWN_SCHEMA = (
    "incremental: model {0}: schema db._incremental holds the extension's own tables, so no model can be created in it; "
    "choose another schema"
)
CONTROL = (
    "incremental: {0}: the model name {1} contains the control character U+{2}; a model name is a table name: use "
    "printable characters"
)


OPT = "incremental: model m1: "
INVALID_NAME = "incremental: '{0}' is not a valid model name; use name, schema.name or database.schema.name"
UNKNOWN = "incremental: model {0} does not exist; list models with SELECT name FROM incremental_models()"
NOT_OURS = (
    "incremental: table {0} already exists and was not created by incremental; choose another model name or "
    "drop/rename that table yourself"
)
BY_KEY = (
    "sources cannot be used because the query cannot be refreshed by key: {0}; change the query, or leave sources out "
    "(the model then uses time_column or a full rebuild)"
)
NEEDS_R = "incremental: model m1: the query uses @r; pass its value with vars := {'r': '...'}"
TEMP = (
    "(if it is a TEMP table: a TEMP table belongs to the connection that made it, and refreshes run on connections of "
    "their own, so they cannot see it; make it a regular table with CREATE TABLE)"
)
NO_BIND = (
    "incremental: refresh of model {0} failed: its query no longer binds ({1}); fix the source tables or redefine the "
    "model with incremental_create(..., replace := true); nothing was changed"
)
# DuckDB's own message for a positional argument of the wrong type, worded alike by 1.5 and 2.0 in its first line.
def no_match(function, *types):
    """DuckDB's own message for positional arguments of the wrong types: `types` as 1.5 names them; 2.0 names a
    literal's type INTEGER_LITERAL or STRING_LITERAL."""
    literal = {"INTEGER": "(INTEGER|INTEGER_LITERAL)", "VARCHAR": "(VARCHAR|STRING_LITERAL)"}
    signature = re.escape(function + "(") + ", ".join(literal.get(t, re.escape(t)) for t in types) + r"\)"
    return re.compile(
        "No function matches the given name and argument types '" + signature + "'"
        + re.escape(". You might need to add explicit type casts.") + r"\s+Candidate functions:.*",
        re.S,
    )
# DuckDB adds the caller's statement with a caret after an error raised while binding a table function in FROM.
LINE = r"\s+LINE 1: .*\s+\^+"
# DuckDB's suggestion after "Did you mean" depends on what its catalog still remembers of the dropped table.
MISSING_ORDERS = re.compile(
    re.escape(NO_BIND.split("{1}")[0].format("m0") + "Catalog Error: Table with name orders does not exist! Did you mean ")
    + r'"[^"]+"\? '
    + re.escape(TEMP + NO_BIND.split("{1}")[1])
)
REBUILT = "the table's columns differ from the definition's, so it is rebuilt"


def own(fn):
    return BAD_Q + (
        f"it calls {fn}(), which a model's query may not call: it is a function of this extension, which a refresh "
        "would run again inside itself; remove the call"
    )


def refused(fn, why):
    return BAD_Q + f"it calls {fn}(), which a model's query may not call: {why}; remove the call"


def needs_name(fn):
    return f"incremental: {fn} needs a model name, e.g. CALL {fn}('daily_revenue')"


def flag(fn, param, shown):
    return f"incremental: {fn}: {param} must be true or false, not {shown}; pass {param} := true or {param} := false"


def case(id, call, expect, pre=(), may=NONE, bug=None, bug_on=""):
    """`bug_on`: the DuckDB versions (a prefix of duckdb.__version__) the bug shows on; all when empty."""
    return dict(id=id, call=call, expect=expect, pre=list(pre), may=may, bug=bug, bug_on=bug_on)


CASES = [
    # Injection through the name: a name is only ever a name.
    case("name_breaks_quote", "CALL incremental_create('x'', ''SELECT 1''); DROP TABLE important; --', 'SELECT 1 AS a')",
         OK("x', 'SELECT 1'); DROP TABLE important; --"), may=MODEL("x', 'SELECT 1'); DROP TABLE important; --")),
    case("name_quoted_injection_refresh", "CALL incremental_refresh('\"m\"\"; DROP TABLE important; --\"')",
         OK('"m""; DROP TABLE important; --"'), pre=["CALL incremental_create('\"m\"\"; DROP TABLE important; --\"', 'SELECT 1 AS a')"],
         may=MODEL('"m""; DROP TABLE important; --"', 'm"; DROP TABLE important; --')),
    case("name_single_quote_refresh", "CALL incremental_refresh('m''1')", OK("m'1"),
         pre=["CALL incremental_create('m''1', 'SELECT 1 AS a')"], may=MODEL("m'1")),
    case("name_unbalanced_double_quote", "CALL incremental_create('important\"; DROP TABLE important; --', 'SELECT 1 AS a')", INVALID_NAME.format('important"; DROP TABLE important; --')),
    case("name_drop_injection", "CALL incremental_drop('m0; DROP TABLE important')", UNKNOWN.format('m0; DROP TABLE important')),
    case("name_refresh_injection", "CALL incremental_refresh('m0''); DROP TABLE important; --')", UNKNOWN.format("m0'); DROP TABLE important; --")),
    case("name_explain_injection", "SELECT * FROM incremental_explain('m0\" CASCADE; DROP TABLE important; --')", INVALID_NAME.format('m0" CASCADE; DROP TABLE important; --')),
    case("name_verify_injection", "CALL incremental_verify('important; --')", UNKNOWN.format('important; --')),
    case("name_history_injection", "SELECT count(*) FROM incremental_history(name := 'm0'' OR 1=1 --')", UNKNOWN.format("m0' OR 1=1 --")),
    case("name_too_many_parts", "CALL incremental_create('a.b.c.d', 'SELECT 1 AS a')", "incremental: 'a.b.c.d' has too many parts; use name, schema.name or database.schema.name"),
    case("name_missing_schema", "CALL incremental_create('nosuchschema.x', 'SELECT 1 AS a')", 'incremental: model nosuchschema.x: schema db.nosuchschema does not exist; create it with CREATE SCHEMA or choose another name'),
    case("name_user_table_in_schema", "CALL incremental_create('s.t', 'SELECT 1 AS a', replace := true)", NOT_OURS.format('s.t')),
    case("name_is_a_view", "CALL incremental_create('v_orders', 'SELECT 1 AS a')", NOT_OURS.format('v_orders')),
    # Control characters and NUL in names.
    case("name_chr1", "CALL incremental_create('a' || chr(1) || 'b', 'SELECT 1 AS a')",
         CONTROL.format("incremental_create", '"a\\u{1}b"', "0001")),
    case("name_newline", "CALL incremental_refresh('m0' || chr(10) || 'x')",
         CONTROL.format("incremental_refresh", '"m0\\nx"', "000A")),
    case("name_tab", "CALL incremental_drop('m0' || chr(9))", CONTROL.format("incremental_drop", '"m0\\t"', "0009")),
    case("name_cr_verify", "CALL incremental_verify(chr(13) || 'm0')", CONTROL.format("incremental_verify", '"\\rm0"', "000D")),
    case("name_escape_explain", "SELECT * FROM incremental_explain('m0' || chr(27) || '[2J')",
         re.compile(re.escape(CONTROL.format("incremental_explain", '"m0\\u{1b}[2J"', "001B")) + LINE)),
    # DuckDB's C API hands the text over up to the first NUL: the call acts on the cut name, and only on it.
    case("nul_create_existing", "CALL incremental_create('m0' || chr(0) || 'x', 'SELECT 1 AS a')", 'incremental: model m0 already exists; pass replace := true to redefine it'),
    case("nul_create_new", "CALL incremental_create('m9' || chr(0) || '; DROP TABLE important', 'SELECT 1 AS a')",
         OK("m9"), may=MODEL("m9")),
    case("nul_refresh_acts_on_cut_name", "SELECT model, mode FROM incremental_refresh('m0' || chr(0) || 'important')",
         OK("m0", "incremental"), may=RUNS),
    case("nul_drop_acts_on_cut_name", "CALL incremental_drop('m0' || chr(0) || 'important')", OK("m0", True),
         may=MODEL("m0")),
    case("nul_query_is_cut", "CALL incremental_create('m1', 'SELECT 1 AS a' || chr(0) || '; DROP TABLE important')",
         OK("m1"), may=MODEL("m1")),
    # The extension's own schema.
    case("own_models_create", "CALL incremental_create('_incremental.models', 'SELECT 1 AS a', replace := true)",
         OWN_SCHEMA.format("_incremental.models")),
    case("own_changes_create", "CALL incremental_create('_incremental.\"changes of m0\"', 'SELECT 1 AS a')",
         OWN_SCHEMA.format('_incremental."changes of m0"')),
    case("own_schema_uppercase", "CALL incremental_create('db.\"_INCREMENTAL\".history', 'SELECT 1 AS a')",
         OWN_SCHEMA.format('db."_INCREMENTAL".history')),
    case("own_models_drop", "CALL incremental_drop('_incremental.models')", NOT_MODEL.format("_incremental.models")),
    case("own_history_refresh", "CALL incremental_refresh('_incremental.history', full_refresh := true)",
         NOT_MODEL.format("_incremental.history")),
    case("own_models_verify", "CALL incremental_verify('_incremental.models')", NOT_MODEL.format("_incremental.models")),
    case("own_models_explain", "SELECT * FROM incremental_explain('_incremental.models')", NOT_MODEL.format("_incremental.models")),
    case("own_schema_query_reads", "CALL incremental_refresh('m1')", OK('m1', 'full', 'full', 2),
         pre=["CALL incremental_create('m1', 'SELECT * FROM _incremental.models')"], may=MODEL("m1")),
    # Injection through the query text.
    case("query_escape_string_attack",
         "CALL incremental_create('m1', 'SELECT order_id FROM orders WHERE region = E''\\'' AND order_id > @x')", re.compile(re.escape(BAD_Q + "it does not parse: ") + "(" + re.escape("unterminated quoted string at or near \"E'\\' AND order_id > @x\"") + "|unterminated string literal)")),
    case("query_escape_string_drop",
         "CALL incremental_create('m1', 'SELECT E''\\'''' AS a; DROP TABLE important; --''')", NOT_SELECT),
    case("query_escape_string_hides_drop",
         "CALL incremental_refresh('m1')", OK("m1"),
         pre=["CALL incremental_create('m1', 'SELECT 1 AS a FROM important WHERE v = E''\\'' OR 1=1; DROP TABLE important; --''')"],
         may=MODEL("m1")),
    case("query_escape_string_holds_placeholder",
         "SELECT model, rows_inserted FROM incremental_refresh('m1', vars := {'x': ''') AS q; DROP TABLE important; --'})",
         OK("m1", 1), pre=["CALL incremental_create('m1', 'SELECT E''\\'' || @x || '''''' AS a')"], may=MODEL("m1")),
    case("query_backslash_then_var_value_breaks_out",
         "SELECT model, rows_inserted FROM incremental_refresh('m1', vars := {'x': 'x'')) AS q; DROP TABLE important; --'})",
         OK("m1", 1), pre=["CALL incremental_create('m1', 'SELECT ''\\'' AS a, @x AS b')"], may=MODEL("m1")),
    case("query_dollar_quote_then_drop",
         "CALL incremental_create('m1', 'SELECT $$x$$ AS a FROM orders; DROP TABLE important')", NOT_SELECT),
    case("query_dollar_quote_holds_drop", "CALL incremental_refresh('m1')", OK("m1"),
         pre=["CALL incremental_create('m1', 'SELECT order_id, $$); DROP TABLE important; --$$ AS a FROM orders', unique_key := 'order_id')"],
         may=MODEL("m1")),
    case("query_tagged_dollar_unterminated", "CALL incremental_create('m1', 'SELECT $t$ ) AS q; DROP TABLE important; --')", re.compile(BAD_Q + r'it does not parse: (unterminated dollar-quoted string|syntax error) at or near "\$t\$ \) AS q; DROP TABLE important; --"')),
    case("query_trailing_line_comment", "CALL incremental_refresh('m1')", OK("m1"),
         pre=[f"CALL incremental_create('m1', '{Q} -- ) AS q; DROP TABLE important', unique_key := 'order_id')"], may=MODEL("m1")),
    case("query_trailing_block_comment", "CALL incremental_refresh('m1')", OK("m1"),
         pre=[f"CALL incremental_create('m1', '{Q} /* ) AS q; DROP TABLE important; */', unique_key := 'order_id')"], may=MODEL("m1")),
    case("query_unterminated_block_comment", f"CALL incremental_create('m1', '{Q} /* ) AS q; DROP TABLE important')", re.compile(BAD_Q + r'it does not parse: (unterminated /\* comment at or near "/\* \) AS q; DROP TABLE important"|unterminated comment)')),
    case("query_closes_wrapper", "CALL incremental_create('m1', 'SELECT 1 AS a) AS q; DROP TABLE important; SELECT * FROM (SELECT 1')", BAD_Q + 'it does not parse: syntax error at or near ")"'),
    # Queries that are not one SELECT.
    case("query_pragma", "CALL incremental_create('m1', 'PRAGMA table_info(''important'')')", NOT_SELECT),
    case("query_call", "CALL incremental_create('m1', 'CALL incremental_drop(''m0'')')", NOT_SELECT),
    case("query_insert", "CALL incremental_create('m1', 'INSERT INTO important VALUES (9, ''x'')')", NOT_SELECT),
    case("query_drop", "CALL incremental_create('m1', 'DROP TABLE important')", NOT_SELECT),
    case("query_copy", "CALL incremental_create('m1', 'COPY important TO ''important.csv''')", NOT_SELECT),
    case("query_attach", "CALL incremental_create('m1', 'ATTACH ''other.duckdb'' AS o')", NOT_SELECT),
    case("query_set", "CALL incremental_create('m1', 'SET threads = 1')", NOT_SELECT),
    case("query_two_selects", "CALL incremental_create('m1', 'SELECT 1 AS a; SELECT 2 AS a')",
         BAD_Q + "it holds 2 statements; pass a single SELECT"),
    case("query_empty", "CALL incremental_create('m1', '')", EMPTY),
    case("query_only_line_comment", "CALL incremental_create('m1', '-- DROP TABLE important')", EMPTY),
    case("query_only_block_comment", "CALL incremental_create('m1', '/* DROP TABLE important */')", EMPTY),
    case("query_redefine_to_drop", "CALL incremental_create('m0', 'DROP TABLE important', replace := true)",
         NOT_SELECT.replace("model m1", "model m0")),
    # The extension's own functions and functions with effects inside a query.
    case("fn_drop_in_from", "CALL incremental_create('m1', 'SELECT * FROM incremental_drop(''m0'')')", own("incremental_drop")),
    case("fn_refresh_scalar_subquery", "CALL incremental_create('m1', 'SELECT (SELECT model FROM incremental_refresh(''m0'')) AS x')",
         own("incremental_refresh")),
    case("fn_refresh_all_in_cte", "CALL incremental_create('m1', 'WITH r AS (FROM incremental_refresh_all()) SELECT * FROM r')",
         own("incremental_refresh_all")),
    case("fn_create_in_from", "CALL incremental_create('m1', 'SELECT * FROM incremental_create(''m2'', ''SELECT 1 AS a'')')",
         own("incremental_create")),
    case("fn_drop_qualified_uppercase", "CALL incremental_create('m1', 'SELECT * FROM system.main.INCREMENTAL_DROP(''m0'')')",
         own("incremental_drop")),
    case("fn_verify_in_union", "CALL incremental_create('m1', 'SELECT 1 AS a UNION ALL SELECT 1 FROM incremental_verify(''m0'')')",
         own("incremental_verify")),
    case("fn_nextval", "CALL incremental_create('m1', 'SELECT nextval(''seq'') AS n')",
         refused("nextval", "it advances a sequence at every refresh"), pre=["CREATE SEQUENCE seq"]),
    case("fn_query", "CALL incremental_create('m1', 'SELECT * FROM query(''DROP TABLE important'')')",
         refused("query", "it runs SQL text that the extension cannot check")),
    case("fn_checkpoint", "CALL incremental_create('m1', 'SELECT * FROM checkpoint()')",
         refused("checkpoint", "it checkpoints the database")),
    case("fn_drop_through_view", "CALL incremental_create('m1', 'SELECT * FROM evil')",
         refused("incremental_drop() through view evil", "it is a function of this extension, which a refresh would run again inside itself").replace("() through view evil()", "() through view evil"),
         pre=["CREATE VIEW evil AS SELECT * FROM incremental_drop('m0')"]),
    case("fn_drop_through_table_macro", "CALL incremental_create('m1', 'SELECT * FROM evil()')",
         refused("incremental_drop() through macro evil", "it is a function of this extension, which a refresh would run again inside itself").replace("() through macro evil()", "() through macro evil"),
         pre=["CREATE MACRO evil() AS TABLE SELECT * FROM incremental_drop('m0')"]),
    # A view redefined after the model was created is checked again at every refresh.
    case("fn_drop_through_view_replaced", "CALL incremental_refresh('m1')",
         refused("incremental_drop() through view evil", "it is a function of this extension, which a refresh would run again inside itself").replace("() through view evil()", "() through view evil"),
         pre=["CREATE VIEW evil AS SELECT 'x' AS model, true AS table_dropped", "CALL incremental_create('m1', 'SELECT * FROM evil')",
              "CREATE OR REPLACE VIEW evil AS SELECT * FROM incremental_drop('m0')"], may=RUNS),
    case("fn_nextval_through_view", "CALL incremental_create('m1', 'SELECT * FROM seqv')", re.compile(BAD_Q + '.*nextval.*'),
         pre=["CREATE SEQUENCE seq", "CREATE VIEW seqv AS SELECT nextval('seq') AS n"]),
]

VARS_M = "CALL incremental_create('m1', 'SELECT order_id, amount FROM orders WHERE region = @r', unique_key := 'order_id')"

CASES += [
    # Injection through the other text parameters of incremental_create.
    case("strategy_injection", f"CALL incremental_create('m1', '{Q}', strategy := 'merge''; DROP TABLE important; --', unique_key := 'order_id')", OPT + "unknown strategy 'merge'; drop table important; --'; use 'auto', 'append', 'merge', 'delete+insert' or 'full'"),
    case("unique_key_injection", f"CALL incremental_create('m1', '{Q}', unique_key := 'order_id\"); DROP TABLE important; --')", OPT + 'unique_key column "order_id"); DROP TABLE important; --" is not an output column of the query (columns: order_id, order_date, amount)'),
    case("unique_key_list_injection", f"CALL incremental_create('m1', '{Q}', unique_key := ['order_id', '\"; DROP TABLE important'])", OPT + 'unique_key column ""; DROP TABLE important" is not an output column of the query (columns: order_id, order_date, amount)'),
    case("time_column_injection", f"CALL incremental_create('m1', '{Q}', time_column := 'order_date\" > 0; DROP TABLE important; --')", OPT + 'time_column "order_date" > 0; DROP TABLE important; --" is not an output column of the query (columns: order_id, order_date, amount)'),
    case("lookback_injection", f"CALL incremental_create('m1', '{Q}', time_column := 'order_date', lookback := '1 day''; DROP TABLE important; --')", OPT + "lookback '1 day'; DROP TABLE important; --' is not a valid INTERVAL"),
    case("lookback_injection_integer_time", f"CALL incremental_create('m1', '{Q}', time_column := 'order_id', lookback := '1; DROP TABLE important')", OPT + "lookback for an integer time_column must be a non-negative integer, not '1; DROP TABLE important'"),
    case("start_injection", f"CALL incremental_create('m1', '{Q}', time_column := 'order_date', start := 'x''); DROP TABLE important; --')", OPT + "start 'x'); DROP TABLE important; --' is not a valid DATE"),
    case("start_injection_after_date",
         f"CALL incremental_create('m1', '{Q}', time_column := 'order_date', start := '2024-01-02''; DROP TABLE important; --')",
         # DuckDB 1.5's CAST to DATE ignores what follows the date: the value is stored as DuckDB renders it.
         OK('m1', 'db', Q, 'delete+insert', re.compile('.*'), None, 'order_date', None, '2024-01-02') if duckdb.__version__.startswith("1.")
         else OPT + "start '2024-01-02'; DROP TABLE important; --' is not a valid DATE",
         may=MODEL("m1") if duckdb.__version__.startswith("1.") else NONE),
    case("sources_value_injection", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := {{'orders': 'updated_at\"; DROP TABLE important; --'}})", OPT + 'sources names change column "updated_at"; DROP TABLE important; --" of table orders, which cannot be read; check both names'),
    case("sources_key_injection", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := MAP {{'orders\"; DROP TABLE important; --': 'updated_at'}})", OPT + BY_KEY.format('it reads orders, which sources does not list: add it with its change column')),
    case("sources_key_other_table", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := MAP {{'orders': 'updated_at', 'important': 'snapshot'}})", OPT + BY_KEY.format('sources lists important, which its query does not read')),
    case("sources_key_own_schema", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := MAP {{'orders': 'updated_at', '_incremental.models': 'snapshot'}})", OPT + BY_KEY.format('sources lists _incremental.models, which its query does not read')),
    case("sources_value_empty", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := {{'orders': ''}})", OPT + "sources names table 'orders' with change column ''; give a column name such as 'updated_at'"),
    case("sources_value_number", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := {{'orders': 42}})", OPT + "sources names table 'orders' with change column 42; give a column name such as 'updated_at'"),
    # Injection through vars: values become string literals, names only select a placeholder.
    case("vars_value_quote_break", "SELECT model, rows_inserted FROM incremental_refresh('m1', vars := {'r': 'eu''; DROP TABLE important; --'})",
         OK("m1", 0), pre=[VARS_M], may=MODEL("m1")),
    case("vars_value_backslash_paren", "SELECT model, rows_inserted FROM incremental_refresh('m1', vars := {'r': 'eu\\'' OR 1=1) AS q; DROP TABLE important; --'})",
         OK("m1", 0), pre=[VARS_M], may=MODEL("m1")),
    case("vars_value_dollar", "SELECT model, rows_inserted FROM incremental_refresh('m1', vars := {'r': '$$ OR 1=1 --'})",
         OK("m1", 0), pre=[VARS_M], may=MODEL("m1")),
    case("vars_key_injection", "CALL incremental_refresh('m1', vars := MAP {'r''); DROP TABLE important; --': 'eu'})", NEEDS_R,
         pre=[VARS_M], may=RUNS),
    case("vars_missing", "CALL incremental_refresh('m1')", NEEDS_R, pre=[VARS_M], may=RUNS),
    case("vars_in_verify", "CALL incremental_verify('m1', vars := {'r': 'eu'') OR (1=1'})", OK('m1', 0, 6, False),
         pre=[VARS_M, "CALL incremental_refresh('m1', vars := {'r': 'eu'})"]),
    case("vars_in_explain", "SELECT DISTINCT model, mode FROM incremental_explain('m1', vars := {'r': ''';DROP TABLE important;--'})", OK('m1', 'full'),
         pre=[VARS_M]),
    case("vars_not_a_struct", "CALL incremental_refresh('m0', vars := 'r=eu')", "incremental: vars must be a struct such as {'start_date': '2024-01-01'}, not 'r=eu'"),
    case("vars_list", "CALL incremental_refresh_all(vars := ['eu'])", re.compile(re.escape("incremental: vars must be a struct such as {'start_date': '2024-01-01'}, not ['eu']"))),
    case("vars_placeholder_in_e_string", "CALL incremental_refresh('m1', vars := {'r': 'x'})", OK('m1', 'full', 'full', 0),
         pre=["CALL incremental_create('m1', 'SELECT order_id FROM orders WHERE region = E''\\\\'' || @r')"], may=MODEL("m1")),
    # Wrong types.
    case("type_name_number", "CALL incremental_create(42, 'SELECT 1 AS a')", no_match('incremental_create', 'INTEGER', 'VARCHAR')),
    case("type_name_list", "CALL incremental_refresh(['m0'])", no_match('incremental_refresh', 'VARCHAR[]')),
    case("type_query_number", "CALL incremental_create('m1', 42)", no_match('incremental_create', 'VARCHAR', 'INTEGER')),
    case("type_strategy_list", f"CALL incremental_create('m1', '{Q}', strategy := ['merge'], unique_key := 'order_id')", OPT + "unknown strategy '[merge]'; use 'auto', 'append', 'merge', 'delete+insert' or 'full'"),
    case("type_unique_key_struct", f"CALL incremental_create('m1', '{Q}', unique_key := {{'a': 'order_id'}})", OPT + "unique_key must be a column name, a comma-separated list or a list such as ['a', 'b'], not {'a': 'order_id'}"),
    case("type_time_column_number", f"CALL incremental_create('m1', '{Q}', time_column := 3)", OPT + 'time_column "3" is not an output column of the query (columns: order_id, order_date, amount)'),
    case("type_lookback_text", f"CALL incremental_create('m1', '{Q}', time_column := 'order_date', lookback := 'two weeks')", OPT + "lookback 'two weeks' is not a valid INTERVAL"),
    case("type_lookback_list", f"CALL incremental_create('m1', '{Q}', time_column := 'order_date', lookback := [INTERVAL '1 day'])", re.compile(re.escape(OPT + "lookback for a date or timestamp time_column must be an INTERVAL such as INTERVAL '14 days', not ") + r'\[.*\]')),
    case("type_start_list", f"CALL incremental_create('m1', '{Q}', time_column := 'order_date', start := [DATE '2024-01-01'])", re.compile(OPT + r'start .*\[.*')),
    case("type_sources_text", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := 'orders')", OPT + "sources must map each table to its change column, such as {'orders': 'updated_at'}, not 'orders'"),
    case("type_replace_maybe", "CALL incremental_create('m0', 'SELECT 1 AS a', replace := 'maybe')", flag('incremental_create', 'replace', "'maybe'")),
    case("type_keep_data_number", "CALL incremental_create('m0', 'SELECT 1 AS a', replace := true, keep_data := 1)", flag('incremental_create', 'keep_data', "1")),
    case("type_full_refresh_maybe", "CALL incremental_refresh('m0', full_refresh := 'maybe')", flag('incremental_refresh', 'full_refresh', "'maybe'")),
    case("type_upstream_number", "CALL incremental_refresh('m0', upstream := 2)", flag('incremental_refresh', 'upstream', "2")),
    case("type_raise_errors_list", "CALL incremental_refresh_all(raise_errors := [true])", flag('incremental_refresh_all', 'raise_errors', "[true]")),
    case("type_drop_table_maybe", "CALL incremental_drop('m0', drop_table := 'maybe')", flag('incremental_drop', 'drop_table', "'maybe'")),
    case("type_verify_raise_text", "CALL incremental_verify('m0', raise_errors := 'yes')", flag('incremental_verify', 'raise_errors', "'yes'")),
    case("type_explain_full_refresh", "SELECT * FROM incremental_explain('m0', full_refresh := DATE '2024-01-01')", re.compile(re.escape(flag('incremental_explain', 'full_refresh', "2024-01-01")) + LINE)),
    case("type_unknown_parameter", "CALL incremental_refresh('m0', full := true)", re.compile(re.escape('Invalid named parameter "full" for function incremental_refresh') + r'(\s+Candidates:\s+full_refresh ANY\s+raise_errors ANY\s+upstream ANY\s+vars ANY\s+wait_seconds ANY\s*|\s+Did you mean: "full_refresh"' + LINE + ')')),
    # NULL for every parameter.
    case("null_create_name", "CALL incremental_create(NULL, 'SELECT 1 AS a')", needs_name('incremental_create')),
    case("null_create_query", "CALL incremental_create('m1', NULL)", "incremental: incremental_create('m1', query) needs the model's SELECT query as second argument"),
    case("null_create_strategy", f"CALL incremental_create('m1', '{Q}', strategy := NULL)", OK('m1', 'db', Q, 'full'), may=MODEL("m1")),
    case("null_create_unique_key", f"CALL incremental_create('m1', '{Q}', unique_key := NULL, strategy := 'merge')", OPT + "strategy 'merge' needs unique_key; pass unique_key := 'column', or use strategy := 'delete+insert' with a time_column"),
    case("null_create_time_column", f"CALL incremental_create('m1', '{Q}', time_column := NULL, strategy := 'append')", OPT + "strategy 'append' needs a time_column (to find new rows) or a unique_key (to skip rows already present)"),
    case("null_create_lookback", f"CALL incremental_create('m1', '{Q}', unique_key := 'order_id', lookback := NULL)", OK('m1', 'db', Q, 'merge'), may=MODEL("m1")),
    case("null_create_start", f"CALL incremental_create('m1', '{Q}', unique_key := 'order_id', start := NULL)", OK('m1', 'db', Q, 'merge'), may=MODEL("m1")),
    case("null_create_sources", f"CALL incremental_create('m1', '{Q}', unique_key := 'order_id', sources := NULL)", OK('m1', 'db', Q, 'merge'), may=MODEL("m1")),
    case("null_create_sources_value", f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := {{'orders': NULL}})", OPT + "sources names table 'orders' with change column NULL; give a column name such as 'updated_at'"),
    case("null_create_replace", "CALL incremental_create('m0', 'SELECT 1 AS a', replace := NULL)", 'incremental: model m0 already exists; pass replace := true to redefine it'),
    case("null_create_keep_data", "CALL incremental_create('m0', 'SELECT 1 AS a', replace := true, keep_data := NULL)", OK('m0', 'db', 'SELECT 1 AS a', 'full'), may=MODEL("m0")),
    case("null_refresh_name", "CALL incremental_refresh(NULL)", needs_name('incremental_refresh')),
    case("null_refresh_full_refresh", "CALL incremental_refresh('m0', full_refresh := NULL)", OK('m0', 'incremental'), may=RUNS),
    case("null_refresh_upstream", "CALL incremental_refresh('m0', upstream := NULL)", OK('m0', 'incremental'), may=RUNS),
    case("null_refresh_raise_errors", "CALL incremental_refresh('m0', raise_errors := NULL)", OK('m0', 'incremental'), may=RUNS),
    case("null_refresh_vars", "CALL incremental_refresh('m0', vars := NULL)", OK('m0', 'incremental'), may=RUNS),
    case("null_refresh_vars_value", "CALL incremental_refresh('m1', vars := {'r': NULL})", "incremental: vars gives @r the value NULL; give one value, such as {'r': '2024-01-01'}", pre=[VARS_M]),
    case("null_refresh_all_full_refresh", "CALL incremental_refresh_all(full_refresh := NULL)", OK('m0', 'incremental'), may=RUNS),
    case("null_refresh_all_vars", "CALL incremental_refresh_all(vars := NULL)", OK('m0', 'incremental'), may=RUNS),
    case("null_explain_name", "SELECT * FROM incremental_explain(NULL)", re.compile(re.escape(needs_name('incremental_explain')) + LINE)),
    case("null_explain_full_refresh", "SELECT DISTINCT model, mode FROM incremental_explain('m0', full_refresh := NULL)", OK('m0', 'incremental')),
    case("null_verify_name", "CALL incremental_verify(NULL)", needs_name('incremental_verify')),
    case("null_verify_raise_errors", "CALL incremental_verify('m0', raise_errors := NULL)", OK('m0', 0, 0, True)),
    case("null_drop_name", "CALL incremental_drop(NULL)", needs_name('incremental_drop')),
    case("null_drop_drop_table", "CALL incremental_drop('m0', drop_table := NULL)", OK('m0', True), may=MODEL("m0")),
    case("null_history_name", "SELECT count(*) FROM incremental_history(name := NULL)", OK(1)),
]

SRC_M = (f"CALL incremental_create('m1', '{QS}', unique_key := 'order_id', sources := {{'orders': 'updated_at'}})",
         "CALL incremental_refresh('m1')")
JOIN_Q = "SELECT o.order_id, p.name FROM orders o {} JOIN products p ON p.product_id = o.order_id % 4"
JOIN3_Q = JOIN_Q + " JOIN products q ON q.product_id = p.product_id"
AMONG = ("it uses {} JOIN among more than two tables, and a RIGHT or FULL JOIN is refreshed by key only between two; "
         "make the other joins a model of its own and join it")

CASES += [
    # Sources changed by the user before a refresh.
    case("source_dropped", "CALL incremental_refresh('m0')", MISSING_ORDERS, pre=["DROP VIEW v_orders", "DROP TABLE orders"], may=RUNS),
    case("source_renamed", "CALL incremental_refresh('m0')", MISSING_ORDERS, pre=["DROP VIEW v_orders", "ALTER TABLE orders RENAME TO orders_old"], may=RUNS),
    case("source_column_retyped", "CALL incremental_refresh('m0')", re.compile(re.escape("incremental: refresh of model m0 failed: its query no longer binds (Binder Error: No function matches the given name and argument types 'sum(VARCHAR)'. You might need to add explicit type casts.") + r'.*' + re.escape('); fix the source tables or redefine the model with incremental_create(..., replace := true); nothing was changed')),
         pre=["DROP VIEW v_orders", "ALTER TABLE orders ALTER amount TYPE VARCHAR"], may=RUNS),
    case("source_column_dropped", "CALL incremental_refresh('m0')", NO_BIND.format('m0', 'Binder Error: Referenced column "amount" not found in FROM clause! Candidate bindings: "region", "order_date"'),
         pre=["DROP VIEW v_orders", "ALTER TABLE orders DROP COLUMN amount"], may=RUNS),
    case("source_change_column_dropped", "CALL incremental_refresh('m1')", NO_BIND.format('m1', 'Binder Error: Referenced column "updated_at" not found in FROM clause! Candidate bindings: "loaded_at", "order_date", "order_id"'),
         pre=[*SRC_M, "DROP VIEW v_orders", "ALTER TABLE orders RENAME updated_at TO loaded_at"], may=RUNS),
    case("source_change_column_retyped", "CALL incremental_refresh('m1')", 'incremental: refresh of model m1 failed: the query now returns (order_id BIGINT, amount BIGINT, updated_at VARCHAR) but the model was defined with (order_id BIGINT, amount BIGINT, updated_at TIMESTAMP); redefine it with incremental_create(..., replace := true); nothing was changed',
         pre=[*SRC_M, "DROP VIEW v_orders", "ALTER TABLE orders ALTER updated_at TYPE VARCHAR"], may=RUNS),
    case("source_replaced_by_view", "CALL incremental_refresh('m1')", OK('m1', 'noop'),
         pre=[*SRC_M, "DROP VIEW v_orders", "ALTER TABLE orders RENAME TO orders_t", "CREATE VIEW orders AS SELECT * FROM orders_t"], may=RUNS),
    # The model's table changed by the user before a refresh.
    case("model_table_dropped", "SELECT model, mode, reason FROM incremental_refresh('m0')", OK('m0', 'full', 'first build: the table does not exist yet'), pre=["DROP TABLE m0"], may=MODEL("m0")),
    case("model_table_renamed", "SELECT model, mode, reason FROM incremental_refresh('m0')", OK('m0', 'full', 'first build: the table does not exist yet'), pre=["ALTER TABLE m0 RENAME TO m0_mine"], may=MODEL("m0")),
    case("model_table_column_added", "SELECT model, mode, reason FROM incremental_refresh('m0')", OK('m0', 'full', REBUILT),
         pre=["ALTER TABLE m0 ADD COLUMN note VARCHAR"], may=MODEL("m0")),
    case("model_table_column_dropped", "SELECT model, mode, reason FROM incremental_refresh('m0')", OK('m0', 'full', REBUILT),
         pre=["ALTER TABLE m0 DROP COLUMN revenue"], may=MODEL("m0")),
    case("model_table_retyped", "SELECT model, mode, reason FROM incremental_refresh('m0')", OK('m0', 'full', REBUILT),
         pre=["ALTER TABLE m0 ALTER revenue TYPE VARCHAR"], may=MODEL("m0")),
    case("model_table_replaced_by_user", "CALL incremental_refresh('m0')", NOT_OURS.format('m0'),
         pre=["DROP TABLE m0", "CREATE TABLE m0 AS SELECT 1 AS mine"], may=RUNS),
    case("model_table_dropped_verify", "CALL incremental_verify('m0')", "incremental: model m0 has not been built yet; run CALL incremental_refresh('m0') first", pre=["DROP TABLE m0"]),
    case("model_table_renamed_drop", "CALL incremental_drop('m0')", OK('m0', False), pre=["ALTER TABLE m0 RENAME TO m0_mine"], may=MODEL("m0")),
    # A plain table or view passed as a model name.
    case("plain_refresh", "CALL incremental_refresh('important')", NOT_MODEL.format("important")),
    case("plain_verify", "CALL incremental_verify('important')", NOT_MODEL.format("important")),
    case("plain_drop", "CALL incremental_drop('important')", NOT_MODEL.format("important")),
    case("plain_explain", "SELECT * FROM incremental_explain('s.t')", NOT_MODEL.format("s.t")),
    case("plain_view_drop", "CALL incremental_drop('v_orders', drop_table := true)", NOT_MODEL.format("v_orders")),
    case("plain_refresh_upstream", "CALL incremental_refresh('orders', upstream := true)", NOT_MODEL.format("orders")),
    case("unknown_model", "CALL incremental_refresh('nope')", UNKNOWN.format('nope')),
    # Joins and groupings a refresh by key cannot follow.
    case("sources_right_join", f"CALL incremental_create('m1', '{JOIN3_Q.format('RIGHT')}', unique_key := 'order_id', sources := {{'orders': 'updated_at', 'products': 'snapshot'}})", OPT + BY_KEY.format(AMONG.format('RIGHT'))),
    case("sources_full_join", f"CALL incremental_create('m1', '{JOIN3_Q.format('FULL')}', unique_key := 'order_id', sources := {{'orders': 'updated_at', 'products': 'snapshot'}})", OPT + BY_KEY.format(AMONG.format('FULL'))),
    case("sources_full_outer_join", f"CALL incremental_create('m1', '{JOIN3_Q.format('FULL OUTER')}', unique_key := 'order_id', sources := {{'orders': 'updated_at', 'products': 'snapshot'}})", OPT + BY_KEY.format(AMONG.format('FULL'))),
    # Grouping sets are refreshed as one UNION ALL branch each; what tells the sets apart is refused.
    case("sources_rollup", "CALL incremental_create('m1', 'SELECT order_date, region, sum(amount) AS s FROM orders GROUP BY ROLLUP (order_date, region)', unique_key := 'order_date, region', sources := {'orders': 'updated_at'})", OK('m1', 'db', 'SELECT order_date, region, sum(amount) AS s FROM orders GROUP BY ROLLUP (order_date, region)', "merge", "auto: sources and unique_key given, so the keys that the sources' changed rows reach are recomputed and merged"), may=MODEL("m1")),
    case("sources_grouping_function", "CALL incremental_create('m1', 'SELECT order_date, GROUPING(order_date) AS g, sum(amount) AS s FROM orders GROUP BY CUBE (order_date)', unique_key := 'order_date, g', sources := {'orders': 'updated_at'})", OPT + BY_KEY.format('it calls GROUPING() to tell its grouping sets apart; write each grouping set as a branch of a UNION ALL with a constant column instead')),
    case("sources_grouping_sets_having", "CALL incremental_create('m1', 'SELECT order_date, region, sum(amount) AS s FROM orders GROUP BY GROUPING SETS ((order_date, region), (order_date)) HAVING sum(amount) > 0', unique_key := 'order_date, region', sources := {'orders': 'updated_at'})", OPT + BY_KEY.format('it filters grouping sets with HAVING or QUALIFY; write each grouping set as a branch of a UNION ALL with its own HAVING')),
    case("auto_changes_right_join", "CALL incremental_create('m1', 'SELECT m0.order_date, p.name FROM m0 RIGHT JOIN products p ON p.product_id = 1', unique_key := 'order_date')", OK('m1', 'db', 'SELECT m0.order_date, p.name FROM m0 RIGHT JOIN products p ON p.product_id = 1', "merge", "auto: unique_key given, so changed keys are upserted (merge); to refresh only the keys that changed, declare sources, e.g. {'products': 'updated_at', 'm0': 'changes'}"), may=MODEL("m1")),
]
