#!/usr/bin/env python3
"""Load on billsync's HTTP listener: wrk for three rounds of 30 s against /metrics, then three
against a webhook route with bad signatures, against `billsync run` (release, static) syncing
from billsync-sim. Prints p99 latency, failed requests other than the expected answers, and the
daemon's RSS after every round, then after a quiet spell; then a minute of one scrape every
15 s (as a Prometheus would) with the daemon's CPU and RSS. Usage: bench/load.py [seconds]"""
import os, re, signal, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
done = function(summary, latency, requests)
  io.write(string.format("RESULT p99_ms=%.2f requests=%d non2xx3xx=%d connect=%d read=%d write=%d timeout=%d\\n",
    latency:percentile(99) / 1000, summary.requests, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024


def wrk(url, script, d):
    path = os.path.join(d, "script.lua")
    with open(path, "w") as f:
        f.write(script)
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{SECONDS}s", "--latency", "-s", path, url],
                         capture_output=True, text=True).stdout
    m = re.search(r"RESULT (.*)", out)
    return dict(kv.split("=") for kv in m.group(1).split()) if m else {"output": out}


def main():
    bench.build()
    sim = bench.Sim("--teams", "1", "--history-days", "40")
    d = tempfile.mkdtemp(prefix="billsync-load-")
    os.makedirs(d + "/keys")
    for name, key in bench.KEYS.items():
        with open(f"{d}/keys/{name}", "w") as f:
            f.write(key)
    with open(d + "/keys/hook", "w") as f:
        f.write("load-test-secret")
    port = 19465
    with open(d + "/billsync.toml", "w") as f:
        f.write(f'''state_dir = "{d}/state"
export_dir = "{d}/exports"
poll_interval = "1h"
[http]
listen = "127.0.0.1:{port}"
[[sources]]
name = "usageflow"
provider = "usageflow"
api_key_file = "{d}/keys/uf"
base_url = "{sim.base}"
rate_limit = "none"
webhook_secret_file = "{d}/keys/hook"
[[sources]]
name = "northflank"
provider = "northflank"
api_key_file = "{d}/keys/nf"
base_url = "{sim.base}"
team = "team-1"
usage_start = "2026-10-01"
rate_limit = "none"
''')
    p = subprocess.Popen([os.path.join(bench.STATIC, "billsync"), "--config", d + "/billsync.toml", "run"],
                         stdout=subprocess.DEVNULL, stderr=open(d + "/daemon.log", "w"),
                         env={**os.environ, "BILLSYNC_NOW": str(bench.NOW_UNIX)})
    time.sleep(5)
    urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
    before = rss(p.pid)
    rounds = {"metrics": [], "webhooks": []}
    for _ in range(3):
        result = wrk(f"http://127.0.0.1:{port}/metrics", SCRIPT.format(method="GET", body="nil", headers=""), d)
        rounds["metrics"].append((result, rss(p.pid)))
    for _ in range(3):
        result = wrk(f"http://127.0.0.1:{port}/webhooks/usageflow", SCRIPT.format(
            method="POST", body="'{\"id\":\"evt_load\",\"type\":\"invoice.paid\",\"data\":{\"invoiceId\":\"uf_inv_1\"}}'",
            headers='wrk.headers["X-UsageFlow-Signature"] = "' + "0" * 62 + 'ff"'), d)
        rounds["webhooks"].append((result, rss(p.pid)))
    time.sleep(15)   # the listener quiet for 10 s: memory handed back
    settled = rss(p.pid)
    # One scrape every 15 s for a minute, as a Prometheus with scrape_interval 15s.
    t0, start = cpu_ticks(p.pid), time.monotonic()
    for _ in range(4):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read()
        time.sleep(15)
    scraped_cpu = (cpu_ticks(p.pid) - t0) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - start) * 100
    scraped_rss = rss(p.pid)
    syncs = sum(1 for line in open(d + "/daemon.log") if "trigger=webhook" in line and "sync.started" in line)
    p.send_signal(signal.SIGTERM)
    p.wait()
    sim.stop()
    print(f"daemon RSS before the load: {before:.1f} MiB")
    for name, label in (("metrics", "/metrics"), ("webhooks", "/webhooks/usageflow with bad signatures")):
        for i, (result, after) in enumerate(rounds[name], 1):
            print(f"{label}, round {i}, {SECONDS} s, 2 threads, 32 connections: {result}; RSS after: {after:.1f} MiB")
    print(f"daemon RSS 15 s after the load: {settled:.1f} MiB; syncs started by the bad webhooks: {syncs}")
    print(f"scraped every 15 s for a minute: CPU {scraped_cpu:.3f} %, RSS {scraped_rss:.1f} MiB")
    flat = all(r[-1][1] <= r[0][1] + 1.0 for r in rounds.values())
    failed = sum(int(v) for r in rounds["metrics"] for k, v in r[0].items() if k != "p99_ms" and k != "requests")
    failed += sum(int(r[0][k]) for r in rounds["webhooks"] for k in ("connect", "read", "write", "timeout"))
    met = flat and syncs == 0 and failed == 0
    growth = ", ".join(f"{name} {r[0][1]:.1f} -> {r[-1][1]:.1f} MiB" for name, r in rounds.items())
    print(f"  target: RSS not growing under load (each load's last round within 1 MiB of its first), no failed "
          f"request but the 401s, no sync from a bad webhook: {'met' if met else 'NOT MET'} ({growth}; "
          f"{failed} failed, {syncs} syncs)")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

if __name__ == "__main__":
    main()
