#!/usr/bin/env python3
"""What an idle `trainyard-agent` costs its host, and what shipping a job's
1 MB/s log costs (docs/benchmarks.md, "Agent footprint").

Run through `scripts/bench-agent.sh` (builds the release binaries first);
directly: `python3 agent/benches/footprint.py --server BIN --agent BIN`.

A real server (`trainyard serve --server-only`, API key, temp data dir) and
a real agent with 8 fake GPUs and the default 3 s heartbeat, both on
127.0.0.1. Every second the agent's RSS (`VmRSS` of /proc/PID/status) and
CPU time (utime + stime of /proc/PID/stat) are read, and the same for two
baselines started at the same moment and sampled the same way:

- `sleep`: a process that does nothing, the floor of the method;
- `python heartbeat loop`: the least a Python agent does, posting a canned
  8-GPU heartbeat every 3 s over one keep-alive connection (no sampling of
  the machine, no job loop, no file sync).

Phase 1, idle (`--idle-seconds`, default 600): the agent heartbeats and
long-polls for work. Phase 2 (`--log-seconds`, default 120): a job (a
Python script, not counted) prints 1 MB/s of 100-byte lines, which the agent
reads and ships to the server; afterwards the server's copy of the log is
checked to hold every byte. The first `--warmup` seconds of each phase
(default 5) are left out of the CPU figure, not of the RSS maximum.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_server import KEY, api, free_port, wait_for
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

EMIT = r'''
import sys, time
ticks, per_tick = int(sys.argv[1]), int(sys.argv[2])  # 10 ms ticks, lines per tick
line = "step %08d " + "x" * 85 + "\n"                # 100 bytes
start = time.monotonic()
for tick in range(ticks):
    wait = start + tick * 0.01 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    sys.stdout.write("".join(line % (tick * per_tick + i) for i in range(per_tick)))
    sys.stdout.flush()
'''

# The baseline agent: a heartbeat like the fake GPUs' every 3 s, nothing else.
PY_AGENT = r'''
import http.client, json, sys, time
port, key, interval = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
gpu = lambda i: {"index": i, "uuid": "GPU-%d" % i, "name": "Fake A100 80GB",
                 "utilization_percent": 50.0, "memory_used_bytes": 1 << 30,
                 "memory_total_bytes": 80 << 30, "temperature_c": 50.0,
                 "power_watts": 200.0, "power_limit_watts": 400.0, "processes": []}
body = json.dumps({"protocol_version": 1, "host_id": "bench-python", "hostname": "bench",
                   "agent_version": "baseline", "system": {"cpu_percent": 1.0, "cpu_count": 2,
                   "memory_used_bytes": 1, "memory_total_bytes": 2, "disk_used_bytes": 1,
                   "disk_total_bytes": 2}, "gpus": [gpu(i) for i in range(8)], "gpu_error": None})
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
next_at = time.monotonic()
while True:
    try:
        conn.request("POST", "/api/v1/agents/heartbeat", body, headers)
        conn.getresponse().read()
    except Exception:
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    next_at += interval
    time.sleep(max(0.0, next_at - time.monotonic()))
'''


def read_proc(pid):
    """(rss_kb, cpu_ticks, threads) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; fields after it are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    threads = int(fields[17])
    with open(f"/proc/{pid}/statm") as f:
        rss_kb = int(f.read().split()[1]) * PAGE_KB
    return rss_kb, ticks, threads


class Series:
    """Samples of one process over one phase."""

    def __init__(self, name):
        self.name = name
        self.rss_kb = []
        self.threads = 0
        self.first = None  # (time, ticks) at the end of the warm-up
        self.last = None

    def add(self, t, sample, counted):
        rss_kb, ticks, threads = sample
        self.rss_kb.append(rss_kb)
        self.threads = max(self.threads, threads)
        if counted:
            if self.first is None:
                self.first = (t, ticks)
            self.last = (t, ticks)

    def cpu_percent(self):
        if not self.first or not self.last or self.last[0] <= self.first[0]:
            return float("nan")
        (t0, k0), (t1, k1) = self.first, self.last
        return (k1 - k0) / CLK_TCK / (t1 - t0) * 100.0

    def cpu_seconds(self):
        if not self.first or not self.last:
            return float("nan")
        return (self.last[1] - self.first[1]) / CLK_TCK


