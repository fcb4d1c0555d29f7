//! Tick labels: log axes labelled at 1, 2 and 5 of every decade, linear
//! axes without trailing zeros, integer axes with whole numbers only.

/// Tick text on a log axis: only 1, 2 and 5 times a power of ten get a
/// label, written without trailing zeros, so every log axis reads
/// 0.1, 0.2, 0.5, 1, 2, 5, 10, 20 … whatever the range.
pub(super) fn log_tick(v: f64) -> String {
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
pub(super) fn plain_tick(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

/// Just below the power of ten at or below `v`: a log axis starts there
/// so that plotters labels its first decade too. Plotters puts its first
/// key point at `10^ceil(log10(start))`; started exactly at a power of ten
/// below 1 (`0.1` is not exact in binary), the logarithm can come out a
/// hair above the integer and the whole first decade loses its ticks.
pub(super) fn decade_floor(v: f64) -> f64 {
    10f64.powf(v.log10().floor()) * (1.0 - 1e-9)
}

/// Candidate ticks asked of plotters on a log axis: enough that it offers
/// every 1..9 multiple of each power of ten, of which [`log_tick`] labels 1, 2, 5.
pub(super) const LOG_LABELS: usize = 40;

/// Tick text on an integer axis (fan-out): whole numbers only, nothing between.
pub(super) fn integer_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 { format!("{}", v.round() as i64) } else { String::new() }
}

#[cfg(test)]
mod tests {
    use plotters::coord::combinators::{IntoLogRange, LogCoord};
    use plotters::coord::ranged1d::Ranged;

    use super::*;

    /// The labelled ticks plotters offers on a log axis from `lo` to `hi`
    /// (it offers each power of ten twice: as the last multiple of one
    /// decade and the first of the next, drawn at the same place).
    fn labels(lo: f64, hi: f64) -> Vec<String> {
        let axis: LogCoord<f64> = (decade_floor(lo)..hi).log_scale().into();
        let mut labels: Vec<String> =
            axis.key_points(LOG_LABELS).into_iter().map(log_tick).filter(|t| !t.is_empty()).collect();
        labels.dedup();
        labels
    }

    #[test]
    fn every_decade_of_a_log_axis_is_labelled_also_below_one() {
        assert_eq!(labels(0.15, 30.0), ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20"]);
        assert_eq!(
            labels(0.0015, 3.0),
            ["0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
        );
        assert_eq!(labels(3.0, 15_000.0)[..3], ["1", "2", "5"]);
    }
}
