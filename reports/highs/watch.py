"""``watch.py KILL_S CMD...``: run CMD, sample the RSS of its process tree every 0.2 s, kill it
past KILL_S seconds or 6 GB; print CMD's last JSON line with wall time, peak RSS, whether it
was killed and an RSS trace (seconds, MB) every 10 s."""

import json
import subprocess
import sys
import time

import psutil

kill_s = float(sys.argv[1])
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, text=True)
pp = psutil.Process(p.pid)
peak, killed, trace, nxt = 0, None, [], 0.0
while p.poll() is None:
    try:
        rss = sum(q.memory_info().rss for q in [pp, *pp.children(recursive=True)])
    except psutil.Error:
        rss = 0
    peak = max(peak, rss)
    el = time.perf_counter() - t0
    if el >= nxt:
        trace.append((round(el), round(rss / 1e6)))
        nxt += 10.0
    if el > kill_s:
        killed = f"wall > {kill_s:g} s"
    elif rss > 6e9:
        killed = "RSS > 6 GB"
    if killed:
        p.kill()
        break
    time.sleep(0.2)
out = p.communicate()[0].strip()
try:
    d = json.loads(out.splitlines()[-1]) if out else {}
except ValueError:
    d = {"output": out[-300:]}
d.update(
    process_wall_s=round(time.perf_counter() - t0, 2),
    peak_rss_mb=round(peak / 1e6),
    killed=killed,
    rss_trace_s_mb=trace,
)
print(json.dumps(d), flush=True)
