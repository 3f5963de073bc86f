//! Typed deserialisation straight from RON text, without the span tree or a JSON value.
//!
//! Why (issue 19): loading a scenario used to build three whole copies of it, the span tree
//! ([`super::Node`]), a `serde_json::Value` made from it, and the typed scenario; at 10^5 assets
//! that was over 600 MB and two seconds. [`from_str`] reads the text once, with the same lexer
//! ([`super::Parser`]), and hands each value to serde exactly as `serde_json::Value`'s
//! deserialiser would hand over the value [`super::to_json`] makes of its node: `()` and `None`
//! are null, `Some(x)` is `x`, a bare identifier is a string, a non-negative integer is visited
//! as `u64`, a negative one as `i64`, a float as `f64`, `(a: 1)`, `Name(a: 1)` and `{"a": 1}` are
//! maps, `[..]` and `(a, b)` are sequences, enums are strings.
//!
//! It is only the fast path of a successful load. Every error it meets (syntax, type, a
//! duplicate key, more elements than a tuple takes) is a bare [`DeError`]
//! without position: the loader then takes the general path (span tree, merge, `--set`,
//! located errors), which reports exactly what it always reported. So this reader may refuse
//! more than the general path, never accept more, and on what it accepts it must give the same
//! value; `tests` below and `issue19_direct_load_is_the_tree_load` check that on every scenario.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use super::{NodeKind, Parser, is_ident_start, is_non_finite_word};

/// Why the direct reader gave up (for the loader's fallback; never shown to a user).
#[derive(Debug)]
pub struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

impl From<super::SyntaxError> for DeError {
    fn from(e: super::SyntaxError) -> Self {
        DeError(e.message)
    }
}

type Result<T> = std::result::Result<T, DeError>;

fn fail<T>(what: &str) -> Result<T> {
    Err(DeError(what.to_string()))
}

/// Deserialise a whole RON document into `T` (see the module docs for what is refused).
pub fn from_str<T: DeserializeOwned>(src: &str) -> Result<T> {
    let mut de = De {
        p: Parser::new(src, u16::MAX),
    };
    let value = T::deserialize(&mut de)?;
    de.p.skip_ws()?;
    if de.p.peek().is_some() {
        return fail("trailing characters");
    }
    Ok(value)
}

/// What the next value is, as `to_json` would see it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Null,
    Bool,
    Num,
    Str,
    List,
    Object,
}

/// What serde asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Any,
    Option,
    Bool,
    Num,
    Str,
    Unit,
    Seq,
    Map,
    Struct,
    Enum,
}

struct De<'a> {
    p: Parser<'a>,
}

impl<'a> De<'a> {
    /// Consume any `Some(` wrappers before a value; returns how many.
    fn open_somes(&mut self) -> Result<usize> {
        let mut n = 0;
        loop {
            self.p.skip_ws()?;
            let mark = self.p.mark();
            if self.p.peek().is_some_and(is_ident_start) && self.p.ident_slice() == "Some" {
                self.p.skip_ws()?;
                if self.p.peek() != Some('(') {
                    return fail("`(` after `Some`");
                }
                let open = self.p.mark();
                self.p.enter(open)?;
                self.p.bump();
                n += 1;
            } else {
                self.p.reset(mark);
                return Ok(n);
            }
        }
    }

    /// Close `n` `Some(` wrappers (an optional trailing comma each, as the tree parser allows).
    fn close_somes(&mut self, n: usize) -> Result<()> {
        for _ in 0..n {
            self.p.skip_ws()?;
            if self.p.peek() == Some(',') {
                self.p.bump();
                self.p.skip_ws()?;
            }
            if self.p.peek() != Some(')') {
                return fail("`)` to close `Some(`");
            }
            self.p.bump();
            self.p.leave();
        }
        Ok(())
    }

    /// After `(` (consumed): what the parenthesised value is, without consuming more.
    fn paren_kind(&mut self, named: bool) -> Result<Kind> {
        self.p.skip_ws()?;
        Ok(if self.p.peek() == Some(')') {
            if named { Kind::Object } else { Kind::Null }
        } else if self.p.fields_ahead() {
            Kind::Object
        } else {
            Kind::List
        })
    }

