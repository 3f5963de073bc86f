//! `orechain report DIR`: one self-contained `report.html` for a run, ensemble or compare folder.
//!
//! The page is what a reader needs to judge a result without the tool: the scenario's name,
//! description and its header notes (QUESTION / LEVERS / READ), the key numbers — import
//! dependence of the United States and Japan on China and China's share of world refining per
//! mineral in 2030, 2035 and 2040, as ensemble medians with their 5–95 % range (or, for a
//! comparison, the mean paired difference with its 95 % interval) — the figures, and provenance
//! from `manifest.json`. Everything is inside the one file (figures as base64 PNG data URIs, CSS
//! inline, no scripts), so it opens from disk with no server and no network. The markup is
//! XHTML-compatible (every element closed, attributes quoted) so tests can parse it as XML, and
//! every piece of text that comes from a scenario, a path or a CSV is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::command::AppError;
use crate::output::folder::write_atomic;

/// The years the key tables report (those present in the data).
pub const KEY_YEARS: [i64; 3] = [2030, 2035, 2040];

/// Consumers whose dependence on China the key tables report.
pub const KEY_CONSUMERS: [&str; 2] = ["USA", "JPN"];

/// Escape text for HTML/XML content and attribute values. Control characters other than tab and
/// line breaks (not allowed in XML) become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What kind of folder a report is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One run (`metrics.csv`).
    Run,
    /// An ensemble (`replicates.csv`, `metrics_annual.csv`).
    Ensemble,
    /// A comparison (`comparison_annual.csv`).
    Compare,
}

/// The kind of a result folder.
pub fn kind_of(dir: &Path) -> Result<Kind, AppError> {
    if dir.join("comparison_annual.csv").is_file() {
        Ok(Kind::Compare)
    } else if dir.join("replicates.csv").is_file() && dir.join("metrics_annual.csv").is_file() {
        Ok(Kind::Ensemble)
    } else if dir.join("metrics.csv").is_file() {
        Ok(Kind::Run)
    } else {
        Err(AppError::BadInput(format!(
            "`{}` is not a run, ensemble or compare folder (no metrics.csv, metrics_annual.csv \
             or comparison_annual.csv)",
            dir.display()
        )))
    }
}

/// `orechain report DIR`: write `DIR/report.html`; returns its path.
pub fn report_command(dir: &Path) -> Result<PathBuf, AppError> {
    let html = report_html(dir)?;
    let path = dir.join("report.html");
    write_atomic(&path, html.as_bytes())?;
    println!(
        "orechain: wrote {} ({} KB)",
        path.display(),
        html.len() / 1024
    );
    Ok(path)
}

/// Rows of a CSV file as maps column → cell.
fn read_csv(path: &Path) -> Result<Vec<BTreeMap<String, String>>, AppError> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| AppError::BadInput(format!("cannot read `{}`: {e}", path.display())))?;
    let header = reader
        .headers()
        .map_err(|e| AppError::BadInput(format!("`{}`: {e}", path.display())))?
        .clone();
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| AppError::BadInput(format!("`{}`: {e}", path.display())))?;
        out.push(
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(out)
}

/// What a side (a run or ensemble folder) says about itself.
#[derive(Debug, Default)]
struct Side {
    name: String,
    description: String,
    notes: String,
    manifest: Option<serde_json::Value>,
    seeds: Vec<u64>,
}

