#!/usr/bin/env python3
"""Benchmark: what the runtime guard (`metal-agent guard`, Linux) costs, and how fast it stops orphans.

Runs the real metal-agent with the test fake runtime (Tests/IntegrationTests/Fixtures/fake-runtime) on
--entries entries, waits until all are Ready, then prints, per guard, its memory (RSS, PSS and private
dirty bytes from /proc/<pid>/smaps_rollup: most of the RSS is the shared Swift and Foundation
libraries) and its CPU time while idle over --idle seconds. Then it SIGKILLs the agent and measures
how long until every runtime is gone (no agent runs). Prints figures; asserts no timing.

Usage: bench/guard_cost.py [--entries 4] [--idle 10] [--agent .build/release/metal-agent]
"""
import argparse, json, os, pathlib, signal, statistics, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FAKE = ROOT / "Tests/IntegrationTests/Fixtures/fake-runtime"
HEADER = "apiVersion: inference.llmkube.dev/v1alpha1"


def config(n):
    docs = [f"{HEADER}\nkind: Model\nmetadata: {{name: g}}\nspec: {{source: m.gguf}}"]
    docs += [f"{HEADER}\nkind: InferenceService\nmetadata: {{name: svc-{i}}}\nspec: {{modelRef: g}}" for i in range(n)]
    return "\n---\n".join(docs) + "\n"


def rollup(pid):
    fields = {}
    for line in open(f"/proc/{pid}/smaps_rollup"):
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return fields


def cpu_seconds(pid):
    stat = open(f"/proc/{pid}/stat").read()
    rest = stat[stat.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=4)
    ap.add_argument("--idle", type=float, default=10)
    ap.add_argument("--agent", default=str(ROOT / ".build/release/metal-agent"))
    a = ap.parse_args()
    d = pathlib.Path(tempfile.mkdtemp(prefix="ma-bench-guard-"))
    (d / "m.gguf").write_text("x")
    cfg, status_path = d / "models.yaml", d / "models.status.json"
    cfg.write_text(config(a.entries))
    agent = subprocess.Popen([a.agent, "--config", str(cfg), "--llama-server-bin", str(FAKE), "--mlx-server-bin", str(FAKE),
                              "--log-level", "warning"], stderr=open(d / "agent.log", "w"))
    t0 = time.monotonic()
    status = None
    while time.monotonic() - t0 < 120:
        try:
            status = json.loads(status_path.read_text())
            if len(status["services"]) == a.entries and all(s["phase"] == "Ready" for s in status["services"]):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    else:
        print("not Ready within 120 s", file=sys.stderr)
        agent.kill()
        sys.exit(1)
    guards = [s["processGroup"] for s in status["services"]]
    runtimes = [s["pid"] for s in status["services"]]
    cpu0 = {g: cpu_seconds(g) for g in guards}
    time.sleep(a.idle)
    cpu = [cpu_seconds(g) - cpu0[g] for g in guards]
    mem = [rollup(g) for g in guards]
    mib = lambda b: b / 1048576
    print(f"guard_cost: {a.entries} entries, agent {a.agent}")
    print(f"guard memory per guard: RSS {mib(statistics.mean(m['Rss' ]for m in mem)):.1f} MiB, "
          f"PSS {mib(statistics.mean(m['Pss'] for m in mem)):.1f} MiB, "
          f"private dirty {mib(statistics.mean(m['Private_Dirty'] for m in mem)):.1f} MiB")
    print(f"guard CPU while idle over {a.idle:g} s: max {max(cpu) * 1000:.0f} ms per guard")
    agent.send_signal(signal.SIGKILL)
    agent.wait()
    t1 = time.monotonic()
    alive = set(runtimes)
    while alive and time.monotonic() - t1 < 60:
        alive = {p for p in alive if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split(") ")[1][0] != "Z"}
        time.sleep(0.005)
    print(f"agent SIGKILLed: {len(runtimes) - len(alive)} of {len(runtimes)} runtimes gone in {time.monotonic() - t1:.3f} s"
          f" (the fake runtime exits at once on SIGTERM)")
    sys.exit(0 if not alive else 1)


if __name__ == "__main__":
    main()
