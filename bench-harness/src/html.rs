//! The HTML report: one static page (`index.html`) with every section of a
//! results file (Markdown tables become HTML tables) and every PNG plot,
//! copied beside the page, so the directory reads offline with no server,
//! script or network.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::HarnessError;
use crate::plot::Rendered;
use crate::record::Results;
use crate::sections::{Section, sections};

/// Writes `DIR/index.html` for `results` with the PNGs among `plots` (copied
/// into `dir` where they are elsewhere) and the notes on plots not drawn,
/// and returns the page's path.
pub fn write(results: &Results, plots: &Rendered, dir: &Path) -> Result<PathBuf, HarnessError> {
    std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e))?;
    let mut images = Vec::new();
    for plot in plots.files.iter().filter(|p| p.extension().is_some_and(|e| e == "png")) {
        let Some(name) = plot.file_name() else { continue };
        let target = dir.join(name);
        if plot.canonicalize().ok() != target.canonicalize().ok() {
            std::fs::copy(plot, &target).map_err(|e| HarnessError::io(plot, e))?;
        }
        images.push(name.to_string_lossy().into_owned());
    }
    let page = dir.join("index.html");
    std::fs::write(&page, render(results, &images, &plots.notes)).map_err(|e| HarnessError::io(&page, e))?;
    Ok(page)
}

/// The page's text for `results`, showing `images` (file names beside it)
/// and `notes` (figures not drawn, and why).
pub fn render(results: &Results, images: &[String], notes: &[String]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>gossip-bench: {}</title>", escape(&results.command));
    out.push_str(
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}\
th{background:#eee}pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap}img{max-width:100%;display:block;margin:1em 0}\
</style>\n</head>\n<body>\n",
    );
    out.push_str("<h1>gossip-bench results</h1>\n");
    for s in sections(results) {
        section(&mut out, &s);
    }
    if images.is_empty() {
        out.push_str("<p>No plots: the rows have nothing to draw.</p>\n");
    } else {
        out.push_str("<h2>Plots</h2>\n");
        for name in images {
            let name = escape(name);
            let _ =
                writeln!(out, "<figure><img src=\"{name}\" alt=\"{name}\"><figcaption>{name}</figcaption></figure>");
        }
    }
    for note in notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn section(out: &mut String, s: &Section) {
    let mut lines = s.title.lines();
    if let Some(first) = lines.next() {
        let _ = writeln!(out, "<h2>{}</h2>", escape(first));
    }
    for line in lines {
        let _ = writeln!(out, "<p>{}</p>", escape(line));
    }
    let mut plain = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    for line in s.text.lines() {
        if line.starts_with('|') {
            flush_plain(out, &mut plain);
            let cells: Vec<String> = line.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            // The Markdown separator line (|---:|) carries no data.
            if !cells.iter().all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':')) {
                table.push(cells);
            }
        } else {
            flush_table(out, &mut table);
            plain.push(line);
        }
    }
    flush_table(out, &mut table);
    flush_plain(out, &mut plain);
}

fn flush_plain(out: &mut String, plain: &mut Vec<&str>) {
    if plain.iter().any(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "<pre>{}</pre>", escape(&plain.join("\n")));
    }
    plain.clear();
}

fn flush_table(out: &mut String, table: &mut Vec<Vec<String>>) {
    let mut rows = table.drain(..);
    let Some(header) = rows.next() else { return };
    out.push_str("<table>\n<tr>");
    for cell in header {
        let _ = write!(out, "<th>{}</th>", escape(&cell));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(&cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Row;

    #[test]
    fn tables_become_html_tables_and_text_is_escaped() {
        let row = Row {
            transport: "mem".into(),
            protocol: "gossip".into(),
            mode: "push-pull".into(),
            nodes: 10,
            fanout: 3,
            config: "Config { a: <b> }".into(),
            ..Row::default()
        };
        let results = Results { command: "gossip-bench run".into(), rows: vec![row], ..Results::default() };
        let page = render(&results, &["fanout.png".into()], &["fanout: not drawn".into()]);
        assert!(page.contains("<th>fan-out</th>"), "{page}");
        assert!(page.contains("<td>3</td>"), "{page}");
        assert!(!page.contains("|---"), "separator line left in: {page}");
        assert!(page.contains("Config { a: &lt;b&gt; }"));
        assert!(page.contains("<img src=\"fanout.png\""));
        assert!(page.contains("fanout: not drawn"));
        assert!(!page.contains("http"), "the page must not fetch anything");
    }
}
