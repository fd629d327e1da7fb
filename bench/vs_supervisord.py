#!/usr/bin/env python3
"""Benchmark: metal-agent against supervisord, side by side, at 10, 100 and 1,000 entries.

Both supervise the same tiny C stand-in runtime (bench/standin-runtime.c: binds --port, answers every
request with 200). supervisord 4.3 (from PyPI, in a virtualenv this script makes under
~/.cache/metal-agent/bench-venv) runs at its most favourable setting, startsecs=0, so RUNNING means only
"spawned"; metal-agent's Ready means an HTTP readiness probe passed, and it keeps probing liveness
every 10 s. For each size, one after the other on the same machine:

  cold start       process start until every entry is Ready (metal-agent) / RUNNING (supervisord)
  supervisor RSS   the agent alone / supervisord alone
  overhead PSS     the agent plus every runtime guard / supervisord (the runtimes are not counted)
  idle CPU         clock ticks of the same processes over --idle seconds, everything up
  edit one entry   change one entry until its new process is Ready / RUNNING (supervisorctl update);
                   every other entry must keep its process; the median of 5 edits, each of another entry.
                   metal-agent: from the config's rename until the agent wrote the first status document
                   that shows the new process Ready (its updatedAt); supervisord: until supervisorctl
                   shows it RUNNING
  edit, as polled  the same edit until this script's poller has read and parsed that document (every
                   10 ms; a 1,000-entry status file is 1.6 MB, about 20 ms of json.loads per version)
  SIGTERM          until the supervisor and every runtime are gone

Prints one table per size with the ratio metal-agent / supervisord (below 1: metal-agent is cheaper or
faster). Asserts nothing about time; exits 1 only if something did not work (an entry never came up,
another entry was touched by an edit, a process was left behind).

Usage: bench/vs_supervisord.py [--sizes 10,100,1000] [--idle 30] [--agent .build-release/release/metal-agent]
Build first: scripts/build-release (the binary a node installs; --agent .build/release/metal-agent measures
the `swift build -c release` build instead, with the Swift libraries loaded as shared objects)
"""
import argparse, datetime, json, os, pathlib, resource, shutil, signal, statistics, subprocess, sys, tempfile, time, xmlrpc.client

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("METAL_AGENT_CACHE", pathlib.Path.home() / ".cache/metal-agent"))
HEADER = "apiVersion: inference.llmkube.dev/v1alpha1"
TICKS = os.sysconf("SC_CLK_TCK")
BASE_PORT = 21000
EDITS = 5  # edits per size, each of another entry; the table shows their median


def supervisord_venv():
    venv = CACHE / "bench-venv"
    if not (venv / "bin/supervisord").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", "supervisor==4.3.0"], check=True)
    return venv / "bin"


def build_standin(work):
    out = work / "standin-runtime"
    subprocess.run(["cc", "-O2", "-o", str(out), str(ROOT / "bench/standin-runtime.c")], check=True)
    return out


