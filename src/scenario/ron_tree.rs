//! A small RON reader and writer that keeps source positions.
//!
//! Scenario files are written in RON. Loading them means merging a scenario
//! with the file it `extends`, applying `--set a.b.c=VALUE` overrides, and
//! reporting mistakes as `file:line:col`. The `ron` crate's `Value` drops
//! spans and struct names, so this module parses RON into its own tree
//! ([`Node`]), which records a [`Span`] on every value and every key. The tree
//! converts to `serde_json::Value` ([`to_json`]) for typed deserialisation and
//! back ([`from_json`]). [`print_ron`] writes a JSON value out as RON that
//! [`parse`] reads back to the same value. [`locate`] finds the node a
//! deserialisation error path points at. Scenario enums are always written as
//! strings, so enum variants have no special meaning here: a bare identifier
//! such as `Ore` is read as the string `"Ore"`.
//!
//! The parser has a fixed nesting limit, reports errors through [`SyntaxError`]
//! and never panics, whatever its input.
//!
//! A scenario loaded without `--set` skips the tree and the JSON value: [`from_str`] reads the
//! typed value straight from the text with the same lexer (issue 19: the three copies were most
//! of the time and memory of loading a large world); the tree is built only where it is needed
//! (`extends`, `--set`, located errors).

use std::collections::HashSet;

mod de;
pub use de::{DeError, from_str};

use serde_json::{Map, Number, Value};

/// Maximum container nesting accepted by [`parse`].
const MAX_DEPTH: usize = 128;

/// Widest line (in chars, indentation included) that [`print_ron`] packs an
/// array of scalars onto.
const INLINE_WIDTH: usize = 100;

/// Where a node came from: index into the loader's file table, 1-based line
/// and column (in chars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Index into the loader's file table.
    pub file: u16,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in chars (a tab counts as one).
    pub col: u32,
}

impl Span {
    /// The span of nodes that have no source text (built from JSON or by
    /// overrides).
    pub const SYNTHETIC: Span = Span {
        file: u16::MAX,
        line: 0,
        col: 0,
    };

    /// Whether this span is [`Span::SYNTHETIC`] (no source position).
    pub fn is_synthetic(&self) -> bool {
        *self == Self::SYNTHETIC
    }
}

/// The value held by a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `None` or `()`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer literal that fits in `i64`.
    Int(i64),
    /// An integer above `i64::MAX` that fits `u64` (seeds are `u64`).
    UInt(u64),
    /// Any other number (float literal, or an integer too large for `i64`).
    /// Always finite when produced by [`parse`].
    Float(f64),
    /// A string literal (`"..."`, `r#"..."#`), a char literal (`'a'`) or a
    /// bare identifier such as `Ore`.
    Str(String),
    /// A list `[a, b]` or a tuple `(a, b)`.
    List(Vec<Node>),
    /// A struct `Name(field: v)`, `(field: v)` or a map `{"k": v, k2: v}`, in
    /// source order.
    Object(Vec<(Key, Node)>),
}

/// An object key and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The field name or map key.
    pub name: String,
    /// Position of the key's first char.
    pub span: Span,
}

/// A parsed value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: NodeKind,
    /// Position of the value's first char (for a named struct, of its name).
    pub span: Span,
}

/// A RON syntax error at a 1-based line and column (in chars).
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// 1-based line of the offending char (or of the end of the file).
    pub line: u32,
    /// 1-based column, in chars, of the offending char.
    pub col: u32,
    /// What was expected and what was found.
    pub message: String,
}

/// Parse a whole RON document (exactly one value, surrounded by
/// whitespace/comments).
///
/// `file` is stored in every [`Span`] of the result.
pub fn parse(src: &str, file: u16) -> Result<Node, SyntaxError> {
    let mut parser = Parser::new(src, file);
    let node = parser.parse_value()?;
    parser.skip_ws()?;
    match parser.peek() {
        None => Ok(node),
        Some(c) => Err(parser.error_here(format!(
            "trailing characters after the scenario value: found {}",
            describe(c)
        ))),
    }
}

/// Convert to JSON for serde.
///
/// `Null` becomes `null`, `Int` an `i64` number, `Float` an `f64` number (a
/// non-finite float, which [`parse`] never produces, becomes `null`), `List`
/// an array and `Object` an object. If an object repeats a key (only possible
/// in hand-built trees) the last entry wins.
pub fn to_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::from(*i),
        NodeKind::UInt(u) => Value::from(*u),
        NodeKind::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        NodeKind::Str(s) => Value::String(s.clone()),
        NodeKind::List(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeKind::Object(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                map.insert(key.name.clone(), to_json(value));
            }
            Value::Object(map)
        }
    }
}

/// Convert a JSON value into a tree whose spans are all [`Span::SYNTHETIC`].
///
/// Numbers that fit `i64` become `Int`, larger `u64` values `UInt`, and floats `Float`.
pub fn from_json(value: &Value) -> Node {
    let kind = match value {
        Value::Null => NodeKind::Null,
        Value::Bool(b) => NodeKind::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => NodeKind::Int(i),
            (None, Some(u)) => NodeKind::UInt(u),
            (None, None) => NodeKind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => NodeKind::Str(s.clone()),
        Value::Array(items) => NodeKind::List(items.iter().map(from_json).collect()),
        Value::Object(map) => NodeKind::Object(
            map.iter()
                .map(|(name, v)| {
                    let key = Key {
                        name: name.clone(),
                        span: Span::SYNTHETIC,
                    };
                    (key, from_json(v))
                })
                .collect(),
        ),
    };
    Node {
        kind,
        span: Span::SYNTHETIC,
    }
}

/// Pretty-print a JSON value as RON text that [`parse`] reads back to an equal
/// JSON value.
///
/// Objects whose keys are all identifiers print as `(\n    key: value,\n)`,
/// other objects as `{\n    "key": value,\n}`, the empty object as `{}`.
/// Arrays print one element per line, except that an array made only of
/// scalars (or of small arrays of scalars) that fits in 100 columns prints on
/// one line; inside an array, a pair of numbers prints as a tuple
/// `(2024, 205000.0)`. `null` prints as `None`, integers plainly, floats in
/// shortest round-trip form with a `.0` or an exponent. The output ends with a
/// newline and depends only on the input.
///
/// Integers above `i64::MAX` print as floats, so they read back as the
/// nearest `f64` rather than as the same integer.
pub fn print_ron(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, false);
    out.push('\n');
    out
}

