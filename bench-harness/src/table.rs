//! Plain-text tables of result rows, as printed on stdout.

use std::fmt::Write as _;

use crate::record::Row;

fn ms(us: u64) -> String {
    let v = us as f64 / 1e3;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn render(header: &[&str], lines: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let row = |out: &mut String, cells: Vec<String>| {
        let mut text = String::from("|");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(text, " {cell:>w$} |");
        }
        out.push_str(&text);
        out.push('\n');
    };
    row(&mut out, header.iter().map(|h| h.to_string()).collect());
    let mut sep = String::from("|");
    for w in &widths {
        let _ = write!(sep, "{}:|", "-".repeat(w + 1));
    }
    out.push_str(&sep);
    out.push('\n');
    for line in lines {
        row(&mut out, line.clone());
    }
    out
}

/// The table of live rows (a Markdown table): fan-out × throughput,
/// latency percentiles, delivery ratio, packets, bytes and duplicate
/// receptions per delivery, CPU per delivery, time from the first multicast
/// to the last delivery, cluster formation time, and, on UDP, the raw
/// datagram rate of the same socket setup.
pub fn live(rows: &[&Row]) -> String {
    let raw = rows.iter().any(|r| r.raw_datagrams_per_s.is_some());
    let faults = rows.iter().any(|r| r.loss != 0.0 || r.crash != 0.0);
    let several = rows.iter().any(|r| r.transport != rows[0].transport || r.mode != rows[0].mode);
    let protocols = rows.iter().any(|r| r.protocol != rows[0].protocol) || rows[0].protocol != "gossip";
    let mut header = vec![];
    if protocols {
        header.push("protocol");
    }
    if several {
        header.extend(["transport", "mode"]);
    }
    header.push(if protocols { "fan-out / k" } else { "fan-out" });
    if faults {
        header.extend(["loss", "crash"]);
    }
    if raw {
        header.push("raw datagrams/s");
    }
    header.extend([
        "deliveries/s",
        "per node/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "delivery ratio",
        "packets/delivery",
        "bytes/delivery",
        "dups/delivery",
        "CPU µs/delivery",
        "last delivery s",
        "formed s",
    ]);
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![];
            if protocols {
                cells.push(r.protocol.clone());
            }
            if several {
                cells.extend([r.transport.clone(), r.mode.clone()]);
            }
            cells.push(r.fanout.to_string());
            if faults {
                cells.extend([format!("{}", r.loss), format!("{}", r.crash)]);
            }
            if raw {
                cells.push(opt(r.raw_datagrams_per_s, 0));
            }
            cells.extend([
                format!("{:.0}", r.deliveries_per_s),
                opt(r.deliveries_per_node_s, 0),
                ms(r.latency_us.p50),
                ms(r.latency_us.p99),
                ms(r.latency_us.p999),
                ms(r.latency_us.max),
                format!("{:.4}", r.delivery_ratio),
                format!("{:.2}", r.packets_per_delivery),
                format!("{:.0}", r.bytes_per_delivery),
                format!("{:.2}", crate::record::ratio(r.duplicates as f64, r.deliveries as f64)),
                opt(r.cpu_us_per_delivery, 1),
                format!("{:.3}", r.duration_s),
                opt(r.convergence_s, 2),
            ]);
            cells
        })
        .collect();
    render(&header, &lines)
}

/// A one-line description of the live scenario of `rows`.
pub fn live_caption(rows: &[&Row]) -> String {
    let Some(r) = rows.first() else { return String::new() };
    let what = if rows.iter().all(|r| r.protocol == "gossip") {
        r.mode.clone()
    } else {
        let mut names: Vec<String> = Vec::new();
        for row in rows {
            let name = if row.protocol == "gossip" { format!("gossip {}", row.mode) } else { row.protocol.clone() };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join(", ")
    };
    let pace = match r.window {
        Some(window) => format!("as fast as a window of {window} undelivered allows"),
        None => format!("at {}/s", r.rate.unwrap_or(0.0)),
    };
    let scenario = r.scenario.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
    format!(
        "{scenario}{} transport, {} nodes, {}, period {} ms, {}-byte payloads, {} messages per fan-out ({} steady {pace} from {} senders, then a burst of {})",
        r.transport,
        r.nodes,
        what,
        r.period_ms,
        r.payload_bytes,
        r.messages,
        r.messages - r.burst.unwrap_or(0),
        r.senders.unwrap_or(0),
        r.burst.unwrap_or(0),
    )
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "-".into())
}

