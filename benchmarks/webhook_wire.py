"""Diagnostic: the webhook's side of each admission call, from packet times on loopback (no decryption needed).

The API server's histogram has buckets at 5 and 25 ms, so a call of 5.1 ms and one of 24 ms count alike. This reads a
capture of the webhook's port made during `make bench-webhook`:

    tcpdump -i lo -nn -tt -l 'tcp port <webhook port>' > wire.txt     # (as root, while the benchmark runs)
    .venv/bin/python -m benchmarks.webhook_wire wire.txt <webhook port>

and prints the distribution of the time from the first data packet of a request (API server -> webhook) to the first
data packet of its answer (webhook -> API server): aiohttp, kopf, the handler and TLS inside the webhook process, plus
the loopback. What the histogram shows beyond it is the API server's own part of the call.
"""

from __future__ import annotations

import re
import statistics
import sys

LINE = re.compile(r"^(\d+\.\d+) IP [\d.]+\.(\d+) > [\d.]+\.(\d+): .* length (\d+)")


def exchanges(lines: list[str], port: int) -> list[float]:
    """Milliseconds from each request's first data packet to its answer's first data packet, per connection."""
    waiting: dict[int, float] = {}  # client port -> time the current request began
    out: list[float] = []
    for line in lines:
        m = LINE.match(line)
        if m is None or int(m[4]) == 0:
            continue
        t, src, dst = float(m[1]), int(m[2]), int(m[3])
        if dst == port:
            waiting.setdefault(src, t)
        elif src == port and dst in waiting:
            out.append((t - waiting.pop(dst)) * 1000)
    return out


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        ms = exchanges(f.readlines(), port)
    if len(ms) < 100:
        raise SystemExit(f"{len(ms)} exchanges: too few to tell")
    cuts = statistics.quantiles(ms, n=1000)
    over = sum(x > 5 for x in ms) / len(ms)
    print(
        f"{len(ms)} exchanges: p50 {cuts[499]:.2f} ms, p90 {cuts[899]:.2f}, p99 {cuts[989]:.2f}, "
        f"p99.9 {cuts[998]:.2f}, max {max(ms):.2f}; over 5 ms: {over:.1%}"
    )


if __name__ == "__main__":
    main()
