#!/usr/bin/env python3
"""How long a job's output stops reaching the server when its agent is
killed with SIGKILL and started again at once (docs/benchmarks.md, "Agent
restart: adopting running jobs").

`python3 agent/benches/restart.py --server BIN --agent BIN [--rounds 10]`

A real server (`trainyard serve --server-only`, API key, temp data dir) and
a real agent (2 fake GPUs, 3 s heartbeat) on 127.0.0.1. One job prints a
numbered line every 10 ms for the whole run. Each round: wait until the
server's copy of the log grows, `kill -9` the agent, wait `--gap` seconds
(the job keeps writing to its output.log; default 0: restart at once),
note the server's log size, start a new agent on the same work dir, and
time from that spawn to the first log byte past the noted size at the
server (polled every 2 ms with `GET …/log?offset=N`). At the end the job
is cancelled, and the server's log is checked to hold every line from the
first on, once and in order, and the job to have had one attempt.
Also reported: the RSS of the job's supervisor process.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from bench_server import KEY, api, free_port, wait_for

EMIT = r'''
import sys, time
i = 0
while True:
    i += 1
    sys.stdout.write("line %d\n" % i)
    sys.stdout.flush()
    time.sleep(0.01)
'''


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--gap", type=float, default=0.0, help="seconds between the kill and the restart")
    a = p.parse_args()
    a.server, a.agent = os.path.abspath(a.server), os.path.abspath(a.agent)
    work = tempfile.mkdtemp(prefix="trainyard-restart-bench-")
    port = free_port()
    server = subprocess.Popen([a.server, "serve", "--server-only", "--port", str(port),
                               "--data-dir", os.path.join(work, "data"), "--api-key", KEY],
                              stdout=open(os.path.join(work, "server.log"), "w"), stderr=subprocess.STDOUT)
    agent_dir = os.path.join(work, "agent")
    os.makedirs(agent_dir)
    agent_log = open(os.path.join(work, "agent.log"), "w")

    def start_agent():
        return subprocess.Popen([a.agent, "--url", f"http://127.0.0.1:{port}", "--host-id", "bench-agent",
                                 "--token", KEY, "--work-dir", agent_dir, "--fake-gpus", "2"],
                                cwd=agent_dir, stdout=agent_log, stderr=subprocess.STDOUT)

    agent = None
    try:
        wait_for("the server", lambda: api(port, "GET", "/api/v1/health"))
        agent = start_agent()
        emit = os.path.join(work, "emit.py")
        with open(emit, "w") as f:
            f.write(EMIT)
        config = f"project: bench\nname: restart\ngpus: 1\ncommand: {sys.executable} {emit}\n"
        job = json.loads(api(port, "POST", "/api/v1/experiments", config.encode()))["jobs"][0]["id"]
        size = lambda: len(api(port, "GET", f"/api/v1/jobs/{job}/log"))
        wait_for("the job's output", lambda: size() > 0)
        gaps = []
        for round_ in range(a.rounds):
            before = size()
            wait_for("the log to grow", lambda: size() > before)
            agent.send_signal(signal.SIGKILL)
            agent.wait()
            if a.gap:
                time.sleep(a.gap)
            shipped = size()
            started = time.monotonic()
            agent = start_agent()

            def grew():
                return len(api(port, "GET", f"/api/v1/jobs/{job}/log?offset={shipped}")) > 0

            wait_for("new output after the restart", grew, timeout=60, every=0.002)
            gaps.append((time.monotonic() - started) * 1000)
            print(f"round {round_ + 1}: restart → first new byte at the server {gaps[-1]:.0f} ms", flush=True)
            time.sleep(0.5)
        supervisor = json.load(open(os.path.join(agent_dir, "runs", f"{job}-1", "supervisor.json")))
        with open(f"/proc/{supervisor['supervisor']}/status") as f:
            rss = next(line.split()[1] for line in f if line.startswith("VmRSS:"))
        api(port, "POST", f"/api/v1/jobs/{job}/cancel")
        detail = wait_for("the job to end", lambda: (lambda d: d["status"] == "cancelled" and d)(
            json.loads(api(port, "GET", f"/api/v1/jobs/{job}"))))
        log = api(port, "GET", f"/api/v1/jobs/{job}/log").decode()
        numbers = [int(n) for n in re.findall(r"^line (\d+)$", log, re.M)]
        complete = numbers == list(range(1, len(numbers) + 1))
        print(f"\n{a.rounds} restarts, gap {a.gap:g} s: median {statistics.median(gaps):.0f} ms, "
              f"min {min(gaps):.0f}, max {max(gaps):.0f} ms")
        print(f"log: {len(numbers)} lines, every one once and in order: {complete}; "
              f"attempts: {len(detail['attempts'])}; supervisor RSS {int(rss) / 1024:.1f} MB")
        if not complete or len(detail["attempts"]) != 1:
            sys.exit("the log or the attempts are wrong")
    finally:
        for proc in (agent, server):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
