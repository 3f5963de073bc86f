//! The run journal: an append-only log of finished runs, the only file a sweep writes while runs
//! are in flight.
//!
//! Each finished run appends one line, written with a single `write` call as soon as the run
//! ends (so the operating system holds it even if the process is killed the next instant):
//!
//! ```text
//! <run_id> TAB ok [TAB <outcome index>|<year>|<value>]...  LF
//! <run_id> TAB fail TAB <message>                           LF
//! ```
//!
//! Years and values are the exact text that goes into `results.csv`, so the final tables are a
//! re-ordering of journal text and never depend on re-parsing floats. A kill can leave one torn
//! last line (no LF); [`JournalIndex::open`] drops it. Lines are in completion order; the index
//! maps each run id to the line's position, so the final tables can be written in run order
//! reading one line at a time (memory: 16 bytes per run, not the runs' results).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::outcome::OutcomeValue;

/// File name of the journal in a sweep folder.
pub const JOURNAL_FILE: &str = "journal.tsv";

/// What a journal line says about a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// The run finished: `(outcome index, year text, value text)` in output order.
    Ok(Vec<(usize, String, String)>),
    /// The run failed, with a one-line message.
    Fail(String),
}

/// The journal line of a finished run.
pub fn ok_line(run_id: u64, values: &[OutcomeValue]) -> String {
    let mut line = format!("{run_id}\tok");
    for v in values {
        line.push('\t');
        line.push_str(&format!("{}|{}|{}", v.outcome, v.year, v.value));
    }
    line.push('\n');
    line
}

/// The journal line of a failed run (tabs and line breaks in the message become spaces).
pub fn fail_line(run_id: u64, message: &str) -> String {
    let clean: String = message
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect();
    format!("{run_id}\tfail\t{}\n", clean.trim())
}

/// Whether journal text is a number as [`ok_line`] writes it: finite, and only the characters of
/// a decimal or exponent literal (so it can be pasted into `results.csv` without quoting).
fn plain_number(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Parse one complete line (without its LF). Errors never quote the line (it may be anything).
pub fn parse_line(line: &str) -> Result<(u64, Entry), String> {
    let mut fields = line.split('\t');
    let run_id = fields
        .next()
        .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|f| f.parse::<u64>().ok())
        .ok_or_else(|| "no run id at the start of the line".to_string())?;
    match fields.next() {
        Some("ok") => {
            let mut values = Vec::new();
            for (i, field) in fields.enumerate() {
                let mut parts = field.splitn(3, '|');
                let (Some(o), Some(year), Some(value)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!(
                        "value {} of run {run_id} is not `outcome|year|value`",
                        i + 1
                    ));
                };
                let o = o
                    .parse::<usize>()
                    .map_err(|_| format!("value {} of run {run_id}: bad outcome index", i + 1))?;
                if !plain_number(year) {
                    return Err(format!(
                        "value {} of run {run_id}: the year is not a finite number",
                        i + 1
                    ));
                }
                if !plain_number(value) {
                    return Err(format!(
                        "value {} of run {run_id}: the value is not a finite number (empty, NaN, \
                         infinite or not a number)",
                        i + 1
                    ));
                }
                values.push((o, year.to_string(), value.to_string()));
            }
            Ok((run_id, Entry::Ok(values)))
        }
        Some("fail") => Ok((run_id, Entry::Fail(fields.collect::<Vec<_>>().join(" ")))),
        _ => Err(format!(
            "run {run_id}: the status is neither `ok` nor `fail`"
        )),
    }
}

/// Appends lines to a journal, one `write` per run.
#[derive(Debug)]
pub struct JournalWriter {
    file: File,
    path: PathBuf,
}

impl JournalWriter {
    /// Open (creating if needed) a journal for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JournalWriter {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Append one line (already LF-terminated) in a single write.
    pub fn append(&mut self, line: &str) -> io::Result<()> {
        self.file.write_all(line.as_bytes())
    }