/// Walk `path` and return the deepest node reached plus how many segments
/// matched.
///
/// A segment selects an object's field by name, or a list element either by
/// decimal index or, failing that, by the value of the element's `id` string
/// field. Used to point errors at the right source position.
pub fn locate<'a>(node: &'a Node, path: &[String]) -> (&'a Node, usize) {
    let mut current = node;
    for (matched, segment) in path.iter().enumerate() {
        let next = match &current.kind {
            NodeKind::Object(entries) => entries
                .iter()
                .find(|(key, _)| key.name == *segment)
                .map(|(_, value)| value),
            NodeKind::List(items) => segment
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index))
                .or_else(|| items.iter().find(|item| has_id(item, segment))),
            _ => None,
        };
        match next {
            Some(found) => current = found,
            None => return (current, matched),
        }
    }
    (current, path.len())
}

/// Whether `node` is an object with a string field `id` equal to `id`.
fn has_id(node: &Node, id: &str) -> bool {
    let NodeKind::Object(entries) = &node.kind else {
        return false;
    };
    entries
        .iter()
        .any(|(key, value)| key.name == "id" && matches!(&value.kind, NodeKind::Str(s) if s == id))
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// A saved parser position.
#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    line: u32,
    col: u32,
}

/// Recursive-descent parser over the document's text.
///
/// It reads the `&str` in place (issue 19: it used to collect the text into a `Vec<char>`, four
/// bytes per byte of an ASCII file); positions are byte offsets, columns still count chars.
struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next char (always on a char boundary).
    pos: usize,
    line: u32,
    col: u32,
    file: u16,
    depth: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_non_finite_word(word: &str) -> bool {
    ["nan", "inf", "infinity"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// Quote a char for an error message.
fn describe(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("`{}`", c.escape_debug())
    } else {
        format!("`{c}`")
    }
}

fn error_at(mark: Mark, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        line: mark.line,
        col: mark.col,
        message: message.into(),
    }
}

/// Longest number literal quoted in a message (a 1 MB literal is shown by its start).
const QUOTED_NUMBER_CHARS: usize = 40;

fn non_finite(mark: Mark, literal: &str) -> SyntaxError {
    error_at(
        mark,
        format!(
            "non-finite number `{}`: every quantity must be a finite number",
            super::error::clip(literal, QUOTED_NUMBER_CHARS)
        ),
    )
}

fn invalid_number(mark: Mark, literal: &str) -> SyntaxError {
    error_at(
        mark,
        format!(
            "invalid number `{}`",
            super::error::clip(literal, QUOTED_NUMBER_CHARS)
        ),
    )
}

impl<'a> Parser<'a> {
    /// A parser at the start of `src` (after a byte-order mark, if any).
    fn new(src: &'a str, file: u16) -> Self {
        let mut parser = Parser {
            src,
            pos: 0,
            line: 1,
            col: 1,
            file,
            depth: 0,
        };
        if parser.peek() == Some('\u{feff}') {
            parser.bump();
        }
        parser
    }

    fn peek(&self) -> Option<char> {
        let b = *self.src.as_bytes().get(self.pos)?;
        if b < 0x80 {
            Some(char::from(b))
        } else {
            self.src.get(self.pos..)?.chars().next()
        }
    }

    /// The char `offset` chars ahead (small offsets only: it walks the chars).
    fn peek_at(&self, offset: usize) -> Option<char> {
        self.src.get(self.pos..)?.chars().nth(offset)
    }

