//! Scenario errors: where a problem is (file, line, column, field path) and what was expected.
//!
//! The library returns these concrete values; the CLI prints them. Each carries enough context to
//! be read on its own in a terminal or a Slurm log.

use std::fmt;
use std::path::PathBuf;

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
        /// The text of that line.
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
            let pad: String = snippet
                .chars()
                .take(col.saturating_sub(1) as usize)
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
                write!(f, "cannot read scenario `{}`: {source}", path.display())
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
            ScenarioError::Set { arg, message } => write!(f, "--set {arg}: {message}"),
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