    /// Flush to disk (at the end of a sweep).
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where each run's line is, across one or more journals (shards are merged this way).
#[derive(Debug)]
pub struct JournalIndex {
    files: Vec<PathBuf>,
    /// Per run id: (journal number, byte offset of the line).
    slots: Vec<Option<(u32, u64)>>,
}

/// A run id found twice (a journal of another sweep, or two copies of one shard).
#[derive(Debug)]
pub struct Duplicate {
    /// The run.
    pub run_id: u64,
    /// The journals holding it.
    pub files: (PathBuf, PathBuf),
}

/// Why journals cannot be indexed.
#[derive(Debug)]
pub enum IndexError {
    /// A run id appears twice.
    Duplicate(Duplicate),
    /// A complete line cannot be read, or a file cannot be opened or cut.
    Malformed(String),
}

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexError::Duplicate(d) => write!(
                f,
                "run {} appears in both `{}` and `{}`",
                d.run_id,
                d.files.0.display(),
                d.files.1.display()
            ),
            IndexError::Malformed(m) => f.write_str(m),
        }
    }
}

/// What to do with a torn last line (no LF).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Torn {
    /// Cut it off the file: it belongs to a run that was in flight when a sweep was killed, and
    /// the run is executed again (a sweep resuming in its own folder).
    Cut,
    /// An error, and the file is left as it is (`merge` reads its inputs and never writes them).
    Reject,
}

impl JournalIndex {
    /// Index journals of a sweep of `total_runs` runs (at most [`super::spec::MAX_RUNS`]). A torn
    /// last line is handled as `torn` says. A malformed complete line, a run id out of range or a
    /// run id found twice is an error. Only regular files are read (a FIFO would block).
    pub fn open(files: &[PathBuf], total_runs: u64, torn: Torn) -> Result<Self, IndexError> {
        if total_runs > super::spec::MAX_RUNS {
            return Err(IndexError::Malformed(format!(
                "the sweep claims {total_runs} runs; a sweep has at most {}",
                super::spec::MAX_RUNS
            )));
        }
        let mut slots: Vec<Option<(u32, u64)>> = vec![None; total_runs as usize];
        for (f, path) in files.iter().enumerate() {
            let malformed = |e: String| IndexError::Malformed(format!("`{}`: {e}", path.display()));
            let torn_at = scan(path, &malformed, |offset, number, line| {
                let (run_id, _) = parse_line(line)
                    .map_err(|e| malformed(format!("line {number} is damaged: {e}")))?;
                let slot = slots.get_mut(run_id as usize).ok_or_else(|| {
                    malformed(format!(
                        "line {number}: run {run_id} is beyond this sweep's {total_runs} runs"
                    ))
                })?;
                if let Some((other, _)) = *slot {
                    return Err(IndexError::Duplicate(Duplicate {
                        run_id,
                        files: (files[other as usize].clone(), path.clone()),
                    }));
                }
                *slot = Some((f as u32, offset));
                Ok(())
            })?;
            if let Some(len) = torn_at {
                match torn {
                    Torn::Cut => OpenOptions::new()
                        .write(true)
                        .open(path)
                        .and_then(|file| file.set_len(len))
                        .map_err(|e| malformed(format!("cannot cut the torn last line: {e}")))?,
                    Torn::Reject => {
                        return Err(malformed(format!(
                            "the last line (at byte {len}) is incomplete, so the journal was cut \
                             or is still being written"
                        )));
                    }
                }
            }
        }
        Ok(JournalIndex {
            files: files.to_vec(),
            slots,
        })
    }

    /// Whether a run has a line.
    pub fn has(&self, run_id: u64) -> bool {
        self.slots.get(run_id as usize).is_some_and(Option::is_some)
    }

    /// Runs with a line.
    pub fn count(&self) -> u64 {
        self.slots.iter().filter(|s| s.is_some()).count() as u64
    }

    /// A reader that fetches lines by run id, reading forward without seeking when runs come in
    /// journal order.
    pub fn reader(&self) -> io::Result<IndexReader<'_>> {
        let readers = self
            .files
            .iter()
            .map(|p| Ok((BufReader::new(super::input::open_regular(p)?), 0u64)))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(IndexReader {
            index: self,
            readers,
            line: String::new(),
        })
    }
}

/// Reads journal lines by run id.
#[derive(Debug)]
pub struct IndexReader<'a> {
    index: &'a JournalIndex,
    readers: Vec<(BufReader<File>, u64)>,
    line: String,
}

