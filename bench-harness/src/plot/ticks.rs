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

/// The power of ten at or below `v`: a log axis starts there so that
/// plotters labels its first decade too.
pub(super) fn decade_floor(v: f64) -> f64 {
    10f64.powf(v.log10().floor())
}

/// Candidate ticks asked of plotters on a log axis: enough that it offers
/// every 1..9 multiple of each power of ten, of which [`log_tick`] labels 1, 2, 5.
pub(super) const LOG_LABELS: usize = 40;

/// Tick text on an integer axis (fan-out): whole numbers only, nothing between.
pub(super) fn integer_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 { format!("{}", v.round() as i64) } else { String::new() }
}
