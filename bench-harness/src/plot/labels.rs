//! Titles and legend labels that name what was run and what sets each
//! series apart.

use std::collections::{BTreeMap, BTreeSet};

use super::style::{Style, style};
use crate::record::Row;

/// What distinguishes rows that differ in more than fan-out.
pub(super) fn context(rows: &[&Row]) -> impl Fn(&Row) -> String {
    let varies = |f: fn(&Row) -> String| rows.iter().map(|r| f(r)).collect::<BTreeSet<_>>().len() > 1;
    let (transport, mode, nodes, loss, crash) = (
        varies(|r| r.transport.clone()),
        varies(|r| r.mode.clone()),
        varies(|r| r.nodes.to_string()),
        varies(|r| r.loss.to_string()),
        varies(|r| r.crash.to_string()),
    );
    move |r: &Row| {
        let mut parts = Vec::new();
        if transport {
            parts.push(r.transport.clone());
        }
        if mode {
            parts.push(r.mode.clone());
        }
        if nodes {
            parts.push(format!("N={}", r.nodes));
        }
        if loss {
            parts.push(format!("loss {}", r.loss));
        }
        if crash {
            parts.push(format!("crash {}", r.crash));
        }
        parts.join(" ")
    }
}

/// Every value of `f` among `rows`, joined with `/`, in first-seen order.
pub(super) fn values(rows: &[&Row], f: impl Fn(&Row) -> String) -> String {
    let mut seen: Vec<String> = Vec::new();
    for r in rows {
        let v = f(r);
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join("/")
}

/// What was run: transports, N, modes, period and payload of `rows` (every
/// value that occurs, not only the first row's).
pub(super) fn title_of(rows: &[&Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let transport = values(rows, |r| if r.is_sim() { "simulator".to_string() } else { r.transport.clone() });
    format!(
        "{transport}, N={}, {}, period {} ms, {} B payloads",
        values(rows, |r| r.nodes.to_string()),
        values(rows, |r| r.mode.clone()),
        values(rows, |r| r.period_ms.to_string()),
        values(rows, |r| r.payload_bytes.to_string()),
    )
}

/// One legend entry per row: its fan-out and whatever else sets it apart.
pub(super) fn fanout_entries(rows: &[&Row]) -> Vec<(String, Style)> {
    let label = context(rows);
    rows.iter()
        .enumerate()
        .map(|(i, r)| (format!("b={} {}", r.fanout, label(r)).trim().to_string(), style(i)))
        .collect()
}

pub(super) fn labels_of(entries: &[(String, Style)]) -> Vec<String> {
    entries.iter().map(|e| e.0.clone()).collect()
}

/// Rows grouped by everything but fan-out, each group sorted by fan-out.
pub(super) fn by_context<'a>(rows: &[&'a Row]) -> BTreeMap<String, Vec<&'a Row>> {
    let label = context(rows);
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups.entry(label(r)).or_default().push(r);
    }
    for g in groups.values_mut() {
        g.sort_by_key(|r| r.fanout);
    }
    groups
}