impl IndexReader<'_> {
    /// The entry of a run, or `None` if the journals have no line for it.
    pub fn get(&mut self, run_id: u64) -> io::Result<Option<Entry>> {
        let Some(Some((f, offset))) = self.index.slots.get(run_id as usize).copied() else {
            return Ok(None);
        };
        let (reader, pos) = &mut self.readers[f as usize];
        if *pos != offset {
            reader.seek(SeekFrom::Start(offset))?;
        }
        self.line.clear();
        let n = reader.read_line(&mut self.line)?;
        *pos = offset + n as u64;
        let (_, entry) = parse_line(self.line.trim_end_matches('\n'))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(Some(entry))
    }
}

/// Call `each(offset, line number, line)` for every complete line; returns the length to cut
/// the file to if its last line is torn (no LF). A missing file has no lines; anything but a
/// regular file is an error.
fn scan(
    path: &Path,
    malformed: &impl Fn(String) -> IndexError,
    mut each: impl FnMut(u64, u64, &str) -> Result<(), IndexError>,
) -> Result<Option<u64>, IndexError> {
    let file = match super::input::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(malformed(e.to_string())),
    };
    let mut reader = BufReader::new(file);
    let mut offset = 0u64;
    let mut number = 0u64;
    // Bytes, not a String: a torn line may end inside a UTF-8 character.
    let mut line = Vec::new();
    loop {
        line.clear();
        // A line longer than any the sweep writes is damage, not a line to hold in memory.
        let n = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| malformed(e.to_string()))?;
        number += 1;
        if n == 0 {
            return Ok(None);
        }
        if line.len() as u64 > MAX_LINE_BYTES {
            return Err(malformed(format!(
                "line {number} is longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        if line.last() != Some(&b'\n') {
            return Ok(Some(offset));
        }
        let text = std::str::from_utf8(&line[..n - 1])
            .map_err(|_| malformed(format!("line {number} is not UTF-8")))?;
        each(offset, number, text)?;
        offset += n as u64;
    }
}

/// The longest journal line read: far above any real one (a few hundred outcome values, or a
/// failure message), far below what would strain memory.
pub const MAX_LINE_BYTES: u64 = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn value(outcome: usize, year: &str, value: f64) -> OutcomeValue {
        OutcomeValue {
            outcome,
            year: year.into(),
            value,
        }
    }

    #[test]
    fn lines_round_trip() {
        let line = ok_line(7, &[value(0, "2030", 0.1), value(1, "2030.25", -3.0)]);
        assert_eq!(line, "7\tok\t0|2030|0.1\t1|2030.25|-3\n");
        let (run, entry) = parse_line(line.trim_end()).expect("parses");
        assert_eq!(run, 7);
        assert_eq!(
            entry,
            Entry::Ok(vec![
                (0, "2030".into(), "0.1".into()),
                (1, "2030.25".into(), "-3".into())
            ])
        );
        let line = fail_line(3, "bad\nthing\there");
        assert_eq!(line, "3\tfail\tbad thing here\n");
        assert_eq!(
            parse_line(line.trim_end()).expect("parses").1,
            Entry::Fail("bad thing here".into())
        );
    }

    #[test]
    fn a_torn_last_line_is_cut_and_the_rest_indexed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(JOURNAL_FILE);
        std::fs::write(&path, "2\tok\t0|2030|1\n0\tfail\tx\n1\tok\t0|20").expect("write");
        let index = JournalIndex::open(std::slice::from_ref(&path), 3, Torn::Cut).expect("index");
        assert!(index.has(0) && index.has(2) && !index.has(1));
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "2\tok\t0|2030|1\n0\tfail\tx\n"
        );
        let mut reader = index.reader().expect("reader");
        assert_eq!(reader.get(0).expect("io"), Some(Entry::Fail("x".into())));
        assert_eq!(
            reader.get(2).expect("io"),
            Some(Entry::Ok(vec![(0, "2030".into(), "1".into())]))
        );
        assert_eq!(reader.get(1).expect("io"), None);
    }

    #[test]
    fn a_run_in_two_journals_is_a_duplicate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.tsv");
        let b = dir.path().join("b.tsv");
        std::fs::write(&a, "0\tfail\tx\n").expect("write");
        std::fs::write(&b, "0\tfail\tx\n").expect("write");
        match JournalIndex::open(&[a.clone(), b.clone()], 1, Torn::Cut) {
            Err(IndexError::Duplicate(dup)) => {
                assert_eq!(dup.run_id, 0);
                assert_eq!(dup.files, (a, b));
            }
            other => panic!("expected a duplicate, got {other:?}"),
        }
    }
}