    /// Whether the next `n` bytes are all `#` (the closing hashes of a raw string).
    fn hashes_ahead(&self, n: usize) -> bool {
        self.src
            .as_bytes()
            .get(self.pos..self.pos.saturating_add(n))
            .is_some_and(|s| s.iter().all(|&b| b == b'#'))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            line: self.line,
            col: self.col,
        }
    }

    fn reset(&mut self, mark: Mark) {
        self.pos = mark.pos;
        self.line = mark.line;
        self.col = mark.col;
    }

    fn span_of(&self, mark: Mark) -> Span {
        Span {
            file: self.file,
            line: mark.line,
            col: mark.col,
        }
    }

    fn error_here(&self, message: impl Into<String>) -> SyntaxError {
        error_at(self.mark(), message)
    }

    /// "expected X, found Y" at the current char, or the end-of-file variant.
    fn unexpected(&self, expected: &str) -> SyntaxError {
        match self.peek() {
            None => self.error_here(format!("unexpected end of file, expected {expected}")),
            Some(c) => self.error_here(format!("expected {expected}, found {}", describe(c))),
        }
    }

    /// End of file inside a container opened at `open`.
    fn unclosed(&self, open: Mark, close: char) -> SyntaxError {
        let opener = match close {
            ']' => '[',
            '}' => '{',
            _ => '(',
        };
        self.error_here(format!(
            "unexpected end of file, expected `{close}` to close the `{opener}` at line {}, col {}",
            open.line, open.col
        ))
    }

    fn enter(&mut self, open: Mark) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(error_at(
                open,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ))
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skip whitespace, `// line` comments and nestable `/* block */` comments.
    fn skip_ws(&mut self) -> Result<(), SyntaxError> {
        loop {
            // ASCII whitespace byte by byte (the indentation of a large scenario is most of its
            // bytes); what `bump` does for these chars, without decoding them.
            let bytes = self.src.as_bytes();
            while let Some(&b) = bytes.get(self.pos) {
                match b {
                    b'\n' => {
                        self.line = self.line.saturating_add(1);
                        self.col = 1;
                    }
                    b' ' | b'\t' | b'\r' | 0x0b | 0x0c => self.col = self.col.saturating_add(1),
                    _ => break,
                }
                self.pos += 1;
            }
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') => match self.peek_at(1) {
                    Some('/') => {
                        while self.peek().is_some_and(|c| c != '\n') {
                            self.bump();
                        }
                    }
                    Some('*') => self.skip_block_comment()?,
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), SyntaxError> {
        let start = self.mark();
        self.bump();
        self.bump();
        let mut level = 1usize;
        loop {
            match self.bump() {
                None => return Err(error_at(start, "unterminated block comment `/* ... */`")),
                Some('*') if self.peek() == Some('/') => {
                    self.bump();
                    level -= 1;
                    if level == 0 {
                        return Ok(());
                    }
                }
                Some('/') if self.peek() == Some('*') => {
                    self.bump();
                    level += 1;
                }
                Some(_) => {}
            }
        }
    }

    fn read_ident(&mut self) -> String {
        self.ident_slice().to_string()
    }

    /// The identifier at the current position (possibly empty), consumed. Identifier chars are
    /// ASCII and never a newline, so the column moves by its length.
    fn ident_slice(&mut self) -> &'a str {
        let start = self.pos;
        let len = self.src.as_bytes()[start..]
            .iter()
            .take_while(|&&b| is_ident_char(char::from(b)))
            .count();
        self.pos += len;
        self.col = self
            .col
            .saturating_add(u32::try_from(len).unwrap_or(u32::MAX));
        &self.src[start..self.pos]
    }

    fn parse_value(&mut self) -> Result<Node, SyntaxError> {
        self.skip_ws()?;
        let start = self.mark();
        let Some(c) = self.peek() else {
            return Err(self.unexpected("a value"));
        };
        let kind = match c {
            '[' => return self.parse_list(),
            '{' => return self.parse_map(),
            '(' => return self.parse_paren(None),
            '"' => NodeKind::Str(self.parse_string()?),
            '\'' => NodeKind::Str(self.parse_char()?),
            'r' if matches!(self.peek_at(1), Some('"' | '#')) => {
                NodeKind::Str(self.parse_raw_string()?)
            }
            'b' if matches!(self.peek_at(1), Some('"' | '\''))
                || (self.peek_at(1) == Some('r') && matches!(self.peek_at(2), Some('"' | '#'))) =>
            {
                return Err(error_at(start, "byte strings are not supported"));
            }
            '+' | '-' | '0'..='9' => self.parse_number()?,
            c if is_ident_start(c) => return self.parse_ident_value(),
            c => return Err(self.error_here(format!("expected a value, found {}", describe(c)))),
        };
        Ok(Node {
            kind,
            span: self.span_of(start),
        })
    }

    /// A value starting with an identifier: keyword, `Some(..)`, named struct
    /// or bare identifier.
    fn parse_ident_value(&mut self) -> Result<Node, SyntaxError> {
        let start = self.mark();
        let name = self.read_ident();
        let kind = match name.as_str() {
            "true" => NodeKind::Bool(true),
            "false" => NodeKind::Bool(false),
            "None" => NodeKind::Null,
            "Some" => return self.parse_some(),
            word if is_non_finite_word(word) => return Err(non_finite(start, word)),
            _ => {
                let after = self.mark();
                self.skip_ws()?;
                if self.peek() == Some('(') {
                    return self.parse_paren(Some(start));
                }
                self.reset(after);
                NodeKind::Str(name)
            }
        };
        Ok(Node {
            kind,
            span: self.span_of(start),
        })
    }

    /// The rest of `Some(x)` after the `Some`; yields `x` itself.
    fn parse_some(&mut self) -> Result<Node, SyntaxError> {
        self.skip_ws()?;
        if self.peek() != Some('(') {
            return Err(self.unexpected("`(` after `Some`"));
        }
        let open = self.mark();
        self.enter(open)?;
        self.bump();
        let inner = self.parse_value()?;
        self.skip_ws()?;
        if self.peek() == Some(',') {
            self.bump();
            self.skip_ws()?;
        }
        match self.peek() {
            Some(')') => {
                self.bump();
            }
            None => return Err(self.unclosed(open, ')')),
            Some(_) => return Err(self.unexpected("`)` to close `Some(`")),
        }
        self.leave();
        Ok(inner)
    }

    fn parse_list(&mut self) -> Result<Node, SyntaxError> {
        let open = self.mark();
        self.enter(open)?;
        self.bump();
        let items = self.parse_items(open, ']')?;
        self.leave();
        Ok(Node {
            kind: NodeKind::List(items),
            span: self.span_of(open),
        })
    }

    /// `(...)`, optionally preceded by a struct name that started at `name`.
    fn parse_paren(&mut self, name: Option<Mark>) -> Result<Node, SyntaxError> {
        let open = self.mark();
        self.enter(open)?;
        self.bump();
        let span = self.span_of(name.unwrap_or(open));
        self.skip_ws()?;
        let kind = if self.peek() == Some(')') {
            self.bump();
            if name.is_some() {
                NodeKind::Object(Vec::new())
            } else {
                NodeKind::Null
            }
        } else if self.fields_ahead() {
            NodeKind::Object(self.parse_entries(open, ')')?)
        } else {
            NodeKind::List(self.parse_items(open, ')')?)
        };
        self.leave();
        Ok(Node { kind, span })
    }

    /// Whether the next tokens are `identifier :` (named struct fields).
    fn fields_ahead(&mut self) -> bool {
        let start = self.mark();
        if !self.peek().is_some_and(is_ident_start) {
            return false;
        }
        self.read_ident();
        let found = self.skip_ws().is_ok() && self.peek() == Some(':');
        self.reset(start);
        found
    }

    /// Comma-separated values up to `close` (the opener is consumed).
    fn parse_items(&mut self, open: Mark, close: char) -> Result<Vec<Node>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(c) if c == close => {
                    self.bump();
                    return Ok(items);
                }
                None => return Err(self.unclosed(open, close)),
                Some(_) => {}
            }
            let bare = self.peek().is_some_and(is_ident_start)
                && !matches!(self.peek_at(1), Some('"' | '#'));
            let item = self.parse_value()?;
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(c) if c == close => {
                    self.bump();
                    items.push(item);
                    return Ok(items);
                }
                None => return Err(self.unclosed(open, close)),
                Some(_) => {
                    return Err(match &item.kind {
                        NodeKind::Str(name) if bare && close == ')' => self.unexpected(&format!(
                            "`:` or `,` after `{}`",
                            super::error::clip(name, QUOTED_NUMBER_CHARS)
                        )),
                        _ if close == ')' => self.unexpected("`,` or `)` after a tuple element"),
                        _ => self.unexpected(&format!("`,` or `{close}` after a list element")),
                    });
                }
            }
            items.push(item);
        }
    }

    /// `key: value` entries up to `close`: identifier keys for `)`, string
    /// or identifier keys for `}`.
    fn parse_entries(&mut self, open: Mark, close: char) -> Result<Vec<(Key, Node)>, SyntaxError> {
        let is_map = close == '}';
        let what = if is_map { "key" } else { "field" };
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut seen = HashSet::new();
        loop {
            self.skip_ws()?;
            let key_mark = self.mark();
            let name = match self.peek() {
                Some(c) if c == close => {
                    self.bump();
                    return Ok(entries);
                }
                None => return Err(self.unclosed(open, close)),
                Some('"') if is_map => self.parse_string()?,
                Some('r') if is_map && matches!(self.peek_at(1), Some('"' | '#')) => {
                    self.parse_raw_string()?
                }
                Some(c) if is_ident_start(c) => self.read_ident(),
                Some(_) if is_map => {
                    return Err(self.unexpected("a map key (a string or an identifier)"));
                }
                Some(_) => return Err(self.unexpected("a field name")),
            };
            let shown = super::error::clip(&name, 80).into_owned();
            if !seen.insert(name.clone()) {
                return Err(error_at(key_mark, format!("duplicate {what} `{shown}`")));
            }
            self.skip_ws()?;
            if self.peek() == Some(':') {
                self.bump();
            } else {
                return Err(self.unexpected(&format!("`:` after {what} `{shown}`")));
            }
            let value = self.parse_value()?;
            entries.push((
                Key {
                    name,
                    span: self.span_of(key_mark),
                },
                value,
            ));
            self.skip_ws()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(c) if c == close => {
                    self.bump();
                    return Ok(entries);
                }
                None => return Err(self.unclosed(open, close)),
                Some(_) => {
                    return Err(
                        self.unexpected(&format!("`,` or `{close}` after the value of `{shown}`"))
                    );
                }
            }
        }
    }

    fn parse_map(&mut self) -> Result<Node, SyntaxError> {
        let open = self.mark();
        self.enter(open)?;
        self.bump();
        let entries = self.parse_entries(open, '}')?;
        self.leave();
        Ok(Node {
            kind: NodeKind::Object(entries),
            span: self.span_of(open),
        })
    }

    /// `"..."` with escapes; the current char is the opening quote.
    fn parse_string(&mut self) -> Result<String, SyntaxError> {
        // Fast path: an ASCII string without escapes or line breaks is copied as one
        // slice (the char loop below gives the same string and position).
        let rest = &self.src.as_bytes()[self.pos + 1..];
        if let Some(len) = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b == b'\n' || b >= 0x80)
            && rest[len] == b'"'
        {
            let text = &self.src[self.pos + 1..self.pos + 1 + len];
            self.pos += len + 2;
            self.col = self
                .col
                .saturating_add(u32::try_from(len + 2).unwrap_or(u32::MAX));
            return Ok(text.to_string());
        }
        let start = self.mark();
        self.bump();
        let mut out = String::new();
        loop {
            let here = self.mark();
            match self.bump() {
                None => return Err(error_at(start, "unterminated string")),
                Some('"') => return Ok(out),
                Some('\\') => self.parse_escape(here, start, "unterminated string", &mut out)?,
                Some(c) => out.push(c),
            }
        }
    }

    /// `'c'`; the current char is the opening quote.
    fn parse_char(&mut self) -> Result<String, SyntaxError> {
        const UNTERMINATED: &str = "unterminated character literal";
        let start = self.mark();
        self.bump();
        let mut out = String::new();
        let here = self.mark();
        match self.bump() {
            None => return Err(error_at(start, UNTERMINATED)),
            Some('\'') => return Err(error_at(start, "empty character literal")),
            Some('\\') => self.parse_escape(here, start, UNTERMINATED, &mut out)?,
            Some(c) => out.push(c),
        }
        match self.peek() {
            Some('\'') => {
                self.bump();
                Ok(out)
            }
            None => Err(error_at(start, UNTERMINATED)),
            Some(_) => Err(self.unexpected("`'` to close the character literal")),
        }
    }

    /// The escape after a backslash at `esc`, appended to `out`.
    fn parse_escape(
        &mut self,
        esc: Mark,
        literal: Mark,
        unterminated: &str,
        out: &mut String,
    ) -> Result<(), SyntaxError> {
        let c = match self.bump() {
            None => return Err(error_at(literal, unterminated)),
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('0') => '\0',
            Some('\\') => '\\',
            Some('"') => '"',
            Some('\'') => '\'',
            Some('\n') => {
                // Line continuation: skip the newline and leading whitespace.
                while self.peek().is_some_and(char::is_whitespace) {
                    self.bump();
                }
                return Ok(());
            }
            Some('x') => {
                let code = self.hex_digits(2, 2).filter(|&v| v <= 0x7f);
                return match code.and_then(char::from_u32) {
                    Some(c) => {
                        out.push(c);
                        Ok(())
                    }
                    None => Err(error_at(
                        esc,
                        "invalid `\\x` escape: expected two hex digits up to 7F",
                    )),
                };
            }
            Some('u') => {
                let code = if self.peek() == Some('{') {
                    self.bump();
                    let code = self.hex_digits(1, 6);
                    if self.peek() == Some('}') {
                        self.bump();
                        code
                    } else {
                        None
                    }
                } else {
                    self.hex_digits(4, 4)
                };
                return match code.and_then(char::from_u32) {
                    Some(c) => {
                        out.push(c);
                        Ok(())
                    }
                    None => Err(error_at(
                        esc,
                        "invalid unicode escape: expected `\\u{...}` with a valid code point",
                    )),
                };
            }
            Some(other) => {
                return Err(error_at(
                    esc,
                    format!("invalid escape `\\{}` in string", other.escape_debug()),
                ));
            }
        };
        out.push(c);
        Ok(())
    }

    /// Between `min` and `max` hex digits as a number.
    fn hex_digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let mut value = 0u32;
        let mut count = 0;
        while count < max {
            let Some(digit) = self.peek().and_then(|c| c.to_digit(16)) else {
                break;
            };
            self.bump();
            value = value * 16 + digit;
            count += 1;
        }
        (count >= min).then_some(value)
    }

    /// `r"..."`, `r#"..."#`, ...; the current char is the `r`.
    fn parse_raw_string(&mut self) -> Result<String, SyntaxError> {
        let start = self.mark();
        self.bump();
        let mut hashes = 0usize;
        while self.peek() == Some('#') {
            self.bump();
            hashes += 1;
        }
        if self.peek() != Some('"') {
            if self.peek().is_some_and(is_ident_start) {
                return Err(error_at(
                    start,
                    "raw identifiers like `r#name` are not supported",
                ));
            }
            return Err(self.unexpected("`\"` to start the raw string"));
        }
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(error_at(start, "unterminated raw string")),
                Some('"') if self.hashes_ahead(hashes) => {
                    for _ in 0..hashes {
                        self.bump();
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// A number literal; the current char is a sign or a digit.
    fn parse_number(&mut self) -> Result<NodeKind, SyntaxError> {
        let start = self.mark();
        let mut text = String::new();
        let mut negative = false;
        if let Some(sign @ ('+' | '-')) = self.peek() {
            negative = sign == '-';
            text.push(sign);
            self.bump();
        }
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {}
            Some(c) if is_ident_start(c) => {
                let word = self.read_ident();
                text.push_str(&word);
                if is_non_finite_word(&word) {
                    return Err(non_finite(start, &text));
                }
                return Err(invalid_number(start, &text));
            }
            _ => return Err(self.unexpected(&format!("a digit after `{text}`"))),
        }

        let radix = match (self.peek(), self.peek_at(1)) {
            (Some('0'), Some('x' | 'X')) => Some(16),
            (Some('0'), Some('o' | 'O')) => Some(8),
            (Some('0'), Some('b' | 'B')) => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            for _ in 0..2 {
                if let Some(c) = self.bump() {
                    text.push(c);
                }
            }
            let mut digits = String::new();
            while let Some(c) = self.peek().filter(|&c| is_ident_char(c)) {
                text.push(c);
                if c != '_' {
                    digits.push(c);
                }
                self.bump();
            }
            let Ok(magnitude) = u128::from_str_radix(&digits, radix) else {
                return Err(invalid_number(start, &text));
            };
            return Ok(int_kind(negative, magnitude));
        }

        let mut is_float = false;
        self.take_digits(&mut text);
        if self.peek() == Some('.') && !self.peek_at(1).is_some_and(is_ident_start) {
            is_float = true;
            text.push('.');
            self.bump();
            self.take_digits(&mut text);
        }
        if let Some(e @ ('e' | 'E')) = self.peek() {
            let digit_at = if matches!(self.peek_at(1), Some('+' | '-')) {
                2
            } else {
                1
            };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                text.push(e);
                self.bump();
                if digit_at == 2
                    && let Some(sign) = self.bump()
                {
                    text.push(sign);
                }
                self.take_digits(&mut text);
            }
        }
        if self.peek().is_some_and(|c| is_ident_char(c) || c == '.') {
            while let Some(c) = self.peek().filter(|&c| is_ident_char(c) || c == '.') {
                text.push(c);
                self.bump();
            }
            return Err(invalid_number(start, &text));
        }

        let clean: String = text.chars().filter(|&c| c != '_').collect();
        if !is_float && let Ok(i) = clean.parse::<i64>() {
            return Ok(NodeKind::Int(i));
        }
        if !is_float && let Ok(u) = clean.parse::<u64>() {
            return Ok(NodeKind::UInt(u));
        }
        match clean.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(NodeKind::Float(f)),
            // A whole number with hundreds of digits: not a float that overflowed but an integer
            // no field can hold (seeds are the widest integers, u64).
            Ok(_) if !is_float => Err(error_at(
                start,
                format!(
                    "integer too large (`{}`, {} digits; whole-number fields hold at most {})",
                    super::error::clip(&text, QUOTED_NUMBER_CHARS),
                    clean.trim_start_matches(['+', '-']).len(),
                    u64::MAX
                ),
            )),
            Ok(_) => Err(non_finite(start, &text)),
            Err(_) => Err(invalid_number(start, &text)),
        }
    }

    /// Append decimal digits and underscores to `text`.
    fn take_digits(&mut self, text: &mut String) {
        while let Some(c) = self.peek().filter(|&c| c.is_ascii_digit() || c == '_') {
            text.push(c);
            self.bump();
        }
    }
}

