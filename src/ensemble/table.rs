//! Replicate tables read back from disk: every row key of the replicates' `metrics.csv` with one
//! value slot per replicate, per step and per calendar year.
//!
//! Each replicate's `metrics.csv` is written first and read back afterwards, one replicate at a
//! time, in replicate order, so memory holds the values of one row key across replicates (what
//! exact quantiles need) but never every replicate's rows as text. Reading in replicate order —
//! never in completion order — is what makes the summaries byte-identical whatever `-j`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;

use super::stats::{Paired, Stats};
use crate::command::AppError;
use crate::output::tables::push_field;

/// Metrics written only when non-zero (`docs/output-format.md`): a replicate without the row had
/// zero, so its slot is filled with 0 rather than left out.
pub const ZERO_WHEN_ABSENT: [&str; 3] = ["investment_usd", "state_finance_usd", "incidents"];

/// Whether a metric's absent rows mean zero.
pub fn zero_when_absent(metric: &str) -> bool {
    ZERO_WHEN_ABSENT.contains(&metric)
}

/// The identifying columns of a metrics row, without time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Series {
    /// Metric name.
    pub metric: String,
    /// Mineral id or empty.
    pub mineral: String,
    /// Stage or empty.
    pub stage: String,
    /// Nation or empty.
    pub nation: String,
    /// Partner or empty.
    pub partner: String,
}

impl Series {
    fn write(&self, out: &mut String) {
        for (i, f) in [
            &self.metric,
            &self.mineral,
            &self.stage,
            &self.nation,
            &self.partner,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            push_field(out, f);
        }
    }
}

/// Time of a row: a step (with its year as written in `metrics.csv`) or a calendar year.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Time {
    /// Step number and the `year` cell's text.
    Step(u32, String),
    /// Calendar year.
    Year(i64),
}

/// A multiplicative byte hasher (the `FxHash` of rustc, Knuth's multiplicative method over 8-byte
/// words) for the row-key index: keys are hashed about `rows × replicates` times, and SipHash's
/// DoS resistance buys nothing for files the user's own runs wrote. Lookups only: no output order
/// depends on the hash (keys keep their order of first appearance).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// The words are folded by multiplication, which leaves the low bits (the bucket) depending
    /// on few input bits; MurmurHash3's 64-bit finaliser (Appleby 2011) mixes every bit in.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

type KeyMap = HashMap<Box<[u8]>, usize, std::hash::BuildHasherDefault<KeyHasher>>;

/// The five identifying columns of a row as bytes: each field length-prefixed (u32 LE), so the
/// encoding is unambiguous and reversible.
fn encode_series(out: &mut Vec<u8>, fields: [&str; 5]) {
    for f in fields {
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f.as_bytes());
    }
}

/// The encoded key of a (time, series): a tag byte (0 step, 1 year), the step (u32 LE) and the
/// length-prefixed year text, or the year (i64 LE); then [`encode_series`].
fn encode_key(out: &mut Vec<u8>, time: &Time, series: &Series) {
    match time {
        Time::Step(s, y) => {
            out.push(0);
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(&(y.len() as u32).to_le_bytes());
            out.extend_from_slice(y.as_bytes());
        }
        Time::Year(y) => {
            out.push(1);
            out.extend_from_slice(&y.to_le_bytes());
        }
    }
    encode_series(
        out,
        [
            &series.metric,
            &series.mineral,
            &series.stage,
            &series.nation,
            &series.partner,
        ],
    );
}

/// Reads what [`encode_key`] wrote (the bytes come from this module only).
fn decode_key(bytes: &[u8]) -> (Time, Series) {
    let mut at = 0usize;
    let mut take = |n: usize| {
        let end = (at + n).min(bytes.len());
        let s = &bytes[at.min(end)..end];
        at = end;
        s
    };
    let word4 = |b: &[u8]| {
        let mut w = [0u8; 4];
        w[..b.len()].copy_from_slice(b);
        u32::from_le_bytes(w)
    };
    let tag = take(1).first().copied().unwrap_or(0);
    let time = if tag == 0 {
        let step = word4(take(4));
        let n = word4(take(4)) as usize;
        Time::Step(step, String::from_utf8_lossy(take(n)).into_owned())
    } else {
        let mut w = [0u8; 8];
        let b = take(8);
        w[..b.len()].copy_from_slice(b);
        Time::Year(i64::from_le_bytes(w))
    };
    let mut field = || {
        let n = word4(take(4)) as usize;
        String::from_utf8_lossy(take(n)).into_owned()
    };
    let series = Series {
        metric: field(),
        mineral: field(),
        stage: field(),
        nation: field(),
        partner: field(),
    };
    (time, series)
}