fn read_side(dir: &Path) -> Side {
    let mut side = Side::default();
    if let Ok(l) = crate::scenario::load_file(&dir.join("scenario.ron"), &[]) {
        side.name = l.scenario.scenario().name.clone();
        side.description = l.scenario.scenario().description.clone();
    }
    side.manifest = std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    side.notes = std::fs::read_to_string(dir.join("scenario_notes.txt")).unwrap_or_else(|_| {
        // A plain run folder: the notes of the scenario file it names, if it is still there.
        side.manifest
            .as_ref()
            .and_then(|m| m.get("scenario_path"))
            .and_then(|p| p.as_str())
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| crate::ensemble::leading_comments(&t))
            .unwrap_or_default()
    });
    side.seeds = crate::ensemble::read_replicates(dir).unwrap_or_default();
    if side.seeds.is_empty()
        && let Some(seed) = side
            .manifest
            .as_ref()
            .and_then(|m| m.get("seed"))
            .and_then(serde_json::Value::as_u64)
    {
        side.seeds = vec![seed];
    }
    side
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:60em;\
margin:2em auto;padding:0 1em;color:#202020;line-height:1.4}\
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
pre{background:#f6f6f6;padding:.8em;white-space:pre-wrap;font-size:.85em}\
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:.85em;color:#555}.note{color:#555;font-size:.9em}\
code{font-size:.9em}.warn{color:#a00}";

fn head(out: &mut String, title: &str) {
    out.push_str("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n");
    let _ = write!(
        out,
        "<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
}

fn scenario_section(out: &mut String, heading: &str, side: &Side) {
    let _ = writeln!(out, "<h2>{}</h2>", escape(heading));
    let _ = writeln!(
        out,
        "<p><strong>Scenario:</strong> <code>{}</code></p>",
        escape(&side.name)
    );
    if !side.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(&side.description));
    }
    if side.notes.trim().is_empty() {
        out.push_str(
            "<p class=\"note\">The scenario file has no header notes (question, levers).</p>\n",
        );
    } else {
        let _ = writeln!(
            out,
            "<p class=\"note\">The scenario file's header (its question, levers and how to \
             read it):</p>\n<pre>{}</pre>",
            escape(side.notes.trim_end())
        );
    }
}

fn provenance(out: &mut String, heading: &str, side: &Side) {
    let _ = writeln!(out, "<h3>{}</h3>", escape(heading));
    out.push_str("<table>\n");
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            escape(k),
            escape(v)
        );
    };
    match &side.manifest {
        Some(m) => {
            let field = |k: &str| match m.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => "—".into(),
                Some(v) => v.to_string(),
            };
            row(out, "engine version", &field("version"));
            row(out, "git hash", &field("git_hash"));
            row(out, "rustc", &field("rustc"));
            let args = m
                .get("args")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            row(out, "command", &args);
            row(out, "scenario file", &field("scenario_path"));
            row(
                out,
                "scenario SHA-256 (resolved)",
                &field("scenario_sha256"),
            );
            row(out, "run seed", &field("seed"));
            row(out, "steps", &field("steps"));
            row(out, "started (UTC)", &field("start_time"));
            row(out, "finished (UTC)", &field("end_time"));
        }
        None => row(out, "manifest.json", "missing or unreadable"),
    }
    if side.seeds.len() > 1 {
        let list: Vec<String> = side.seeds.iter().map(u64::to_string).collect();
        row(
            out,
            &format!("replicate seeds ({})", side.seeds.len()),
            &list.join(", "),
        );
    }
    out.push_str("</table>\n");
}

/// Years of [`KEY_YEARS`] present among `available`, or the last available year.
fn key_years(available: &[i64]) -> Vec<i64> {
    let ys: Vec<i64> = KEY_YEARS
        .iter()
        .copied()
        .filter(|y| available.contains(y))
        .collect();
    if ys.is_empty() {
        available.iter().max().map(|y| vec![*y]).unwrap_or_default()
    } else {
        ys
    }
}

fn pct(v: &str) -> String {
    v.parse::<f64>()
        .map(|x| format!("{:.1}", 100.0 * x))
        .unwrap_or_else(|_| "—".into())
}

/// A row key of `metrics_annual.csv` / `comparison_annual.csv` without the year:
/// `[metric, mineral, stage, nation, partner]`.
type RowKey = [String; 5];

/// One key table: its title and its rows (label, row key).
type KeyTable = (String, Vec<(String, RowKey)>);

/// The selections of the key tables.
fn key_rows(minerals: &[String]) -> Vec<KeyTable> {
    let mut out = Vec::new();
    for consumer in KEY_CONSUMERS {
        out.push((
            format!(
                "{consumer}: import dependence on China — share of refined consumption supplied \
                 by refineries located in China (%)"
            ),
            minerals
                .iter()
                .map(|m| {
                    (
                        m.clone(),
                        [
                            "import_dependence".to_string(),
                            m.clone(),
                            "refined".into(),
                            consumer.into(),
                            "CHN".into(),
                        ],
                    )
                })
                .collect(),
        ));
    }
    for (metric, what) in [
        ("share_location", "located in China"),
        ("share_control", "controlled by Chinese firms"),
    ] {
        out.push((
            format!("China's share of world refining, {what} (%)"),
            minerals
                .iter()
                .map(|m| {
                    (
                        m.clone(),
                        [
                            metric.to_string(),
                            m.clone(),
                            "refined".into(),
                            "CHN".into(),
                            String::new(),
                        ],
                    )
                })
                .collect(),
        ));
    }
    out
}

type Keyed = BTreeMap<(i64, RowKey), BTreeMap<String, String>>;

