//! Plots (plotters; every figure as SVG and PNG) of a set of result rows.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary and registered
//! at first use, so PNGs render on machines without any system font.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::HarnessError;
use crate::record::Row;
use crate::theory;

const SIZE: (u32, u32) = (900, 600);
const WIDE: (u32, u32) = (1400, 560);

fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled fonts are valid TrueType; a failure only loses text.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

type Draw<T> = Result<T, String>;

macro_rules! t {
    ($e:expr) => {
        $e.map_err(|e| e.to_string())?
    };
}

/// Renders every plot the rows have data for into `dir` (created if
/// missing) and returns the files written.
pub fn render_all(rows: &[Row], dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    fonts();
    std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e))?;
    let live: Vec<&Row> = rows.iter().filter(|r| !r.is_sim()).collect();
    let compared: Vec<&Row> = rows.iter().filter(|r| r.is_sim() && r.packets_per_member.is_some()).collect();
    let sim: Vec<&Row> = rows.iter().filter(|r| r.is_sim() && r.packets_per_member.is_none()).collect();
    let mut written = Vec::new();
    macro_rules! render {
        ($name:expr, $size:expr, $draw:ident, $rows:expr) => {{
            let name: &str = $name;
            let fail = |reason: String| HarnessError::Plot { name: name.to_string(), reason };
            let svg = dir.join(format!("{name}.svg"));
            {
                let root = SVGBackend::new(&svg, $size).into_drawing_area();
                $draw(&root, $rows).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            let png = dir.join(format!("{name}.png"));
            {
                let root = BitMapBackend::new(&png, $size).into_drawing_area();
                $draw(&root, $rows).map_err(fail)?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            written.push(svg);
            written.push(png);
        }};
    }
    if live.iter().any(|r| !r.latency_cdf.is_empty()) {
        render!("latency-cdf", SIZE, draw_cdf, &live);
        render!("fanout", WIDE, draw_fanout, &live);
    }
    let with_data = if live.is_empty() { &sim } else { &live };
    if !with_data.is_empty() {
        render!("delivery-vs-loss", SIZE, draw_vs_loss, with_data);
        render!("delivery-vs-crash", SIZE, draw_vs_crash, with_data);
    }
    if sim.iter().any(|r| r.rounds_mean.is_some()) {
        render!("sim-rounds", SIZE, draw_sim_rounds, &sim);
    }
    if sim.iter().any(|r| r.uninformed_by_round.as_ref().is_some_and(|u| !u.is_empty())) {
        render!("sim-uninformed", SIZE, draw_uninformed, &sim);
    }
    let sizes: std::collections::BTreeSet<u32> = compared.iter().map(|r| r.nodes).collect();
    for n in sizes {
        let rows_n: Vec<&Row> = compared.iter().copied().filter(|r| r.nodes == n).collect();
        render!(&format!("compare-n{n}"), (1400, 1000), draw_compare, &rows_n);
        render!(&format!("compare-fractions-n{n}"), (1400, 1000), draw_fractions, &rows_n);
    }
    Ok(written)
}

fn color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    COLORS[i % COLORS.len()]
}

/// What distinguishes rows that differ in more than fan-out.
fn context(rows: &[&Row]) -> impl Fn(&Row) -> String {
    let varies = |f: fn(&Row) -> String| rows.iter().map(|r| f(r)).collect::<std::collections::BTreeSet<_>>().len() > 1;
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

fn title_of(rows: &[&Row]) -> String {
    let Some(r) = rows.first() else { return String::new() };
    let transports: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.transport.as_str()).collect();
    format!(
        "{}, N={}, {}, period {} ms, {} B payloads",
        transports.into_iter().collect::<Vec<_>>().join("/"),
        r.nodes,
        r.mode,
        r.period_ms,
        r.payload_bytes
    )
}

fn legend<'a, DB: DrawingBackend + 'a, X: plotters::coord::ranged1d::Ranged, Y: plotters::coord::ranged1d::Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Draw<()> {
    t!(chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw());
    Ok(())
}

