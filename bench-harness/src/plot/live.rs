//! Figures of live runs (and simulated rows when there are no live ones):
//! latency CDF, fan-out sweep, delivery against loss and against crashes.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::record::Row;

use super::Draw;
use super::labels::{by_context, fanout_entries, labels_of, title_of};
use super::style::{Style, beside_legend, legend_panel, series, style};
use super::ticks::{LOG_LABELS, decade_floor, integer_tick, log_tick, plain_tick};

pub(super) fn draw_cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let root = t!(root.titled(&format!("Latency CDF ({})", title_of(rows)), ("sans-serif", 19)));
    let entries = fanout_entries(rows);
    let (plot, side) = beside_legend(&root, &labels_of(&entries));
    let points =
        |r: &Row| -> Vec<(f64, f64)> { r.latency_cdf.iter().map(|p| ((p[0] / 1e3).max(0.001), p[1])).collect() };
    let all: Vec<f64> = rows.iter().flat_map(|r| points(r)).map(|p| p.0).collect();
    let lo = decade_floor(all.iter().copied().fold(f64::INFINITY, f64::min).max(0.001) / 1.5);
    let hi = all.iter().copied().fold(0.0, f64::max).max(lo * 10.0) * 1.5;
    let mut chart = t!(ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0));
    t!(chart
        .configure_mesh()
        .x_desc("latency from multicast call to delivery (ms, log scale)")
        .y_desc("fraction of deliveries")
        .x_labels(LOG_LABELS)
        .x_label_formatter(&|v| log_tick(*v))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 14))
        .draw());
    for (r, (_, s)) in rows.iter().zip(&entries) {
        let pts = points(r);
        series(&mut chart, *s, &pts, true)?;
    }
    legend_panel(&side, "fan-out", &entries, true)
}

pub(super) fn draw_fanout<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let root = t!(root.titled(&format!("Fan-out sweep ({})", title_of(rows)), ("sans-serif", 19)));
    let groups = by_context(rows);
    let entries: Vec<(String, Style)> = groups
        .keys()
        .enumerate()
        .map(|(i, name)| (if name.is_empty() { "measured".to_string() } else { name.clone() }, style(i)))
        .collect();
    let labels: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let (plots, side) = beside_legend(&root, &labels);
    let (left, right) = plots.split_horizontally(plots.dim_in_pixel().0 / 2);
    let min_b = rows.iter().map(|r| r.fanout).min().unwrap_or(1);
    let max_b = rows.iter().map(|r| r.fanout).max().unwrap_or(1);
    let x_range = f64::from(min_b) - 0.5..f64::from(max_b) + 0.5;
    type Panel<'a, DB> = (&'a DrawingArea<DB, Shift>, &'a str, fn(&Row) -> f64);
    let panels: [Panel<'_, DB>; 2] = [
        (&left, "p99 latency (ms)", |r| r.latency_us.p99 as f64 / 1e3),
        (&right, "throughput (deliveries/s)", |r| r.deliveries_per_s),
    ];
    for (area, what, value) in panels {
        let top = rows.iter().map(|r| value(r)).fold(0.0, f64::max).max(1e-9) * 1.15;
        let mut chart = t!(ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.clone(), 0.0..top));
        t!(chart
            .configure_mesh()
            .x_desc("fan-out b")
            .y_desc(what)
            .label_style(("sans-serif", 14))
            // Twice as many candidate ticks as integers: plotters then steps by
            // 0.5 or 1, and only the whole numbers get a label.
            .x_labels((2 * (max_b - min_b + 2)) as usize)
            .x_label_formatter(&|v| integer_tick(*v))
            .y_label_formatter(&|v| plain_tick(*v))
            .draw());
        for ((_, group), (_, s)) in groups.iter().zip(&entries) {
            let pts: Vec<(f64, f64)> = group.iter().map(|r| (f64::from(r.fanout), value(r))).collect();
            series(&mut chart, *s, &pts, true)?;
        }
    }
    legend_panel(&side, "series", &entries, true)
}

pub(super) fn draw_ratio_vs<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[&Row],
    what: &str,
    x_of: fn(&Row) -> f64,
) -> Draw<()> {
    t!(root.fill(&WHITE));
    let root = t!(root.titled(&format!("Delivery ratio against {what} ({})", title_of(rows)), ("sans-serif", 19)));
    let mut groups: BTreeMap<(String, u32), Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows {
        let name = if r.is_sim() { format!("sim {}", r.mode) } else { format!("{} {}", r.transport, r.mode) };
        groups.entry((format!("{name} N={}", r.nodes), r.fanout)).or_default().push((x_of(r), r.delivery_ratio));
    }
    let entries: Vec<(String, Style)> =
        groups.keys().enumerate().map(|(i, (name, b))| (format!("{name} b={b}"), style(i))).collect();
    let labels: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    let (plot, side) = beside_legend(&root, &labels);
    let lo_ratio = rows.iter().map(|r| r.delivery_ratio).fold(1.0, f64::min);
    let y_lo = if lo_ratio > 0.9 { 0.9 } else { (lo_ratio - 0.05).max(0.0) };
    let x_hi = rows.iter().map(|r| x_of(r)).fold(0.0, f64::max).max(0.1) * 1.1;
    let mut chart = t!(ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.02..x_hi, y_lo..1.005));
    t!(chart
        .configure_mesh()
        .x_desc(what)
        .y_desc("delivery ratio")
        .x_label_formatter(&|v| plain_tick(*v))
        .y_label_formatter(&|v| plain_tick(*v))
        .label_style(("sans-serif", 14))
        .draw());
    for (mut pts, (_, s)) in groups.into_values().zip(&entries) {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        series(&mut chart, *s, &pts, true)?;
    }
    legend_panel(&side, "series", &entries, true)
}

pub(super) fn draw_vs_loss<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    draw_ratio_vs(root, rows, "loss probability", |r| r.loss)
}

pub(super) fn draw_vs_crash<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    draw_ratio_vs(root, rows, "crashed fraction", |r| r.crash)
}
