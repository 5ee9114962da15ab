"""Crash test: a process refreshing models of every plan class while their sources change is killed with SIGKILL
at random moments (inside full rebuilds, inside incremental refreshes, anywhere); each time a fresh process reopens
the file and checks that catalog, history, kept tables and model tables agree and nothing is half-made, then
refreshes and verifies. At the end one more refresh of each model makes incremental_verify ok for all of them.

The processes run the python that runs pytest, so the test covers the host it runs in; crash_worker.py is the
process being killed."""

import json
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_worker.py")
SEED = 20240301
KILLS = 51
# Where the kills are aimed, in turn: into a full rebuild of a large model, into an incremental refresh, anywhere.
# Into the drop and definition of a model ('ddl'): then a kill between the two leaves the model missing.
AIMS = ("full", "incr", "any", "full", "incr", "ddl")
# The models over the large source, rebuilt in full in every loop (big_full, strategy 'full') or in every other one
# (big_merge, full_refresh := true); and the models refreshed incrementally.
FULL_TARGETS = ("big_full", "big_merge")
INCR_TARGETS = ("m_window", "m_di_keyed", "m_merge", "m_append", "per_k", "per_grp", "latest", "to_date", "r_daily",
                "r_versions", "big_merge")
WAIT = 120  # seconds a step may take before the test gives up on the worker


class Worker:
    """A worker process; its stdout lines arrive on a queue, so the parent can wait for one with a timeout."""

    def __init__(self, args, log):
        self.log, self.stderr = log, open(log, "a")
        self.proc = subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, bufsize=1)
        self.lines, self.seen = queue.Queue(), []
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *failure):
        """A worker still running when the test fails (it loops until killed) is killed too."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)

    def _read(self):
        # A line the kill cut short (no newline yet) says nothing complete about where it landed.
        for line in self.proc.stdout:
            if line.endswith("\n"):
                self.lines.put(line.split())
        self.lines.put(None)

    def next(self, timeout=WAIT):
        line = self.lines.get(timeout=timeout)
        if line is None:
            with open(self.log) as f:
                tail = f.read()[-3000:]
            raise AssertionError(f"worker exited with {self.proc.wait()}; last lines {self.seen[-5:]}; stderr: {tail}")
        self.seen.append(line)
        return line

    def until(self, test, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(0.1, deadline - time.monotonic()))
            if test(line):
                return line

    def kill(self):
        """SIGKILL; returns the lines written before it, the last ones telling where it landed."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)
        while (line := self.lines.get(timeout=WAIT)) is not None:
            self.seen.append(line)
        self.stderr.close()
        return self.seen

    def finish(self):
        rc = self.proc.wait(WAIT)
        self.stderr.close()
        assert rc == 0, f"worker failed with {rc}; last lines {self.seen[-5:]}"


def landed(lines):
    """Where the kill fell: ('full'|'incr', model) inside a refresh that had begun and not ended, the step it was in
    ('mutate', 'drop', 'create', 'checkpoint'), else ('other',)."""
    last = lines[-1] if lines else ["nothing"]
    if last[0] == "begin":
        return (last[2], last[1])
    return (last[0],) if last[0] in ("mutate", "drop", "create", "checkpoint") else ("other",)


def reported(line, kind):
    assert line[0] == kind, line
    return json.loads(" ".join(line[1:]))


def kill_as_aimed(w, aim, rng, durations):
    """Waits for the moment `aim` names, kills the worker a random time into it, and returns the worker's lines."""
    if aim == "any":
        time.sleep(rng.uniform(0, 2.0))
    else:
        if aim == "ddl":
            typical = durations["ddl"]
            w.until(lambda x: x[0] in ("drop", "create"))
        else:
            target = rng.choice(FULL_TARGETS if aim == "full" else INCR_TARGETS)
            typical = durations[(target, aim)]
            w.until(lambda x: x[:3] == ["begin", target, aim])
        time.sleep(rng.uniform(0, statistics.median(typical) if typical else 0.05))
    lines = w.kill()
    begun = {}
    for x in lines:
        if x[0] == "begin":
            begun[x[1]] = x[2]
        elif x[0] == "end" and len(x) == 4 and x[1] in begun:
            durations[(x[1], begun.pop(x[1]))].append(float(x[3]) / 1000)
        elif x[0] == "created" and len(x) == 3:  # a line the kill cut short has no duration
            durations["ddl"].append(float(x[2]) / 1000)
    return lines


def test_sigkill_at_random_moments(tmp_path, extension_path):
    db, log = str(tmp_path / "crash.duckdb"), str(tmp_path / "worker.log")
    rng = random.Random(SEED)
    with Worker(["setup", db, extension_path], log) as setup:
        setup.finish()

    durations = defaultdict(list)  # (model, kind) or 'ddl' -> seconds its steps took, to aim the next kills
    where, problems = Counter(), []
    for cycle in range(KILLS):
        aim = AIMS[cycle % len(AIMS)]
        with Worker(["work", db, extension_path, str(SEED + cycle)] + (["churn"] if aim == "ddl" else []), log) as w:
            after = f"after kill {cycle}" if cycle else "after setup"
            problems += [f"{after}: {p}" for p in reported(w.next(), "check")]
            problems += [f"{after}, refreshed: {p}" for p in reported(w.until(lambda x: x[0] == "verify"), "verify")]
            w.until(lambda x: x[0] == "ready")
            where[landed(kill_as_aimed(w, aim, rng, durations))[0]] += 1
    assert not problems, "\n".join(problems)
    print(f"kills: {KILLS}, landed in {dict(where)}")

    with Worker(["final", db, extension_path], log) as last:
        problems += [f"after the last kill: {p}" for p in reported(last.next(), "check")]
        problems += [f"final refresh: {p}" for p in reported(last.until(lambda x: x[0] == "verify"), "verify")]
        last.finish()
    assert not problems, "\n".join(problems)
    # the kills fell where they were aimed often enough to test those moments
    assert where["full"] >= KILLS // 5 and where["incr"] >= KILLS // 5 and where["drop"] + where["create"] > 0, where
