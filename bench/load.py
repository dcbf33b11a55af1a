#!/usr/bin/env python3
"""Load on billsync's HTTP listener: wrk for 30 s against /metrics, then 30 s against a webhook
route with bad signatures, against `billsync run` (release, static) syncing from billsync-sim.
Prints p99 latency, failed requests other than the expected answers, and the daemon's RSS
before, between and after. Usage: bench/load.py [seconds]"""
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
    metrics = wrk(f"http://127.0.0.1:{port}/metrics", SCRIPT.format(method="GET", body="nil", headers=""), d)
    between = rss(p.pid)
    bad = wrk(f"http://127.0.0.1:{port}/webhooks/usageflow", SCRIPT.format(
        method="POST", body="'{\"id\":\"evt_load\",\"type\":\"invoice.paid\",\"data\":{\"invoiceId\":\"uf_inv_1\"}}'",
        headers='wrk.headers["X-UsageFlow-Signature"] = "' + "0" * 62 + 'ff"'), d)
    after = rss(p.pid)
    time.sleep(5)
    settled = rss(p.pid)
    syncs = sum(1 for line in open(d + "/daemon.log") if "trigger=webhook" in line and "sync.started" in line)
    p.send_signal(signal.SIGTERM)
    p.wait()
    sim.stop()
    print(f"/metrics, {SECONDS} s, 2 threads, 32 connections: {metrics}")
    print(f"/webhooks/usageflow with bad signatures, {SECONDS} s: {bad}")
    print(f"daemon RSS: {before:.1f} MiB before, {between:.1f} after /metrics, {after:.1f} after the webhooks, "
          f"{settled:.1f} 5 s later; syncs started by the bad webhooks: {syncs}")


if __name__ == "__main__":
    main()