    /// The kind of the next value (whitespace skipped, nothing else consumed).
    fn kind(&mut self) -> Result<Kind> {
        self.p.skip_ws()?;
        let Some(c) = self.p.peek() else {
            return fail("a value");
        };
        let mark = self.p.mark();
        let kind = match c {
            '[' => Kind::List,
            '{' => Kind::Object,
            '(' => {
                self.p.bump();
                self.paren_kind(false)?
            }
            '"' | '\'' => Kind::Str,
            'r' if matches!(self.p.peek_at(1), Some('"' | '#')) => Kind::Str,
            'b' if matches!(self.p.peek_at(1), Some('"' | '\''))
                || (self.p.peek_at(1) == Some('r')
                    && matches!(self.p.peek_at(2), Some('"' | '#'))) =>
            {
                return fail("byte string");
            }
            '+' | '-' | '0'..='9' => Kind::Num,
            c if is_ident_start(c) => match self.p.ident_slice() {
                "true" | "false" => Kind::Bool,
                "None" => Kind::Null,
                "Some" => return fail("nested Some"),
                w if is_non_finite_word(w) => return fail("non-finite"),
                _ => {
                    self.p.skip_ws()?;
                    if self.p.peek() == Some('(') {
                        self.p.bump();
                        self.paren_kind(true)?
                    } else {
                        Kind::Str
                    }
                }
            },
            _ => return fail("a value"),
        };
        self.p.reset(mark);
        Ok(kind)
    }

    fn null(&mut self) -> Result<()> {
        if self.p.peek() == Some('(') {
            let open = self.p.mark();
            self.p.enter(open)?;
            self.p.bump();
            self.p.skip_ws()?;
            self.p.bump();
            self.p.leave();
        } else {
            self.p.ident_slice();
        }
        Ok(())
    }

    fn string(&mut self) -> Result<String> {
        Ok(match self.p.peek() {
            Some('"') => self.p.parse_string()?,
            Some('\'') => self.p.parse_char()?,
            Some('r') if matches!(self.p.peek_at(1), Some('"' | '#')) => {
                self.p.parse_raw_string()?
            }
            _ => self.p.ident_slice().to_string(),
        })
    }

    fn number<'de, V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value> {
        match self.p.parse_number()? {
            NodeKind::Int(i) if i >= 0 => visitor.visit_u64(i.unsigned_abs()),
            NodeKind::Int(i) => visitor.visit_i64(i),
            NodeKind::UInt(u) => visitor.visit_u64(u),
            NodeKind::Float(f) if f.is_finite() => visitor.visit_f64(f),
            _ => fail("a number"),
        }
    }

    /// Open a container (`[`, `{`, `(` or `Name(`); returns its closing char.
    fn open(&mut self) -> Result<char> {
        if self.p.peek().is_some_and(is_ident_start) {
            self.p.ident_slice();
            self.p.skip_ws()?;
        }
        let close = match self.p.peek() {
            Some('[') => ']',
            Some('{') => '}',
            Some('(') => ')',
            _ => return fail("a container"),
        };
        let open = self.p.mark();
        self.p.enter(open)?;
        self.p.bump();
        Ok(close)
    }

    fn value<'de, V: Visitor<'de>>(&mut self, hint: Hint, visitor: V) -> Result<V::Value> {
        let somes = self.open_somes()?;
        let kind = self.kind()?;
        let value = match (hint, kind) {
            (Hint::Any | Hint::Unit, Kind::Null) => {
                self.null()?;
                visitor.visit_unit()
            }
            (Hint::Option, Kind::Null) => {
                self.null()?;
                visitor.visit_none()
            }
            (Hint::Option, _) => visitor.visit_some(&mut *self),
            (Hint::Any | Hint::Bool, Kind::Bool) => {
                let word = self.p.ident_slice();
                visitor.visit_bool(word == "true")
            }
            (Hint::Any | Hint::Num, Kind::Num) => self.number(visitor),
            (Hint::Any | Hint::Str, Kind::Str) => {
                let s = self.string()?;
                visitor.visit_string(s)
            }
            (Hint::Enum, Kind::Str) => {
                let s = self.string()?;
                visitor.visit_enum(IntoDeserializer::<DeError>::into_deserializer(s))
            }
            (Hint::Any | Hint::Seq | Hint::Struct, Kind::List) => {
                let close = self.open()?;
                let mut seq = Seq {
                    de: self,
                    close,
                    done: false,
                };
                let value = visitor.visit_seq(&mut seq)?;
                seq.finish()?;
                Ok(value)
            }
            (Hint::Any | Hint::Map | Hint::Struct, Kind::Object) => {
                let close = self.open()?;
                let mut map = Map {
                    de: self,
                    close,
                    keys: Keys::default(),
                    done: false,
                };
                let value = visitor.visit_map(&mut map)?;
                map.finish()?;
                Ok(value)
            }
            _ => fail("another type"),
        }?;
        self.close_somes(somes)?;
        Ok(value)
    }
}

