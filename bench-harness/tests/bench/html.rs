//! `report --html`: the page holds every table and plot of a results file,
//! reads offline, and renders in a headless browser (Debian's `chromium`).

use std::path::Path;
use std::process::Command;

use super::bench;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().expect("browser profile dir");
    Command::new(CHROMIUM)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-dev-shm-usage", "--no-first-run", "--allow-file-access-from-files"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn html_report_renders_every_table_and_plot_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("mem.json");
    bench(&["run", "--nodes", "8", "--fanout", "2,3", "--messages", "10", "--json", json.to_str().unwrap()]);
    let site = dir.path().join("site");
    let plots = dir.path().join("plots");
    let out =
        bench(&["report", json.to_str().unwrap(), "--plot", plots.to_str().unwrap(), "--html", site.to_str().unwrap()]);
    assert!(out.contains("index.html"), "{out}");
    let page = site.join("index.html");
    let text = std::fs::read_to_string(&page).expect("page written");
    for png in ["latency-cdf.png", "fanout.png"] {
        assert!(text.contains(&format!("<img src=\"{png}\"")), "{png} on the page");
        assert!(site.join(png).exists(), "{png} copied beside the page");
    }
    assert!(!text.contains("http://") && !text.contains("https://"), "the page fetches nothing");

    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} not installed (`apt-get install -y chromium`; .ci/run does it)");
        return;
    }
    let dom = chromium(&["--dump-dom"], &page);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    assert!(dom_text.contains("<th>fan-out</th>"), "the live table rendered: {dom_text}");
    assert!(dom_text.contains("<td>3</td>"));
    assert!(dom_text.contains("load average"));
    assert_eq!(dom_text.matches("<img ").count(), 2, "both plots on the page");

    let shot = dir.path().join("page.png");
    let out = chromium(&[&format!("--screenshot={}", shot.display()), "--window-size=1280,2000"], &page);
    assert!(out.status.success(), "screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 20_000,
        "a page with tables and two plots is more than a blank screenshot ({} bytes)",
        png.len()
    );
}
