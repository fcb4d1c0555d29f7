//! Plots (plotters; every figure as SVG and PNG) of a set of result rows.
//!
//! Text is drawn with DejaVu Sans, embedded in the binary and registered
//! at first use, so PNGs render on machines without any system font. Every
//! series has its own colour, marker and line pattern, legends sit beside
//! the data, never on it, and a figure that would show a single point is
//! not drawn: [`Rendered::notes`] says so instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::error::HarnessError;
use crate::record::Row;

type Draw<T> = Result<T, String>;

macro_rules! t {
    ($e:expr) => {
        $e.map_err(|e| e.to_string())?
    };
}

mod compare;
mod labels;
mod live;
mod sim;
mod style;
mod ticks;

use compare::{draw_compare, draw_fractions};
use live::{draw_cdf, draw_fanout, draw_vs_crash, draw_vs_loss};
use sim::{draw_sim_rounds, draw_uninformed};

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

/// What [`render_all`] wrote, and the figures it left out with the reason.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    /// Files written (SVG and PNG of each figure).
    pub files: Vec<PathBuf>,
    /// One line per figure not drawn ("delivery-vs-loss: one loss value (0); …").
    pub notes: Vec<String>,
}

pub(super) fn distinct<T: Ord>(rows: &[&Row], f: impl Fn(&Row) -> T) -> BTreeSet<T> {
    rows.iter().map(|r| f(r)).collect()
}

/// `f64` keys that sort (`f64` is not `Ord`): values scaled to integers.
pub(super) fn key(v: f64) -> i64 {
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
