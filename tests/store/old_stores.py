"""Stores as earlier versions of tierwise wrote them: their DDL, literally, and rows to put in them.

Each CREATE statement below is what a tierwise of the named commit issued when it made a new
store: captured by running that commit's `Store(url)` on SQLite and on PostgreSQL and recording
every CREATE the engine executed, and checked statement for statement against those captures
when this file was written (up to whitespace). The two dialects differ only in the type of an
autoincrement key (SQLite INTEGER, PostgreSQL SERIAL), written {serial} here, and in SQLite
quoting the column name "key". Nothing in this file may be
derived from harness/store: it is the record the migrations are tested against.

The states are the schemas main has had, in order (`git log --first-parent` on the store):
until 001 was frozen, 001 built its tables from the definitions of the day, so a store made
after a column was added had it from the start, and 5bb252b's stores have 005 without 004.
"""

from __future__ import annotations

from dataclasses import dataclass

MIGRATIONS_TABLE = """CREATE TABLE tierwise_migrations (
\tname VARCHAR(100) NOT NULL,
\tapplied_at FLOAT NOT NULL,
\tPRIMARY KEY (name)
)"""

RUNS_1cfcefe = """CREATE TABLE runs (
\tid VARCHAR(32) NOT NULL,
\tstarted_at FLOAT NOT NULL,
\tfinished_at FLOAT,
\tstatus VARCHAR(20) NOT NULL,
\ttierwise_version VARCHAR(40),
\tlitellm_version VARCHAR(40),
\tprice_map_version VARCHAR(80),
\targv TEXT,
\tinfo TEXT,
\tPRIMARY KEY (id)
)"""

RUNS_5bb252b = """CREATE TABLE runs (
\tid VARCHAR(32) NOT NULL,
\tstarted_at FLOAT NOT NULL,
\tfinished_at FLOAT,
\tstatus VARCHAR(20) NOT NULL,
\ttierwise_version VARCHAR(40),
\tlitellm_version VARCHAR(40),
\tprice_map_version VARCHAR(80),
\targv TEXT,
\tinfo TEXT,
\trun_group VARCHAR(200),
\tPRIMARY KEY (id)
)"""

RESULTS_1cfcefe = """CREATE TABLE results (
\tid {serial} NOT NULL,
\trun_id VARCHAR(32) NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tmodel VARCHAR(200) NOT NULL,
\tcase_id VARCHAR(200) NOT NULL,
\tcall_key VARCHAR(64) NOT NULL,
\tspec_hash VARCHAR(64) NOT NULL,
\tgolden_hash VARCHAR(64) NOT NULL,
\tcase_hash VARCHAR(64) NOT NULL,
\tgrader_hash VARCHAR(64) NOT NULL,
\tmessages TEXT NOT NULL,
\tparams TEXT NOT NULL,
\toutput TEXT,
\terror TEXT,
\terror_type VARCHAR(100),
\tfinish_reason VARCHAR(40),
\tprompt_tokens INTEGER,
\tcompletion_tokens INTEGER,
\tcost FLOAT,
\tlatency_ms FLOAT,
\tattempts INTEGER NOT NULL,
\tcached BOOLEAN NOT NULL,
\tscore FLOAT,
\tpassed BOOLEAN,
\tcreated_at FLOAT NOT NULL,
\tPRIMARY KEY (id),
\tCONSTRAINT uq_results_case_call UNIQUE (task, model, case_id, call_key)
)"""

RESULTS_069cd9a = """CREATE TABLE results (
\tid {serial} NOT NULL,
\trun_id VARCHAR(32) NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tmodel VARCHAR(200) NOT NULL,
\tcase_id VARCHAR(200) NOT NULL,
\tcall_key VARCHAR(64) NOT NULL,
\tspec_hash VARCHAR(64) NOT NULL,
\tgolden_hash VARCHAR(64) NOT NULL,
\tcase_hash VARCHAR(64) NOT NULL,
\tgrader_hash VARCHAR(64) NOT NULL,
\tmessages TEXT NOT NULL,
\tparams TEXT NOT NULL,
\toutput TEXT,
\terror TEXT,
\terror_type VARCHAR(100),
\tfinish_reason VARCHAR(40),
\tprompt_tokens INTEGER,
\tcompletion_tokens INTEGER,
\tcost FLOAT,
\tlatency_ms FLOAT,
\tattempts INTEGER NOT NULL,
\tcached BOOLEAN NOT NULL,
\tscore FLOAT,
\tpassed BOOLEAN,
\tcreated_at FLOAT NOT NULL,
\teval_cost FLOAT,
\tjudge_errors INTEGER,
\tPRIMARY KEY (id),
\tCONSTRAINT uq_results_case_call UNIQUE (task, model, case_id, call_key)
)"""