fn draw_cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let points =
        |r: &Row| -> Vec<(f64, f64)> { r.latency_cdf.iter().map(|p| ((p[0] / 1e3).max(0.001), p[1])).collect() };
    let all: Vec<f64> = rows.iter().flat_map(|r| points(r)).map(|p| p.0).collect();
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min).max(0.001) / 1.5;
    let hi = all.iter().copied().fold(0.0, f64::max).max(lo * 10.0) * 1.5;
    let mut chart = t!(ChartBuilder::on(root)
        .caption(format!("Latency CDF by fan-out ({})", title_of(rows)), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0));
    t!(chart
        .configure_mesh()
        .x_desc("latency from multicast call to delivery (ms, log scale)")
        .y_desc("fraction of deliveries")
        .x_label_formatter(&|v| format_ms(*v))
        .label_style(("sans-serif", 14))
        .draw());
    let label = context(rows);
    for (i, r) in rows.iter().enumerate() {
        let c = color(i);
        let extra = label(r);
        t!(chart.draw_series(LineSeries::new(points(r), c.stroke_width(2))))
            .label(format!("b={} {extra}", r.fanout).trim().to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

fn format_ms(v: f64) -> String {
    if v >= 1.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

/// Rows grouped by everything but fan-out, each group sorted by fan-out.
fn by_context<'a>(rows: &[&'a Row]) -> BTreeMap<String, Vec<&'a Row>> {
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

fn draw_fanout<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let root =
        root.titled(&format!("Fan-out sweep ({})", title_of(rows)), ("sans-serif", 20)).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let groups = by_context(rows);
    let max_b = rows.iter().map(|r| r.fanout).max().unwrap_or(1) as f64 + 0.5;
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
            .build_cartesian_2d(0.5..max_b, 0.0..top));
        t!(chart
            .configure_mesh()
            .x_desc("fan-out b")
            .y_desc(what)
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw());
        for (i, (name, group)) in groups.iter().enumerate() {
            let c = color(i);
            let pts: Vec<(f64, f64)> = group.iter().map(|r| (f64::from(r.fanout), value(r))).collect();
            let label = if name.is_empty() { what.to_string() } else { name.clone() };
            t!(chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))))
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
            t!(chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, c.filled()))));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

fn draw_ratio_vs<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    rows: &[&Row],
    what: &str,
    x_of: fn(&Row) -> f64,
) -> Draw<()> {
    t!(root.fill(&WHITE));
    let lo_ratio = rows.iter().map(|r| r.delivery_ratio).fold(1.0, f64::min);
    let y_lo = if lo_ratio > 0.9 { 0.9 } else { (lo_ratio - 0.05).max(0.0) };
    let x_hi = rows.iter().map(|r| x_of(r)).fold(0.0, f64::max).max(0.1) * 1.1;
    let mut chart = t!(ChartBuilder::on(root)
        .caption(format!("Delivery ratio against {what} ({})", title_of(rows)), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.02..x_hi, y_lo..1.005));
    t!(chart.configure_mesh().x_desc(what).y_desc("delivery ratio").label_style(("sans-serif", 14)).draw());
    let mut series: BTreeMap<(String, u32), Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows {
        series.entry((format!("{} {}", r.transport, r.mode), r.fanout)).or_default().push((x_of(r), r.delivery_ratio));
    }
    for (i, ((name, b), mut pts)) in series.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = color(i);
        t!(chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))))
            .label(format!("{name} b={b}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        t!(chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, c.filled()))));
    }
    legend(&mut chart, SeriesLabelPosition::LowerLeft)
}

fn draw_vs_loss<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    let rows: Vec<&Row> = rows.iter().copied().filter(|r| r.crash == 0.0).collect();
    draw_ratio_vs(root, &rows, "loss probability", |r| r.loss)
}

fn draw_vs_crash<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    let rows: Vec<&Row> = rows.iter().copied().filter(|r| r.loss == 0.0).collect();
    draw_ratio_vs(root, &rows, "crashed fraction", |r| r.crash)
}