/// An integer of the given sign and magnitude: `Int` if it fits `i64`, `UInt` if it is positive
/// and fits `u64`, else `Float`.
fn int_kind(negative: bool, magnitude: u128) -> NodeKind {
    let signed = i128::try_from(magnitude)
        .ok()
        .map(|m| if negative { -m } else { m });
    match signed.and_then(|v| i64::try_from(v).ok()) {
        Some(i) => NodeKind::Int(i),
        None if !negative && u64::try_from(magnitude).is_ok() => {
            NodeKind::UInt(u64::try_from(magnitude).unwrap_or(u64::MAX))
        }
        None => {
            let f = magnitude as f64;
            NodeKind::Float(if negative { -f } else { f })
        }
    }
}

// ---------------------------------------------------------------------------
// Printer
// ---------------------------------------------------------------------------

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char)
}

fn push_indent(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("    ");
    }
}

fn write_value(out: &mut String, value: &Value, indent: usize, in_array: bool) {
    match value {
        Value::Array(items) => write_array(out, items, indent, in_array),
        Value::Object(map) => write_object(out, map, indent),
        scalar => out.push_str(&scalar_text(scalar).unwrap_or_default()),
    }
}

fn write_array(out: &mut String, items: &[Value], indent: usize, in_array: bool) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    if let Some(line) = inline_array(items, in_array, true)
        && line.chars().count() + indent * 4 <= INLINE_WIDTH
    {
        out.push_str(&line);
        return;
    }
    out.push_str("[\n");
    for item in items {
        push_indent(out, indent + 1);
        write_value(out, item, indent + 1, true);
        out.push_str(",\n");
    }
    push_indent(out, indent);
    out.push(']');
}

