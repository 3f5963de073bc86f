//! Tidy CSV tables of a run: `metrics.csv`, `flows.csv`, `events.csv`, `assets.csv`.
//!
//! Columns are contracts (see `docs/output-format.md`). Empty cells mean "not applicable". Numbers
//! are written with Rust's shortest round-trip formatting, so the same run gives the same bytes and
//! a reader gets back the exact `f64`. A non-finite value is refused with an error naming the row,
//! never written.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::model::components::Stage;
use crate::model::resources::{EventRow, FlowRow, MetricRow, Registry};
use crate::output::manifest::ManifestFile;
use crate::sim::{RunResult, StepSink};

/// Header of `metrics.csv`.
pub const METRICS_HEADER: &str = "step,year,metric,mineral,stage,nation,partner,value";
/// Header of `flows.csv`.
pub const FLOWS_HEADER: &str = "step,year,mineral,stage,from,to,quantity,value_usd,kind";
/// Header of `events.csv`.
pub const EVENTS_HEADER: &str = "step,year,kind,asset,firm,nation,partner,detail";
/// Header of `assets.csv`.
pub const ASSETS_HEADER: &str = "asset,host,mineral,stage,status,status_since_step,capacity_t_per_yr,utilisation,unit_opex_usd_per_t,esg,owners";

/// A value that may not be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite {
    /// File.
    pub file: &'static str,
    /// What the row describes.
    pub what: String,
}

impl std::fmt::Display for NonFinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "non-finite value in {}: {}", self.file, self.what)
    }
}

impl std::error::Error for NonFinite {}

/// Append a CSV field, quoting it if it contains a comma, quote or newline.
pub fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// The calendar of a run: what turns a step number into the decimal year written in every row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calendar {
    /// First year.
    pub start_year: i32,
    /// Steps per year.
    pub steps_per_year: u32,
}

impl Calendar {
    /// Decimal year of a step.
    pub fn year(&self, step: u32) -> f64 {
        f64::from(self.start_year) + f64::from(step) / f64::from(self.steps_per_year)
    }

    fn of(result: &RunResult) -> Self {
        Calendar {
            start_year: result.start_year,
            steps_per_year: result.steps_per_year,
        }
    }
}

/// Decimal year of a step.
pub fn year_of(result: &RunResult, step: u32) -> f64 {
    Calendar::of(result).year(step)
}

/// Largest magnitude below which every integer is an exact `f64` (2^53).
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Append `v` exactly as `format!("{v}")` writes it (Rust's shortest round-trip `Display`).
///
/// Integral values below 2^53 — about 60 % of the baseline's metric values, most of them zero —
/// take a fast path: for them `Display` writes the integer's digits (with a `-` for negative
/// values, `-0` for negative zero) and nothing else, since no other decimal with as few
/// significant digits lies within half an ulp (≤ 0.5) of an integer below 2^53. Other finite
/// values take the shortest digits from `ryu` ([`shortest_digits`]) laid out as `Display` lays
/// them out (plain decimal notation, never an exponent). Non-finite values go through
/// `core::fmt`. The bytes never differ from `Display` (property tests `push_f64_is_display*`).
pub fn push_f64(out: &mut String, v: f64) {
    if v.trunc() == v && v.abs() < EXACT_INTEGERS {
        if v.is_sign_negative() {
            out.push('-');
        }
        // Exact: |v| < 2^53 is an integer.
        push_u64(out, v.abs() as u64);
    } else if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        let text = buf.format_finite(v);
        // Without an exponent, ryu's layout is `Display`'s (`ddd.ddd`, `0.000ddd`), except that
        // it writes integers (here ≥ 2^53) with a trailing `.0`.
        if !text.as_bytes().contains(&b'e') && !tie_possible(v) {
            out.push_str(text.strip_suffix(".0").unwrap_or(text));
        } else {
            if v.is_sign_negative() {
                out.push('-');
            }
            let (digits, exp) = shortest_digits(v.abs());
            push_plain(out, digits, exp);
        }
    } else {
        let _ = write!(out, "{v}");
    }
}