/// Rows of one replicate as encoded keys ([`encode_key`]) and values, in row order.
#[derive(Debug, Default)]
struct Encoded {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    values: Vec<f64>,
}

impl Encoded {
    fn push_row(&mut self, value: f64) {
        self.ends.push(self.bytes.len());
        self.values.push(value);
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn rows(&self) -> impl Iterator<Item = (&[u8], f64)> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.values)
            .map(|((s, &e), &v)| (&self.bytes[s..e], v))
    }
}

/// One replicate's `metrics.csv`, parsed (step rows and annual means) but not yet merged into the
/// [`Tables`]: parsing runs in parallel, merging in replicate order.
#[derive(Debug, Default)]
pub struct ParsedReplicate {
    steps: Encoded,
    years: Encoded,
}

/// Values of many row keys over replicates.
#[derive(Debug, Default)]
pub struct Table {
    replicates: usize,
    index: KeyMap,
    keys: Vec<(Time, Series)>,
    /// `keys.len() × replicates` slots, key-major.
    values: Vec<Option<f64>>,
    /// Encoded keys ([`encode_key`]) back to back; key `i` ends at `key_ends[i]`.
    key_bytes: Vec<u8>,
    key_ends: Vec<usize>,
    /// Per key, the key of the row that followed it in the replicate merged last, and the key of
    /// that replicate's first row (`usize::MAX`: none) ([`Table::absorb`]).
    next_row: Vec<usize>,
    first_row: usize,
}

impl Table {
    /// An empty table for `replicates` slots per key.
    pub fn new(replicates: usize) -> Self {
        Table {
            replicates,
            first_row: usize::MAX,
            ..Table::default()
        }
    }

    /// Index of an encoded key, added (decoded, in order of first appearance) when new.
    fn slot_of(&mut self, enc: &[u8]) -> usize {
        if let Some(&i) = self.index.get(enc) {
            return i;
        }
        let i = self.keys.len();
        self.index.insert(enc.into(), i);
        self.keys.push(decode_key(enc));
        self.key_bytes.extend_from_slice(enc);
        self.key_ends.push(self.key_bytes.len());
        self.next_row.push(usize::MAX);
        self.values
            .extend(std::iter::repeat_n(None, self.replicates));
        i
    }

    /// The encoded key at an index.
    fn encoded(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.key_bytes[start..self.key_ends[i]]
    }

    /// Set the value of a key for a replicate (keys are kept in order of first appearance).
    pub fn set(&mut self, time: Time, series: Series, replicate: usize, value: f64) {
        let mut enc = Vec::with_capacity(64);
        encode_key(&mut enc, &time, &series);
        let i = self.slot_of(&enc);
        self.values[i * self.replicates + replicate] = Some(value);
    }

    /// Merge one replicate's rows. Replicates of a scenario mostly write the same keys in the
    /// same order, so each row is first compared with the key that followed the previous row's key
    /// in the replicate merged before (a sequential byte comparison) before the hash index is
    /// asked.
    fn absorb(&mut self, rows: &Encoded, replicate: usize) {
        if self.index.is_empty() {
            self.index.reserve(rows.values.len());
        }
        let mut prev = usize::MAX;
        for (enc, v) in rows.rows() {
            let guess = if prev == usize::MAX {
                self.first_row
            } else {
                self.next_row[prev]
            };
            let i = if guess < self.keys.len() && self.encoded(guess) == enc {
                guess
            } else {
                self.slot_of(enc)
            };
            if prev == usize::MAX {
                self.first_row = i;
            } else {
                self.next_row[prev] = i;
            }
            prev = i;
            self.values[i * self.replicates + replicate] = Some(v);
        }
    }

