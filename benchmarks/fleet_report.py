"""The table ``fleet.py`` prints from its results (the same dict it writes as JSON)."""

from __future__ import annotations

from typing import Any

SIDES = ("upstream", "downstream")


def _verbs(by_verb: dict[str, float]) -> str:
    return ", ".join(f"{verb} {value:g}" for verb, value in by_verb.items()) or "none"


def report(results: dict[str, Any]) -> None:
    n = results["parameters"]["syncers"]
    boot, rest = results["startup"], results["at_rest"]
    rollout, fan_in, poller = results["rollout"], results["status_fan_in"], results["poller"]
    rpm = rest["requests_per_minute_per_syncer"]
    watches = rest["open_watches_per_syncer"]
    cpu = boot["cpu_seconds"]
    apiservers = {side: cpu.get(f"{side} kube-apiserver", 0.0) for side in SIDES}
    nominal = poller["requests_per_minute_per_edge_at_15s"]
    ratio = nominal["upstream"] / max(0.01, rpm["upstream"]["total"])
    rows = [
        (
            "syncers (edges)",
            str(n),
            "selector: " + ("yes" if results["syncer_config_selector"] else "NO"),
        ),
        (
            "start-up: every edge has every object (s)",
            f"{boot['seconds_until_every_edge_has_everything']:.1f}",
            f"per edge p50 {boot['per_edge_seconds']['p50_ms'] / 1000:.1f} s, "
            f"max {boot['per_edge_seconds']['max_ms'] / 1000:.1f} s",
        ),
        ("  upstream requests", _verbs(boot["requests"]["upstream"]["by_verb"]), ""),
        (
            "  CPU s: API servers up / down, syncers",
            f"{apiservers['upstream']:.1f} / {apiservers['downstream']:.1f}, "
            f"{cpu['syncers (all)']:.1f}",
            "",
        ),
        (
            "at rest: upstream requests/min per syncer",
            f"{rpm['upstream']['total']:.1f}",
            f"target <= 10; {_verbs(rpm['upstream']['by_verb'])}; "
            f"busiest syncer {rpm['upstream']['busiest_syncer']:g}",
        ),
        (
            "at rest: downstream requests/min per syncer",
            f"{rpm['downstream']['total']:.1f}",
            _verbs(rpm["downstream"]["by_verb"]),
        ),
        (
            "open watches per syncer, up / down",
            f"{watches['upstream']['mean']:g} / {watches['downstream']['mean']:g}",
            f"target up <= 8; busiest syncer {watches['upstream']['busiest_syncer']} / "
            f"{watches['downstream']['busiest_syncer']}",
        ),
        (
            "syncer CPU at rest (cores) mean / max",
            f"{rest['syncer_cpu_cores']['mean']:.4f} / {rest['syncer_cpu_cores']['max']:.4f}",
            f"over {rest['window_seconds']:g} s",
        ),
        (
            "syncer RSS (MB) mean / max",
            f"{rest['syncer_rss_mb']['mean']:.0f} / {rest['syncer_rss_mb']['max']:.0f}",
            "API servers' growth per syncer, up / down: "
            f"{rest['apiserver_rss_mb_growth_per_syncer']['upstream']:g} / "
            f"{rest['apiserver_rss_mb_growth_per_syncer']['downstream']:g} MB",
        ),
        (
            "TCP connections per syncer, up / down",
            f"{rest['tcp_connections_per_syncer']['upstream']['mean']:g} / "
            f"{rest['tcp_connections_per_syncer']['downstream']['mean']:g}",
            "one per open watch (HTTP/1.1) plus the request pool",
        ),
        (
            "rollout p50 / p99 / max (ms)",
            f"{rollout['per_edge']['p50_ms']:.0f} / {rollout['per_edge']['p99_ms']:.0f} / "
            f"{rollout['per_edge']['max_ms']:.0f}",
            f"target p99 <= 2000 at N = 50; "
            f"last edge after {rollout['seconds_until_every_edge']:.2f} s",
        ),
        (
            "  upstream requests until the last edge",
            _verbs(rollout["requests_until_every_edge"]["upstream"]["by_verb"]),
            "until quiet: " + _verbs(rollout["requests_until_quiet"]["upstream"]["by_verb"]),
        ),
        (
            "status fan-in: all back upstream (ms)",
            f"{1000 * fan_in['seconds_until_every_edge']:.0f}",
            f"target <= 2000 at N = 50; per edge p50 {fan_in['per_edge']['p50_ms']:.0f}, "
            f"max {fan_in['per_edge']['max_ms']:.0f}",
        ),
        (
            "  upstream writes",
            f"{fan_in['upstream_writes']:g}",
            "until quiet; until the last edge: "
            + _verbs(fan_in["requests_until_every_edge"]["upstream"]["by_verb"]),
        ),
        (
            "0.14-style poller: upstream requests/min per edge",
            f"{nominal['upstream']:.1f}",
            f"{ratio:.1f}x syncpipe's; per tick: "
            + _verbs(poller["requests_per_tick_per_edge"]["upstream"]["by_verb"]),
        ),
        (
            "  downstream requests/min per edge",
            f"{nominal['downstream']:.1f}",
            f"writes {poller['writes']}; measured "
            f"{poller['requests_per_minute_per_edge']['upstream']['total']:g} / "
            f"{poller['requests_per_minute_per_edge']['downstream']['total']:g} "
            f"with {poller['late_ticks']} late ticks",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>{value_width}}  {note}")
    print(f"\nwhole run: {results['total_seconds']:.0f} s")
