#!/usr/bin/env python3
"""Replica benchmarks on a throwaway PostgreSQL 15 cluster (initdb into a temp dir, removed after).

1. Propagation: an attribute written on replica A, polled on replica B until B's checks see it;
   p50/p99 over N writes (alternating set/delete so every write flips a decision).
2. A full Kandji sync of 10,000 devices (postern-kandji-sim --generate 10000) committed to
   PostgreSQL by `postern sync --once`: wall time of the whole sync, and of the commit alone
   (PostgreSQL's log_min_duration_statement timings of the commit's statements).

usage: bench/bench_replicas.py BUILD_DIR [N]
"""
import json, os, pwd, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

BIN = "/usr/lib/postgresql/15/bin/"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def as_pg(argv):
    return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv


def start_cluster(tmp):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    data = os.path.join(tmp, "data")
    subprocess.run(as_pg([BIN + "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]),
                   check=True, capture_output=True)
    opts = f"-c listen_addresses='' -c unix_socket_directories={tmp} -c log_min_duration_statement=0"
    subprocess.run(as_pg([BIN + "pg_ctl", "-D", data, "-w", "-l", os.path.join(tmp, "server.log"),
                          "-o", opts, "start"]), check=True, capture_output=True)
    return data, f"postgresql:///postgres?host={tmp}&user=postgres"


def serve(postern, url, extra=()):
    p = subprocess.Popen([postern, "serve", "--listen", "127.0.0.1:0", "--policy",
                          f"{ROOT}/samples/policy.hujson", "--tailnet", f"{ROOT}/samples/tailnet.json",
                          "--db", url, *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    return p, int(line.rsplit(":", 1)[1])


def call(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def decision(port):
    return call(port, "POST", "/v1/check", {"src": "carol-mbp", "dst": "db-1:5432"})["decision"]


def propagation(postern, url, n):
    a, pa = serve(postern, url)
    b, pb = serve(postern, url)
    path = "/v1/devices/carol-mbp/attributes/custom:tier"
    lat = []
    try:
        for i in range(n):
            want = "accept" if i % 2 == 0 else "deny"
            t0 = time.perf_counter()
            if want == "accept":
                call(pa, "POST", path, {"value": "gold"})
            else:
                call(pa, "DELETE", path)
            while decision(pb) != want:
                pass
            lat.append((time.perf_counter() - t0) * 1000)
    finally:
        a.terminate(); b.terminate(); a.wait(); b.wait()
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99) - 1], lat[-1]


def kandji_sync(build, postern, url, tmp):
    sim = subprocess.Popen([f"{build}/tools/postern-kandji-sim", "--listen", "127.0.0.1:0", "--token",
                            "bench-token", "--generate", "10000", "--page-size", "300"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(sim.stdout.readline().rsplit(":", 1)[1])
    tailnet = os.path.join(tmp, "tailnet-10k.json")
    # The simulator's serials C02SIM000001...; a tailnet whose devices carry them.
    base = json.load(open(f"{ROOT}/samples/tailnet.json"))
    devices = [{"id": f"{100000 + i}", "nodeId": f"nSIM{i:06d}", "name": f"sim-{i}.example-tailnet.ts.net",
                "hostname": f"sim-{i}", "user": base["devices"][0]["user"],
                "addresses": [f"100.{64 + i // 65536}.{(i // 256) % 256}.{i % 256}"],
                "tags": [], "os": "macOS", "clientVersion": "1.86.2-t1", "advertisedRoutes": [],
                "enabledRoutes": [], "isExternal": False,
                "postureIdentity": {"serialNumbers": [f"C02SIM{i:06d}"]},
                "attributes": {"node:os": "macos"}} for i in range(1, 10001)]
    json.dump({"users": base["users"], "devices": devices}, open(tailnet, "w"))
    env = dict(os.environ, BENCH_TOKEN="bench-token")
    subprocess.run([postern, "integrations", "add", "kandji", "--url", f"http://127.0.0.1:{port}",
                    "--token-env", "BENCH_TOKEN", "--db", url], check=True, env=env, capture_output=True)
    t0 = time.perf_counter()
    r = subprocess.run([postern, "sync", "--once", "--tailnet", tailnet, "--db", url], env=env,
                       capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1000
    sim.terminate(); sim.wait()
    return wall, r.returncode, (r.stdout + r.stderr).strip()[-400:]


def commit_ms(log):
    """Sum of statement durations PostgreSQL logged for the sync's commit transaction."""
    total, inside = 0.0, False
    for line in open(log, errors="replace"):
        if "FOR UPDATE" in line and "config_version" in line:
            inside, total = True, 0.0
        if inside and "duration:" in line:
            total += float(line.split("duration:")[1].split("ms")[0])
        if inside and "statement: COMMIT" in line:
            inside = False
    return total


def main():
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    postern = f"{build}/app/postern"
    tmp = tempfile.mkdtemp(prefix="postern-bench-pg-")
    data = None
    try:
        data, url = start_cluster(tmp)
        p50, p99, worst = propagation(postern, url, n)
        print(f"propagation A->B over {n} writes: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms")
        wall, rc, out = kandji_sync(build, postern, url, tmp)
        print(f"10,000-device Kandji sync (fetch+match+commit) exit {rc}: {wall:.0f} ms wall")
        print(f"  commit statements in PostgreSQL: {commit_ms(os.path.join(tmp, 'server.log')):.0f} ms")
        print("  " + out.replace("\n", "\n  "))
    finally:
        if data:
            subprocess.run(as_pg([BIN + "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