RESULTS_424f68f = """CREATE TABLE results (
\tid {serial} NOT NULL,
\trun_id VARCHAR(32) NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tmodel VARCHAR(200) NOT NULL,
\tcase_id VARCHAR(200) NOT NULL,
\tcall_key VARCHAR(64) NOT NULL,
\tspec_hash VARCHAR(64) NOT NULL,
\tgolden_hash VARCHAR(64) NOT NULL,
\tcase_hash VARCHAR(64) NOT NULL,
\tgrader_hash VARCHAR(64) NOT NULL,
\tmessages TEXT NOT NULL,
\tparams TEXT NOT NULL,
\toutput TEXT,
\terror TEXT,
\terror_type VARCHAR(100),
\tfinish_reason VARCHAR(40),
\tprompt_tokens INTEGER,
\tcompletion_tokens INTEGER,
\tcost FLOAT,
\tlatency_ms FLOAT,
\tattempts INTEGER NOT NULL,
\tcached BOOLEAN NOT NULL,
\tscore FLOAT,
\tpassed BOOLEAN,
\tcreated_at FLOAT NOT NULL,
\teval_cost FLOAT,
\tjudge_errors INTEGER,
\tconfidence FLOAT,
\tPRIMARY KEY (id),
\tCONSTRAINT uq_results_case_call UNIQUE (task, model, case_id, call_key)
)"""

GRADES_1cfcefe = """CREATE TABLE grades (
\tresult_id INTEGER NOT NULL,
\tidx INTEGER NOT NULL,
\tgrader VARCHAR(100) NOT NULL,
\toptions TEXT NOT NULL,
\tweight FLOAT NOT NULL,
\tscore FLOAT NOT NULL,
\tpassed BOOLEAN NOT NULL,
\treason TEXT NOT NULL,
\tPRIMARY KEY (result_id, idx),
\tFOREIGN KEY(result_id) REFERENCES results (id) ON DELETE CASCADE
)"""

GRADES_069cd9a = """CREATE TABLE grades (
\tresult_id INTEGER NOT NULL,
\tidx INTEGER NOT NULL,
\tgrader VARCHAR(100) NOT NULL,
\toptions TEXT NOT NULL,
\tweight FLOAT NOT NULL,
\tscore FLOAT NOT NULL,
\tpassed BOOLEAN NOT NULL,
\treason TEXT NOT NULL,
\tdetail TEXT,
\teval_cost FLOAT,
\tPRIMARY KEY (result_id, idx),
\tFOREIGN KEY(result_id) REFERENCES results (id) ON DELETE CASCADE
)"""

RESPONSE_CACHE = """CREATE TABLE response_cache (
\t"key" VARCHAR(64) NOT NULL,
\tmodel VARCHAR(200) NOT NULL,
\tresponse TEXT NOT NULL,
\tcreated_at FLOAT NOT NULL,
\tPRIMARY KEY ("key")
)"""

USAGE_LEDGER = """CREATE TABLE usage_ledger (
\tid {serial} NOT NULL,
\tat FLOAT NOT NULL,
\tcall_id VARCHAR(32) NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tmodel VARCHAR(200) NOT NULL,
\ttarget VARCHAR(300) NOT NULL,
\tattempt INTEGER NOT NULL,
\tkind VARCHAR(20) NOT NULL,
\toutcome VARCHAR(20) NOT NULL,
\tfinal BOOLEAN NOT NULL,
\terror_type VARCHAR(100),
\terror TEXT,
\tcontract_reason TEXT,
\tprompt_tokens INTEGER,
\tcompletion_tokens INTEGER,
\tcost FLOAT,
\tlatency_ms FLOAT,
\ttrace VARCHAR(200),
\tstep VARCHAR(200),
\tinput TEXT,
\toutput TEXT,
\tPRIMARY KEY (id)
)"""

SHADOW_CALLS = """CREATE TABLE shadow_calls (
\tid {serial} NOT NULL,
\tat FLOAT NOT NULL,
\tcall_id VARCHAR(32) NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tincumbent VARCHAR(200) NOT NULL,
\tchallenger VARCHAR(200) NOT NULL,
\toutcome VARCHAR(20) NOT NULL,
\tagree BOOLEAN NOT NULL,
\terror_type VARCHAR(100),
\terror TEXT,
\tprompt_tokens INTEGER,
\tcompletion_tokens INTEGER,
\tcost FLOAT,
\tlatency_ms FLOAT,
\ttrace VARCHAR(200),
\toutput TEXT,
\tincumbent_output TEXT,
\tPRIMARY KEY (id)
)"""

IX_002 = ["CREATE INDEX IF NOT EXISTS ix_results_task_model ON results (task, model)"]
IX_003 = ["CREATE INDEX IF NOT EXISTS ix_usage_task_at ON usage_ledger (task, at)",
          "CREATE INDEX IF NOT EXISTS ix_usage_trace ON usage_ledger (trace)"]
IX_005 = ["CREATE INDEX IF NOT EXISTS ix_runs_run_group ON runs (run_group)",
          "CREATE INDEX IF NOT EXISTS ix_results_run_id ON results (run_id)"]
IX_006 = ["CREATE INDEX IF NOT EXISTS ix_shadow_task_at ON shadow_calls (task, challenger, at)"]
ALTER_008 = ["ALTER TABLE usage_ledger ADD COLUMN stage INTEGER", "ALTER TABLE usage_ledger ADD COLUMN deferred VARCHAR(20)",
             "ALTER TABLE usage_ledger ADD COLUMN defer_reason TEXT", "ALTER TABLE usage_ledger ADD COLUMN confidence FLOAT"]