fn keyed(rows: Vec<BTreeMap<String, String>>) -> Keyed {
    let get = |r: &BTreeMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
    rows.into_iter()
        .filter_map(|r| {
            let year: i64 = r.get("year")?.parse().ok()?;
            let key = [
                get(&r, "metric"),
                get(&r, "mineral"),
                get(&r, "stage"),
                get(&r, "nation"),
                get(&r, "partner"),
            ];
            Some(((year, key), r))
        })
        .collect()
}

/// Annual means of a single run's metrics.csv, as `metrics_annual.csv`-like rows (p50 = value).
fn single_run_annual(dir: &Path) -> Result<Keyed, AppError> {
    let mut t = crate::ensemble::table::Tables::new(1);
    t.read_replicate(&dir.join("metrics.csv"), 0)?;
    let text = crate::ensemble::table::summary_csv(&t.years, crate::ensemble::table::ANNUAL_HEADER);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| AppError::Internal(e.to_string()))?
        .clone();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| AppError::Internal(e.to_string()))?;
        rows.push(
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(keyed(rows))
}

fn minerals_of(data: &Keyed) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = data
        .keys()
        .filter(|(_, k)| k[0] == "share_location" && k[2] == "refined")
        .map(|(_, k)| k[1].clone())
        .collect();
    set.into_iter().collect()
}