/// Keys seen in one object (the tree parser refuses a repeated key).
#[derive(Default)]
struct Keys<'a> {
    few: Vec<Cow<'a, str>>,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Keys<'a> {
    /// Record `key`; false if it was already there.
    fn insert(&mut self, key: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.many {
            return set.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        self.few.push(key);
        if self.few.len() > 32 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// After a sequence's or map's visitor: unless the closing char was already read (`done`), it must
/// follow now (nothing left over, else `leftover`); then leave the container.
fn close_container(de: &mut De<'_>, close: char, done: bool, leftover: &'static str) -> Result<()> {
    if !done {
        de.p.skip_ws()?;
        if de.p.peek() != Some(close) {
            return fail(leftover);
        }
        de.p.bump();
    }
    de.p.leave();
    Ok(())
}

struct Seq<'b, 'a> {
    de: &'b mut De<'a>,
    close: char,
    done: bool,
}

impl Seq<'_, '_> {
    /// After the visitor: the closing char must follow (no elements left over).
    fn finish(&mut self) -> Result<()> {
        close_container(self.de, self.close, self.done, "fewer elements")
    }
}

impl<'de> de::SeqAccess<'de> for Seq<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.done {
            return Ok(None);
        }
        self.de.p.skip_ws()?;
        match self.de.p.peek() {
            Some(c) if c == self.close => {
                self.de.p.bump();
                self.done = true;
                return Ok(None);
            }
            None => return fail("unclosed"),
            Some(_) => {}
        }
        let value = seed.deserialize(&mut *self.de)?;
        self.de.p.skip_ws()?;
        match self.de.p.peek() {
            Some(',') => {
                self.de.p.bump();
            }
            Some(c) if c == self.close => {
                self.de.p.bump();
                self.done = true;
            }
            _ => return fail("`,` or a close"),
        }
        Ok(Some(value))
    }
}

struct Map<'b, 'a> {
    de: &'b mut De<'a>,
    close: char,
    keys: Keys<'a>,
    done: bool,
}

impl Map<'_, '_> {
    fn finish(&mut self) -> Result<()> {
        close_container(self.de, self.close, self.done, "fewer entries")
    }
}

impl<'de> de::MapAccess<'de> for Map<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.done {
            return Ok(None);
        }
        let is_map = self.close == '}';
        let p = &mut self.de.p;
        p.skip_ws()?;
        let key: Cow<'_, str> = match p.peek() {
            Some(c) if c == self.close => {
                p.bump();
                self.done = true;
                return Ok(None);
            }
            None => return fail("unclosed"),
            Some('"') if is_map => Cow::Owned(p.parse_string()?),
            Some('r') if is_map && matches!(p.peek_at(1), Some('"' | '#')) => {
                Cow::Owned(p.parse_raw_string()?)
            }
            Some(c) if is_ident_start(c) => Cow::Borrowed(p.ident_slice()),
            Some(_) => return fail("a key"),
        };
        p.skip_ws()?;
        if p.peek() != Some(':') {
            return fail("`:`");
        }
        p.bump();
        let value = seed.deserialize(de::value::StrDeserializer::<DeError>::new(&key))?;
        if !self.keys.insert(key) {
            return fail("duplicate key");
        }
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = seed.deserialize(&mut *self.de)?;
        self.de.p.skip_ws()?;
        match self.de.p.peek() {
            Some(',') => {
                self.de.p.bump();
            }
            Some(c) if c == self.close => {
                self.de.p.bump();
                self.done = true;
            }
            _ => return fail("`,` or a close"),
        }
        Ok(value)
    }
}

