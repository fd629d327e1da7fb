#!/usr/bin/env python3
"""Benchmark: how long an edit of models.yaml takes to take effect.

Runs the real metal-agent with the test fake runtime (Tests/IntegrationTests/Fixtures/fake-runtime) on
two entries, then N times rewrites the file (alternating a rename-save and an in-place write) to change
one entry's contextSize, and measures the time from the write until the status file shows that entry
Ready with a new pid. Checks on every round that the other entry kept its pid. Prints figures; asserts
no timing.

Usage: bench/reconcile_latency.py [--rounds 20] [--agent .build/debug/metal-agent]
"""
import argparse, json, os, pathlib, signal, statistics, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FAKE = ROOT / "Tests/IntegrationTests/Fixtures/fake-runtime"
HEADER = "apiVersion: inference.llmkube.dev/v1alpha1"


def config(ctx):
    return f"""{HEADER}
kind: Model
metadata: {{name: g}}
spec: {{source: m.gguf}}
---
{HEADER}
kind: Model
metadata: {{name: x}}
spec: {{source: m-mlx, format: mlx}}
---
{HEADER}
kind: InferenceService
metadata: {{name: edited}}
spec: {{modelRef: g, contextSize: {ctx}}}
---
{HEADER}
kind: InferenceService
metadata: {{name: bystander}}
spec: {{modelRef: x, runtime: mlx-server}}
"""


def status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wait(path, pred, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = status(path)
        if s and pred(s):
            return s
        time.sleep(0.005)
    raise SystemExit(f"timed out; last status: {status(path)}")


def svc(s, name):
    return next(x for x in s["services"] if x["name"] == name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--agent", default=str(ROOT / ".build/debug/metal-agent"))
    a = ap.parse_args()
    d = pathlib.Path(tempfile.mkdtemp(prefix="ma-bench-"))
    (d / "m.gguf").write_text("x")
    (d / "m-mlx").mkdir()
    cfg, st = d / "models.yaml", d / "models.status.json"
    cfg.write_text(config(256))
    agent = subprocess.Popen([a.agent, "--config", str(cfg), "--llama-server-bin", str(FAKE), "--mlx-server-bin", str(FAKE),
                              "--log-level", "warning"], stderr=subprocess.DEVNULL)
    try:
        s = wait(st, lambda s: all(x["phase"] == "Ready" for x in s["services"]) and len(s["services"]) == 2)
        bystander = svc(s, "bystander")["pid"]
        samples = []
        for i in range(a.rounds):
            old = svc(s, "edited")["pid"]
            text = config(512 + i)
            t0 = time.monotonic()
            if i % 2:
                cfg.write_text(text)
            else:
                tmp = d / ".models.yaml.tmp"
                tmp.write_text(text)
                os.rename(tmp, cfg)
            s = wait(st, lambda s: svc(s, "edited")["phase"] == "Ready" and svc(s, "edited")["pid"] not in (None, old))
            samples.append(time.monotonic() - t0)
            assert svc(s, "bystander")["pid"] == bystander, "bystander was restarted"
        ms = sorted(x * 1000 for x in samples)
        print(f"edit-to-Ready latency over {len(ms)} edits (ms): min {ms[0]:.0f}  median {statistics.median(ms):.0f}  "
              f"p90 {ms[int(len(ms) * 0.9) - 1]:.0f}  max {ms[-1]:.0f}")
        print(f"bystander pid unchanged across all edits: {bystander}")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)


if __name__ == "__main__":
    main()