SHADOW_VERDICTS = """CREATE TABLE shadow_verdicts (
\tid {serial} NOT NULL,
\tshadow_id INTEGER NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tjudge VARCHAR(64) NOT NULL,
\tjudged_at FLOAT NOT NULL,
\toutcome VARCHAR(8),
\torders TEXT,
\terror TEXT,
\teval_cost FLOAT,
\tPRIMARY KEY (id)
)"""
IX_009 = ["CREATE UNIQUE INDEX IF NOT EXISTS ix_shadow_verdict ON shadow_verdicts (shadow_id, judge)"]

LIVE_VERDICTS = """CREATE TABLE live_verdicts (
\tid {serial} NOT NULL,
\tcall_id VARCHAR(32) NOT NULL,
\ttask VARCHAR(200) NOT NULL,
\tmodel VARCHAR(200) NOT NULL,
\tjudge VARCHAR(64) NOT NULL,
\tat FLOAT NOT NULL,
\tjudged_at FLOAT NOT NULL,
\tpassed BOOLEAN,
\tscore FLOAT,
\terror TEXT,
\teval_cost FLOAT,
\tPRIMARY KEY (id)
)"""
IX_010 = ["CREATE UNIQUE INDEX IF NOT EXISTS ix_live_verdict ON live_verdicts (call_id, judge)"]


@dataclass(frozen=True)
class OldStore:
    """A store as one version left it: the DDL it ran and the migrations it recorded."""

    name: str
    applied: tuple[str, ...]
    ddl: tuple[str, ...]

    def statements(self, dialect: str) -> list[str]:
        if dialect == "sqlite":
            return [s.replace("{serial}", "INTEGER") for s in self.ddl]
        return [s.replace("{serial}", "SERIAL").replace('"key"', "key") for s in self.ddl]


_FIRST = (MIGRATIONS_TABLE, RUNS_1cfcefe, RESULTS_1cfcefe, GRADES_1cfcefe, RESPONSE_CACHE)

OLD_STORES = [
    # 001 alone: the frozen first migration, what every migrated store starts from
    OldStore("001", ("001_initial",), _FIRST),
    # 1cfcefe (the first release) ran 001 and 002 on the same open; its index had no IF NOT EXISTS
    OldStore("002 (1cfcefe)", ("001_initial", "002_result_lookup_index"),
             _FIRST + ("CREATE INDEX ix_results_task_model ON results (task, model)",)),
    OldStore("003 (fdf54de)", ("001_initial", "002_result_lookup_index", "003_usage_ledger"),
             _FIRST + tuple(IX_002) + (USAGE_LEDGER,) + tuple(IX_003)),
    OldStore("003+005 (5bb252b)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "005_run_groups"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_1cfcefe, GRADES_1cfcefe, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005)),
    OldStore("005 (069cd9a)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "004_judge_cost",
                               "005_run_groups"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_069cd9a, GRADES_069cd9a, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005)),
    OldStore("006 (8c1aeb5)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "004_judge_cost",
                               "005_run_groups", "006_shadow_calls"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_069cd9a, GRADES_069cd9a, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005, SHADOW_CALLS, *IX_006)),
    # 424f68f, before 001 was frozen
    OldStore("007 (424f68f)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "004_judge_cost",
                               "005_run_groups", "006_shadow_calls", "007_result_confidence"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_424f68f, GRADES_069cd9a, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005, SHADOW_CALLS, *IX_006)),
    OldStore("008 (cascades)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "004_judge_cost",
                                "005_run_groups", "006_shadow_calls", "007_result_confidence",
                                "008_usage_cascade_stage"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_424f68f, GRADES_069cd9a, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005, SHADOW_CALLS, *IX_006, *ALTER_008)),
    OldStore("009 (shadow verdicts)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "004_judge_cost",
                                       "005_run_groups", "006_shadow_calls", "007_result_confidence",
                                       "008_usage_cascade_stage", "009_shadow_verdicts"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_424f68f, GRADES_069cd9a, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005, SHADOW_CALLS, *IX_006, *ALTER_008, SHADOW_VERDICTS, *IX_009)),
    # today's: a new store must have exactly this schema (010 added the judge's verdicts on live calls)
    OldStore("010 (live verdicts)", ("001_initial", "002_result_lookup_index", "003_usage_ledger", "004_judge_cost",
                                     "005_run_groups", "006_shadow_calls", "007_result_confidence",
                                     "008_usage_cascade_stage", "009_shadow_verdicts", "010_live_verdicts"),
             (MIGRATIONS_TABLE, RUNS_5bb252b, RESULTS_424f68f, GRADES_069cd9a, RESPONSE_CACHE, *IX_002,
              USAGE_LEDGER, *IX_003, *IX_005, SHADOW_CALLS, *IX_006, *ALTER_008, SHADOW_VERDICTS, *IX_009,
              LIVE_VERDICTS, *IX_010)),
]
