//! The text of a results file, in sections: what ran and where (with the
//! load average), then each kind of row's caption and table, then the
//! configurations. Printed on stdout by every command and laid out as the
//! HTML report by [`crate::html`].

use crate::record::{Results, Row};
use crate::table;

/// One block of the output: a heading line and its text (a Markdown table or
/// plain lines).
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// One line saying what the block shows.
    pub title: String,
    /// The block itself; empty for a heading-only section.
    pub text: String,
}

fn section(title: impl Into<String>, text: impl Into<String>) -> Section {
    Section { title: title.into(), text: text.into() }
}

/// Every section of `results`, in print order.
pub fn sections(results: &Results) -> Vec<Section> {
    let mut out = vec![section(
        format!("`{}`", results.command),
        format!("machine: {}\n{}\n", results.machine, results.load_line()),
    )];
    let live: Vec<&Row> = results.rows.iter().filter(|r| !r.is_sim()).collect();
    let (compared, sim): (Vec<&Row>, Vec<&Row>) =
        results.rows.iter().filter(|r| r.is_sim()).partition(|r| r.packets_per_member.is_some());
    if !live.is_empty() {
        out.push(section(table::live_caption(&live), table::live(&live)));
    }
    if !sim.is_empty() {
        let seeds = sim[0].seeds.unwrap_or(0);
        out.push(section(
            format!(
                "simulator: synchronous rounds (textbook model: targets with replacement, no eager push, newly informed \
nodes send from the next round), {seeds} seeds per row\ntheory: the closed forms of docs/theory.md with \
b_eff = b(1-p)(1-f); its simulated reference where it has the cell"
            ),
            table::sim(&sim),
        ));
        out.push(section(
            "fraction of live nodes not yet reached after each round (mean over seeds; round 0 = the multicast's round):",
            table::uninformed(&sim),
        ));
    }
    if !compared.is_empty() {
        out.push(section(table::compare_caption(), table::compare(&compared)));
        out.push(section(
            "messages by the fraction of live members that delivered them (% of messages per bin):",
            table::fractions(&compared),
        ));
    }
    out.push(section("configurations (the Debug form of each row's engine configuration):", configs(&results.rows)));
    out
}

/// The configurations of `rows`: the fields every row shares once, then
/// each distinct configuration's other fields with the rows that used it.
fn configs(rows: &[Row]) -> String {
    let mut distinct: Vec<(&str, Vec<String>)> = Vec::new();
    for row in rows {
        let label = row_label(row);
        match distinct.iter_mut().find(|(c, _)| *c == row.config) {
            Some((_, labels)) if labels.contains(&label) => {}
            Some((_, labels)) => labels.push(label),
            None => distinct.push((&row.config, vec![label])),
        }
    }
    let parsed: Vec<(&str, Vec<&str>)> = distinct.iter().map(|(c, _)| fields(c)).collect();
    let same_type = parsed.windows(2).all(|w| w[0].0 == w[1].0);
    let common: Vec<&str> = match parsed.first() {
        Some((_, first)) if same_type && distinct.len() > 1 => {
            first.iter().copied().filter(|f| parsed.iter().all(|(_, fs)| fs.contains(f))).collect()
        }
        _ => Vec::new(),
    };
    let mut out = String::new();
    if !common.is_empty() {
        out.push_str(&format!("every row: {} {{ {} }}\n", parsed[0].0, common.join(", ")));
    }
    for ((config, labels), (_, fs)) in distinct.iter().zip(&parsed) {
        let text = if config.is_empty() {
            "(not recorded)".to_string()
        } else if common.is_empty() {
            config.to_string()
        } else {
            fs.iter().copied().filter(|f| !common.contains(f)).collect::<Vec<_>>().join(", ")
        };
        out.push_str(&format!("{}: {text}\n", labels.join(", ")));
    }
    out
}

/// `Name { a: 1, b: X { c: 2 } }` as `("Name", ["a: 1", "b: X { c: 2 }"])`:
/// the top-level fields of a `Debug` struct (the whole text as one field
/// when it is not one).
fn fields(debug: &str) -> (&str, Vec<&str>) {
    let Some((name, rest)) = debug.split_once(" { ") else { return ("", vec![debug]) };
    let Some(body) = rest.strip_suffix(" }") else { return ("", vec![debug]) };
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let bytes = body.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b',' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                out.push(&body[start..i]);
                start = i + 2;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    (name, out)
}

fn row_label(r: &Row) -> String {
    let fanout = if r.protocol == "gossip" { format!("b={}", r.fanout) } else { format!("k={}", r.fanout) };
    format!("{} {} N={} {fanout}", r.transport, r.protocol, r.nodes)
}

/// Prints every section of `results` on stdout.
pub fn print(results: &Results) {
    for s in sections(results) {
        println!("{}", s.title);
        if !s.text.is_empty() {
            println!();
            print!("{}", s.text);
        }
        println!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_configs_are_listed_once_with_their_rows() {
        let row = |fanout, config: &str| Row {
            transport: "mem".into(),
            protocol: "gossip".into(),
            nodes: 10,
            fanout,
            config: config.into(),
            ..Row::default()
        };
        let text = configs(&[row(1, "A"), row(2, "B"), row(3, "A"), row(3, "A")]);
        assert_eq!(text, "mem gossip N=10 b=1, mem gossip N=10 b=3: A\nmem gossip N=10 b=2: B\n");
        let text = configs(&[
            row(1, "Config { mode: Push, fanout: 1, lifetime: Fixed { rounds: 3 } }"),
            row(2, "Config { mode: Push, fanout: 2, lifetime: Fixed { rounds: 3 } }"),
        ]);
        assert_eq!(
            text,
            "every row: Config { mode: Push, lifetime: Fixed { rounds: 3 } }\n\
mem gossip N=10 b=1: fanout: 1\nmem gossip N=10 b=2: fanout: 2\n"
        );
    }
}
