"""Renders Benchmarks/run's JSON lines as a table. Each full sync's rate is shown as a ratio of
the baselines measured in the same run: download-and-parse, and (PostgreSQL) `psql \\copy` of
the same rows into the same table."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def base(mode, label):
    return next((r for r in rows if r["mode"] == mode and r["label"] == label), None)
print(f"{'jobs':>9}  {'scenario':<24} {'records':>9} {'seconds':>8} {'records/s':>10} {'vs download':>11} "
      f"{'vs copy':>8} {'peak RSS MB':>11}")
for r in rows:
    mode = r["mode"]
    scenario = {"raw": "raw download (no parse)", "download": "download + parse", "copy": "psql \\copy"}.get(
        mode, f"{r.get('store', '')} {mode}")
    vs_download = vs_copy = ""
    if mode == "raw_bytes":
        print(f"{int(r['label']):>9}  {r['store'] + ' kept raw payloads':<24} {r['records']:>9} "
              f"{r['bytes_per_record']:>8} bytes/record (compressed)")
        continue
    if mode == "full-keep_raw-off":
        on = next((x for x in rows if x["mode"] == "full" and x["label"] == r["label"] and x.get("store") == r.get("store")), None)
        scenario = f"{r.get('store', '')} full, keep_raw off"
        cost = f" (keep_raw on = {on['records_per_second'] / r['records_per_second']:.2f}x of off)" if on else ""
        print(f"{int(r['label']):>9}  {scenario:<24} {r['records']:>9} {float(r['seconds']):>8.3f} "
              f"{r['records_per_second']:>10}{cost}")
        continue
    if mode == "full":
        d = base("download", r["label"])
        if d: vs_download = f"{r['records_per_second'] / d['records_per_second']:.2f}x"
        c = base("copy", r["label"])
        if c and r.get("store") == "postgres": vs_copy = f"{r['records_per_second'] / c['records_per_second']:.2f}x"
    rss = f"{float(r['peak_rss_mb']):.1f}" if float(r.get("peak_rss_mb", 0)) > 0 else ""
    print(f"{int(r['label']):>9}  {scenario:<24} {r['records']:>9} {float(r['seconds']):>8.3f} "
          f"{r['records_per_second']:>10} {vs_download:>11} {vs_copy:>8} {rss:>11}")
