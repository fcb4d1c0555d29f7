//! Plots (plotters; every figure as SVG and PNG) of a set of result rows.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary and registered
//! at first use, so PNGs render on machines without any system font. Every
//! series has its own colour, marker and line pattern, legends sit beside
//! the data, never on it, and a figure that would show a single point is
//! not drawn: [`Rendered::notes`] says so instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::HarnessError;
use crate::record::Row;
use crate::theory;

const SIZE: (u32, u32) = (1000, 600);
const WIDE: (u32, u32) = (1500, 560);
const PANELS: (u32, u32) = (1500, 1000);

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

/// What [`render_all`] wrote, and the figures it left out with the reason.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    /// Files written (SVG and PNG of each figure).
    pub files: Vec<PathBuf>,
    /// One line per figure not drawn ("delivery-vs-loss: one loss value (0); …").
    pub notes: Vec<String>,
}

fn distinct<T: Ord>(rows: &[&Row], f: impl Fn(&Row) -> T) -> BTreeSet<T> {
    rows.iter().map(|r| f(r)).collect()
}

/// `f64` keys that sort (`f64` is not `Ord`): values scaled to integers.
fn key(v: f64) -> i64 {
    (v * 1e6).round() as i64
}

/// Renders every plot the rows have data for into `dir` (created if
/// missing).
pub fn render_all(rows: &[Row], dir: &Path) -> Result<Rendered, HarnessError> {
    fonts();
    std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e))?;
    let live: Vec<&Row> = rows.iter().filter(|r| !r.is_sim()).collect();
    let compared: Vec<&Row> = rows.iter().filter(|r| r.is_sim() && r.packets_per_member.is_some()).collect();
    let sim: Vec<&Row> = rows.iter().filter(|r| r.is_sim() && r.packets_per_member.is_none()).collect();
    let mut out = Rendered::default();
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
            out.files.push(svg);
            out.files.push(png);
        }};
    }
    if live.iter().any(|r| !r.latency_cdf.is_empty()) {
        render!("latency-cdf", SIZE, draw_cdf, &live);
        let fanouts = distinct(&live, |r| r.fanout);
        if fanouts.len() > 1 {
            render!("fanout", WIDE, draw_fanout, &live);
        } else {
            out.notes.push(format!("fanout: not drawn, one fan-out value ({:?}); sweep --fanout to get it", fanouts));
        }
    }
    let with_data = if live.is_empty() { &sim } else { &live };
    // Delivery against one fault, over the rows without the other fault.
    macro_rules! against {
        ($name:literal, $draw:ident, $other:ident, $swept:ident, $flag:literal, $example:literal) => {{
            let rows: Vec<&Row> = with_data.iter().copied().filter(|r| r.$other == 0.0).collect();
            if distinct(&rows, |r| key(r.$swept)).len() > 1 {
                render!($name, SIZE, $draw, &rows);
            } else {
                out.notes.push(format!(
                    "{}: not drawn, one {} value; sweep --{} (e.g. {}) to get it",
                    $name, $flag, $flag, $example
                ));
            }
        }};
    }
    if !with_data.is_empty() {
        against!("delivery-vs-loss", draw_vs_loss, crash, loss, "loss", "0,0.1,0.3");
        against!("delivery-vs-crash", draw_vs_crash, loss, crash, "crash", "0,0.2,0.5");
    }
    let rounds: Vec<&Row> = sim.iter().copied().filter(|r| r.rounds_mean.is_some()).collect();
    if distinct(&rounds, |r| r.nodes).len() > 1 {
        render!("sim-rounds", SIZE, draw_sim_rounds, &rounds);
    } else if !rounds.is_empty() {
        out.notes.push("sim-rounds: not drawn, one group size; give --nodes several values to get it".into());
    }
    if sim.iter().any(|r| r.uninformed_by_round.as_ref().is_some_and(|u| u.len() > 1)) {
        render!("sim-uninformed", SIZE, draw_uninformed, &sim);
    }
    for n in distinct(&compared, |r| r.nodes) {
        let rows_n: Vec<&Row> = compared.iter().copied().filter(|r| r.nodes == n).collect();
        render!(&format!("compare-n{n}"), PANELS, draw_compare, &rows_n);
        render!(&format!("compare-fractions-n{n}"), PANELS, draw_fractions, &rows_n);
    }
    Ok(out)
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

/// How series `i` is drawn: colour, marker (circle, triangle, square,
/// cross) and line (solid, dashed, dotted) all change with `i`, so series
/// that lie on top of each other still show.
#[derive(Clone, Copy, Debug)]
struct Style {
    color: RGBColor,
    marker: usize,
    dash: Option<(u32, u32)>,
}

fn style(i: usize) -> Style {
    Style { color: color(i), marker: i % 4, dash: [None, Some((10, 5)), Some((3, 4))][i % 3] }
}

