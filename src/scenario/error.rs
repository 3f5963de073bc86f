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

/// `text` cut to at most `max` chars, with a note of how much was left out, and its control
/// characters escaped ([`escape_controls`]). Error messages quote what the user wrote, which may be
/// a 10 MB string or an id holding terminal escape sequences; the terminal gets its harmless start.
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    let clipped = match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} more chars)",
            &text[..cut],
            text[cut..].chars().count()
        )),
    };
    match escape_controls(&clipped) {
        Cow::Borrowed(_) => clipped,
        Cow::Owned(escaped) => Cow::Owned(escaped),
    }
}

/// Whether a char could change what a terminal shows beyond itself: C0/C1 controls (ESC starts
/// escape sequences, CR rewrites a line) and the Unicode bidirectional overrides and isolates,
/// which reorder the text around them.
fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The escaped form of a hazardous char: `\n`, `\t`, `\r` or `\u{1b}`.
fn escaped(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// `text` with every control char (newlines and tabs included) and bidi override escaped, for a
/// value quoted inside a message: an id, a path, a `--set` argument.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape_where(text, is_hazard)
}

/// `text` with every control char except newline and tab escaped: the one filter every message
/// passes on its way to the terminal (`main` applies it to each error, [`crate::app`] to what it
/// prints), so nothing read from a file, an id or a path can move the cursor, recolour the
/// terminal or rewrite a line, whichever message path it took.
pub fn escape_message(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && c != '\t' && is_hazard(c))
}