/// `v = m × 2^e` with `m` odd (`v` finite, not zero).
fn odd_mantissa(v: f64) -> (u64, i32) {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), biased - 1075)
    };
    let tz = m.trailing_zeros();
    (m >> tz, e + tz as i32)
}

/// Whether `v` can lie exactly half-way between two shortest decimal candidates (see
/// [`shortest_digits`]): only if `v = m × 2^-k` with `m` odd and `1 ≤ k ≤ 26`.
fn tie_possible(v: f64) -> bool {
    if v == 0.0 {
        return false;
    }
    let (_, e) = odd_mantissa(v);
    (-26..0).contains(&e)
}

/// The shortest decimal digits that read back as `v` (finite, positive, not an integer below
/// 2^53), as `Display` chooses them: `(d, e)` with `v ≈ d × 10^e` and `d` without trailing zeros.
///
/// `ryu` and `core::fmt` (Grisu with a Dragon4 fallback) both return the shortest digit string
/// that reads back as `v` and, of those, the one closest to `v`. They differ only on an exact
/// tie, where the exact value of `v` is `d` followed by one more digit `5`: `ryu` rounds half to
/// even, `core::fmt` rounds half up. A tie needs the exact decimal expansion of `v` to have one
/// digit more than the shortest one (at most 18), so it is checked with exact integers:
/// `v = m × 2^-k` with `m` odd is `m × 5^k × 10^-k`, whose digits are those of `m × 5^k`; if
/// that is `10 d + 5`, `Display` writes `d + 1` (no carry: `d` ends in an even digit).
fn shortest_digits(v: f64) -> (u64, i32) {
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v).as_bytes();
    // ryu writes `ddd.ddd`, `ddd.dddeX`, `deX` or `0.000ddd`: read its digits and exponent.
    let (mantissa, exp_part) = match text.iter().position(|&b| b == b'e') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &b""[..]),
    };
    let mut exp: i32 = 0;
    if !exp_part.is_empty() {
        let (neg, num) = match exp_part.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, exp_part),
        };
        let mut e = 0i32;
        for &b in num {
            e = e * 10 + i32::from(b - b'0');
        }
        exp = if neg { -e } else { e };
    }
    let mut d: u64 = 0;
    let mut after_point = false;
    for &b in mantissa {
        if b == b'.' {
            after_point = true;
        } else {
            d = d * 10 + u64::from(b - b'0');
            if after_point {
                exp -= 1;
            }
        }
    }
    while d != 0 && d.is_multiple_of(10) {
        d /= 10;
        exp += 1;
    }
    if d.is_multiple_of(2) && is_tie_above(v, d) {
        d += 1;
    }
    (d, exp)
}

/// Whether the exact value of `v` (finite, positive) has the digits of `10 d + 5`.
fn is_tie_above(v: f64, d: u64) -> bool {
    if v == 0.0 {
        return false;
    }
    let (m, e) = odd_mantissa(v);
    // v = m × 2^e with m odd. An integer (e ≥ 0) has no digit `5` after its last kept digit
    // that is a tie (its shortest digits need no rounding half-way); with 2^-k, k > 26, the
    // exact digits of m × 5^k number more than 18, more than any shortest form plus one.
    if !(-26..0).contains(&e) {
        return false;
    }
    let exact = u128::from(m) * 5u128.pow(e.unsigned_abs());
    exact == u128::from(d) * 10 + 5
}