fn mode_of(name: &str) -> gossip_core::Mode {
    match name {
        "push" => gossip_core::Mode::Push,
        "pull" => gossip_core::Mode::Pull,
        _ => gossip_core::Mode::PushPull,
    }
}

fn draw_sim_rounds<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let rows: Vec<&Row> = rows.iter().copied().filter(|r| r.rounds_mean.is_some()).collect();
    let n_lo = rows.iter().map(|r| r.nodes).min().unwrap_or(10) as f64;
    let n_hi = rows.iter().map(|r| r.nodes).max().unwrap_or(100) as f64;
    let (x_lo, x_hi) = (n_lo / 1.5, (n_hi * 1.5).max(n_lo * 3.0));
    let top =
        rows.iter().flat_map(|r| [r.rounds_mean.unwrap_or(0.0), r.theory_rounds.unwrap_or(0.0)]).fold(1.0, f64::max)
            * 1.15;
    let mut chart = t!(ChartBuilder::on(root)
        .caption("Simulated rounds to reach every live node (points) and theory (dashed)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), 0.0..top));
    t!(chart
        .configure_mesh()
        .x_desc("nodes N (log scale)")
        .y_desc("rounds (mean)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 14))
        .draw());
    let mut series: BTreeMap<(String, u32, String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        series.entry((r.mode.clone(), r.fanout, r.loss.to_string(), r.crash.to_string())).or_default().push(r);
    }
    let faults = rows.iter().any(|r| r.loss != 0.0 || r.crash != 0.0);
    for (i, ((mode, b, loss, crash), mut group)) in series.into_iter().enumerate() {
        group.sort_by_key(|r| r.nodes);
        let c = color(i);
        let pts: Vec<(f64, f64)> = group.iter().map(|r| (f64::from(r.nodes), r.rounds_mean.unwrap_or(0.0))).collect();
        let mut name = format!("{mode} b={b}");
        if faults {
            name.push_str(&format!(" loss {loss} crash {crash}"));
        }
        t!(chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2))))
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        t!(chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, c.filled()))));
        let (p, f) = (group[0].loss, group[0].crash);
        let curve: Vec<(f64, f64)> = (0..=60)
            .map(|k| x_lo * (x_hi / x_lo).powf(f64::from(k) / 60.0))
            .map(|n| (n, theory::rounds(mode_of(&mode), n.round().max(2.0) as u32, b, p, f)))
            .collect();
        t!(chart.draw_series(DashedLineSeries::new(curve, 6, 4, c.stroke_width(1))));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn draw_uninformed<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let n = rows.iter().map(|r| r.nodes).max().unwrap_or(0);
    let rows: Vec<&Row> = rows.iter().copied().filter(|r| r.nodes == n && r.uninformed_by_round.is_some()).collect();
    let floor = 0.1 / f64::from(n.max(1)) / f64::from(rows.iter().filter_map(|r| r.seeds).max().unwrap_or(1));
    let longest = rows.iter().filter_map(|r| r.uninformed_by_round.as_ref()).map(Vec::len).max().unwrap_or(1);
    let mut chart = t!(ChartBuilder::on(root)
        .caption(format!("Fraction of live nodes not yet reached, N={n} (mean over seeds)"), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..(longest as f64), (floor..1.0).log_scale()));
    t!(chart
        .configure_mesh()
        .x_desc("round since the multicast")
        .y_desc("fraction not yet reached (log scale)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 14))
        .draw());
    let label = context(&rows);
    for (i, r) in rows.iter().enumerate() {
        let c = color(i);
        let pts: Vec<(f64, f64)> = r
            .uninformed_by_round
            .iter()
            .flatten()
            .enumerate()
            .take_while(|(_, u)| **u > 0.0)
            .map(|(k, u)| (k as f64, u.max(floor)))
            .collect();
        let extra = label(r);
        t!(chart.draw_series(LineSeries::new(pts, c.stroke_width(2))))
            .label(format!("b={} {extra}", r.fanout).trim().to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Scenario names of compared rows, in order of first appearance.
fn scenarios(rows: &[&Row]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let name = crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false));
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn protocols(rows: &[&Row]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.protocol) {
            out.push(r.protocol.clone());
        }
    }
    out
}