fn key_tables(out: &mut String, data: &Keyed, kind: Kind, n: usize) {
    let minerals = minerals_of(data);
    let mut years: Vec<i64> = data.keys().map(|(y, _)| *y).collect();
    years.dedup();
    let years = key_years(&years);
    match kind {
        Kind::Run => out.push_str(
            "<p class=\"warn\">A single run: one seed is one draw of the model's randomness, \
             not a result. Quote an ensemble (<code>orechain run --replicates N</code>).</p>\n",
        ),
        Kind::Ensemble => {
            let _ = writeln!(
                out,
                "<p class=\"note\">Each cell: the median over {n} seeds of the calendar-year mean, \
                 with the 5–95 % range of the seeds in brackets (type-7 quantiles); — where the \
                 row does not exist (e.g. no consumption of that mineral).</p>"
            );
        }
        Kind::Compare => {
            let _ = writeln!(
                out,
                "<p class=\"note\">Each cell: A → B (means over {n} paired seeds of the \
                 calendar-year mean, %), then the mean paired difference B − A in percentage \
                 points with its 95 % t interval; <strong>*</strong> marks an interval that \
                 excludes 0.</p>"
            );
        }
    }
    for (title, rows) in key_rows(&minerals) {
        let _ = writeln!(out, "<h3>{}</h3>\n<table>", escape(&title));
        out.push_str("<tr><th>mineral</th>");
        for y in &years {
            let _ = write!(out, "<th>{y}</th>");
        }
        out.push_str("</tr>\n");
        for (label, key) in rows {
            let _ = write!(out, "<tr><td>{}</td>", escape(&label.replace('_', " ")));
            for y in &years {
                let cell = match data.get(&(*y, key.clone())) {
                    None => "—".to_string(),
                    Some(r) => {
                        let g = |k: &str| r.get(k).map_or("", String::as_str);
                        match kind {
                            Kind::Run => pct(g("p50")),
                            Kind::Ensemble => {
                                format!("{} [{}, {}]", pct(g("p50")), pct(g("p05")), pct(g("p95")))
                            }
                            Kind::Compare => {
                                let star = if g("excludes_zero") == "true" {
                                    "*"
                                } else {
                                    ""
                                };
                                let diff = g("mean_diff")
                                    .parse::<f64>()
                                    .map_or("—".into(), |d| format!("{:+.1}", 100.0 * d));
                                format!(
                                    "{} → {}: {diff} [{}, {}]{star}",
                                    pct(g("mean_a")),
                                    pct(g("mean_b")),
                                    pct(g("ci95_low")),
                                    pct(g("ci95_high"))
                                )
                            }
                        }
                    }
                };
                let _ = write!(out, "<td class=\"num\">{}</td>", escape(&cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
}

/// Whether a figure (PNG stem) goes into the report.
fn wanted_figure(kind: Kind, stem: &str) -> bool {
    match kind {
        Kind::Compare => true,
        Kind::Run | Kind::Ensemble => {
            (stem.starts_with("share_") && stem.ends_with("_refined"))
                || stem.starts_with("price_")
                || (stem.starts_with("import_dependence_")
                    && KEY_CONSUMERS
                        .iter()
                        .any(|c| stem.ends_with(&format!("_{c}"))))
        }
    }
}

/// The figures embedded for a folder: `(stem, PNG bytes)`, in name order.
pub fn report_figures(dir: &Path, kind: Kind) -> Result<Vec<(String, Vec<u8>)>, AppError> {
    let fig_dir = dir.join("figures");
    let mut names: Vec<String> = match std::fs::read_dir(&fig_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.ends_with(".png"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let stem = name.trim_end_matches(".png").to_string();
        if !wanted_figure(kind, &stem) {
            continue;
        }
        let bytes = std::fs::read(fig_dir.join(&name)).map_err(|e| {
            AppError::Internal(format!(
                "cannot read `{}`: {e}",
                fig_dir.join(&name).display()
            ))
        })?;
        out.push((stem, bytes));
    }
    Ok(out)
}

fn figures_section(out: &mut String, figs: &[(String, Vec<u8>)], kind: Kind) {
    out.push_str("<h2>Figures</h2>\n");
    let what = match kind {
        Kind::Run => "One run (one seed).",
        Kind::Ensemble => "Lines are the median over seeds, shaded bands the 5–95 % range.",
        Kind::Compare => {
            "Median of the paired differences B − A over seeds (line) and their 5–95 % range \
             (band)."
        }
    };
    let _ = writeln!(
        out,
        "<p class=\"note\">{} Each figure's data are in <code>figures/&lt;name&gt;.csv</code>; \
         the SVG beside it is the print version.</p>",
        escape(what)
    );
    if figs.is_empty() {
        out.push_str(
            "<p class=\"note\">No figures in this folder (run without --no-figures).</p>\n",
        );
    }
    for (stem, bytes) in figs {
        let _ = writeln!(
            out,
            "<figure data-figure=\"{s}\"><img alt=\"{s}\" src=\"data:image/png;base64,{}\"/>\
             <figcaption><code>figures/{s}.png</code></figcaption></figure>",
            base64(bytes),
            s = escape(stem)
        );
    }
}

/// The report of a folder as HTML text.
pub fn report_html(dir: &Path) -> Result<String, AppError> {
    let kind = kind_of(dir)?;
    let mut out = String::new();
    match kind {
        Kind::Run | Kind::Ensemble => {
            let side = read_side(dir);
            let n = side.seeds.len();
            let title = match kind {
                Kind::Run => format!("orechain: {} (one run)", side.name),
                _ => format!("orechain: {} (ensemble of {n} seeds)", side.name),
            };
            head(&mut out, &title);
            let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
            scenario_section(&mut out, "Scenario", &side);
            out.push_str("<h2>Key numbers</h2>\n");
            let data = match kind {
                Kind::Run => single_run_annual(dir)?,
                _ => keyed(read_csv(&dir.join("metrics_annual.csv"))?),
            };
            key_tables(&mut out, &data, kind, n);
            figures_section(&mut out, &report_figures(dir, kind)?, kind);
            out.push_str("<h2>Provenance</h2>\n");
            provenance(&mut out, "manifest.json", &side);
        }
        Kind::Compare => {
            let a = read_side(&dir.join("a"));
            let b = read_side(&dir.join("b"));
            let own = read_side(dir);
            let title = format!("orechain: {} compared with {}", b.name, a.name);
            head(&mut out, &title);
            let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
            let _ = writeln!(
                out,
                "<p>Differences are <strong>B − A</strong>, paired by seed: B = <code>{}</code>, \
                 A = <code>{}</code>, {} seeds.</p>",
                escape(&b.name),
                escape(&a.name),
                a.seeds.len()
            );
            scenario_section(&mut out, "B (the alternative)", &b);
            scenario_section(&mut out, "A (the reference)", &a);
            out.push_str("<h2>Key differences</h2>\n");
            let data = keyed(read_csv(&dir.join("comparison_annual.csv"))?);
            key_tables(&mut out, &data, kind, a.seeds.len());
            figures_section(&mut out, &report_figures(dir, kind)?, kind);
            out.push_str("<h2>Provenance</h2>\n");
            provenance(&mut out, "B: manifest.json", &b);
            provenance(&mut out, "A: manifest.json", &a);
            provenance(&mut out, "comparison: manifest.json", &own);
        }
    }
    out.push_str(
        "<p class=\"note\">Written by <code>orechain report</code>; self-contained (no scripts, \
         no external resources).</p>\n</body>\n</html>\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_control_characters() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'q'\u{7}"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;\u{FFFD}"
        );
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn key_years_fall_back_to_the_last_year() {
        assert_eq!(key_years(&[2024, 2030, 2035]), vec![2030, 2035]);
        assert_eq!(key_years(&[2024, 2025]), vec![2025]);
    }
}
