"""Renders Benchmarks/run's JSON lines as a table. Each full sync's rate is shown as a ratio of
the baselines measured in the same run: download-and-parse, and (PostgreSQL) `psql \\copy` of
the same rows into the same table. A scenario measured several times (REPEAT) shows its median
rate, the ratio of medians, and the range of the passes."""
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = {}
for r in rows:
    groups.setdefault((r["label"], r["mode"], r.get("store", "")), []).append(r)

def median(rs, key):
    return statistics.median(float(r.get(key, 0)) for r in rs)

def rate(mode, label, store=""):
    g = groups.get((label, mode, store))
    return median(g, "records_per_second") if g else None

def spread(g):
    if len(g) < 2: return ""
    rates = sorted(int(r["records_per_second"]) for r in g)
    return f"  n={len(g)}, {rates[0]}-{rates[-1]}"

print(f"{'jobs':>9}  {'scenario':<24} {'records':>9} {'seconds':>8} {'records/s':>10} {'vs download':>11} "
      f"{'vs copy':>8} {'peak RSS MB':>11}")
for (label, mode, store), g in groups.items():
    r = g[0]
    scenario = {"raw": "raw download (no parse)", "download": "download + parse", "copy": "psql \\copy"}.get(
        mode, f"{store} {mode}")
    vs_download = vs_copy = ""
    if mode == "raw_bytes":
        print(f"{int(label):>9}  {store + ' kept raw payloads':<24} {r['records']:>9} "
              f"{median(g, 'bytes_per_record'):>8.1f} bytes/record (compressed)")
        continue
    per_second = median(g, "records_per_second")
    seconds = median(g, "seconds")
    if mode == "full-keep_raw-off":
        on = rate("full", label, store)
        cost = f" (keep_raw on = {on / per_second:.2f}x of off)" if on else ""
        print(f"{int(label):>9}  {store + ' full, keep_raw off':<24} {r['records']:>9} {seconds:>8.3f} "
              f"{int(per_second):>10}{cost}{spread(g)}")
        continue
    if mode == "full":
        d = rate("download", label)
        if d: vs_download = f"{per_second / d:.2f}x"
        c = rate("copy", label, "postgres")
        if c and store == "postgres": vs_copy = f"{per_second / c:.2f}x"
    peak = max(float(x.get("peak_rss_mb", 0)) for x in g)
    rss = f"{peak:.1f}" if peak > 0 else ""
    print(f"{int(label):>9}  {scenario:<24} {r['records']:>9} {seconds:>8.3f} "
          f"{int(per_second):>10} {vs_download:>11} {vs_copy:>8} {rss:>11}{spread(g)}")
