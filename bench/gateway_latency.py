#!/usr/bin/env python3
"""Benchmark: the latency the gateway adds to a request, against the entry's own port, in one run.

Runs the real metal-agent with the test fake runtime (Tests/IntegrationTests/Fixtures/fake-runtime) on
one entry and the gateway on a free loopback port. Then sends N small chat completions alternately to
the entry's port (direct) and to the gateway (routed by "model"), each over its own keep-alive
connection, one request at a time (so queueing does not hide in the figures), and prints p50/p90/p99 of
both and of the difference. Bounded: at most --requests per side and --seconds in all. Asserts no timing.

Usage: bench/gateway_latency.py [--requests 3000] [--seconds 120] [--agent .build/release/metal-agent]
"""
import argparse, http.client, json, os, pathlib, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FAKE = ROOT / "Tests/IntegrationTests/Fixtures/fake-runtime"
HEADER = "apiVersion: inference.llmkube.dev/v1alpha1"
CONFIG = f"""{HEADER}
kind: Model
metadata: {{name: g}}
spec: {{source: m.gguf}}
---
{HEADER}
kind: InferenceService
metadata: {{name: chat}}
spec: {{modelRef: g}}
"""
BODY = json.dumps({"model": "chat", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8}).encode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def post(conn):
    started = time.perf_counter_ns()
    conn.request("POST", "/v1/chat/completions", body=BODY, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter_ns() - started
    if response.status != 200:
        raise SystemExit(f"HTTP {response.status}: {data[:300]!r}")
    return elapsed / 1e6  # ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000, help="requests per side (direct, gateway)")
    ap.add_argument("--seconds", type=float, default=120, help="stop measuring after this long in all")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--agent", default=str(ROOT / ".build/release/metal-agent"))
    args = ap.parse_args()
    if not os.access(args.agent, os.X_OK):
        raise SystemExit(f"{args.agent}: not built (swift build -c release)")
    with tempfile.TemporaryDirectory(prefix="gw-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "m.gguf").write_bytes(b"GGUF fake")
        (tmp / "models.yaml").write_text(CONFIG)
        gateway = free_port()
        agent = subprocess.Popen(
            [args.agent, "--config", str(tmp / "models.yaml"), "--llama-server-bin", str(FAKE), "--runtimes", "llama-server",
             "--gateway-listen", f"127.0.0.1:{gateway}", "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=open(tmp / "agent.log", "w"))
        try:
            end = time.monotonic() + 60
            entry = None
            while time.monotonic() < end:
                s = status(tmp / "models.status.json")
                if s and s["services"] and s["services"][0]["phase"] == "Ready":
                    entry = s["services"][0]["port"]
                    break
                time.sleep(0.05)
            if entry is None:
                raise SystemExit("the entry never became Ready:\n" + (tmp / "agent.log").read_text()[-3000:])
            direct = http.client.HTTPConnection("127.0.0.1", entry)
            routed = None
            while routed is None and time.monotonic() < end:
                try:
                    routed = http.client.HTTPConnection("127.0.0.1", gateway)
                    post(routed)
                except OSError:
                    routed = None
                    time.sleep(0.05)
            for _ in range(args.warmup):
                post(direct)
                post(routed)
            times = {"direct": [], "gateway": []}
            stop = time.monotonic() + args.seconds
            for i in range(args.requests):
                if time.monotonic() >= stop:
                    break
                # Alternate which goes first, so neither side always follows the other.
                order = [("direct", direct), ("gateway", routed)] if i % 2 == 0 else [("gateway", routed), ("direct", direct)]
                for name, conn in order:
                    times[name].append(post(conn))
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
    n = len(times["direct"])
    print(f"requests: {n} per side, sequential, keep-alive, POST /v1/chat/completions ({len(BODY)} bytes) to the fake runtime")
    print(f"{'':10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name in ("direct", "gateway"):
        t = times[name]
        print(f"{name:10} {percentile(t, 50):8.3f} {percentile(t, 90):8.3f} {percentile(t, 99):8.3f} {statistics.mean(t):8.3f}")
    added = {q: percentile(times["gateway"], q) - percentile(times["direct"], q) for q in (50, 90, 99)}
    print(f"{'added':10} {added[50]:8.3f} {added[90]:8.3f} {added[99]:8.3f} "
          f"{statistics.mean(times['gateway']) - statistics.mean(times['direct']):8.3f}")
    print(f"targets: added p50 < 1 ms: {'met' if added[50] < 1 else 'NOT met'}; added p99 < 5 ms: {'met' if added[99] < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