/// Append `d × 10^exp` (`d` > 0 without trailing zeros) in `Display`'s plain notation.
fn push_plain(out: &mut String, d: u64, exp: i32) {
    let mut buf = [0u8; 20];
    let digits = u64_digits(d, &mut buf);
    let len = digits.len() as i32;
    // Position of the decimal point counted from the first digit.
    let point = len + exp;
    if exp >= 0 {
        out.push_str(digits);
        for _ in 0..exp {
            out.push('0');
        }
    } else if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let (int, frac) = digits.split_at(point as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// The decimal digits of `n` (as `format!("{n}")`), written into the end of `buf`.
fn u64_digits(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// Append the decimal digits of `n` (as `format!("{n}")`).
pub fn push_u64(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    out.push_str(u64_digits(n, &mut buf));
}

/// Caches the `step,year,` text of the last step seen: every table writes it on every row, and
/// formatting the decimal year is as costly as formatting a value.
#[derive(Default)]
struct StepPrefix(Option<(u32, String)>);

impl StepPrefix {
    fn push(&mut self, out: &mut String, calendar: Calendar, step: u32) {
        if self.0.as_ref().is_none_or(|(s, _)| *s != step) {
            let mut text = String::with_capacity(24);
            push_u64(&mut text, u64::from(step));
            text.push(',');
            push_f64(&mut text, calendar.year(step));
            text.push(',');
            self.0 = Some((step, text));
        }
        if let Some((_, p)) = self.0.as_ref() {
            out.push_str(p);
        }
    }
}

fn opt_name(list: &[String], idx: Option<usize>) -> &str {
    idx.and_then(|i| list.get(i)).map_or("", String::as_str)
}

fn stage_name(stage: Option<Stage>) -> &'static str {
    stage.map_or("", Stage::as_str)
}

/// Append rows of `metrics.csv`. `prefix` caches the `step,year,` text of the last step seen: the
/// metrics file has thousands of rows per step and formatting is most of the cost of writing it.
fn push_metric_rows(
    out: &mut String,
    r: &Registry,
    calendar: Calendar,
    rows: &[MetricRow],
    prefix: &mut StepPrefix,
) -> Result<(), NonFinite> {
    for row in rows {
        let mineral = opt_name(&r.minerals, row.mineral.map(|m| usize::from(m.0)));
        let nation = opt_name(&r.nations, row.nation.map(|n| usize::from(n.0)));
        let partner = opt_name(&r.nations, row.partner.map(|n| usize::from(n.0)));
        if !row.value.is_finite() {
            return Err(NonFinite {
                file: "metrics.csv",
                what: format!(
                    "metric `{}` (mineral `{mineral}`, nation `{nation}`, partner `{partner}`) at step {} is {}",
                    row.metric, row.step, row.value
                ),
            });
        }
        prefix.push(out, calendar, row.step);
        for field in [row.metric, mineral, stage_name(row.stage), nation, partner] {
            out.push_str(field);
            out.push(',');
        }
        push_f64(out, row.value);
        out.push('\n');
    }
    Ok(())
}

/// Append rows of `flows.csv`.
fn push_flow_rows(
    out: &mut String,
    r: &Registry,
    calendar: Calendar,
    rows: &[FlowRow],
    prefix: &mut StepPrefix,
) -> Result<(), NonFinite> {
    for f in rows {
        if !(f.quantity_t.is_finite() && f.value_usd.is_finite()) {
            return Err(NonFinite {
                file: "flows.csv",
                what: format!(
                    "flow at step {}: {} t, {} USD",
                    f.step, f.quantity_t, f.value_usd
                ),
            });
        }
        prefix.push(out, calendar, f.step);
        for field in [
            r.minerals[usize::from(f.mineral.0)].as_str(),
            f.stage.as_str(),
            r.nations[usize::from(f.from.0)].as_str(),
            r.nations[usize::from(f.to.0)].as_str(),
        ] {
            out.push_str(field);
            out.push(',');
        }
        push_f64(out, f.quantity_t);
        out.push(',');
        push_f64(out, f.value_usd);
        out.push(',');
        out.push_str(f.kind.as_str());
        out.push('\n');
    }
    Ok(())
}

/// Append rows of `events.csv`.
fn push_event_rows(
    out: &mut String,
    r: &Registry,
    calendar: Calendar,
    rows: &[EventRow],
    prefix: &mut StepPrefix,
) {
    for e in rows {
        prefix.push(out, calendar, e.step);
        out.push_str(e.kind);
        out.push(',');
        for field in [
            opt_name(&r.assets, e.asset.map(|a| a.0 as usize)),
            opt_name(&r.firms, e.firm.map(|f| f.0 as usize)),
            opt_name(&r.nations, e.nation.map(|n| usize::from(n.0))),
            opt_name(&r.nations, e.partner.map(|n| usize::from(n.0))),
        ] {
            out.push_str(field);
            out.push(',');
        }
        push_field(out, &e.detail);
        out.push('\n');
    }
}

/// `metrics.csv` of a run held in memory.
pub fn metrics_csv(result: &RunResult) -> Result<String, NonFinite> {
    let mut out = String::with_capacity(result.metrics.len() * 48 + 64);
    out.push_str(METRICS_HEADER);
    out.push('\n');
    push_metric_rows(
        &mut out,
        &result.registry,
        Calendar::of(result),
        &result.metrics,
        &mut StepPrefix::default(),
    )?;
    Ok(out)
}

/// `flows.csv` of a run held in memory.
pub fn flows_csv(result: &RunResult) -> Result<String, NonFinite> {
    let mut out = String::with_capacity(result.flows.len() * 48 + 64);
    out.push_str(FLOWS_HEADER);
    out.push('\n');
    push_flow_rows(
        &mut out,
        &result.registry,
        Calendar::of(result),
        &result.flows,
        &mut StepPrefix::default(),
    )?;
    Ok(out)
}

/// `events.csv` of a run held in memory.
pub fn events_csv(result: &RunResult) -> String {
    let mut out = String::with_capacity(result.events.len() * 64 + 64);
    out.push_str(EVENTS_HEADER);
    out.push('\n');
    push_event_rows(
        &mut out,
        &result.registry,
        Calendar::of(result),
        &result.events,
        &mut StepPrefix::default(),
    );
    out
}

/// Default of `orechain run --max-output-mb`: the most a run's streamed tables may write, in MB
/// (10^6 bytes). The baseline writes about 5.5 MB for 68 steps; this allows it about 50,000 steps.
pub const DEFAULT_MAX_OUTPUT_MB: u64 = 4_000;

/// Streams `metrics.csv`, `flows.csv` and `events.csv` to a folder as steps complete (a
/// [`StepSink`]), with the same bytes as [`metrics_csv`], [`flows_csv`] and [`events_csv`] of
/// the whole run. It holds one step's text at a time, so memory does not grow with the number
/// of steps, and it stops a run whose tables would exceed a cap: after the first step by
/// estimate (its bytes × the run's steps), and at any step once the cap is passed.
pub struct TableWriter {
    metrics: Hashed,
    flows: Hashed,
    events: Hashed,
    calendar: Calendar,
    total_steps: u32,
    prefix: StepPrefix,
    flow_prefix: StepPrefix,
    event_prefix: StepPrefix,
    text: String,
    written: u64,
    cap_mb: u64,
    cap_reached: bool,
}

/// A streamed table file and the SHA-256 and size of everything written to it, so the manifest
/// entry needs no second read of the file.
struct Hashed {
    name: &'static str,
    file: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl Hashed {
    fn create(dir: &Path, name: &'static str, header: &str) -> io::Result<Self> {
        let mut f = Hashed {
            name,
            file: BufWriter::with_capacity(1 << 16, File::create(dir.join(name))?),
            hasher: Sha256::new(),
            bytes: 0,
        };
        f.write_all(header.as_bytes())?;
        f.write_all(b"\n")?;
        Ok(f)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> io::Result<ManifestFile> {
        self.file.flush()?;
        Ok(ManifestFile {
            path: self.name.to_string(),
            bytes: self.bytes,
            sha256: crate::output::manifest::hex(&self.hasher.finalize()),
        })
    }
}

impl TableWriter {
    /// Create the three files in `dir` with their headers.
    pub fn create(
        dir: &Path,
        calendar: Calendar,
        total_steps: u32,
        cap_mb: u64,
    ) -> io::Result<Self> {
        Ok(TableWriter {
            metrics: Hashed::create(dir, "metrics.csv", METRICS_HEADER)?,
            flows: Hashed::create(dir, "flows.csv", FLOWS_HEADER)?,
            events: Hashed::create(dir, "events.csv", EVENTS_HEADER)?,
            calendar,
            total_steps,
            prefix: StepPrefix::default(),
            flow_prefix: StepPrefix::default(),
            event_prefix: StepPrefix::default(),
            text: String::new(),
            written: (METRICS_HEADER.len() + FLOWS_HEADER.len() + EVENTS_HEADER.len() + 3) as u64,
            cap_mb,
            cap_reached: false,
        })
    }

    /// Whether the run was stopped by the output cap (rather than a write error).
    pub fn cap_reached(&self) -> bool {
        self.cap_reached
    }

    /// Flush the files; returns their manifest entries (path, size and SHA-256 of the bytes
    /// written), in file-name order.
    pub fn finish(self) -> io::Result<Vec<ManifestFile>> {
        let mut entries = vec![
            self.metrics.finish()?,
            self.flows.finish()?,
            self.events.finish()?,
        ];
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    fn check_cap(&mut self, step: u32) -> Result<(), String> {
        let cap = self.cap_mb.saturating_mul(1_000_000);
        let estimate = if step == 0 {
            self.written
                .saturating_mul(u64::from(self.total_steps.max(1)))
        } else {
            self.written
        };
        if estimate <= cap {
            return Ok(());
        }
        self.cap_reached = true;
        let what = if step == 0 {
            format!(
                "would write about {} MB ({} bytes in its first step × {} steps)",
                estimate / 1_000_000,
                self.written,
                self.total_steps
            )
        } else {
            format!("passed {} MB at step {step}", self.written / 1_000_000)
        };
        Err(format!(
            "the run's tables (metrics.csv, flows.csv, events.csv) {what}, more than the output \
             cap of {} MB: shorten the run (run.end_year, run.steps_per_year) or raise the cap \
             with --max-output-mb",
            self.cap_mb
        ))
    }
}

impl StepSink for TableWriter {
    fn step_rows(
        &mut self,
        registry: &Registry,
        step: u32,
        metrics: &[MetricRow],
        flows: &[FlowRow],
        events: &[EventRow],
    ) -> Result<(), String> {
        fn io(file: &'static str) -> impl Fn(io::Error) -> String {
            move |e| format!("cannot write {file}: {e}")
        }
        self.text.clear();
        push_metric_rows(
            &mut self.text,
            registry,
            self.calendar,
            metrics,
            &mut self.prefix,
        )
        .map_err(|e| e.to_string())?;
        self.metrics
            .write_all(self.text.as_bytes())
            .map_err(io("metrics.csv"))?;
        self.written += self.text.len() as u64;
        self.text.clear();
        push_flow_rows(
            &mut self.text,
            registry,
            self.calendar,
            flows,
            &mut self.flow_prefix,
        )
        .map_err(|e| e.to_string())?;
        self.flows
            .write_all(self.text.as_bytes())
            .map_err(io("flows.csv"))?;
        self.written += self.text.len() as u64;
        self.text.clear();
        push_event_rows(
            &mut self.text,
            registry,
            self.calendar,
            events,
            &mut self.event_prefix,
        );
        self.events
            .write_all(self.text.as_bytes())
            .map_err(io("events.csv"))?;
        self.written += self.text.len() as u64;
        self.check_cap(step)
    }
}

/// `assets.csv`: final state of every asset, in id order.
pub fn assets_csv(result: &RunResult) -> String {
    let r = &result.registry;
    let mut out = String::with_capacity(result.assets.len() * 96 + 128);
    out.push_str(ASSETS_HEADER);
    out.push('\n');
    for a in &result.assets {
        for field in [
            r.assets[a.idx.0 as usize].as_str(),
            r.nations[usize::from(a.host.0)].as_str(),
            r.minerals[usize::from(a.mineral.0)].as_str(),
            a.stage.as_str(),
            a.status.as_str(),
        ] {
            out.push_str(field);
            out.push(',');
        }
        push_u64(&mut out, u64::from(a.status_since_step));
        for v in [
            a.capacity_t_per_yr,
            a.utilisation,
            a.unit_opex_usd_per_t,
            a.esg,
        ] {
            out.push(',');
            push_f64(&mut out, v);
        }
        out.push(',');
        for (k, (f, share)) in a.owners.iter().enumerate() {
            if k > 0 {
                out.push(';');
            }
            out.push_str(&r.firms[f.0 as usize]);
            out.push(':');
            push_f64(&mut out, *share);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shown(v: f64) -> String {
        let mut s = String::new();
        push_f64(&mut s, v);
        s
    }

    #[test]
    fn push_f64_is_display_at_the_edges() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1e15,
            1e16,
            1e22,
            1e300,
            -1e300,
            EXACT_INTEGERS,
            EXACT_INTEGERS - 1.0,
            -(EXACT_INTEGERS - 1.0),
            EXACT_INTEGERS + 2.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            2024.25,
            838_349_955_472.0 + 0.406_25,
            u64::MAX as f64,
        ];
        for v in edges {
            assert_eq!(shown(v), format!("{v}"), "{v:e}");
        }
        for n in [0u64, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    /// Values with a few binary digits after the point (m × 2^-k, k ≤ 30): the only ones whose
    /// exact decimal expansion can tie between two shortest candidates (`is_tie_above`).
    #[test]
    fn push_f64_is_display_on_ties() {
        let mut ties = 0;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for k in 1..=30i32 {
            for _ in 0..20_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let m = (state >> 11) | 1;
                for v in [
                    m as f64 / 2f64.powi(k),
                    (m >> (state % 40)) as f64 / 2f64.powi(k),
                ] {
                    assert_eq!(shown(v), format!("{v}"), "{v:e}");
                    assert_eq!(shown(-v), format!("{}", -v), "{:e}", -v);
                    if shortest_digits(v).0 % 2 == 1 && is_tie_above(v, shortest_digits(v).0 - 1) {
                        ties += 1;
                    }
                }
            }
        }
        // The sample does contain ties, where `ryu` alone would differ from `Display`.
        assert!(ties > 100, "{ties} ties");
        assert_eq!(shown(2f64.powi(50) + 0.25), "1125899906842624.3");
    }

    #[test]
    fn push_f64_is_display_for_tiny_huge_and_subnormal_values() {
        let mut v = f64::from_bits(1);
        while v.is_finite() {
            for w in [v, v.next_up(), v.next_down(), v * 1.5, v / 3.0] {
                assert_eq!(shown(w), format!("{w}"), "{w:e}");
            }
            v *= 7.0;
        }
        for e in -320..=308 {
            let w: f64 = format!("1e{e}").parse().unwrap_or(0.0);
            assert_eq!(shown(w), format!("{w}"), "{w:e}");
            assert_eq!(shown(w * 1.234_567), format!("{}", w * 1.234_567), "{w:e}");
        }
        for w in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1,
            0.2 + 0.1,
            1.0 / 3.0,
        ] {
            assert_eq!(shown(w), format!("{w}"));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn push_f64_is_display(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assert_eq!(shown(v), format!("{}", v));
        }

        #[test]
        fn push_f64_is_display_for_integers(n in any::<i64>(), scale in 0i32..4) {
            let v = n as f64 / f64::from(10i32.pow(scale as u32));
            prop_assert_eq!(shown(v), format!("{}", v));
            let w = (n >> 10) as f64;
            prop_assert_eq!(shown(w), format!("{}", w));
        }

        #[test]
        fn push_f64_is_display_for_prices_and_quantities(mantissa in 1u64..1u64 << 53, e in -60i32..60) {
            let v = mantissa as f64 * 2f64.powi(e);
            prop_assert_eq!(shown(v), format!("{}", v));
            let w = mantissa as f64 / 1e6 + f64::from(e);
            prop_assert_eq!(shown(w), format!("{}", w));
        }
    }
}