def processes():
    """pid -> (ppid, cmdline) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] in "ZX":
            continue
        table[int(entry)] = (int(fields[1]), cmd)
    return table


def descendants(root, table):
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, queue = [], list(children.get(root, []))
    while queue:
        pid = queue.pop()
        out.append(pid)
        queue.extend(children.get(pid, []))
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def wait_for(what, predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def gone(tag):
    return not any(tag in cmd for _, cmd in processes().values())


class MetalAgent:
    name = "metal-agent"

    def __init__(self, work, agent, standin, n, tag):
        self.work, self.agent, self.standin, self.n, self.tag = work, agent, standin, n, tag
        self.config = work / "models.yaml"
        self.status_path = work / "models.status.json"
        (work / "m.gguf").write_bytes(b"GGUF stand-in")

    def write(self, edited=()):
        docs = [f"{HEADER}\nkind: Model\nmetadata: {{name: m}}\nspec: {{source: m.gguf}}"]
        for i in range(self.n):
            ctx = 4096 if i in edited else 2048
            docs.append(f"{HEADER}\nkind: InferenceService\nmetadata: {{name: e{i}}}\n"
                        f"spec: {{modelRef: m, port: {BASE_PORT + i}, contextSize: {ctx}, extraArgs: [--bench-tag, {self.tag}]}}")
        tmp = self.work / ".models.yaml.tmp"
        tmp.write_text("\n---\n".join(docs) + "\n")
        os.rename(tmp, self.config)

    def status(self):
        # Parsed again only when the file was replaced (as a reader waiting on inotify would): at 1,000
        # entries a parse takes about 20 ms, and parsing an unchanged file again only delays seeing the next.
        try:
            st = os.stat(self.status_path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if stamp != getattr(self, "_stamp", None):
                self._parsed, self._stamp = json.loads(self.status_path.read_text()), stamp
            return self._parsed
        except (OSError, ValueError):
            return None

    def ready_pids(self):
        s = self.status()
        if not s:
            return None
        pids = {x["name"]: x["pid"] for x in s["services"] if x["phase"] == "Ready"}
        return pids

    def start(self):
        self.write()
        self.log = open(self.work / "agent.log", "w")
        self.proc = subprocess.Popen([self.agent, "--config", str(self.config), "--llama-server-bin", str(self.standin)],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        return self.proc.pid

    def all_up(self):
        pids = self.ready_pids()
        return pids if pids is not None and len(pids) == self.n else None

    def helpers(self, table):
        return [p for p in descendants(self.proc.pid, table) if table[p][1].startswith("metal-agent guard ")]

    def edit(self, before, name, edited):
        self.edit_written = None
        started = time.time()  # wall clock, as the agent's updatedAt
        self.write(edited)
        def done():
            pids = self.ready_pids()
            if pids and len(pids) == self.n and pids.get(name) not in (None, before[name]):
                written = datetime.datetime.fromisoformat(self._parsed["updatedAt"].replace("Z", "+00:00")).timestamp()
                self.edit_written = (written - started) * 1000
                return pids
        return done


class Supervisord:
    name = "supervisord"

    def __init__(self, work, bin_dir, standin, n, tag):
        self.work, self.bin, self.standin, self.n, self.tag = work, bin_dir, standin, n, tag
        self.conf = work / "supervisord.conf"
        self.rpc_port = BASE_PORT - 7
        (work / "logs").mkdir(exist_ok=True)

    def write(self, edited=()):
        lines = ["[supervisord]", "nodaemon=true", f"logfile={self.work}/supervisord.log", f"pidfile={self.work}/supervisord.pid",
                 f"childlogdir={self.work}/logs", "minfds=1024", "minprocs=200",
                 "[inet_http_server]", f"port=127.0.0.1:{self.rpc_port}",
                 "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
                 "[supervisorctl]", f"serverurl=http://127.0.0.1:{self.rpc_port}"]
        for i in range(self.n):
            extra = " --ctx-size 4096" if i in edited else ""
            lines += [f"[program:e{i}]", f"command={self.standin} --port {BASE_PORT + i} --bench-tag {self.tag}{extra}",
                      "startsecs=0", "autorestart=true", f"stdout_logfile={self.work}/logs/e{i}.log", "redirect_stderr=true"]
        self.conf.write_text("\n".join(lines) + "\n")

    def rpc(self):
        return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.rpc_port}/RPC2")

    def running_pids(self):
        try:
            info = self.rpc().supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error):
            return None
        return {p["name"]: p["pid"] for p in info if p["statename"] == "RUNNING"}

    def start(self):
        self.write()
        self.proc = subprocess.Popen([str(self.bin / "supervisord"), "-n", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self.proc.pid

    def all_up(self):
        pids = self.running_pids()
        return pids if pids is not None and len(pids) == self.n else None

    def helpers(self, table):
        return []

    def edit(self, before, name, edited):
        self.edit_written = None
        self.write(edited)
        subprocess.run([str(self.bin / "supervisorctl"), "-c", str(self.conf), "update"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def done():
            pids = self.running_pids()
            if pids and len(pids) == self.n and pids.get(name) not in (None, before[name]):
                return pids
        return done


def measure(side, idle):
    figures = {}
    t0 = time.monotonic()
    pid = side.start()
    up = wait_for(f"{side.name}: every entry up", side.all_up, 600)
    figures["cold start (s)"] = time.monotonic() - t0
    time.sleep(2)  # let start-up work settle before memory and idle CPU
    table = processes()
    helpers = side.helpers(table)
    figures["supervisor RSS (MiB)"] = rss_kib(pid) / 1024
    figures["overhead PSS (MiB)"] = (pss_kib(pid) + sum(pss_kib(h) for h in helpers)) / 1024
    watched = [pid] + helpers
    before = {p: cpu_ticks(p) for p in watched}
    time.sleep(idle)
    figures[f"idle CPU over {idle:g} s (ticks)"] = sum(cpu_ticks(p) - before[p] for p in watched)
    up = side.all_up()
    edited, times, written = set(), [], []
    for k in range(EDITS):
        # One more entry edited each time (the earlier edits stay), then waited for.
        name = f"e{k * (side.n // EDITS)}"
        edited.add(k * (side.n // EDITS))
        t1 = time.monotonic()
        after = wait_for(f"{side.name}: edited entry {name} up", side.edit(up, name, edited), 120)
        times.append((time.monotonic() - t1) * 1000)
        written.append(side.edit_written if side.edit_written is not None else times[-1])
        touched = [other for other in up if other != name and after.get(other) != up[other]]
        if touched:
            raise RuntimeError(f"{side.name}: an edit of {name} touched {touched[:5]}")
        up = after
    figures[f"edit one entry, median of {EDITS} (ms)"] = statistics.median(written)
    figures[f"edit, as polled, median of {EDITS} (ms)"] = statistics.median(times)
    t2 = time.monotonic()
    side.proc.send_signal(signal.SIGTERM)
    side.proc.wait(timeout=600)
    wait_for(f"{side.name}: every runtime gone", lambda: gone(side.tag), 600)
    figures["SIGTERM until all gone (s)"] = time.monotonic() - t2
    figures["exit status"] = side.proc.returncode
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--idle", type=float, default=30)
    parser.add_argument("--agent", default=str(ROOT / ".build-release/release/metal-agent"))
    a = parser.parse_args()
    if not os.access(a.agent, os.X_OK):
        sys.exit(f"vs_supervisord: no agent at {a.agent}; build it first (scripts/build-release), or name one with --agent")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    bin_dir = supervisord_venv()
    print(f"vs_supervisord: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, agent {a.agent}")
    failed = False
    for n in [int(x) for x in a.sizes.split(",")]:
        results = {}
        for cls in (MetalAgent, Supervisord):
            work = pathlib.Path(tempfile.mkdtemp(prefix=f"ma-bench-{cls.name}-{n}-"))
            tag = f"bench-{os.getpid()}-{cls.name}-{n}"
            standin = build_standin(work)
            side = cls(work, a.agent if cls is MetalAgent else bin_dir, standin, n, tag)
            try:
                results[cls.name] = measure(side, a.idle)
            except Exception as error:  # report and go on with the other side
                print(f"  {cls.name} at {n}: FAILED: {error}")
                failed = True
                if getattr(side, "proc", None) and side.proc.poll() is None:
                    side.proc.kill()
                    side.proc.wait()
                for p, (_, cmd) in processes().items():
                    if tag in cmd:
                        os.kill(p, signal.SIGKILL)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        if len(results) < 2:
            continue
        ma, sv = results["metal-agent"], results["supervisord"]
        print(f"\n{n} entries")
        print(f"  {'':36} {'metal-agent':>12} {'supervisord':>12} {'ratio':>8}")
        for key in ma:
            ratio = ma[key] / sv[key] if sv[key] else float("inf") if ma[key] else 1.0
            print(f"  {key:36} {ma[key]:12.2f} {sv[key]:12.2f} {ratio:8.2f}")
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
