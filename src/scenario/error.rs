//! Scenario errors: where a problem is (file, line, column, field path) and what was expected.
//!
//! The library returns these concrete values; the CLI prints them. Each carries enough context to
//! be read on its own in a terminal or a Slurm log.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

/// Widest source snippet shown under an error, in chars; longer lines are shown as a window
/// around the column (a generated file may hold a whole scenario on one line).
const SNIPPET_WIDTH: usize = 120;

/// Starts a snippet that is a window of a longer line.
const WINDOW_MARK: char = '…';

/// First char (0-based) of the window shown for a caret at 1-based `col`.
fn window_start(col: u32) -> usize {
    usize::try_from(col)
        .unwrap_or(usize::MAX)
        .saturating_sub(1)
        .saturating_sub(SNIPPET_WIDTH / 2)
}

/// The snippet stored for a source line with a caret at 1-based `col`: the line itself, or for a
/// line wider than [`SNIPPET_WIDTH`] a window around the column that starts with `…` when it does
/// not start at the beginning of the line (so an error on a 10 MB line keeps ~120 chars, not the line).
pub fn snippet_window(line: &str, col: u32) -> String {
    if line.chars().nth(SNIPPET_WIDTH).is_none() {
        return line.to_string();
    }
    let first = window_start(col);
    let shown: String = line.chars().skip(first).take(SNIPPET_WIDTH).collect();
    if first == 0 {
        shown
    } else {
        format!("{WINDOW_MARK}{shown}")
    }
}

/// `text` cut to at most `max` chars, with a note of how much was left out. Error messages quote
/// what the user wrote, which may be a 10 MB string; the terminal gets its start.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} more chars)",
            &text[..cut],
            text[cut..].chars().count()
        )),
    }
}

/// A position in a scenario source, or the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// In a file: path, 1-based line and column, and the source line for a snippet.
    File {
        /// File path as given (or the built-in name).
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column (characters).
        col: u32,
        /// The text of that line, or a window of it around `col` (see [`snippet_window`]).
        snippet: String,
    },
    /// Set on the command line with `--set`.
    CommandLine,
    /// Unknown (e.g. a default value that conflicts with another setting).
    Unknown,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File {
                file, line, col, ..
            } => write!(f, "{file}:{line}:{col}"),
            Location::CommandLine => write!(f, "--set"),
            Location::Unknown => write!(f, "<scenario>"),
        }
    }
}

impl Location {
    fn write_snippet(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Location::File {
            line, col, snippet, ..
        } = self
        {
            let gutter = line.to_string();
            writeln!(f, "  {gutter} | {snippet}")?;
            // The caret's offset in the (possibly windowed) snippet: see `snippet_window`.
            let start = window_start(*col);
            let first = if start > 0 && snippet.starts_with(WINDOW_MARK) {
                start - 1
            } else {
                0
            };
            let skip = usize::try_from(*col)
                .unwrap_or(usize::MAX)
                .saturating_sub(1)
                .saturating_sub(first);
            let pad: String = snippet
                .chars()
                .take(skip)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "  {} | {pad}^", " ".repeat(gutter.len()))?;
        }
        Ok(())
    }
}

/// One semantic problem in a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Field path with list elements named by id, e.g. `assets.atacama.owners`.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Where it is.
    pub location: Location,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}: {}", self.location, self.path, self.message)?;
        self.location.write_snippet(f)
    }
}

/// Everything that can go wrong reading a scenario.
#[derive(Debug)]
pub enum ScenarioError {
    /// The file could not be read.
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid RON.
    Syntax {
        /// Where.
        location: Location,
        /// What was expected.
        message: String,
    },
    /// Valid RON, but a field has the wrong name or type.
    Type {
        /// Where.
        location: Location,
        /// Field path.
        path: String,
        /// What was expected (serde's message, e.g. the list of valid fields).
        message: String,
    },
    /// `extends` chain loops back on itself.
    ExtendsCycle {
        /// The chain, first file first.
        chain: Vec<String>,
    },
    /// A `--set` argument is malformed or names no field.
    Set {
        /// The argument as given.
        arg: String,
        /// What is wrong (with the nearest valid paths where the path is unknown).
        message: String,
    },
    /// Semantic problems, all of them.
    Invalid {
        /// Each problem.
        problems: Vec<Problem>,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Io { path, source } => {
                let path = path.display().to_string();
                write!(f, "cannot read scenario `{}`: {source}", clip(&path, 320))
            }
            ScenarioError::Syntax { location, message } => {
                writeln!(f, "{location}: syntax error: {message}")?;
                location.write_snippet(f)
            }
            ScenarioError::Type {
                location,
                path,
                message,
            } => {
                writeln!(f, "{location}: field `{path}`: {message}")?;
                location.write_snippet(f)
            }
            ScenarioError::ExtendsCycle { chain } => {
                write!(f, "`extends` forms a cycle: {}", chain.join(" -> "))
            }
            ScenarioError::Set { arg, message } => {
                write!(f, "--set {}: {message}", clip(arg, 160))
            }
            ScenarioError::Invalid { problems } => {
                writeln!(f, "the scenario has {} problem(s):", problems.len())?;
                for p in problems {
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ScenarioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScenarioError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
