//! Figures comparing gossip with the baselines: four metrics per scenario
//! and the histogram of messages by fraction of members reached.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::record::Row;

use super::Draw;
use super::labels::values;
use super::style::{Style, beside_legend, color, legend_panel, series, style};
use super::ticks::{LOG_LABELS, decade_floor, log_tick};

/// Scenario names of compared rows, in order of first appearance.
pub(super) fn scenarios(rows: &[&Row]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let name = crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false));
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

pub(super) fn protocols(rows: &[&Row]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.protocol) {
            out.push(r.protocol.clone());
        }
    }
    out
}

pub(super) type Metric = (&'static str, fn(&Row) -> Option<f64>, bool);

/// Four panels against the scenario (categories, so points side by side,
/// never joined by lines): delivery ratio, time to last delivery, packets
/// per member, the origin's packets; one marker per protocol.
pub(super) fn draw_compare<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let n = rows.first().map_or(0, |r| r.nodes);
    let seeds = values(rows, |r| r.seeds.unwrap_or(0).to_string());
    let root = t!(root.titled(
        &format!("Gossip against the classics, simulator, N={n}, 1-5 ms links, {seeds} seeds per cell"),
        ("sans-serif", 21)
    ));
    let names = scenarios(rows);
    let protos = protocols(rows);
    let entries: Vec<(String, Style)> = protos.iter().enumerate().map(|(i, p)| (p.clone(), style(i))).collect();
    let (plots, side) = beside_legend(&root, &protos);
    let metrics: [Metric; 4] = [
        ("delivery ratio", |r| Some(r.delivery_ratio), false),
        ("time to last delivery (ms, log)", |r| r.last_delivery_ms, true),
        ("packets per member per message (log)", |r| r.packets_per_member, true),
        ("origin's packets per message (log)", |r| r.sender_packets, true),
    ];
    // Each protocol's point sits at its own offset inside the scenario's slot.
    let width = 0.6;
    let offset = |i: usize| -width / 2.0 + width * (i as f64 + 0.5) / protos.len().max(1) as f64;
    let name_of = |v: &f64| -> String {
        let i = v.round();
        if (v - i).abs() < 0.01 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let areas = plots.split_evenly((2, 2));
    for (area, (what, value, log)) in areas.iter().zip(metrics) {
        let x_range = -0.5..(names.len() as f64 - 0.5);
        let pts = |p: &str, i: usize| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.protocol == p)
                .filter_map(|r| {
                    let s = crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false));
                    let x = names.iter().position(|n| *n == s)? as f64 + offset(i);
                    Some((x, value(r)?))
                })
                .filter(|(_, y)| !log || *y > 0.0)
                .collect()
        };
        if log {
            let values: Vec<f64> = rows.iter().filter_map(|r| value(r)).filter(|v| *v > 0.0).collect();
            let hi = values.iter().copied().fold(0.0, f64::max).max(1e-3);
            let lo = values.iter().copied().fold(f64::INFINITY, f64::min).min(hi);
            let mut chart = t!(ChartBuilder::on(area)
                .margin(12)
                .caption(what, ("sans-serif", 17))
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x_range, (decade_floor((lo / 1.5).max(1e-3))..hi * 1.5).log_scale()));
            t!(chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(names.len() * 2 + 1)
                .x_label_formatter(&name_of)
                .y_labels(LOG_LABELS)
                .y_label_formatter(&|v| log_tick(*v))
                .light_line_style(WHITE)
                .label_style(("sans-serif", 13))
                .draw());
            for (i, (p, (_, s))) in protos.iter().zip(&entries).enumerate() {
                series(&mut chart, *s, &pts(p, i), false)?;
            }
        } else {
            let mut chart = t!(ChartBuilder::on(area)
                .margin(12)
                .caption(what, ("sans-serif", 17))
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x_range, 0.0..1.05));
            t!(chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(names.len() * 2 + 1)
                .x_label_formatter(&name_of)
                .label_style(("sans-serif", 13))
                .draw());
            for (i, (p, (_, s))) in protos.iter().zip(&entries).enumerate() {
                // Bars from 0 to the ratio, one per protocol in the slot.
                let bar = width / protos.len().max(1) as f64 * 0.8;
                let c = s.color;
                let points = pts(p, i);
                t!(chart.draw_series(
                    points.iter().map(|&(x, y)| Rectangle::new(
                        [(x - bar / 2.0, 0.0), (x + bar / 2.0, y)],
                        c.mix(0.45).filled()
                    ))
                ));
                series(&mut chart, *s, &points, false)?;
            }
        }
    }
    legend_panel(&side, "protocol", &entries, false)
}

/// The bimodal-multicast histogram: per scenario (rows) and protocol
/// (columns), the share of messages by the fraction of live members that
/// delivered them.
pub(super) fn draw_fractions<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let n = rows.first().map_or(0, |r| r.nodes);
    let seeds = values(rows, |r| r.seeds.unwrap_or(0).to_string());
    let root = root
        .titled(
            &format!(
                "Messages by fraction of live members reached, simulator, N={n}, {seeds} seeds (x: 0-100%, last bar = all; y: share of messages)"
            ),
            ("sans-serif", 20),
        )
        .map_err(|e| e.to_string())?;
    let names = scenarios(rows);
    let protos = protocols(rows);
    let areas = root.split_evenly((names.len().max(1), protos.len().max(1)));
    for (si, scenario) in names.iter().enumerate() {
        for (pi, p) in protos.iter().enumerate() {
            let area = &areas[si * protos.len() + pi];
            let Some(r) = rows.iter().find(|r| {
                r.protocol == *p
                    && crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false)) == *scenario
            }) else {
                continue;
            };
            let hist = r.delivered_fraction_hist.clone().unwrap_or_default();
            let total = hist.iter().sum::<u64>().max(1) as f64;
            let mut chart = t!(ChartBuilder::on(area)
                .margin(6)
                .caption(format!("{p}: {scenario}"), ("sans-serif", 13))
                .x_label_area_size(14)
                .y_label_area_size(28)
                .build_cartesian_2d(0.0..(hist.len().max(1) as f64), 0.0..1.0));
            t!(chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(3)
                .y_labels(3)
                .x_label_formatter(&|v| format!("{:.0}%", v * 10.0))
                .label_style(("sans-serif", 10))
                .draw());
            let c = color(pi);
            t!(chart.draw_series(hist.iter().enumerate().map(|(b, &count)| {
                Rectangle::new([(b as f64 + 0.1, 0.0), (b as f64 + 0.9, count as f64 / total)], c.filled())
            })));
        }
    }
    Ok(())
}
