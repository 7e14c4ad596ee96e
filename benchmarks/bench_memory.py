"""How close is :func:`dtaosim.model.estimate_memory` to what a run really takes?

Standalone script::

    .venv/bin/python benchmarks/bench_memory.py          # every case below, one fresh process each

Each case runs in a fresh process: a small warm-up run of the same kind first (imports, compiled kernels
loaded), then the peak resident memory is reset (``/proc/self/clear_refs``, Linux) and the run is made and
written to a temporary folder (``dtaosim.run(config, out=...)``).  "measured" is the peak resident memory
(``VmHWM``) less the resident memory before the run; "estimate" is ``estimate_memory(config).total``.  The
estimate should be at least the measured figure (ratio >= 1) without being far above it.  Events are off in
the cases that size another part (``record.events = false``): the estimate does not count them, and the last
case shows what they take.
"""

from __future__ import annotations

import json
import subprocess
import sys

CASES = {
    "recorded series: 128 subnets, 4,000 ticks": {
        "consensus": {"mode": "stake_pro_rata"}, "network": {"n_subnets": 128},
        "horizon": {"days": 20, "blocks_per_tick": 36}, "record": {"events": False}},
    "recorded series: 8 subnets, 40,000 ticks": {
        "consensus": {"mode": "stake_pro_rata"}, "network": {"n_subnets": 8},
        "horizon": {"days": 200, "blocks_per_tick": 36}, "record": {"events": False}},
    "accounts: 200,000 passive x 65 netuids": {
        "consensus": {"mode": "stake_pro_rata"},
        "network": {"n_subnets": 64, "external_tao": 9_000_000.0, "root_stake": 10_000.0},
        "horizon": {"blocks": 1800}, "agents": [{"strategy": "passive", "count": 200_000, "budget": 10.0}],
        "record": {"events": False}},
    "accounts: 100,000 momentum + 100,000 arbitrageur x 65 netuids": {
        "consensus": {"mode": "stake_pro_rata"},
        "network": {"n_subnets": 64, "external_tao": 9_000_000.0, "root_stake": 10_000.0},
        "horizon": {"blocks": 1800}, "agents": [{"strategy": "momentum", "count": 100_000, "budget": 10.0},
                                                {"strategy": "arbitrageur", "count": 100_000, "budget": 10.0}],
        "record": {"events": False}},
    "neurons: 129 netuids x 256 uids (yuma)": {
        "network": {"n_subnets": 128}, "horizon": {"blocks": 2160},
        "validators": [{"strategy": "honest", "count": 64}], "consensus": {"miners_per_subnet": 191},
        "record": {"events": False}},
    "neurons: 65 netuids x 256 uids, miners and validator market": {
        "network": {"n_subnets": 64}, "horizon": {"blocks": 2160},
        "validators": [{"strategy": "honest", "count": 32}, {"strategy": "copier", "count": 32}],
        "consensus": {"miners_per_subnet": 191}, "miners": {"enabled": True}, "validator_market": {"enabled": True},
        "record": {"events": False}},
    "agents deciding one by one: 100,000 fundamental": {
        "consensus": {"mode": "stake_pro_rata"},
        "network": {"n_subnets": 8, "external_tao": 9_000_000.0, "root_stake": 10_000.0},
        "horizon": {"blocks": 1080}, "agents": [{"strategy": "fundamental", "count": 100_000, "budget": 10.0}],
        "fundamentals": {"enabled": True}, "record": {"events": False}},
    "not counted, events: 200,000 agents trading, events on": {
        "consensus": {"mode": "stake_pro_rata"},
        "network": {"n_subnets": 8, "external_tao": 9_000_000.0, "root_stake": 10_000.0},
        "horizon": {"blocks": 1080},
        "agents": [{"strategy": "passive", "count": 100_000, "budget": 10.0},
                   {"strategy": "momentum", "count": 100_000, "budget": 10.0, "params": {"threshold": 0.0}}],
        "record": {"events": True}},
}

_CHILD = r'''
import gc, json, sys, tempfile
import dtaosim
from dtaosim.config import parse_config
from dtaosim.model import estimate_memory

def rss(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024

data = json.loads(sys.argv[1])
small = json.loads(sys.argv[1])
small["horizon"] = {"blocks": 720, "blocks_per_tick": 360}
small["agents"] = [dict(g, count=min(g.get("count", 1), 3)) for g in small.get("agents", [])]
small.setdefault("network", {})["n_subnets"] = 3
with tempfile.TemporaryDirectory() as d:
    dtaosim.run(small, out=d)
gc.collect()
base = rss("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
with tempfile.TemporaryDirectory() as d:
    dtaosim.run(data, out=d)
peak = rss("VmHWM:")
print(json.dumps({"measured": peak - base, "estimate": estimate_memory(parse_config(data)).total}))
'''


def main() -> int:
    print("| case | measured (MiB) | estimate (MiB) | estimate / measured |")
    print("|---|---|---|---|")
    for name, cfg in CASES.items():
        out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(cfg)], capture_output=True, text=True,
                             check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {name} | {r['measured'] / 2**20:,.0f} | {r['estimate'] / 2**20:,.0f} | "
              f"{r['estimate'] / r['measured']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