    /// Keys in output order: by time, then by first appearance (replicate order, then row order).
    pub fn ordered(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.keys.len()).collect();
        order.sort_by(|a, b| {
            let (ta, tb) = (&self.keys[*a].0, &self.keys[*b].0);
            let rank = |t: &Time| match t {
                Time::Step(s, _) => i64::from(*s),
                Time::Year(y) => *y,
            };
            rank(ta).cmp(&rank(tb)).then(a.cmp(b))
        });
        order
    }

    /// The key at an index.
    pub fn key(&self, i: usize) -> &(Time, Series) {
        &self.keys[i]
    }

    /// The raw slots of a key (no zero filling).
    fn raw(&self, i: usize) -> &[Option<f64>] {
        &self.values[i * self.replicates..(i + 1) * self.replicates]
    }

    /// The values of a key across replicates, zeros filled in for [`ZERO_WHEN_ABSENT`] metrics.
    pub fn slots(&self, i: usize) -> Vec<Option<f64>> {
        let zero = zero_when_absent(&self.keys[i].1.metric);
        self.raw(i)
            .iter()
            .map(|v| if zero { Some(v.unwrap_or(0.0)) } else { *v })
            .collect()
    }

    /// The slots of a key by its (time, series), if any replicate has it.
    pub fn lookup(&self, key: &(Time, Series)) -> Option<Vec<Option<f64>>> {
        let mut enc = Vec::with_capacity(64);
        encode_key(&mut enc, &key.0, &key.1);
        self.index.get(enc.as_slice()).map(|&i| self.slots(i))
    }

    /// The index of the key that is key `i` of `other`, if this table has it.
    pub fn index_of(&self, other: &Table, i: usize) -> Option<usize> {
        self.index.get(other.encoded(i)).copied()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Per-step and annual tables of a set of replicates.
#[derive(Debug)]
pub struct Tables {
    /// One key per (step, series).
    pub steps: Table,
    /// One key per (calendar year, series): the mean over the year's steps with a row, or the sum
    /// over the year's steps for [`ZERO_WHEN_ABSENT`] metrics (amounts per step).
    pub years: Table,
}

impl Tables {
    /// Empty tables for `replicates` replicates.
    pub fn new(replicates: usize) -> Self {
        Tables {
            steps: Table::new(replicates),
            years: Table::new(replicates),
        }
    }

    /// Read one replicate's `metrics.csv` into slot `replicate`.
    pub fn read_replicate(&mut self, path: &Path, replicate: usize) -> Result<(), AppError> {
        let parsed = parse_replicate_file(path)?;
        self.absorb(&parsed, replicate);
        Ok(())
    }

    /// [`Tables::read_replicate`] from any reader (the library API reads the CSV text of a run
    /// held in memory); `shown` names the source in messages.
    pub fn read_replicate_from(
        &mut self,
        source: impl std::io::Read,
        shown: &str,
        replicate: usize,
    ) -> Result<(), AppError> {
        let parsed = parse_replicate(source, shown)?;
        self.absorb(&parsed, replicate);
        Ok(())
    }

    /// Merge a parsed replicate into slot `replicate` (keys new to the tables are appended in the
    /// replicate's row order, so merging in replicate order gives the order of a serial read).
    pub fn absorb(&mut self, parsed: &ParsedReplicate, replicate: usize) {
        self.steps.absorb(&parsed.steps, replicate);
        self.years.absorb(&parsed.years, replicate);
    }
}

/// [`parse_replicate`] of a file.
pub fn parse_replicate_file(path: &Path) -> Result<ParsedReplicate, AppError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| AppError::BadInput(format!("cannot read `{shown}`: {e}")))?;
    let len = file.metadata().map_or(0, |m| m.len());
    let hint = usize::try_from(len).unwrap_or(0).min(1 << 30);
    parse_replicate_sized(
        std::io::BufReader::with_capacity(1 << 16, file),
        &shown,
        hint,
    )
}

/// Parse one replicate's `metrics.csv` (header checked; every value finite): its step rows and,
/// per (calendar year, series) in order of first appearance, the year's mean (sum for
/// [`ZERO_WHEN_ABSENT`] metrics), summed in row order.
pub fn parse_replicate(
    source: impl std::io::Read,
    shown: &str,
) -> Result<ParsedReplicate, AppError> {
    parse_replicate_sized(source, shown, 0)
}