macro_rules! hinted {
    ($($method:ident => $hint:expr),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.value($hint, visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut De<'_> {
    type Error = DeError;

    hinted! {
        deserialize_any => Hint::Any,
        deserialize_bool => Hint::Bool,
        deserialize_i8 => Hint::Num,
        deserialize_i16 => Hint::Num,
        deserialize_i32 => Hint::Num,
        deserialize_i64 => Hint::Num,
        deserialize_i128 => Hint::Num,
        deserialize_u8 => Hint::Num,
        deserialize_u16 => Hint::Num,
        deserialize_u32 => Hint::Num,
        deserialize_u64 => Hint::Num,
        deserialize_u128 => Hint::Num,
        deserialize_f32 => Hint::Num,
        deserialize_f64 => Hint::Num,
        deserialize_char => Hint::Str,
        deserialize_str => Hint::Str,
        deserialize_string => Hint::Str,
        deserialize_identifier => Hint::Str,
        deserialize_option => Hint::Option,
        deserialize_unit => Hint::Unit,
        deserialize_seq => Hint::Seq,
        deserialize_map => Hint::Map,
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        fail("bytes")
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        fail("bytes")
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.value(Hint::Unit, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.value(Hint::Seq, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.value(Hint::Seq, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.value(Hint::Struct, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.value(Hint::Enum, visitor)
    }

    /// Skipped values are read through the same reader (checked, nothing built: serde's
    /// `IgnoredAny` visits every element and drops it).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.value(Hint::Any, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, to_json};
    use super::*;
    use crate::scenario::schema::Scenario;

    /// The direct reader gives the value the tree path gives, through serde_json.
    fn same<T: DeserializeOwned + PartialEq + fmt::Debug>(src: &str) {
        let direct: T = from_str(src).expect("the direct reader accepts it");
        let tree = parse(src, 0).expect("it parses");
        let via_json: T = serde_json::from_value(to_json(&tree)).expect("it deserialises");
        assert_eq!(direct, via_json, "{src}");
    }

    #[test]
    fn scenarios_read_directly_equal_the_tree_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut read = 0;
        for entry in std::fs::read_dir(dir).expect("scenarios/") {
            let path = entry.expect("an entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("ron") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            let Ok(tree) = parse(&text, 0) else { continue };
            let has_extends = matches!(&tree.kind, NodeKind::Object(f) if f.iter().any(|(k, _)| k.name == "extends"));
            let Ok(via_json) = serde_json::from_value::<Scenario>(to_json(&tree)) else {
                continue;
            };
            match from_str::<Scenario>(&text) {
                Ok(direct) => assert_eq!(direct, via_json, "{}", path.display()),
                Err(e) => assert!(has_extends, "{}: {e}", path.display()),
            }
            read += 1;
        }
        // Variants that `extends` a base give partial elements and do not deserialise alone.
        assert!(read >= 4, "only {read} scenarios read");
    }

    #[test]
    fn ron_forms_read_as_the_tree_reads_them() {
        use std::collections::BTreeMap;
        same::<Vec<Option<f64>>>("[None, Some(1), Some(Some(2.5)), (), 3, -4, 1_000, 0x10]");
        same::<Vec<String>>("[\"a\", Ore, 'c', r#\"q\"#, \"é\\n\", \"x\\u{41}\"]");
        same::<BTreeMap<String, f64>>("{\"USA\": 1, CHN: 0.5, r\"JPN\": 2e3,}");
        same::<(f64, u64)>("(2024, 18446744073709551615)");
        same::<Vec<(i32, f64)>>("[(1, 2.0), (-3, 4)]");
        same::<serde_json::Value>("Named(a: [1, (2, 3)], b: {\"k\": None}, c: Some(()), d: E())");
    }

    #[test]
    fn what_the_tree_path_refuses_is_refused() {
        use std::collections::BTreeMap;
        assert!(from_str::<BTreeMap<String, f64>>("{a: 1, a: 2}").is_err());
        assert!(from_str::<(f64, f64)>("(1, 2, 3)").is_err());
        assert!(from_str::<f64>("1 2").is_err());
        assert!(from_str::<f64>("inf").is_err());
        assert!(from_str::<Vec<f64>>("[1, 2").is_err());
        assert!(from_str::<Option<f64>>("Some(1").is_err());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(from_str::<serde_json::Value>(&deep).is_err());
    }
}
