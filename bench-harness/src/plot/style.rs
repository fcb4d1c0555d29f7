//! How a series looks: colour, marker and line pattern per series, and
//! legends in their own strip beside the data.

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::Draw;

pub(super) fn color(i: usize) -> RGBColor {
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
pub(super) struct Style {
    pub(super) color: RGBColor,
    marker: usize,
    dash: Option<(u32, u32)>,
}

pub(super) fn style(i: usize) -> Style {
    Style { color: color(i), marker: i % 4, dash: [None, Some((10, 5)), Some((3, 4))][i % 3] }
}

/// Draws `pts` in `s`: markers, and a line through them when `line`.
pub(super) fn series<'a, DB, X, Y>(
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
pub(super) fn legend_width(labels: &[String]) -> u32 {
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    (longest * 8 + 70).clamp(120, 420)
}

/// Splits `area` into the plot (left) and a legend strip (right) for `labels`.
pub(super) fn beside_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let width = area.dim_in_pixel().0;
    area.split_horizontally(width.saturating_sub(legend_width(labels)))
}

/// Draws a legend (line sample, marker, label per entry) into its own strip.
pub(super) fn legend_panel<DB: DrawingBackend>(
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
