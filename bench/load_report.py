#!/usr/bin/env python3
"""The "## Load" section of BENCHMARKS.md from bench/load.sh's results:
LOGS/SERVER-WORKLOAD-CLIENTS-RUN.json (bench/load.py), -peak.json
(bench/imap_load.py sample) and -load (the load average at the start).
Prints markdown; figures are medians over the runs."""
import argparse
import json
import os
import statistics

SERVERS = ("archimap", "dovecot")
WORKLOAD_TEXT = {
    "B": "each client on its user's INBOX: LIST, STATUS, SELECT, FETCH of flags, envelopes and bodies of random "
         "ranges, STORE of flags and keywords, STORE \\Deleted + EXPUNGE, APPEND",
    "C": "each client on its user's read-only Archive (EXAMINE): LIST, STATUS, UID FETCH 1:*, FETCH of headers and "
         "bodies, SEARCH by subject words (the message the word came from must be found) and dates",
}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec):
    return "n/a" if value is None else spec % value


def cell(values, spec):
    m = median(values)
    if len(values) == 1:
        return fmt(m, spec)
    return "%s (%s)" % (fmt(m, spec), ", ".join(fmt(v, spec) for v in values))


def met(ok):
    return "**met**" if ok else "**not met**"


def settled_cpu(r):
    """Server CPU seconds from the start of the timed part until the memory
    after it was read: the work a load leaves behind (archimap indexes
    APPENDed messages seconds later) counts. Older results lack it."""
    return r.get("server_cpu_settled_s", r["server_cpu_s"])


def goal_lines(w, k, res):
    """The issue's goals for one workload and client count, from the
    medians: commands/s at least Dovecot's, commands per server CPU-second
    (with the settling time's) at least 1.5 times Dovecot's, RSS back within 32 MiB of before."""
    def m(s, get):
        return median([get(r) for r in res[s]])
    rate = {s: m(s, lambda r: r["per_s"]) for s in SERVERS}
    per_cpu = {s: m(s, lambda r: r["commands"] / settled_cpu(r) if settled_cpu(r) else None) for s in SERVERS}
    held = m("archimap", lambda r: (r["memory_after"]["rss_kib"] - r["memory_before"]["rss_kib"]) / 1024)
    lines = []
    if None not in rate.values():
        lines.append("- Workload %s, %s clients: %.0f commands/s against Dovecot's %.0f (%.2fx; goal 1x), %s." % (
            w, k, rate["archimap"], rate["dovecot"], rate["archimap"] / rate["dovecot"],
            met(rate["archimap"] >= rate["dovecot"])))
    if None not in per_cpu.values():
        lines.append("- Workload %s, %s clients: %.0f commands per server CPU-second (its CPU until the memory after "
                     "was read) against Dovecot's %.0f "
                     "(%.2fx; goal 1.5x), %s." % (
                         w, k, per_cpu["archimap"], per_cpu["dovecot"], per_cpu["archimap"] / per_cpu["dovecot"],
                         met(per_cpu["archimap"] >= 1.5 * per_cpu["dovecot"])))
    if held is not None:
        lines.append("- Workload %s, %s clients: archimap's RSS after the load is %.0f MiB above before "
                     "(goal: at most 32 MiB, 60 s after), %s." % (w, k, held, met(held <= 32)))
    return lines


