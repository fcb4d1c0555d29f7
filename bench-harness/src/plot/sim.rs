//! Figures of the textbook rounds model: rounds to reach every node
//! against N with the theory curve, and the uninformed fraction by round.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::record::Row;
use crate::theory;

use super::labels::{fanout_entries, labels_of, values};
use super::style::{Style, beside_legend, legend_panel, series, style};
use super::ticks::{LOG_LABELS, decade_floor, integer_tick, log_tick, plain_tick};
use super::{Draw, key};

pub(super) fn mode_of(name: &str) -> gossip_core::Mode {
    match name {
        "push" => gossip_core::Mode::Push,
        "pull" => gossip_core::Mode::Pull,
        _ => gossip_core::Mode::PushPull,
    }
}

pub(super) fn draw_sim_rounds<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let seeds = values(rows, |r| r.seeds.unwrap_or(0).to_string());
    let root = t!(root.titled(
        &format!("Simulated rounds to reach every live node (markers, {seeds} seeds) and theory (thin dashed)"),
        ("sans-serif", 19)
    ));
    let mut groups: BTreeMap<(String, u32, i64, i64), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups.entry((r.mode.clone(), r.fanout, key(r.loss), key(r.crash))).or_default().push(r);
    }
    let faults = rows.iter().any(|r| r.loss != 0.0 || r.crash != 0.0);
    let entries: Vec<(String, Style)> = groups
        .iter()
        .enumerate()
        .map(|(i, ((mode, b, _, _), g))| {
            let mut name = format!("{mode} b={b}");
            if faults {
                name.push_str(&format!(" loss {} crash {}", g[0].loss, g[0].crash));
            }
            (name, style(i))
        })
        .collect();
    let labels: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let mut labels = labels;
    labels.push("simulated (theory dashed)".to_string());
    let (plot, side) = beside_legend(&root, &labels);
    let n_lo = rows.iter().map(|r| r.nodes).min().unwrap_or(10) as f64;
    let n_hi = rows.iter().map(|r| r.nodes).max().unwrap_or(100) as f64;
    let (x_lo, x_hi) = (decade_floor(n_lo / 1.5), (n_hi * 1.5).max(n_lo * 3.0));
    let top =
        rows.iter().flat_map(|r| [r.rounds_mean.unwrap_or(0.0), r.theory_rounds.unwrap_or(0.0)]).fold(1.0, f64::max)
            * 1.15;
    let mut chart = t!(ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..top));
    t!(chart
        .configure_mesh()
        .x_desc("nodes N (log scale)")
        .y_desc("rounds (mean)")
        .y_label_formatter(&|v| plain_tick(*v))
        .x_labels(LOG_LABELS)
        .x_label_formatter(&|v| log_tick(*v))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 14))
        .draw());
    for (((mode, b, _, _), mut group), (_, s)) in groups.into_iter().zip(&entries) {
        group.sort_by_key(|r| r.nodes);
        let pts: Vec<(f64, f64)> = group.iter().map(|r| (f64::from(r.nodes), r.rounds_mean.unwrap_or(0.0))).collect();
        series(&mut chart, *s, &pts, false)?;
        let (p, f) = (group[0].loss, group[0].crash);
        let curve: Vec<(f64, f64)> = (0..=60)
            .map(|k| x_lo * (x_hi / x_lo).powf(f64::from(k) / 60.0))
            .map(|n| (n, theory::rounds(mode_of(&mode), n.round().max(2.0) as u32, b, p, f)))
            .collect();
        t!(chart.draw_series(DashedLineSeries::new(curve, 6, 4, s.color.stroke_width(1))));
    }
    legend_panel(&side, "simulated (theory dashed)", &entries, false)
}

pub(super) fn draw_uninformed<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let n = rows.iter().map(|r| r.nodes).max().unwrap_or(0);
    let rows: Vec<&Row> = rows.iter().copied().filter(|r| r.nodes == n && r.uninformed_by_round.is_some()).collect();
    let root = t!(root.titled(
        &format!(
            "Fraction of live nodes not yet reached, simulator, N={n}, {} (mean over seeds)",
            values(&rows, |r| r.mode.clone())
        ),
        ("sans-serif", 19)
    ));
    let entries = fanout_entries(&rows);
    let (plot, side) = beside_legend(&root, &labels_of(&entries));
    let floor = 0.1 / f64::from(n.max(1)) / f64::from(rows.iter().filter_map(|r| r.seeds).max().unwrap_or(1));
    let longest = rows.iter().filter_map(|r| r.uninformed_by_round.as_ref()).map(Vec::len).max().unwrap_or(1);
    let mut chart = t!(ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..(longest as f64), (floor..1.0).log_scale()));
    t!(chart
        .configure_mesh()
        .x_desc("round since the multicast")
        .y_desc("fraction not yet reached (log scale)")
        .x_label_formatter(&|v| integer_tick(*v))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 14))
        .draw());
    for (r, (_, s)) in rows.iter().zip(&entries) {
        let pts: Vec<(f64, f64)> = r
            .uninformed_by_round
            .iter()
            .flatten()
            .enumerate()
            .take_while(|(_, u)| **u > 0.0)
            .map(|(k, u)| (k as f64, u.max(floor)))
            .collect();
        series(&mut chart, *s, &pts, true)?;
    }
    legend_panel(&side, "fan-out", &entries, true)
}