/// [`parse_replicate`] with the source's size in bytes, if known (0 if not), to size the buffers.
fn parse_replicate_sized(
    source: impl std::io::Read,
    shown: &str,
    size_hint: usize,
) -> Result<ParsedReplicate, AppError> {
    let bad = |line: u64, m: String| AppError::BadInput(format!("{shown}:{line}: {m}"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(source);
    let header = reader
        .headers()
        .map_err(|e| bad(1, format!("cannot read the header: {e}")))?
        .clone();
    let want = crate::output::tables::METRICS_HEADER;
    if header.iter().collect::<Vec<_>>().join(",") != want {
        return Err(bad(1, format!("expected the header `{want}`")));
    }
    let mut parsed = ParsedReplicate::default();
    // About one encoded byte per text byte; rows are ~70 bytes.
    parsed.steps.bytes.reserve(size_hint);
    parsed.steps.ends.reserve(size_hint / 64);
    parsed.steps.values.reserve(size_hint / 64);
    // Annual accumulation: (sum, count, zero-when-absent) per (year, series), in order.
    let mut annual: Vec<(f64, u32, bool)> = Vec::new();
    let mut annual_keys = Encoded::default();
    let mut annual_index: KeyMap = KeyMap::default();
    let mut series_bytes: Vec<u8> = Vec::with_capacity(64);
    let mut akey: Vec<u8> = Vec::with_capacity(80);
    annual_index.reserve(size_hint / 256);
    let mut next_annual: Vec<usize> = Vec::new();
    let mut prev_annual: Option<usize> = None;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(bad(line, format!("malformed row: {e}")));
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        let f = |i: usize| record.get(i).unwrap_or("");
        let step: u32 = f(0)
            .parse()
            .map_err(|_| bad(line, "column `step` is not a step number".into()))?;
        let year: f64 = f(1)
            .parse()
            .map_err(|_| bad(line, "column `year` is not a number".into()))?;
        let value: f64 = f(7)
            .parse()
            .map_err(|_| bad(line, "column `value` is not a number".into()))?;
        if !(value.is_finite() && year.is_finite()) {
            return Err(bad(line, "a value is not finite".into()));
        }
        series_bytes.clear();
        encode_series(&mut series_bytes, [f(2), f(3), f(4), f(5), f(6)]);
        let year_text = f(1);
        let out = &mut parsed.steps.bytes;
        out.push(0);
        out.extend_from_slice(&step.to_le_bytes());
        out.extend_from_slice(&(year_text.len() as u32).to_le_bytes());
        out.extend_from_slice(year_text.as_bytes());
        out.extend_from_slice(&series_bytes);
        parsed.steps.push_row(value);

        let cal = year.floor() as i64;
        akey.clear();
        akey.push(1);
        akey.extend_from_slice(&cal.to_le_bytes());
        akey.extend_from_slice(&series_bytes);
        // The steps of a year list mostly the same series in the same order: try the slot that
        // followed the previous row's slot last time before the hash index.
        let guess = prev_annual.map_or(usize::MAX, |p| next_annual[p]);
        let ai = if guess < annual.len() && annual_keys.key(guess) == akey.as_slice() {
            guess
        } else {
            match annual_index.get(akey.as_slice()) {
                Some(&ai) => ai,
                None => {
                    let ai = annual.len();
                    annual_index.insert(akey.as_slice().into(), ai);
                    annual_keys.bytes.extend_from_slice(&akey);
                    annual_keys.push_row(0.0);
                    annual.push((0.0, 0, zero_when_absent(f(2))));
                    next_annual.push(usize::MAX);
                    ai
                }
            }
        };
        if let Some(p) = prev_annual {
            next_annual[p] = ai;
        }
        prev_annual = Some(ai);
        annual[ai].0 += value;
        annual[ai].1 += 1;
    }
    for (v, (sum, count, zero)) in annual_keys.values.iter_mut().zip(annual) {
        *v = if zero { sum } else { sum / f64::from(count) };
    }
    parsed.years = annual_keys;
    Ok(parsed)
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

fn write_time(out: &mut String, t: &Time) {
    match t {
        Time::Step(s, y) => {
            let _ = write!(out, "{s},{y},");
        }
        Time::Year(y) => {
            let _ = write!(out, "{y},");
        }
    }
}

/// Header of `metrics_summary.csv`.
pub const SUMMARY_HEADER: &str =
    "step,year,metric,mineral,stage,nation,partner,n,mean,sd,p05,p50,p95";
/// Header of `metrics_annual.csv`.
pub const ANNUAL_HEADER: &str = "year,metric,mineral,stage,nation,partner,n,mean,sd,p05,p50,p95";

/// Keys per parallel task when writing a summary or comparison: large enough that a task's
/// setup is negligible, small enough to balance two to a few dozen threads.
const ROWS_PER_TASK: usize = 2048;

/// The rows of `order` written by `row` in parallel chunks, concatenated in order (so the text
/// does not depend on the number of threads); also the sum of what `row` returned.
fn par_rows(
    order: &[usize],
    capacity: usize,
    row: impl Fn(usize, &mut String) -> usize + Sync,
) -> (String, usize) {
    let parts: Vec<(String, usize)> = order
        .par_chunks(ROWS_PER_TASK)
        .map(|chunk| {
            let mut out = String::with_capacity(chunk.len() * capacity);
            let mut n = 0;
            for &i in chunk {
                n += row(i, &mut out);
            }
            (out, n)
        })
        .collect();
    let total = parts.iter().map(|(s, _)| s.len()).sum();
    let mut out = String::with_capacity(total);
    let mut n = 0;
    for (s, k) in parts {
        out.push_str(&s);
        n += k;
    }
    (out, n)
}

/// The summary CSV of a table: one row per key with `n,mean,sd,p05,p50,p95` over the replicates
/// that have a value (mean summed in replicate order; sd with divisor n − 1, empty for n = 1;
/// quantiles of type 7). Rows are formatted in parallel and joined in key order.
pub fn summary_csv(table: &Table, header: &str) -> String {
    let zero = |i: usize| zero_when_absent(&table.key(i).1.metric);
    let (body, _) = par_rows(&table.ordered(), 96, |i, out| {
        let fill = zero(i);
        let values: Vec<f64> = table
            .raw(i)
            .iter()
            .filter_map(|v| if fill { Some(v.unwrap_or(0.0)) } else { *v })
            .collect();
        if values.is_empty() {
            return 0;
        }
        let s = Stats::of(&values);
        let (time, series) = table.key(i);
        write_time(out, time);
        series.write(out);
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{}",
            s.n,
            s.mean,
            opt(s.sd),
            s.p05,
            s.p50,
            s.p95
        );
        0
    });
    let mut out = String::with_capacity(header.len() + 1 + body.len());
    out.push_str(header);
    out.push('\n');
    out.push_str(&body);
    out
}

/// Header of `comparison.csv` (per step) after the time columns.
pub const COMPARISON_COLUMNS: &str = "metric,mineral,stage,nation,partner,n,mean_a,mean_b,mean_diff,sd_diff,p05_diff,p50_diff,p95_diff,ci95_low,ci95_high,excludes_zero";

/// The paired comparison of two tables whose slots are the same seeds in the same order: per key
/// present in both, the differences `b − a` over the seeds where both have a value.
/// Keys present in only one of the two are left out (the comparison counts them in the return).
/// Rows are computed in parallel and joined in key order.
pub fn comparison_csv(a: &Table, b: &Table, time_header: &str) -> (String, usize) {
    let (body, mut unpaired) = par_rows(&b.ordered(), 160, |i, out| {
        let Some(ia) = a.index_of(b, i) else {
            return 1;
        };
        let key = b.key(i);
        // Both tables hold the same metric under this key, so the same zero filling applies.
        let fill = zero_when_absent(&key.1.metric);
        let get = |v: &Option<f64>| if fill { Some(v.unwrap_or(0.0)) } else { *v };
        let (mut va, mut vb, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for (x, y) in a.raw(ia).iter().zip(b.raw(i)) {
            if let (Some(x), Some(y)) = (get(x), get(y)) {
                va.push(x);
                vb.push(y);
                d.push(y - x);
            }
        }
        if d.is_empty() {
            return 1;
        }
        let p = Paired::of(&d);
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        write_time(out, &key.0);
        key.1.write(out);
        let (lo, hi) = match p.ci95 {
            Some((lo, hi)) => (lo.to_string(), hi.to_string()),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{},{},{},{lo},{hi},{}",
            p.stats.n,
            mean(&va),
            mean(&vb),
            p.stats.mean,
            opt(p.stats.sd),
            p.stats.p05,
            p.stats.p50,
            p.stats.p95,
            p.excludes_zero().map_or(String::new(), |e| e.to_string())
        );
        0
    });
    // Keys only in `a`.
    unpaired += (0..a.len())
        .into_par_iter()
        .filter(|&i| b.index_of(a, i).is_none())
        .count();
    let mut out =
        String::with_capacity(time_header.len() + COMPARISON_COLUMNS.len() + 2 + body.len());
    out.push_str(time_header);
    out.push(',');
    out.push_str(COMPARISON_COLUMNS);
    out.push('\n');
    out.push_str(&body);
    (out, unpaired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(metric: &str, nation: &str) -> Series {
        Series {
            metric: metric.into(),
            mineral: "li,\"x\"".into(),
            stage: String::new(),
            nation: nation.into(),
            partner: String::new(),
        }
    }

    #[test]
    fn encoded_keys_round_trip() {
        for (time, s) in [
            (Time::Step(3, "2024.75".into()), series("price", "CHN")),
            (Time::Year(-12), series("", "")),
            (Time::Step(u32::MAX, String::new()), series("a\u{1}b", "é")),
        ] {
            let mut enc = Vec::new();
            encode_key(&mut enc, &time, &s);
            assert_eq!(decode_key(&enc), (time, s));
        }
    }

    /// The merged tables equal a plain map filled row by row, keys in order of first appearance,
    /// whether the replicates list their rows in the same order, another order, or skip rows.
    #[test]
    fn merging_matches_a_plain_map_whatever_the_row_order() {
        let header = crate::output::tables::METRICS_HEADER;
        let rows = |spec: &[(u32, &str, f64)]| {
            let mut t = format!("{header}\n");
            for (step, nation, v) in spec {
                let year = 2024.0 + f64::from(*step) / 4.0;
                t.push_str(&format!(
                    "{step},{year},price,\"li,\"\"x\"\"\",,{nation},,{v}\n"
                ));
            }
            t
        };
        let texts = [
            rows(&[(0, "A", 1.0), (0, "B", 2.0), (1, "A", 3.0), (1, "B", 4.0)]),
            rows(&[(0, "B", 5.0), (0, "A", 6.0), (1, "C", 7.0), (1, "A", 8.0)]),
            rows(&[(1, "A", 9.0), (4, "A", 10.0), (0, "A", 11.0)]),
        ];
        let mut t = Tables::new(texts.len());
        type Plain = Vec<((Time, Series), Vec<Option<f64>>)>;
        let mut plain: Plain = Vec::new();
        for (r, text) in texts.iter().enumerate() {
            t.read_replicate_from(text.as_bytes(), "m.csv", r)
                .expect("parses");
            for line in text.lines().skip(1) {
                let cells: Vec<&str> = line.split(',').collect();
                let key = (
                    Time::Step(cells[0].parse().expect("step"), cells[1].to_string()),
                    series("price", cells[6]),
                );
                let v: f64 = cells[8].parse().expect("value");
                match plain.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, slots)) => slots[r] = Some(v),
                    None => {
                        let mut slots = vec![None; texts.len()];
                        slots[r] = Some(v);
                        plain.push((key, slots));
                    }
                }
            }
        }
        assert_eq!(t.steps.len(), plain.len());
        for (i, (key, slots)) in plain.iter().enumerate() {
            assert_eq!(t.steps.key(i), key);
            assert_eq!(&t.steps.slots(i), slots);
            assert_eq!(t.steps.lookup(key).as_ref(), Some(slots));
        }
        // Annual means: replicate 2 has 2024 from steps 0 and 1 (11 and 9) and 2025 from step 4.
        let y2024 = (Time::Year(2024), series("price", "A"));
        assert_eq!(
            t.years.lookup(&y2024),
            Some(vec![Some(2.0), Some(7.0), Some(10.0)])
        );
        let y2025 = (Time::Year(2025), series("price", "A"));
        assert_eq!(t.years.lookup(&y2025), Some(vec![None, None, Some(10.0)]));
        // Comparing a table with itself pairs every key and gives zero differences.
        let (csv, unpaired) = comparison_csv(&t.steps, &t.steps, "step,year");
        assert_eq!(unpaired, 0);
        assert_eq!(csv.lines().count(), 1 + plain.len());
    }
}