def sample_phase(procs, seconds, warmup, every, label, progress=None):
    series = {name: Series(name) for name in procs}
    start = time.monotonic()
    next_at = start
    report_at = start + 60
    while True:
        now = time.monotonic()
        for name, proc in procs.items():
            if proc.poll() is not None:
                sys.exit(f"{name} exited during the {label} phase (status {proc.returncode})")
            series[name].add(now, read_proc(proc.pid), now - start >= warmup)
        if now - start >= seconds:
            break
        if progress and now >= report_at:
            progress(now - start)
            report_at += 60
        next_at += every
        time.sleep(max(0.0, next_at - time.monotonic()))
    return series


def mb(kb):
    return kb / 1024.0


def print_table(title, series):
    print(f"\n{title}")
    print(f"  {'process':<34} {'RSS max MB':>10} {'RSS median MB':>13} {'CPU % of a core':>15} {'CPU s':>7} {'threads':>7}")
    for s in series.values():
        print(
            f"  {s.name:<34} {mb(max(s.rss_kb)):>10.1f} {mb(statistics.median(s.rss_kb)):>13.1f}"
            f" {s.cpu_percent():>15.3f} {s.cpu_seconds():>7.2f} {s.threads:>7}"
        )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="the trainyard binary")
    p.add_argument("--agent", required=True, help="the trainyard-agent binary")
    p.add_argument("--idle-seconds", type=float, default=600)
    p.add_argument("--log-seconds", type=float, default=120)
    p.add_argument("--log-rate", type=int, default=1_000_000, help="bytes per second the job prints")
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    p.add_argument("--gpus", type=int, default=8, help="fake GPUs the agent reports")
    p.add_argument("--real-gpus", action="store_true",
                   help="read this host's GPUs through NVML instead of faking --gpus of them")
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args()
    # The agent runs in its own work dir: relative binary paths must not depend on it.
    a.server, a.agent = os.path.abspath(a.server), os.path.abspath(a.agent)

    work = tempfile.mkdtemp(prefix="trainyard-agent-bench-")
    procs = {}
    server = None
    try:
        port = free_port()
        logs = {}

        def spawn(name, argv, **kw):
            logs[name] = open(os.path.join(work, name.split()[0] + ".log"), "w")
            procs[name] = subprocess.Popen(argv, stdout=logs[name], stderr=subprocess.STDOUT, **kw)

        spawn("trainyard (server)", [a.server, "serve", "--server-only", "--port", str(port),
                                     "--data-dir", os.path.join(work, "data"), "--api-key", KEY])
        wait_for("the server", lambda: api(port, "GET", "/api/v1/health"))
        server = procs.pop("trainyard (server)")

        agent_dir = os.path.join(work, "agent")
        os.makedirs(agent_dir)
        # Started together so they share the machine's moments alike.
        spawn("trainyard-agent", [a.agent, "--url", f"http://127.0.0.1:{port}", "--host-id", "bench-agent",
                                  "--token", KEY, "--work-dir", agent_dir]
              + ([] if a.real_gpus else ["--fake-gpus", str(a.gpus)]),
              cwd=agent_dir)
        spawn("baseline: sleep", ["sleep", "100000"])
        spawn("baseline: python heartbeat loop", [sys.executable, "-c", PY_AGENT, str(port), KEY, "3"])

        def registered():
            page = json.loads(api(port, "GET", "/api/v1/hosts?q=bench-agent"))
            return any(h["host_id"] == "bench-agent" and (a.real_gpus and h["gpus"] or len(h["gpus"]) == a.gpus)
                       for h in page["hosts"])

        wait_for("the agent's first heartbeat", registered)
        print(f"server :{port} and agent up; idle phase {a.idle_seconds:.0f} s "
              f"(samples every {a.every:g} s, CPU after {a.warmup:g} s of warm-up)", flush=True)
        idle = sample_phase(procs, a.idle_seconds, a.warmup, a.every, "idle",
                            lambda t: print(f"  … {t:.0f} s", flush=True))

        emit = os.path.join(work, "emit.py")
        with open(emit, "w") as f:
            f.write(EMIT)
        # 100-byte lines, a batch every 10 ms: exactly this many bytes.
        ticks, per_tick = round(a.log_seconds * 100), max(1, a.log_rate // 100 // 100)
        expected = ticks * per_tick * 100
        config = (f"project: bench\nname: log-{a.log_rate}\ngpus: 0\n"
                  f"command: {sys.executable} {emit} {ticks} {per_tick}\n")
        job = json.loads(api(port, "POST", "/api/v1/experiments", config.encode()))["jobs"][0]["id"]
        wait_for("the job to start", lambda: json.loads(api(port, "GET", f"/api/v1/jobs/{job}"))["status"] == "running")
        print(f"job {job} running: {a.log_rate / 1e6:g} MB/s of log for {a.log_seconds:.0f} s", flush=True)
        shipping = sample_phase(procs, a.log_seconds, a.warmup, a.every, "log")
        wait_for("the job to finish",
                 lambda: json.loads(api(port, "GET", f"/api/v1/jobs/{job}"))["status"] in ("succeeded", "failed"),
                 timeout=a.log_seconds + 60)
        status = json.loads(api(port, "GET", f"/api/v1/jobs/{job}"))["status"]
        wait_for("the whole log on the server",
                 lambda: len(api(port, "GET", f"/api/v1/jobs/{job}/log")) >= expected, timeout=60)
        shipped = len(api(port, "GET", f"/api/v1/jobs/{job}/log"))

        gpus = "this host's GPUs through NVML" if a.real_gpus else f"{a.gpus} fake GPUs"
        print(f"\nagent: {gpus}, 3 s heartbeat, long-poll for work; {os.cpu_count()} CPUs, "
              f"CLK_TCK {CLK_TCK}; {time.strftime('%Y-%m-%d %H:%M')}")
        print_table(f"idle, {a.idle_seconds:.0f} s", idle)
        print_table(f"a job printing {a.log_rate / 1e6:g} MB/s, {a.log_seconds:.0f} s "
                    f"(job {status}; {shipped:,} bytes on the server, {shipped / a.log_seconds / 1e6:.2f} MB/s)",
                    shipping)
        agent_idle, agent_log = idle["trainyard-agent"], shipping["trainyard-agent"]
        rss_ok = mb(max(agent_idle.rss_kb)) <= 20.0
        cpu_ok = agent_idle.cpu_percent() < 0.5
        print(f"\ntargets (idle): RSS ≤ 20 MB: {mb(max(agent_idle.rss_kb)):.1f} MB, {'met' if rss_ok else 'NOT met'}; "
              f"CPU < 0.5% of a core: {agent_idle.cpu_percent():.3f}%, {'met' if cpu_ok else 'NOT met'}")
        # CPU counted after the warm-up, over the MB printed in that window.
        counted_mb = a.log_rate / 1e6 * (agent_log.last[0] - agent_log.first[0])
        per_mb = agent_log.cpu_seconds() / counted_mb * 1000 if counted_mb else float("nan")
        print(f"shipping: {per_mb:.1f} ms of agent CPU per MB of log")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({
                    phase: {s.name: {"rss_max_mb": mb(max(s.rss_kb)), "rss_median_mb": mb(statistics.median(s.rss_kb)),
                                     "cpu_percent": s.cpu_percent(), "threads": s.threads} for s in ser.values()}
                    for phase, ser in (("idle", idle), ("log", shipping))
                }, f, indent=2)
        if status != "succeeded" or shipped < expected:
            sys.exit(f"the job ended {status} with {shipped} of {expected} bytes on the server")
    finally:
        everything = list(procs.values()) + ([server] if server else [])
        for proc in everything:
            proc.terminate()
        for proc in everything:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