/// The table of simulated rows, theory beside each row.
pub fn sim(rows: &[&Row]) -> String {
    let header = [
        "N",
        "mode",
        "fan-out",
        "loss",
        "crash",
        "rounds mean",
        "rounds p99",
        "theory",
        "reference mean (p99)",
        "msgs/node",
        "reached",
    ];
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let reference = match (r.reference_rounds, r.reference_p99) {
                (Some(m), Some(p)) => format!("{m:.1} ({p:.0})"),
                (Some(m), None) => format!("{m:.1}"),
                _ => "-".into(),
            };
            vec![
                r.nodes.to_string(),
                r.mode.clone(),
                r.fanout.to_string(),
                format!("{}", r.loss),
                format!("{}", r.crash),
                opt(r.rounds_mean, 2),
                opt(r.rounds_p99, 0),
                opt(r.theory_rounds, 2),
                reference,
                opt(r.messages_per_node, 2),
                format!("{}/{}", r.completed.unwrap_or(0), r.seeds.unwrap_or(0)),
            ]
        })
        .collect();
    render(&header, &lines)
}

/// Per simulated row, the mean fraction not yet reached after each round.
pub fn uninformed(rows: &[&Row]) -> String {
    let mut out = String::new();
    for r in rows {
        let Some(u) = &r.uninformed_by_round else { continue };
        let cells: Vec<String> = u
            .iter()
            .map(|&f| {
                if f <= 0.0 {
                    "0".to_string()
                } else if f >= 0.01 {
                    format!("{f:.2}")
                } else {
                    format!("{f:.0e}")
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "N={} {} b={} loss {} crash {}: {}",
            r.nodes,
            r.mode,
            r.fanout,
            r.loss,
            r.crash,
            cells.join(" ")
        );
    }
    out
}

/// What the compare table's columns mean.
pub fn compare_caption() -> String {
    "simulator, discrete events: links 1-5 ms, loss and crashes (from the start, never the origin) as given, \
slow member = the origin's first tree child, every packet into it 200 ms late; each run multicasts 5 (--messages) \
messages 10 ms apart from one random origin.\n\
delivered: deliveries / (messages x live members other than the origin); all: messages that reached every live member; \
last ms: mean time to the last delivery of a message; pkts/member: packets of every kind (data, digests, NACKs, ACKs, \
repairs, sessions) per member per message; sender pkts: packets the origin sent per message"
        .to_string()
}

/// The compare table: one line per protocol and scenario.
pub fn compare(rows: &[&Row]) -> String {
    let header = ["N", "scenario", "protocol", "delivered", "all", "last ms", "p99 ms", "pkts/member", "sender pkts"];
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.nodes.to_string(),
                crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false)),
                r.protocol.clone(),
                format!("{:.4}", r.delivery_ratio),
                format!("{}/{}", r.completed.unwrap_or(0), r.messages),
                opt(r.last_delivery_ms, 1),
                ms(r.latency_us.p99),
                opt(r.packets_per_member, 2),
                opt(r.sender_packets, 0),
            ]
        })
        .collect();
    render(&header, &lines)
}

/// Per compared row, the share of messages in each delivered-fraction bin.
pub fn fractions(rows: &[&Row]) -> String {
    let mut header = vec!["N".to_string(), "scenario".to_string(), "protocol".to_string()];
    for b in 0..crate::compare::FRACTION_BINS - 1 {
        header.push(format!("{}-{}%", b * 10, b * 10 + 10));
    }
    header.push("100%".to_string());
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let hist = r.delivered_fraction_hist.clone().unwrap_or_default();
            let total: u64 = hist.iter().sum();
            let mut line = vec![
                r.nodes.to_string(),
                crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false)),
                r.protocol.clone(),
            ];
            line.extend(hist.iter().map(|&c| {
                if c == 0 { ".".to_string() } else { format!("{:.0}", 100.0 * c as f64 / total.max(1) as f64) }
            }));
            line
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    render(&header, &lines)
}