fn write_object(out: &mut String, map: &Map<String, Value>, indent: usize) {
    if map.is_empty() {
        out.push_str("{}");
        return;
    }
    let named = map.keys().all(|k| is_identifier(k));
    out.push_str(if named { "(\n" } else { "{\n" });
    for (key, value) in map {
        push_indent(out, indent + 1);
        if named {
            out.push_str(key);
        } else {
            write_string(out, key);
        }
        out.push_str(": ");
        write_value(out, value, indent + 1, false);
        out.push_str(",\n");
    }
    push_indent(out, indent);
    out.push(if named { ')' } else { '}' });
}

/// One-line form of an array of scalars (and, if `nested`, of small arrays
/// of scalars); `None` if it contains objects or deeper arrays.
fn inline_array(items: &[Value], in_array: bool, nested: bool) -> Option<String> {
    let parts = items
        .iter()
        .map(|item| match item {
            Value::Array(inner) if nested => {
                if inner.is_empty() {
                    Some("[]".to_owned())
                } else {
                    inline_array(inner, true, false)
                }
            }
            other => scalar_text(other),
        })
        .collect::<Option<Vec<_>>>()?;
    let joined = parts.join(", ");
    if in_array && items.len() == 2 && items.iter().all(Value::is_number) {
        Some(format!("({joined})"))
    } else {
        Some(format!("[{joined}]"))
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("None".to_owned()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(number_text(n)),
        Value::String(s) => {
            let mut out = String::new();
            write_string(&mut out, s);
            Some(out)
        }
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn number_text(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let mut text = format!("{f:?}");
    if !text.contains(['.', 'e', 'E']) {
        text.push_str(".0");
    }
    text
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCENARIO: &str = r##"// Baseline scenario
/* block /* nested */ comment */
Scenario(
    name: "baseline",
    extends: Some("base.ron"),
    seed: None,
    start_year: 2024,
    horizon: 0x1F,
    budget: 1_000_000,
    discount: 0.035, // trailing comment
    stage: "ore",
    kind: Ore,
    tags: ["a", "b",],
    shares: {"USA": 0.5, "CHN": 0.25, other: 0.25},
    prices: [(2024, 205000.0), (2025, 210000.5)],
    mines: [
        (id: "m1", capacity: 1.5e3, active: true),
        Mine(id: "m2", capacity: 2000.0, active: false),
    ],
    nested: (inner: (deep: 'x', raw: r#"a "quoted" b"#)),
    empty_list: [],
    unit: (),
    empty_named: Config(),
    negative: -42,
    big: 18446744073709551615,
)
"##;

    fn sp(line: u32, col: u32) -> Span {
        Span { file: 3, line, col }
    }

    fn parse_ok(src: &str) -> Node {
        match parse(src, 3) {
            Ok(node) => node,
            Err(e) => panic!("parse failed at {}:{}: {}\n{src}", e.line, e.col, e.message),
        }
    }

    fn parse_err(src: &str) -> SyntaxError {
        match parse(src, 0) {
            Ok(node) => panic!("expected an error for {src:?}, got {node:?}"),
            Err(e) => e,
        }
    }

    fn field<'a>(node: &'a Node, name: &str) -> (&'a Key, &'a Node) {
        let NodeKind::Object(entries) = &node.kind else {
            panic!("not an object: {node:?}");
        };
        let (key, value) = entries
            .iter()
            .find(|(k, _)| k.name == name)
            .expect("field present");
        (key, value)
    }

    fn path(segments: &[&str]) -> Vec<String> {
        segments.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn realistic_scenario_to_json() {
        let node = parse_ok(SCENARIO);
        let expected = json!({
            "name": "baseline",
            "extends": "base.ron",
            "seed": null,
            "start_year": 2024,
            "horizon": 31,
            "budget": 1_000_000,
            "discount": 0.035,
            "stage": "ore",
            "kind": "Ore",
            "tags": ["a", "b"],
            "shares": {"USA": 0.5, "CHN": 0.25, "other": 0.25},
            "prices": [[2024, 205000.0], [2025, 210000.5]],
            "mines": [
                {"id": "m1", "capacity": 1500.0, "active": true},
                {"id": "m2", "capacity": 2000.0, "active": false},
            ],
            "nested": {"inner": {"deep": "x", "raw": "a \"quoted\" b"}},
            "empty_list": [],
            "unit": null,
            "empty_named": {},
            "negative": -42,
            "big": 18446744073709551615u64,
        });
        assert_eq!(to_json(&node), expected);
        // Int and Float stay distinct.
        assert_eq!(field(&node, "start_year").1.kind, NodeKind::Int(2024));
        assert_eq!(
            field(&node, "prices").1.kind,
            NodeKind::List(vec![
                Node {
                    kind: NodeKind::List(vec![
                        Node {
                            kind: NodeKind::Int(2024),
                            span: sp(15, 15),
                        },
                        Node {
                            kind: NodeKind::Float(205000.0),
                            span: sp(15, 21),
                        },
                    ]),
                    span: sp(15, 14),
                },
                Node {
                    kind: NodeKind::List(vec![
                        Node {
                            kind: NodeKind::Int(2025),
                            span: sp(15, 33),
                        },
                        Node {
                            kind: NodeKind::Float(210000.5),
                            span: sp(15, 39),
                        },
                    ]),
                    span: sp(15, 32),
                },
            ])
        );
    }

    #[test]
    fn spans_of_nested_keys_and_values() {
        let node = parse_ok(SCENARIO);
        assert_eq!(node.span, sp(3, 1));
        let (key, value) = field(&node, "name");
        assert_eq!(key.span, sp(4, 5));
        assert_eq!(value.span, sp(4, 11));
        // Some(x) has the span of x.
        let (_, extends) = field(&node, "extends");
        assert_eq!(extends.span, sp(5, 19));
        let (_, mines) = field(&node, "mines");
        let NodeKind::List(items) = &mines.kind else {
            panic!("mines is not a list");
        };
        assert_eq!(items[0].span, sp(17, 9));
        // A named struct's span is its name.
        assert_eq!(items[1].span, sp(18, 9));
        let (capacity_key, capacity) = field(&items[1], "capacity");
        assert_eq!(capacity_key.span, sp(18, 24));
        assert_eq!(capacity.span, sp(18, 34));
        let (_, shares) = field(&node, "shares");
        let (usa, _) = field(shares, "USA");
        assert_eq!(usa.span, sp(14, 14));
        let (other, _) = field(shares, "other");
        assert_eq!(other.span, sp(14, 39));
        let (_, nested) = field(&node, "nested");
        let (_, inner) = field(nested, "inner");
        let (deep_key, deep) = field(inner, "deep");
        assert_eq!(deep_key.span, sp(20, 22));
        assert_eq!(deep.span, sp(20, 28));
    }

    #[test]
    fn small_forms() {
        assert_eq!(parse_ok("()").kind, NodeKind::Null);
        assert_eq!(parse_ok("None").kind, NodeKind::Null);
        assert_eq!(parse_ok("Some(Some(true))").kind, NodeKind::Bool(true));
        assert_eq!(parse_ok("Name()").kind, NodeKind::Object(Vec::new()));
        assert_eq!(parse_ok("{}").kind, NodeKind::Object(Vec::new()));
        assert_eq!(parse_ok("Ore").kind, NodeKind::Str("Ore".into()));
        assert_eq!(parse_ok("'\\n'").kind, NodeKind::Str("\n".into()));
        assert_eq!(to_json(&parse_ok("(1, \"a\")")), json!([1, "a"]));
        assert_eq!(to_json(&parse_ok("Point(1, 2,)")), json!([1, 2]));
        assert_eq!(to_json(&parse_ok("(5)")), json!([5]));
        assert_eq!(to_json(&parse_ok("-0x10")), json!(-16));
        assert_eq!(to_json(&parse_ok("0b101")), json!(5));
        assert_eq!(to_json(&parse_ok("+7")), json!(7));
        assert_eq!(to_json(&parse_ok("-9223372036854775808")), json!(i64::MIN));
        assert_eq!(
            to_json(&parse_ok("9223372036854775808")),
            json!(9223372036854775808u64)
        );
        assert_eq!(to_json(&parse_ok("1.")), json!(1.0));
        assert_eq!(to_json(&parse_ok("1_000.5e-1_0")), json!(1000.5e-10));
        assert_eq!(
            to_json(&parse_ok(r#""\u{e9}\u00e9\x41\t""#)),
            json!("ééA\t")
        );
        assert_eq!(to_json(&parse_ok("\"a\\\n    b\"")), json!("ab"));
        assert_eq!(to_json(&parse_ok("r\"x\\n\"")), json!("x\\n"));
        assert_eq!(to_json(&parse_ok("\u{feff} [1] ")), json!([1]));
        // A struct as the first tuple element is not a field name.
        assert_eq!(to_json(&parse_ok("(P(x: 1), 2)")), json!([{"x": 1}, 2]));
        // Keywords are fine as field names.
        assert_eq!(
            to_json(&parse_ok("(None: 1, r: 2)")),
            json!({"None": 1, "r": 2})
        );
    }

    #[test]
    fn error_kinds_with_positions() {
        let cases: &[(&str, u32, u32, &str)] = &[
            (
                "(name \"x\")",
                1,
                7,
                "expected `:` or `,` after `name`, found `\"`",
            ),
            ("[1, \"abc", 1, 5, "unterminated string"),
            ("(a: 1", 1, 6, "unexpected end of file, expected `)`"),
            ("[1,\n 2", 2, 3, "unexpected end of file, expected `]`"),
            ("1 2", 1, 3, "trailing characters after the scenario value"),
            ("(a: 1,\n a: 2)", 2, 2, "duplicate field `a`"),
            ("{\"k\": 1, k: 2}", 1, 10, "duplicate key `k`"),
            (
                "(x: NaN)",
                1,
                5,
                "non-finite number `NaN`: every quantity must be a finite number",
            ),
            ("[1, -inf]", 1, 5, "non-finite number `-inf`"),
            ("\n  1e999", 2, 3, "non-finite number `1e999`"),
            ("inf", 1, 1, "non-finite number `inf`"),
            ("\"a\\qb\"", 1, 3, "invalid escape `\\q` in string"),
            ("\"\\u{110000}\"", 1, 2, "invalid unicode escape"),
            ("/* open /* nested */ ", 1, 1, "unterminated block comment"),
            ("\t@", 1, 2, "expected a value, found `@`"),
            ("é @", 1, 1, "expected a value, found `é`"),
            (
                "[\"é\" @]",
                1,
                6,
                "expected `,` or `]` after a list element, found `@`",
            ),
            ("", 1, 1, "unexpected end of file, expected a value"),
            ("(a 1)", 1, 4, "expected `:` or `,` after `a`, found `1`"),
            (
                "(a: 1 b: 2)",
                1,
                7,
                "expected `,` or `)` after the value of `a`",
            ),
            (
                "(a: 1, \"b\": 2)",
                1,
                8,
                "expected a field name, found `\"`",
            ),
            (
                "(a: 1, b 2)",
                1,
                10,
                "expected `:` after field `b`, found `2`",
            ),
            ("{1: 2}", 1, 2, "expected a map key"),
            ("Some 1", 1, 6, "expected `(` after `Some`"),
            ("12abc", 1, 1, "invalid number `12abc`"),
            ("0xZZ", 1, 1, "invalid number `0xZZ`"),
            (
                "-",
                1,
                2,
                "unexpected end of file, expected a digit after `-`",
            ),
            ("b\"x\"", 1, 1, "byte strings are not supported"),
            ("'ab'", 1, 3, "expected `'` to close the character literal"),
            ("r#\"abc\"", 1, 1, "unterminated raw string"),
        ];
        for &(src, line, col, message) in cases {
            let err = parse_err(src);
            assert!(
                err.message.contains(message),
                "{src:?}: message {:?} lacks {message:?}",
                err.message
            );
            assert_eq!((err.line, err.col), (line, col), "{src:?}: {}", err.message);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let err = parse_err(&"[".repeat(100_000));
        assert_eq!(err.message, "nesting deeper than 128 levels");
        assert_eq!((err.line, err.col), (1, 129));
        let err = parse_err(&"Some(".repeat(100_000));
        assert_eq!(err.message, "nesting deeper than 128 levels");
        let err = parse_err(&"(a:".repeat(100_000));
        assert_eq!(err.message, "nesting deeper than 128 levels");
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(parse(&ok, 0).is_ok());
        let mixed = format!("{}1{}", "{\"a\":(b:[".repeat(42), "])}".repeat(42));
        assert!(parse(&mixed, 0).is_ok());
        let too_deep = format!("{}1{}", "{\"a\":(b:[".repeat(43), "])}".repeat(43));
        assert!(parse(&too_deep, 0).is_err());
    }

    fn assert_round_trip(value: &Value) {
        let text = print_ron(value);
        assert!(text.ends_with('\n'));
        assert_eq!(print_ron(value), text, "printing is deterministic");
        let node = match parse(&text, 0) {
            Ok(node) => node,
            Err(e) => panic!("{}:{}: {}\n{text}", e.line, e.col, e.message),
        };
        assert_eq!(&to_json(&node), value, "round trip through\n{text}");
    }

    #[test]
    fn print_round_trips() {
        let values = [
            json!(null),
            json!(0.1),
            json!(1e-9),
            json!(123456789.0),
            json!(1e21),
            json!(-0.0),
            json!(5e-324),
            json!(f64::MAX),
            json!(-17),
            json!(i64::MIN),
            json!(i64::MAX),
            json!("quote \" backslash \\ newline \n tab \t cr \r nul \0 bell \u{7} é 漢 🦀"),
            json!([]),
            json!({}),
            json!([[]]),
            json!([{}]),
            json!({"a": []}),
            json!([1, 2.5, "x", null, true]),
            json!([[2024, 205000.0], [2025, 210000.5], [2026, 1e30]]),
            json!([[1, "a"], [2.0, null]]),
            json!([[1, [2]]]),
            json!({"USA": 0.5, "with space": 1, "": 2}),
            json!({"r": "raw?", "b": "bytes?", "None": null, "Some": 1, "_": [], "true": false}),
            json!({
                "name": "baseline",
                "mines": [
                    {"id": "m1", "capacity": 1500.0, "tags": ["x", "y"]},
                    {"id": "m2", "capacity": -2.5e-7, "nested": {"k-1": {"deep": [1, 2, 3]}}},
                ],
                "long": (0..60).collect::<Vec<i64>>(),
                "prices": (0..40).map(|i| json!([2000 + i, f64::from(i) * 1.5])).collect::<Vec<_>>(),
            }),
        ];
        for value in &values {
            assert_round_trip(value);
        }
    }

    #[test]
    fn print_layout() {
        let value = json!({"name": "x", "prices": [[2024, 205000.0]], "shares": {"U-S": 0.5}});
        assert_eq!(
            print_ron(&value),
            "(\n    name: \"x\",\n    prices: [(2024, 205000.0)],\n    shares: {\n        \"U-S\": 0.5,\n    },\n)\n"
        );
        assert_eq!(print_ron(&json!(1e21)), "1e21\n");
        assert_eq!(print_ron(&json!(1.0)), "1.0\n");
        assert_eq!(print_ron(&json!(null)), "None\n");
        assert_eq!(print_ron(&json!([])), "[]\n");
    }

    #[test]
    fn from_json_is_synthetic_and_converts_back() {
        let value = json!({"a": [1, 2.5, u64::MAX, "s", null, {"b": true}]});
        let node = from_json(&value);
        assert!(node.span.is_synthetic());
        let (key, list) = field(&node, "a");
        assert!(key.span.is_synthetic());
        let NodeKind::List(items) = &list.kind else {
            panic!("not a list");
        };
        assert_eq!(items[0].kind, NodeKind::Int(1));
        assert_eq!(items[2].kind, NodeKind::UInt(u64::MAX));
        assert!(items.iter().all(|n| n.span.is_synthetic()));
        let back = to_json(&node);
        assert_eq!(back["a"][0], json!(1));
        assert_eq!(back["a"][5], json!({"b": true}));
        assert!(
            !Span {
                file: 0,
                line: 1,
                col: 1
            }
            .is_synthetic()
        );
    }

    #[test]
    fn locate_by_key_index_and_id() {
        let node = parse_ok(SCENARIO);
        let (found, matched) = locate(&node, &path(&["mines", "m2", "capacity"]));
        assert_eq!(matched, 3);
        assert_eq!(found.kind, NodeKind::Float(2000.0));
        assert_eq!(found.span, sp(18, 34));

        let (found, matched) = locate(&node, &path(&["mines", "0", "active"]));
        assert_eq!(matched, 3);
        assert_eq!(found.kind, NodeKind::Bool(true));

        let (found, matched) = locate(&node, &path(&["prices", "1", "0"]));
        assert_eq!(matched, 3);
        assert_eq!(found.kind, NodeKind::Int(2025));

        let (found, matched) = locate(&node, &path(&["shares", "USA"]));
        assert_eq!((matched, found.span.line, found.span.col), (2, 14, 21));

        // Stops at the deepest node that matched.
        let (found, matched) = locate(&node, &path(&["mines", "m9", "capacity"]));
        assert_eq!(matched, 1);
        assert_eq!(found.span, sp(16, 12));
        let (found, matched) = locate(&node, &path(&["name", "deeper"]));
        assert_eq!((matched, found.span.line), (1, 4));
        let (found, matched) = locate(&node, &[]);
        assert_eq!((matched, found.span), (0, node.span));
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Parse must not panic; anything it accepts must survive a print/parse
    /// round trip.
    fn check_no_panic(src: &str) {
        if let Ok(node) = parse(src, 1) {
            assert_round_trip(&to_json(&node));
        }
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let alphabet: Vec<char> =
            "()[]{}:,\"'\\/*#+-._ \n\trbeExSomeNonetruefalsNaif0123456789é漢🦀"
                .chars()
                .collect();
        for round in 0..2000 {
            let len = rng.below(64);
            if round % 2 == 0 {
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                check_no_panic(&String::from_utf8_lossy(&bytes));
            } else {
                let text: String = (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect();
                check_no_panic(&text);
            }
        }
    }

    #[test]
    fn every_truncation_and_mutation_of_a_valid_document() {
        for (index, _) in SCENARIO.char_indices() {
            check_no_panic(&SCENARIO[..index]);
            check_no_panic(&SCENARIO[index..]);
        }
        let chars: Vec<char> = SCENARIO.chars().collect();
        let replacements = [
            '(', ')', '[', ']', '"', ',', ':', '/', '*', '\\', '#', 'é', ' ', '-',
        ];
        let mut rng = XorShift(12345);
        for _ in 0..2000 {
            let mut mutated = chars.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(mutated.len());
                mutated[at] = replacements[rng.below(replacements.len())];
            }
            check_no_panic(&mutated.iter().collect::<String>());
        }
    }
}
