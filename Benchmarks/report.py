"""Renders Benchmarks/run's JSON lines as a table, with each sync's rate as a ratio of the
download-and-parse baseline measured in the same run."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
baseline = {r["label"]: r for r in rows if r["mode"] == "download"}
print(f"{'jobs':>9}  {'scenario':<22} {'records':>9} {'seconds':>8} {'records/s':>10} {'vs baseline':>11} {'peak RSS MB':>11}")
for r in rows:
    scenario = r["mode"] if r["mode"] == "download" else f"{r['store']} {r['mode']}"
    base = baseline.get(r["label"])
    ratio = ""
    if base and r["mode"] == "full":
        ratio = f"{r['records_per_second'] / base['records_per_second']:.2f}x"
    print(f"{int(r['label']):>9}  {scenario:<22} {r['records']:>9} {float(r['seconds']):>8.3f} "
          f"{r['records_per_second']:>10} {ratio:>11} {float(r['peak_rss_mb']):>11.1f}")