type Metric = (&'static str, fn(&Row) -> Option<f64>, bool);

/// Four panels against the scenario: delivery ratio, time to last
/// delivery, packets per member, the origin's packets, one line per protocol.
fn draw_compare<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let n = rows.first().map_or(0, |r| r.nodes);
    let root = root
        .titled(&format!("Gossip against the classics, N={n} (simulator, 1-5 ms links)"), ("sans-serif", 22))
        .map_err(|e| e.to_string())?;
    let names = scenarios(rows);
    let protos = protocols(rows);
    let metrics: [Metric; 4] = [
        ("delivery ratio", |r| Some(r.delivery_ratio), false),
        ("time to last delivery (ms, log)", |r| r.last_delivery_ms, true),
        ("packets per member per message (log)", |r| r.packets_per_member, true),
        ("origin's packets per message (log)", |r| r.sender_packets, true),
    ];
    let areas = root.split_evenly((2, 2));
    for (area, (what, value, log)) in areas.iter().zip(metrics) {
        let x_range = -0.3..(names.len() as f64 - 0.7);
        let values: Vec<f64> = rows.iter().filter_map(|r| value(r)).filter(|v| *v > 0.0).collect();
        let hi = values.iter().copied().fold(0.0, f64::max).max(1e-3);
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min).min(hi);
        let name_of = |v: &f64| -> String {
            let i = v.round();
            if (v - i).abs() < 0.01 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let pts = |p: &str| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.protocol == p)
                .filter_map(|r| {
                    let s = crate::compare::scenario_name(r.loss, r.crash, r.slow_member.unwrap_or(false));
                    let x = names.iter().position(|n| *n == s)? as f64;
                    Some((x, value(r)?))
                })
                .collect()
        };
        if log {
            let mut chart = t!(ChartBuilder::on(area)
                .margin(12)
                .caption(what, ("sans-serif", 17))
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x_range, ((lo / 1.5).max(1e-3)..hi * 1.5).log_scale()));
            t!(chart
                .configure_mesh()
                .x_labels(names.len() * 2 + 1)
                .x_label_formatter(&name_of)
                .y_label_formatter(&|v| if *v >= 10.0 { format!("{v:.0}") } else { format!("{v:.2}") })
                .label_style(("sans-serif", 13))
                .draw());
            for (i, p) in protos.iter().enumerate() {
                let c = color(i);
                let points: Vec<(f64, f64)> = pts(p).into_iter().filter(|(_, y)| *y > 0.0).collect();
                t!(chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2))))
                    .label(p.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
                t!(chart.draw_series(points.into_iter().map(|q| Circle::new(q, 4, c.filled()))));
            }
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        } else {
            let mut chart = t!(ChartBuilder::on(area)
                .margin(12)
                .caption(what, ("sans-serif", 17))
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x_range, 0.0..1.05));
            t!(chart
                .configure_mesh()
                .x_labels(names.len() * 2 + 1)
                .x_label_formatter(&name_of)
                .label_style(("sans-serif", 13))
                .draw());
            for (i, p) in protos.iter().enumerate() {
                let c = color(i);
                let points = pts(p);
                t!(chart.draw_series(LineSeries::new(points.clone(), c.stroke_width(2))))
                    .label(p.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
                t!(chart.draw_series(points.into_iter().map(|q| Circle::new(q, 4, c.filled()))));
            }
            legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        }
    }
    Ok(())
}

/// The bimodal-multicast histogram: per scenario (rows) and protocol
/// (columns), the share of messages by the fraction of live members that
/// delivered them.
fn draw_fractions<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    t!(root.fill(&WHITE));
    let n = rows.first().map_or(0, |r| r.nodes);
    let root = root
        .titled(
            &format!(
                "Messages by fraction of live members reached, N={n} (x: 0-100%, last bar = all; y: share of messages)"
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