/// Draws `pts` in `s`: markers, and a line through them when `line`.
fn series<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    s: Style,
    pts: &[(f64, f64)],
    line: bool,
) -> Draw<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let c = s.color;
    if line && pts.len() > 1 {
        match s.dash {
            None => t!(chart.draw_series(LineSeries::new(pts.to_vec(), c.stroke_width(2)))),
            Some((len, gap)) => t!(chart.draw_series(DashedLineSeries::new(pts.to_vec(), len, gap, c.stroke_width(2)))),
        };
    }
    let p = pts.iter().copied();
    match s.marker {
        0 => t!(chart.draw_series(p.map(|q| Circle::new(q, 5, c.filled())))),
        1 => t!(chart.draw_series(p.map(|q| TriangleMarker::new(q, 6, c.filled())))),
        2 => t!(chart.draw_series(p.map(|q| EmptyElement::at(q) + Rectangle::new([(-4, -4), (4, 4)], c.filled())))),
        _ => t!(chart.draw_series(p.map(|q| Cross::new(q, 5, c.stroke_width(2))))),
    };
    Ok(())
}

/// The width a legend of `labels` needs, in pixels.
fn legend_width(labels: &[String]) -> u32 {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    (longest * 8 + 70).clamp(120, 420)
}

/// Splits `area` into the plot (left) and a legend strip (right) for `labels`.
fn beside_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let width = area.dim_in_pixel().0;
    area.split_horizontally(width.saturating_sub(legend_width(labels)))
}

/// Draws a legend (line sample, marker, label per entry) into its own strip.
fn legend_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[(String, Style)],
    line: bool,
) -> Draw<()> {
    t!(area.draw(&Text::new(heading.to_string(), (10, 40), ("sans-serif", 15).into_font().style(FontStyle::Bold))));
    for (k, (label, s)) in entries.iter().enumerate() {
        let y = 70 + 24 * k as i32;
        let c = s.color;
        if line {
            match s.dash {
                None => t!(area.draw(&PathElement::new(vec![(10, y), (46, y)], c.stroke_width(2)))),
                Some((len, gap)) => {
                    let mut x = 10;
                    while x < 46 {
                        t!(area
                            .draw(&PathElement::new(vec![(x, y), ((x + len as i32).min(46), y)], c.stroke_width(2))));
                        x += (len + gap) as i32;
                    }
                }
            }
        }
        match s.marker {
            0 => t!(area.draw(&Circle::new((28, y), 5, c.filled()))),
            1 => t!(area.draw(&TriangleMarker::new((28, y), 6, c.filled()))),
            2 => t!(area.draw(&Rectangle::new([(24, y - 4), (32, y + 4)], c.filled()))),
            _ => t!(area.draw(&Cross::new((28, y), 5, c.stroke_width(2)))),
        }
        t!(area.draw(&Text::new(label.clone(), (54, y - 8), ("sans-serif", 14))));
    }
    Ok(())
}

/// Tick text on a log axis: only 1, 2 and 5 times a power of ten get a
/// label, written without trailing zeros, so every log axis reads
/// 0.1, 0.2, 0.5, 1, 2, 5, 10, 20 … whatever the range.
fn log_tick(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return String::new();
    }
    let exponent = v.log10().floor();
    let mantissa = v / 10f64.powf(exponent);
    if ![1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-6 * m) {
        return String::new();
    }
    plain_tick(v)
}

/// Tick text on a linear axis: no trailing zeros (`18000`, `0.5`).
fn plain_tick(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

/// The power of ten at or below `v`: a log axis starts there so that
/// plotters labels its first decade too.
fn decade_floor(v: f64) -> f64 {
    10f64.powf(v.log10().floor())
}

/// Candidate ticks asked of plotters on a log axis: enough that it offers
/// every 1..9 multiple of each power of ten, of which [`log_tick`] labels 1, 2, 5.
const LOG_LABELS: usize = 40;

/// Tick text on an integer axis (fan-out): whole numbers only, nothing between.
fn integer_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 { format!("{}", v.round() as i64) } else { String::new() }
}

/// What distinguishes rows that differ in more than fan-out.
fn context(rows: &[&Row]) -> impl Fn(&Row) -> String {
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
fn values(rows: &[&Row], f: impl Fn(&Row) -> String) -> String {
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
fn title_of(rows: &[&Row]) -> String {
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
fn fanout_entries(rows: &[&Row]) -> Vec<(String, Style)> {
    let label = context(rows);
    rows.iter()
        .enumerate()
        .map(|(i, r)| (format!("b={} {}", r.fanout, label(r)).trim().to_string(), style(i)))
        .collect()
}

fn labels_of(entries: &[(String, Style)]) -> Vec<String> {
    entries.iter().map(|e| e.0.clone()).collect()
}

fn draw_cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
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

fn draw_ratio_vs<DB: DrawingBackend>(
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

fn draw_vs_loss<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    draw_ratio_vs(root, rows, "loss probability", |r| r.loss)
}

fn draw_vs_crash<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
    draw_ratio_vs(root, rows, "crashed fraction", |r| r.crash)
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

fn draw_uninformed<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
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

/// Four panels against the scenario (categories, so points side by side,
/// never joined by lines): delivery ratio, time to last delivery, packets
/// per member, the origin's packets; one marker per protocol.
fn draw_compare<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
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
fn draw_fractions<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[&Row]) -> Draw<()> {
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