def main():
    ap = argparse.ArgumentParser()
    for name in ("logs", "workloads", "clients", "secs", "settle", "date", "machine", "build", "command", "setup", "note"):
        ap.add_argument("--" + name, default="")
    ap.add_argument("--runs", type=int, required=True)
    a = ap.parse_args()
    runs = range(1, a.runs + 1)
    goals = []

    def result(s, w, k, run, suffix=".json"):
        with open(os.path.join(a.logs, "%s-%s-%s-%d%s" % (s, w, k, run, suffix))) as f:
            return json.load(f) if suffix.endswith(".json") else f.read().strip()

    out = ["## Load", "", "Measured with `bench/load.sh` on %s." % a.date, "",
           "- Build: %s." % a.build,
           "- Machine: %s, shared with other engineers' builds and tests (figures taken while they run are "
           "indicative only); the client (one Python asyncio process) runs on the same CPUs as the server." % a.machine,
           "- Command: `%s`." % a.command,
           "- Data: %s." % a.setup,
           "- Client: `bench/load.py`: persistent sessions, each logged in once; client i is user i mod the number of "
           "users; every session tracks its mailbox's state from the responses (`bench/imap_model.py`) and counts "
           "as an error any response inconsistent with it, any BAD, any NO and any lost connection.",
           "- Each measurement starts the server afresh on a fresh copy of its data. Server CPU is utime+stime from "
           "/proc over the timed part, and until the memory after it is read (what the load left to do: archimap "
           "indexes APPENDed messages in batches up to 10 s later; the per-CPU goal uses this one) (Dovecot: the master and all its descendants, plus reaped children); peak RSS "
           "is sampled every 0.2 s and summed over processes; \"before\" is read before the first session connects, "
           "\"after\" %s s after the sessions logged out (PSS counts shared pages once, the fair figure for Dovecot's "
           "many processes)." % a.settle,
           "- Load average (1 min) at the start of each measurement: %s." % "; ".join(
               "%s %s %s run %d: %s" % (s, w, k, run, result(s, w, k, run, "-load"))
               for run in runs for w in a.workloads.split() for k in a.clients.split() for s in SERVERS),
           "", "Cells are \"median (run 1, run 2, ...)\"."]
    errors_total = 0
    for w in a.workloads.split():
        for k in a.clients.split():
            res = {s: [result(s, w, k, run) for run in runs] for s in SERVERS}
            peak = {s: [result(s, w, k, run, "-peak.json") for run in runs] for s in SERVERS}
            out += ["", "### Workload %s, %s clients, %s s" % (w, k, a.secs),
                    "", WORKLOAD_TEXT[w] + ".", "",
                    "| | archimap | Dovecot |", "| --- | ---: | ---: |"]

            def row(label, spec, get, source=res):
                out.append("| %s | %s | %s |" % (label, cell([get(r) for r in source["archimap"]], spec),
                                                  cell([get(r) for r in source["dovecot"]], spec)))

            row("commands/s", "%.0f", lambda r: r["per_s"])
            row("latency median, ms", "%.2f", lambda r: r["median_ms"])
            row("latency p99, ms", "%.1f", lambda r: r["p99_ms"])
            row("errors", "%d", lambda r: r["error_count"])
            row("server CPU, s", "%.1f", lambda r: r["server_cpu_s"])
            row("server CPU until the memory after, s", "%.1f", settled_cpu)
            row("peak RSS, MB", "%.0f", lambda p: p["rss_kib"] / 1024, peak)
            row("RSS before, MB", "%.0f", lambda r: r["memory_before"]["rss_kib"] / 1024)
            row("RSS after, MB", "%.0f", lambda r: r["memory_after"]["rss_kib"] / 1024)
            row("PSS after, MB", "%.0f", lambda r: r["memory_after"]["pss_kib"] / 1024)
            row("RSS after minus before, MB", "%.0f",
                lambda r: (r["memory_after"]["rss_kib"] - r["memory_before"]["rss_kib"]) / 1024)
            goals.append(goal_lines(w, k, res))
            commands = sorted({c for s in SERVERS for r in res[s] for c in r["per_command"]})
            out += ["", "| command | archimap /s | median ms | p99 ms | Dovecot /s | median ms | p99 ms |",
                    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for c in commands:
                cells = []
                for s in SERVERS:
                    per = [r["per_command"].get(c) for r in res[s]]
                    for key, spec in (("per_s", "%.1f"), ("median_ms", "%.2f"), ("p99_ms", "%.1f")):
                        cells.append(fmt(median([p[key] for p in per if p]), spec))
                out.append("| %s | %s |" % (c, " | ".join(cells)))
            for s in SERVERS:
                for run, r in zip(runs, res[s]):
                    errors_total += r["error_count"]
                    for e in (r["faults"] + r["errors"])[:3]:
                        out.append("\n%s run %d, session %s: %s" % (s, run, e["session"], e.get("fault") or e.get("error")))
    out += ["", "### Goals (from the issue)", ""] + [line for lines in goals for line in lines]
    out += ["- Errors over all measurements: %d (goal: 0), **%s**." % (errors_total, "met" if errors_total == 0 else "not met")]
    if a.note:
        out += ["", "Note: " + a.note]
    print("\n".join(out))


if __name__ == "__main__":
    main()