fn escape_where(text: &str, hazard: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if hazard(c) {
            out.push_str(&escaped(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most this many problems are listed in one message; the rest are counted.
pub const MAX_LISTED_PROBLEMS: usize = 50;

/// Write `items` one after another, at most [`MAX_LISTED_PROBLEMS`] of them, then `… and K more`.
pub fn write_bounded<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for item in items.iter().take(MAX_LISTED_PROBLEMS) {
        write!(f, "{item}")?;
    }
    if items.len() > MAX_LISTED_PROBLEMS {
        writeln!(
            f,
            "… and {} more problem(s) not listed",
            items.len() - MAX_LISTED_PROBLEMS
        )?;
    }
    Ok(())
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
    /// Set on the command line by this `--set` argument.
    Set {
        /// The argument as given.
        arg: String,
    },
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
            Location::Set { arg } => write!(f, "in --set {}", clip(arg, 160)),
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
            // Tabs stay (the caret line copies them); other control chars are escaped.
            let shown = escape_message(snippet);
            writeln!(f, "  {gutter} | {shown}")?;
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
                .map(|c| match c {
                    '\t' => "\t".to_string(),
                    c if is_hazard(c) => " ".repeat(escaped(c).chars().count()),
                    _ => " ".to_string(),
                })
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

/// Former name of [`LoadError`], kept so callers written against it still compile.
pub type ScenarioError = LoadError;

/// Everything that can go wrong reading a scenario: the error of the scenario layer (load,
/// validate, resolve; issue 13's error types per layer).
#[derive(Debug)]
pub enum LoadError {
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
    /// `extends` chain longer than the cap (acyclic, but deeper than any real scenario library).
    ExtendsTooDeep {
        /// The chain, first file first.
        chain: Vec<String>,
        /// The cap.
        max: usize,
    },
    /// A file reached through `extends` (or a sweep's `base`) is not RON at all. Its content is not
    /// shown: `extends` may point anywhere (`/etc/passwd`), and the message must not become a way
    /// to read it.
    NotAScenario {
        /// The file named.
        path: String,
        /// Where it was named (boxed: keeps every `Result<_, LoadError>` small).
        from: Box<Location>,
        /// The field that named it (`extends`, or a sweep file's `base`).
        field: &'static str,
        /// What kind of syntax error, without quoting the file.
        kind: String,
        /// 1-based line of the syntax error.
        line: u32,
        /// 1-based column.
        col: u32,
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

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, source } => {
                let path = path.display().to_string();
                write!(f, "cannot read scenario `{}`: {source}", clip(&path, 320))
            }
            LoadError::Syntax { location, message } => {
                writeln!(f, "{location}: syntax error: {message}")?;
                location.write_snippet(f)
            }
            LoadError::Type {
                location,
                path,
                message,
            } => {
                writeln!(f, "{location}: field `{path}`: {message}")?;
                location.write_snippet(f)
            }
            LoadError::ExtendsCycle { chain } => {
                write!(f, "`extends` forms a cycle: {}", chain_text(chain))
            }
            LoadError::ExtendsTooDeep { chain, max } => write!(
                f,
                "`extends` chain deeper than {max} files (no cycle, but at most {max} files may \
                 extend one another): {}",
                chain_text(chain)
            ),
            LoadError::NotAScenario {
                path,
                from,
                field,
                kind,
                line,
                col,
            } => write!(
                f,
                "{from}: `{field}`: `{}` is not a scenario file: {kind} at {line}:{col} (its \
                 content is not shown; run `orechain validate` on it if it is yours)",
                clip(path, 320)
            ),
            LoadError::Set { arg, message } => {
                write!(f, "in --set {}: {message}", clip(arg, 160))
            }
            LoadError::Invalid { problems } => {
                writeln!(f, "the scenario has {} problem(s):", problems.len())?;
                write_bounded(f, problems)
            }
        }
    }
}

/// An `extends` chain for a message: each file clipped, at most the first 3 and the last 3.
fn chain_text(chain: &[String]) -> String {
    let shown = |c: &String| clip(c, 200).into_owned();
    if chain.len() <= 6 {
        return chain.iter().map(shown).collect::<Vec<_>>().join(" -> ");
    }
    let head: Vec<String> = chain[..3].iter().map(shown).collect();
    let tail: Vec<String> = chain[chain.len() - 3..].iter().map(shown).collect();
    format!(
        "{} -> … ({} more) … -> {}",
        head.join(" -> "),
        chain.len() - 6,
        tail.join(" -> ")
    )
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue18_control_characters_are_escaped_for_terminals() {
        assert_eq!(
            escape_controls("a\u{1b}[31mb\n\t\r\u{7}"),
            "a\\u{1b}[31mb\\n\\t\\r\\u{7}"
        );
        // Bidi overrides reorder what the terminal shows.
        assert_eq!(escape_controls("x\u{202e}y"), "x\\u{202e}y");
        // A whole message keeps its lines and tabs.
        assert_eq!(escape_message("l1\n\tl2\u{1b}"), "l1\n\tl2\\u{1b}");
        assert!(matches!(escape_message("plain é"), Cow::Borrowed(_)));
        // clip escapes too, after cutting.
        assert_eq!(clip("\u{1b}abc", 2), "\\u{1b}a… (2 more chars)");
    }

    #[test]
    fn issue18_a_snippet_with_control_characters_keeps_the_caret_under_the_column() {
        let location = Location::File {
            file: "f.ron".into(),
            line: 1,
            col: 4,
            snippet: "\u{1b}ab!".into(),
        };
        let problem = Problem {
            path: "p".into(),
            message: "m".into(),
            location,
        };
        let text = problem.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let bang = lines[1].find('!').expect("snippet shown");
        let caret = lines[2].find('^').expect("caret shown");
        assert_eq!(bang, caret, "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn issue18_long_problem_lists_are_cut() {
        let problems: Vec<Problem> = (0..120)
            .map(|i| Problem {
                path: format!("p{i}"),
                message: "bad".into(),
                location: Location::Unknown,
            })
            .collect();
        let text = LoadError::Invalid { problems }.to_string();
        assert!(
            text.starts_with("the scenario has 120 problem(s):"),
            "{text}"
        );
        assert!(
            text.contains("p49: bad") && !text.contains("p50: bad"),
            "{text}"
        );
        assert!(
            text.contains("… and 70 more problem(s) not listed"),
            "{text}"
        );
    }
}
