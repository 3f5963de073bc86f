//! Loading a scenario: read files, follow `extends`, apply `--set`, deserialise with field paths.
//!
//! Files are parsed into a span-carrying tree ([`super::ron_tree`]) rather than straight into the
//! schema so that (1) a variant can `extends` a base and override only what it names, with lists of
//! id-carrying elements merged by id; (2) `--set nations.CHL.governance.regulatory_stability=0.4`
//! can address any value; and (3) every type or semantic error still points to the file, line and
//! column the offending value came from.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::error::{Location, ScenarioError};
use super::ron_tree::{self, Key, Node, NodeKind, Span};
use super::schema::Scenario;
use super::validate::{Validated, validate};

/// Most files an `extends` chain may have (a guard against runaway chains).
const MAX_EXTENDS_DEPTH: usize = 32;

/// Largest scenario file read, bytes. A generated world of 10^5 assets is about 20 MB; anything
/// far larger is a mistake (or `/dev/zero`) and would otherwise be read into memory whole.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Longest `--set` path for which the nearest valid paths are suggested: the suggestion costs an
/// edit distance per valid path, quadratic in their lengths.
const MAX_SUGGESTED_PATH_LEN: usize = 256;

/// Source text of every file that contributed to a scenario; `Span::file` indexes into it.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Name and text of each file; shared, so the many copies a sweep makes of a scenario's
    /// sources cost no copy of the text.
    files: Vec<(String, std::sync::Arc<String>)>,
}

impl Sources {
    fn add(&mut self, name: String, text: String) -> u16 {
        self.files.push((name, std::sync::Arc::new(text)));
        u16::try_from(self.files.len() - 1).unwrap_or(u16::MAX - 1)
    }

    /// The location a span points to, with its source line as a snippet.
    pub fn location(&self, span: Span) -> Location {
        if span.is_synthetic() {
            return Location::CommandLine;
        }
        match self.files.get(usize::from(span.file)) {
            Some((name, text)) => Location::File {
                file: name.clone(),
                line: span.line,
                col: span.col,
                snippet: super::error::snippet_window(
                    text.lines()
                        .nth(span.line.saturating_sub(1) as usize)
                        .unwrap_or("")
                        .trim_end(),
                    span.col,
                ),
            },
            None => Location::Unknown,
        }
    }
}

/// A loaded and validated scenario, with what is needed to explain it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The validated scenario.
    pub scenario: Validated,
    /// The merged tree (spans point into `sources`); `None` when the scenario was read straight
    /// from its text without sets (issue 19: the tree is only built where it is needed).
    pub tree: Option<Node>,
    /// Source files.
    pub sources: Sources,
    /// The top file's path (`None` for the built-in scenario).
    pub path: Option<PathBuf>,
}

impl Loaded {
    /// The resolved scenario as RON text: every field explicit, `extends` and `--set` applied.
    /// Loading this text gives the same scenario, so re-running it reproduces the outputs.
    pub fn resolved_ron(&self) -> String {
        resolved_ron(self.scenario.scenario())
    }
}

/// RON text of a scenario with every field explicit.
pub fn resolved_ron(scenario: &Scenario) -> String {
    let value = serde_json::to_value(scenario).unwrap_or(serde_json::Value::Null);
    ron_tree::print_ron(&value)
}

/// `text` clipped to `max` chars with control characters escaped, for quoting in a message
/// (re-exported for the sweep loader).
pub fn clip_for_message(text: &str, max: usize) -> String {
    super::error::clip(text, max).into_owned()
}

/// Load a scenario file, follow `extends`, apply `--set` arguments (`PATH=VALUE`) and validate.
pub fn load_file(path: &Path, sets: &[String]) -> Result<Loaded, ScenarioError> {
    if sets.is_empty()
        && let Ok(text) = read_scenario_text(path)
    {
        let name = path.display().to_string();
        return match load_direct(text, name, Some(path.to_path_buf())) {
            Ok(loaded) => Ok(loaded),
            Err(text) => {
                // The general path, from the text already read: it reports what is wrong.
                let mut sources = Sources::default();
                let file = sources.add(path.display().to_string(), text);
                let tree = tree_of_top_file(path, file, &mut sources)?;
                finish(tree, sources, Some(path.to_path_buf()), sets)
            }
        };
    }
    parse_file(path)?.into_loaded(sets)
}

/// [`load_file`] without sets when the fast path succeeds; `None` when the file must go through
/// the general path (unreadable, not a valid scenario, `extends`). `orechain validate` tries
/// this first, so a valid scenario file is parsed once (issue 19).
pub fn load_file_direct(path: &Path) -> Option<Loaded> {
    let text = read_scenario_text(path).ok()?;
    load_direct(text, path.display().to_string(), Some(path.to_path_buf())).ok()
}

/// The fast path of loading without sets (issue 19): the typed scenario read straight from the
/// text ([`ron_tree::from_str`]), no span tree and no JSON value, then validated. Gives the text
/// back when anything fails or the file `extends` another, for the general path to load and
/// report; on success the scenario is the one the general path gives (the direct reader refuses
/// what it cannot read exactly as the tree path does).
fn load_direct(text: String, name: String, path: Option<PathBuf>) -> Result<Loaded, String> {
    let Ok(scenario) = ron_tree::from_str::<Scenario>(&text) else {
        return Err(text);
    };
    // A file that extends another is merged with it by the general path (`extends: None`, as
    // a resolved `scenario.ron` has it, is no reference and reads as the tree path reads it).
    if scenario.extends.is_some() {
        return Err(text);
    }
    let Ok(validated) = validate(scenario) else {
        return Err(text);
    };
    let mut sources = Sources::default();
    sources.add(name, text);
    Ok(Loaded {
        scenario: validated,
        tree: None,
        sources,
        path,
    })
}

/// A scenario file read and parsed once, `extends` merged, not yet deserialised: a sweep builds
/// thousands of runs from it by applying different `--set` lists, without re-reading the file.
#[derive(Clone, Debug)]
pub struct Parsed {
    tree: Node,
    sources: Sources,
    path: Option<PathBuf>,
    /// The deserialised scenario, and it as JSON (every field explicit: the paths a set may
    /// name), made on the first [`Parsed::load`] with sets. `None` inside when the tree alone
    /// does not deserialise (then every load takes the general path and reports it).
    base: OnceLock<Option<Box<(Scenario, serde_json::Value)>>>,
}

impl Parsed {
    fn new(tree: Node, sources: Sources, path: Option<PathBuf>) -> Self {
        Parsed {
            tree,
            sources,
            path,
            base: OnceLock::new(),
        }
    }

    /// Apply `--set` arguments and validate: the same result as [`load_file`] with these sets.
    ///
    /// Sets that each replace a distinct scalar value (a number, string or boolean other than an
    /// `id`) with a scalar take a fast path (issue 19: a sweep applies one set per parameter to
    /// every run, and deserialising the whole scenario again for each run was a third of its
    /// CPU): their paths are checked against the base scenario once, and each value is written
    /// into a copy of the typed base scenario ([`set_typed`]: only the top-level field or list
    /// element it names goes through serde), which is then validated. Replacing scalars leaves
    /// every other path as it was, so each check gives the answer the general path gives after
    /// the earlier sets, and the scenario is the one it builds. Anything else, and any failure
    /// of the fast path, goes through the general path ([`finish`]: deserialise after each set),
    /// so errors and their attribution are exactly those of [`load_file`]. The fast path's
    /// [`Loaded::tree`] is `None`.
    pub fn load(&self, sets: &[String]) -> Result<Loaded, ScenarioError> {
        if let Some(loaded) = self.load_scalar_sets(sets) {
            return Ok(loaded);
        }
        finish(
            self.tree.clone(),
            self.sources.clone(),
            self.path.clone(),
            sets,
        )
    }

    /// The fast path of [`Parsed::load`], or `None` to take the general one.
    fn load_scalar_sets(&self, sets: &[String]) -> Option<Loaded> {
        if sets.is_empty() {
            return None;
        }
        let base = self
            .base
            .get_or_init(|| {
                let scenario: Scenario = deserialize(&self.tree, &self.sources).ok()?;
                let json = serde_json::to_value(&scenario).ok()?;
                Some(Box::new((scenario, json)))
            })
            .as_ref()?;
        let (base_scenario, base_json) = &**base;
        let mut scenario = base_scenario.clone();
        let mut seen: Vec<&str> = Vec::with_capacity(sets.len());
        for arg in sets {
            let (path, value_text) = arg.split_once('=')?;
            let path = path.trim();
            let segments: Vec<&str> = path.split('.').collect();
            if path.is_empty()
                || segments.iter().any(|s| s.is_empty())
                || segments[0] == "extends"
                || segments.last() == Some(&"id")
                || seen.contains(&path)
            {
                return None;
            }
            match json_get(base_json, &segments)? {
                serde_json::Value::Bool(_)
                | serde_json::Value::Number(_)
                | serde_json::Value::String(_) => {}
                _ => return None,
            }
            let value = ron_tree::parse(value_text.trim(), u16::MAX).ok()?;
            match value.kind {
                NodeKind::Bool(_)
                | NodeKind::Int(_)
                | NodeKind::UInt(_)
                | NodeKind::Float(_)
                | NodeKind::Str(_) => {}
                _ => return None,
            }
            set_typed(
                &mut scenario,
                base_json,
                &segments,
                ron_tree::to_json(&value),
            )?;
            seen.push(path);
        }
        let validated = validate(scenario).ok()?;
        Some(Loaded {
            scenario: validated,
            tree: None,
            sources: self.sources.clone(),
            path: self.path.clone(),
        })
    }

    /// [`Parsed::load`] without copying the tree and the source texts (issue 19: the copy was
    /// a large part of the peak memory of loading a big scenario once).
    pub fn into_loaded(self, sets: &[String]) -> Result<Loaded, ScenarioError> {
        if sets.is_empty() {
            return finish(self.tree, self.sources, self.path, sets);
        }
        self.load(sets)
    }

    /// A new parsed scenario with `sets` applied to the tree (they must give a valid scenario).
    /// Later sets go on top, so fixed overrides can be applied once and per-run ones many times.
    pub fn with_sets(&self, sets: &[String]) -> Result<Parsed, ScenarioError> {
        // The general path: it keeps the tree with the sets written into it.
        let loaded = finish(
            self.tree.clone(),
            self.sources.clone(),
            self.path.clone(),
            sets,
        )?;
        let tree = loaded.tree.unwrap_or_else(|| self.tree.clone());
        Ok(Parsed::new(tree, loaded.sources, loaded.path))
    }
}

/// Write the scalar `value` at `segments` into the typed scenario, as writing it into the tree
/// and deserialising would (issue 19). Only the top-level field the path names, or for a list
/// the one element (found in `base_json` by id, then by index, as [`json_get`] finds it), goes
/// through JSON and back: serialising a scenario and reading it back gives the same scenario
/// (what `scenario.ron` relies on), so the other fields are untouched. `None` when the value
/// does not fit (the general path then reports it) or the field is not one listed here.
fn set_typed(
    scenario: &mut Scenario,
    base_json: &serde_json::Value,
    segments: &[&str],
    value: serde_json::Value,
) -> Option<()> {
    let (field, rest) = segments.split_first()?;
    macro_rules! whole {
        ($($name:ident),* $(,)?) => {
            match *field {
                $(stringify!($name) => return set_in(&mut scenario.$name, rest, value),)*
                _ => {}
            }
        };
    }
    macro_rules! element {
        ($($name:ident),* $(,)?) => {
            match *field {
                $(stringify!($name) => {
                    let (key, rest) = rest.split_first()?;
                    let items = base_json.get(*field)?.as_array()?;
                    let at = items
                        .iter()
                        .position(|v| v.get("id").and_then(|id| id.as_str()) == Some(*key))
                        .or_else(|| key.parse::<usize>().ok().filter(|&i| i < items.len()))?;
                    return set_in(scenario.$name.get_mut(at)?, rest, value);
                })*
                _ => {}
            }
        };
    }
    whole!(
        name,
        description,
        run,
        market,
        investment,
        operations,
        politics,
        offtake,
        output
    );
    element!(
        minerals,
        nations,
        firms,
        assets,
        prospects,
        resource_base,
        financiers,
        transport,
        trade_preferences,
        policies,
        stockpiles,
    );
    None
}

/// [`set_typed`] for one value: through JSON, the scalar written at `path`, and back.
fn set_in<T: serde::Serialize + serde::de::DeserializeOwned>(
    target: &mut T,
    path: &[&str],
    value: serde_json::Value,
) -> Option<()> {
    let mut json = serde_json::to_value(&*target).ok()?;
    let mut slot = &mut json;
    for seg in path {
        slot = match slot {
            serde_json::Value::Object(map) => map.get_mut(*seg)?,
            serde_json::Value::Array(items) => {
                let by_id = items
                    .iter()
                    .position(|v| v.get("id").and_then(|id| id.as_str()) == Some(*seg));
                let at =
                    by_id.or_else(|| seg.parse::<usize>().ok().filter(|&i| i < items.len()))?;
                items.get_mut(at)?
            }
            _ => return None,
        };
    }
    *slot = value;
    *target = serde_json::from_value(json).ok()?;
    Some(())
}

/// Read a scenario file and everything it `extends`, merged, without applying sets or validating.
pub fn parse_file(path: &Path) -> Result<Parsed, ScenarioError> {
    let mut sources = Sources::default();
    let mut chain = Vec::new();
    let tree = read_tree(path, &mut sources, &mut chain)?;
    Ok(Parsed::new(tree, sources, Some(path.to_path_buf())))
}

/// [`parse_file`] for a scenario named by another file at `from` (a sweep file's `base`): a file
/// there that is not RON is reported as not a scenario file, without quoting it, as for `extends`.
pub fn parse_file_named_at(path: &Path, from: Location) -> Result<Parsed, ScenarioError> {
    let mut sources = Sources::default();
    let mut chain = Vec::new();
    let tree = read_tree_from(path, &mut sources, &mut chain, Some((from, "base")))?;
    Ok(Parsed::new(tree, sources, Some(path.to_path_buf())))
}

/// A RON document deserialised into any serde type, with what is needed to locate its values.
#[derive(Clone, Debug)]
pub struct Document<T> {
    /// The typed value.
    pub value: T,
    /// The span tree (for [`locate_path`]).
    pub tree: Node,
    /// The source text (for [`locate_path`]).
    pub sources: Sources,
}

/// Deserialise RON text named `name` into `T` with the scenario loader's error quality (syntax and
/// type errors carry file, line, column, field path and a snippet). Used for sweep files.
pub fn deserialize_str<T: serde::de::DeserializeOwned>(
    text: &str,
    name: &str,
) -> Result<Document<T>, ScenarioError> {
    let mut sources = Sources::default();
    let file = sources.add(name.to_string(), text.to_string());
    let tree = parse(text, file, &sources)?;
    let value = deserialize(&tree, &sources)?;
    Ok(Document {
        value,
        tree,
        sources,
    })
}

/// Load a scenario from text (no `extends` allowed unless it is relative to the working directory).
pub fn load_str(text: &str, name: &str, sets: &[String]) -> Result<Loaded, ScenarioError> {
    if sets.is_empty() {
        return match load_direct(text.to_string(), name.to_string(), None) {
            Ok(loaded) => Ok(loaded),
            Err(owned) => load_str_general(owned, name, sets),
        };
    }
    load_str_general(text.to_string(), name, sets)
}

/// [`load_str`] through the span tree (sets, `extends`, located errors).
fn load_str_general(text: String, name: &str, sets: &[String]) -> Result<Loaded, ScenarioError> {
    let mut sources = Sources::default();
    let file = sources.add(name.to_string(), text);
    let mut tree = parse(&sources.files[usize::from(file)].1, file, &sources)?;
    if let Some((parent, span)) = take_extends(&mut tree, &sources)? {
        let mut chain = vec![name.to_string()];
        let from = sources.location(span);
        let base = read_tree_from(
            Path::new(&parent),
            &mut sources,
            &mut chain,
            Some((from, "extends")),
        )?;
        check_overrides(&base, &tree, &sources)?;
        tree = merge(base, tree);
    }
    finish(tree, sources, None, sets)
}

fn finish(
    mut tree: Node,
    sources: Sources,
    path: Option<PathBuf>,
    sets: &[String],
) -> Result<Loaded, ScenarioError> {
    let mut scenario: Scenario = deserialize(&tree, &sources)?;
    if !sets.is_empty() {
        for arg in sets {
            apply_set(&mut tree, &scenario, arg)?;
            // Re-deserialise after each set so the next one sees a complete tree of valid paths.
            // The tree was valid before this set, so a type error now is this set's value: it is
            // reported against the argument, not the file line the value replaced.
            scenario = deserialize(&tree, &sources).map_err(|e| match e {
                ScenarioError::Type { path, message, .. } => ScenarioError::Set {
                    arg: arg.clone(),
                    message: format!("field `{path}`: {message}"),
                },
                other => other,
            })?;
        }
    }
    let validated = validate(scenario).map_err(|problems| ScenarioError::Invalid {
        problems: problems
            .into_iter()
            .map(|mut p| {
                p.location = match set_for_path(sets, &p.path) {
                    Some(arg) => Location::Set { arg: arg.clone() },
                    None => locate_path(&tree, &p.path, &sources),
                };
                p
            })
            .collect(),
    })?;
    Ok(Loaded {
        scenario: validated,
        tree: Some(tree),
        sources,
        path,
    })
}

/// The last `--set` whose path is the problem's path or contains it (`--set 'run=(...)'` for
/// `run.end_year`): the argument put the offending value there, so the problem is reported
/// against it rather than at the file line whose value it replaced.
fn set_for_path<'a>(sets: &'a [String], problem_path: &str) -> Option<&'a String> {
    let within = |outer: &str, inner: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    sets.iter().rev().find(|arg| {
        arg.split_once('=').is_some_and(|(p, _)| {
            let p = p.trim();
            !p.is_empty() && within(p, problem_path)
        })
    })
}

fn parse(text: &str, file: u16, sources: &Sources) -> Result<Node, ScenarioError> {
    ron_tree::parse(text, file).map_err(|e| ScenarioError::Syntax {
        location: sources.location(Span {
            file,
            line: e.line,
            col: e.col,
        }),
        message: e.message,
    })
}

/// Read a file and everything it extends, merged; `chain` holds the files above it (cycle check).
fn read_tree(
    path: &Path,
    sources: &mut Sources,
    chain: &mut Vec<String>,
) -> Result<Node, ScenarioError> {
    read_tree_from(path, sources, chain, None)
}

/// [`read_tree`] for a file named at `from` by a field (`extends`, a sweep's `base`; `None` for
/// the top file).
fn read_tree_from(
    path: &Path,
    sources: &mut Sources,
    chain: &mut Vec<String>,
    from: Option<(Location, &'static str)>,
) -> Result<Node, ScenarioError> {
    let canonical = canonical_name(path)?;
    if chain.contains(&canonical) {
        let mut chain = chain.clone();
        chain.push(canonical);
        return Err(ScenarioError::ExtendsCycle { chain });
    }
    if chain.len() >= MAX_EXTENDS_DEPTH {
        let mut chain = chain.clone();
        chain.push(canonical);
        return Err(ScenarioError::ExtendsTooDeep {
            chain,
            max: MAX_EXTENDS_DEPTH,
        });
    }
    let text = read_scenario_text(path)?;
    let file = sources.add(path.display().to_string(), text);
    tree_of_file(path, file, canonical, sources, chain, from)
}

/// The canonical path of `path` as a string: the key `extends` cycles are detected by.
fn canonical_name(path: &Path) -> Result<String, ScenarioError> {
    Ok(path
        .canonicalize()
        .map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .display()
        .to_string())
}

/// [`read_tree`] for the top file whose text is already in `sources` as `file`.
fn tree_of_top_file(path: &Path, file: u16, sources: &mut Sources) -> Result<Node, ScenarioError> {
    let canonical = canonical_name(path)?;
    tree_of_file(path, file, canonical, sources, &mut Vec::new(), None)
}

/// Parse the text `file` of `sources` read from `path`, and merge what it extends.
fn tree_of_file(
    path: &Path,
    file: u16,
    canonical: String,
    sources: &mut Sources,
    chain: &mut Vec<String>,
    from: Option<(Location, &'static str)>,
) -> Result<Node, ScenarioError> {
    let parsed = ron_tree::parse(&sources.files[usize::from(file)].1, file);
    let mut tree = match (parsed, from) {
        (Ok(tree), _) => tree,
        // A file reached through `extends` that is not RON may be anything readable; say where
        // and what kind of error, never what the file holds.
        (Err(e), Some((from, field))) => {
            return Err(ScenarioError::NotAScenario {
                path: path.display().to_string(),
                from: Box::new(from),
                field,
                kind: syntax_kind(&e.message),
                line: e.line,
                col: e.col,
            });
        }
        (Err(e), None) => {
            return Err(ScenarioError::Syntax {
                location: sources.location(Span {
                    file,
                    line: e.line,
                    col: e.col,
                }),
                message: e.message,
            });
        }
    };
    let Some((parent, parent_span)) = take_extends(&mut tree, sources)? else {
        return Ok(tree);
    };
    let parent_path = path.parent().unwrap_or(Path::new(".")).join(parent);
    chain.push(canonical);
    let from = sources.location(parent_span);
    let base = read_tree_from(&parent_path, sources, chain, Some((from, "extends")))?;
    chain.pop();
    check_overrides(&base, &tree, sources)?;
    Ok(merge(base, tree))
}

/// The kind of a syntax error without anything it quotes from the file: the message up to its
/// first quotation (`expected a value, found `r`` gives `expected a value`).
fn syntax_kind(message: &str) -> String {
    let head = message.split('`').next().unwrap_or_default();
    let head = head
        .trim_end()
        .trim_end_matches(" found")
        .trim_end_matches([',', ':', ' ', '(']);
    if head.is_empty() {
        "syntax error".into()
    } else {
        format!("syntax error ({head})")
    }
}

/// In a file that `extends` another, a list element with an id the base does not have is a new
/// element, and must be complete: it gives at least every field that all the inherited elements
/// of that list give. Otherwise it was meant to override an inherited element and its id is
/// misspelt (`CHI` for `CHL`): merging it would silently add an almost empty element and lose the
/// change. All such elements are reported, each with the nearest inherited id.
fn check_overrides(base: &Node, over: &Node, sources: &Sources) -> Result<(), ScenarioError> {
    let mut problems = Vec::new();
    overrides_in(base, over, "", sources, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError::Invalid { problems })
    }
}

fn overrides_in(
    base: &Node,
    over: &Node,
    path: &str,
    sources: &Sources,
    problems: &mut Vec<super::error::Problem>,
) {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    match (&base.kind, &over.kind) {
        (NodeKind::Object(base_fields), NodeKind::Object(over_fields)) => {
            for (key, value) in over_fields {
                if let Some((_, b)) = base_fields.iter().find(|(k, _)| k.name == key.name) {
                    overrides_in(b, value, &join(&key.name), sources, problems);
                }
            }
        }
        (NodeKind::List(base_items), NodeKind::List(over_items))
            if !base_items.is_empty()
                && !over_items.is_empty()
                && over_items.iter().all(|n| element_id(n).is_some())
                && base_items.iter().all(|n| element_id(n).is_some()) =>
        {
            // Fields every inherited element gives: what a complete new element must give.
            let field_names = |n: &Node| -> Vec<String> {
                match &n.kind {
                    NodeKind::Object(fields) => {
                        fields.iter().map(|(k, _)| k.name.clone()).collect()
                    }
                    _ => Vec::new(),
                }
            };
            let mut common = field_names(&base_items[0]);
            for item in &base_items[1..] {
                let names = field_names(item);
                common.retain(|f| names.contains(f));
            }
            let ids: Vec<&str> = base_items.iter().filter_map(element_id).collect();
            for item in over_items {
                let Some(id) = element_id(item) else { continue };
                if let Some(b) = base_items.iter().find(|n| element_id(n) == Some(id)) {
                    overrides_in(b, item, &join(id), sources, problems);
                    continue;
                }
                let given = field_names(item);
                let missing: Vec<&String> = common.iter().filter(|f| !given.contains(f)).collect();
                if missing.is_empty() {
                    continue;
                }
                let near = ids
                    .iter()
                    .filter_map(|k| edit_distance_within(k, id, 2).map(|d| (d, *k)))
                    .min();
                let hint = near.map_or_else(
                    || {
                        let mut some: Vec<&str> = ids.iter().take(8).copied().collect();
                        if ids.len() > 8 {
                            some.push("…");
                        }
                        format!("; inherited ids are {}", some.join(", "))
                    },
                    |(_, k)| format!(", did you mean `{k}`?"),
                );
                let lacks: Vec<String> = missing
                    .iter()
                    .take(6)
                    .map(|f| format!("`{}`", super::error::clip(f, 64)))
                    .collect();
                let more = if missing.len() > 6 {
                    format!(" and {} more", missing.len() - 6)
                } else {
                    String::new()
                };
                problems.push(super::error::Problem {
                    path: join(&super::error::clip(id, 80)),
                    message: format!(
                        "unknown id `{}`{hint} (an element of an `extends` file either \
                         overrides an inherited id or is a complete new element; this one lacks \
                         {}{more})",
                        super::error::clip(id, 80),
                        lacks.join(", ")
                    ),
                    location: sources.location(id_span(item)),
                });
            }
        }
        _ => {}
    }
}

/// The span of an element's `id` value (its key), or of the element.
fn id_span(node: &Node) -> Span {
    match &node.kind {
        NodeKind::Object(fields) => fields
            .iter()
            .find(|(k, _)| k.name == "id")
            .map_or(node.span, |(_, v)| v.span),
        _ => node.span,
    }
}

/// Read a scenario file as text: only a regular file (not a directory, FIFO or device such as
/// `/dev/zero`, which would block or never end), at most [`MAX_FILE_BYTES`], valid UTF-8.
pub(crate) fn read_scenario_text(path: &Path) -> Result<String, ScenarioError> {
    use std::io::Read as _;
    let io_err = |source: std::io::Error| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |message: String| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            message,
        ))
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        return Err(invalid("it is a directory, not a scenario file".into()));
    }
    if !meta.is_file() {
        return Err(invalid("it is not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(invalid(format!(
            "the file has {} bytes; scenario files may have at most {MAX_FILE_BYTES}",
            meta.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    // `take` also bounds a file that grows while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!(
            "the file has more than {MAX_FILE_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = valid
            .rsplit(|&b| b == b'\n')
            .next()
            .map_or(0, |l| String::from_utf8_lossy(l).chars().count())
            + 1;
        invalid(format!(
            "it is not UTF-8 text (invalid byte at line {line}, col {col}); save it as UTF-8"
        ))
    })
}

/// Remove the `extends` field from a tree and return its value and where it was written.
fn take_extends(
    tree: &mut Node,
    sources: &Sources,
) -> Result<Option<(String, Span)>, ScenarioError> {
    let NodeKind::Object(fields) = &mut tree.kind else {
        return Ok(None);
    };
    let Some(pos) = fields.iter().position(|(k, _)| k.name == "extends") else {
        return Ok(None);
    };
    let (_, value) = fields.remove(pos);
    match value.kind {
        NodeKind::Str(s) => Ok(Some((s, value.span))),
        NodeKind::Null => Ok(None),
        _ => Err(ScenarioError::Type {
            location: sources.location(value.span),
            path: "extends".into(),
            message: "expected a file name string, e.g. `extends: \"baseline.ron\"`".into(),
        }),
    }
}

/// The `id` of a list element, if it is an object with a string `id` field.
fn element_id(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Object(fields) => fields.iter().find_map(|(k, v)| match (&*k.name, &v.kind) {
            ("id", NodeKind::Str(s)) => Some(s.as_str()),
            _ => None,
        }),
        _ => None,
    }
}

/// Merge `over` onto `base`: objects field by field, lists of id-carrying objects by id (new ids
/// appended in `over`'s order), anything else replaced.
pub fn merge(base: Node, over: Node) -> Node {
    match (base.kind, over.kind) {
        (NodeKind::Object(mut base_fields), NodeKind::Object(over_fields)) => {
            for (key, value) in over_fields {
                if let Some(slot) = base_fields.iter_mut().find(|(k, _)| k.name == key.name) {
                    let old = std::mem::replace(&mut slot.1, Node::null());
                    slot.1 = merge(old, value);
                    slot.0 = key;
                } else {
                    base_fields.push((key, value));
                }
            }
            Node {
                kind: NodeKind::Object(base_fields),
                span: over.span,
            }
        }
        (NodeKind::List(mut base_items), NodeKind::List(over_items))
            if !over_items.is_empty()
                && over_items.iter().all(|n| element_id(n).is_some())
                && base_items.iter().all(|n| element_id(n).is_some()) =>
        {
            for item in over_items {
                let id = element_id(&item).map(str::to_string);
                if let Some(slot) = base_items
                    .iter_mut()
                    .find(|n| element_id(n) == id.as_deref())
                {
                    let old = std::mem::replace(slot, Node::null());
                    *slot = merge(old, item);
                } else {
                    base_items.push(item);
                }
            }
            Node {
                kind: NodeKind::List(base_items),
                span: over.span,
            }
        }
        (_, kind) => Node {
            kind,
            span: over.span,
        },
    }
}

trait NullNode {
    fn null() -> Self;
}
impl NullNode for Node {
    fn null() -> Self {
        Node {
            kind: NodeKind::Null,
            span: Span::SYNTHETIC,
        }
    }
}

/// Deserialise the tree into the schema (or any serde type), turning serde's error into a located one.
fn deserialize<T: serde::de::DeserializeOwned>(
    tree: &Node,
    sources: &Sources,
) -> Result<T, ScenarioError> {
    let json = ron_tree::to_json(tree);
    serde_path_to_error::deserialize::<_, T>(json).map_err(|err| {
        let segments: Vec<String> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let (path, span) = describe_path(tree, &segments);
        let message = humane_type_message(&err.into_inner().to_string(), &path);
        // serde quotes what it found (an unknown field name may be megabytes long): clip it.
        ScenarioError::Type {
            location: sources.location(span),
            path: super::error::clip(&path, 320).into_owned(),
            message: super::error::clip(&message, 960).into_owned(),
        }
    })
}

/// The range of serde's integer type names, for "integer too large for FIELD (max …)".
fn integer_range(type_name: &str) -> Option<(i128, i128)> {
    Some(match type_name {
        "u8" => (0, i128::from(u8::MAX)),
        "u16" => (0, i128::from(u16::MAX)),
        "u32" => (0, i128::from(u32::MAX)),
        "u64" | "usize" => (0, i128::from(u64::MAX)),
        "i8" => (i128::from(i8::MIN), i128::from(i8::MAX)),
        "i16" => (i128::from(i16::MIN), i128::from(i16::MAX)),
        "i32" => (i128::from(i32::MIN), i128::from(i32::MAX)),
        "i64" | "isize" => (i128::from(i64::MIN), i128::from(i64::MAX)),
        _ => return None,
    })
}

/// serde's type message in the words of the scenario format: an integer out of its field's range
/// says so with the range (`integer too large for `run.seed` (max 18446744073709551615)`, where
/// serde says `invalid type: floating point `1e44`, expected u64`), and `f64` is "a number".
fn humane_type_message(message: &str, path: &str) -> String {
    let quoted = |prefix: &str| -> Option<(String, String)> {
        let rest = message.strip_prefix(prefix)?;
        let (value, rest) = rest.split_once("`, expected ")?;
        Some((value.to_string(), rest.trim().to_string()))
    };
    let path = super::error::clip(path, 160);
    let out_of_range = |value: f64, expected: &str| -> Option<String> {
        let (lo, hi) = integer_range(expected)?;
        // `as` saturates; the bounds are exact in f64 up to 2^53 and the comparisons only need
        // to tell "beyond the range" from "inside it".
        if value > hi as f64 {
            Some(format!("integer too large for `{path}` (max {hi})"))
        } else if value < lo as f64 && lo < 0 {
            Some(format!("integer too small for `{path}` (min {lo})"))
        } else {
            None
        }
    };
    if let Some((value, expected)) = quoted("invalid value: integer `")
        && let Ok(v) = value.parse::<i128>()
        && let Some(m) = out_of_range(v as f64, &expected)
    {
        return m;
    }
    if let Some((value, expected)) = quoted("invalid type: floating point `")
        && let Ok(v) = value.parse::<f64>()
        && v.fract() == 0.0
        && let Some(m) = out_of_range(v, &expected)
    {
        return m;
    }
    match message.strip_suffix("expected f64") {
        Some(head) => format!("{head}expected a number"),
        None => message.to_string(),
    }
}

/// Follow index/key segments through the tree: a readable path (list elements by id) and the span
/// of the deepest node (or key) reached.
fn describe_path(tree: &Node, segments: &[String]) -> (String, Span) {
    let mut names = Vec::new();
    let mut node = tree;
    let mut span = tree.span;
    for seg in segments {
        match &node.kind {
            NodeKind::Object(fields) => match fields.iter().find(|(k, _)| &k.name == seg) {
                Some((key, value)) => {
                    names.push(seg.clone());
                    span = key.span;
                    node = value;
                }
                None => {
                    names.push(seg.clone());
                    break;
                }
            },
            NodeKind::List(items) => {
                let item = seg.parse::<usize>().ok().and_then(|i| items.get(i));
                match item {
                    Some(item) => {
                        names.push(element_id(item).map_or_else(|| seg.clone(), str::to_string));
                        span = item.span;
                        node = item;
                    }
                    None => {
                        names.push(seg.clone());
                        break;
                    }
                }
            }
            _ => {
                names.push(seg.clone());
                break;
            }
        }
    }
    let path = if names.is_empty() {
        "<top level>".to_string()
    } else {
        names.join(".")
    };
    (path, span)
}

/// Find a dotted id-path (`nations.CHL.governance`) in the tree and return its location.
pub fn locate_path(tree: &Node, path: &str, sources: &Sources) -> Location {
    let mut node = tree;
    let mut span = tree.span;
    for seg in path.split('.') {
        let next = match &node.kind {
            NodeKind::Object(fields) => fields
                .iter()
                .find(|(k, _)| k.name == seg)
                .map(|(k, v)| (k.span, v)),
            NodeKind::List(items) => items
                .iter()
                .find(|n| element_id(n) == Some(seg))
                .or_else(|| seg.parse::<usize>().ok().and_then(|i| items.get(i)))
                .map(|n| (n.span, n)),
            _ => None,
        };
        match next {
            Some((s, n)) => {
                span = s;
                node = n;
            }
            None => break,
        }
    }
    sources.location(span)
}

/// Apply one `--set PATH=VALUE` to the tree. The path is checked against the complete scenario
/// (every field, defaults included), so a field a file left at its default can still be set.
fn apply_set(tree: &mut Node, scenario: &Scenario, arg: &str) -> Result<(), ScenarioError> {
    let set_err = |message: String| ScenarioError::Set {
        arg: arg.to_string(),
        message,
    };
    let Some((path, value_text)) = arg.split_once('=') else {
        return Err(set_err("expected PATH=VALUE".into()));
    };
    let path = path.trim();
    let segments: Vec<&str> = path.split('.').collect();
    if path.is_empty() || segments.iter().any(|s| s.is_empty()) {
        return Err(set_err("the path is empty or has an empty segment".into()));
    }
    // `extends` is resolved when the file is read, before any set: setting it would be a silent
    // no-op recorded in `scenario.ron`, and a resolved scenario that no longer reproduces its run.
    if segments[0] == "extends" {
        return Err(set_err(
            "extends cannot be set from the command line or a sweep: it names the file a \
             scenario inherits from, which is read before any --set; edit the scenario file"
                .into(),
        ));
    }
    let full = serde_json::to_value(scenario).map_err(|e| set_err(e.to_string()))?;
    if !json_path_exists(&full, &segments) && !is_new_map_key(&full, &segments) {
        if path.chars().count() > MAX_SUGGESTED_PATH_LEN {
            return Err(set_err(format!(
                "no such field `{}`",
                super::error::clip(path, 80)
            )));
        }
        let mut all = Vec::new();
        collect_paths(&full, String::new(), &mut all);
        let nearest = nearest_paths(&all, path, 5);
        return Err(set_err(format!(
            "no such field `{}`; nearest valid paths: {}",
            super::error::clip(path, MAX_SUGGESTED_PATH_LEN),
            nearest.join(", ")
        )));
    }
    let value = ron_tree::parse(value_text.trim(), u16::MAX).map_err(|e| {
        set_err(format!(
            "cannot read the value `{}`: {} (strings need quotes: PATH='\"text\"')",
            super::error::clip(value_text, 80),
            e.message
        ))
    })?;
    let value = Node {
        span: Span::SYNTHETIC,
        ..strip_spans(value)
    };
    set_in_tree(tree, &segments, value);
    Ok(())
}

fn strip_spans(node: Node) -> Node {
    let kind = match node.kind {
        NodeKind::List(items) => NodeKind::List(items.into_iter().map(strip_spans).collect()),
        NodeKind::Object(fields) => NodeKind::Object(
            fields
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.name,
                            span: Span::SYNTHETIC,
                        },
                        strip_spans(v),
                    )
                })
                .collect(),
        ),
        other => other,
    };
    Node {
        kind,
        span: Span::SYNTHETIC,
    }
}

fn set_in_tree(node: &mut Node, segments: &[&str], value: Node) {
    let Some((first, rest)) = segments.split_first() else {
        *node = value;
        return;
    };
    if !matches!(node.kind, NodeKind::Object(_) | NodeKind::List(_)) {
        node.kind = NodeKind::Object(Vec::new());
    }
    match &mut node.kind {
        NodeKind::Object(fields) => {
            let pos = match fields.iter().position(|(k, _)| k.name == *first) {
                Some(pos) => pos,
                None => {
                    fields.push((
                        Key {
                            name: (*first).to_string(),
                            span: Span::SYNTHETIC,
                        },
                        Node::null(),
                    ));
                    fields.len() - 1
                }
            };
            set_in_tree(&mut fields[pos].1, rest, value);
        }
        NodeKind::List(items) => {
            let pos = items
                .iter()
                .position(|n| element_id(n) == Some(first))
                .or_else(|| first.parse::<usize>().ok().filter(|&i| i < items.len()));
            if let Some(pos) = pos {
                set_in_tree(&mut items[pos], rest, value);
            }
        }
        _ => {}
    }
}

/// Fields whose values are maps keyed by id (`affinity: {"USA": 0.5}`, `owners: {"sqm": 1.0}`):
/// `--set` may add a key to them that the file did not list.
const MAP_FIELDS: [&str; 2] = ["affinity", "owners"];

fn is_new_map_key(full: &serde_json::Value, segments: &[&str]) -> bool {
    match segments {
        [parent @ .., field, _key] if MAP_FIELDS.contains(field) => {
            let mut with_field = parent.to_vec();
            with_field.push(field);
            json_path_exists(full, &with_field)
        }
        _ => false,
    }
}

/// The value at `segments` (as [`json_path_exists`] finds it: object keys, list elements by
/// `id` or index).
fn json_get<'a>(value: &'a serde_json::Value, segments: &[&str]) -> Option<&'a serde_json::Value> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(value);
    };
    match value {
        serde_json::Value::Object(map) => json_get(map.get(*first)?, rest),
        serde_json::Value::Array(items) => {
            let by_id = items
                .iter()
                .find(|v| v.get("id").and_then(|id| id.as_str()) == Some(*first));
            let by_index = first.parse::<usize>().ok().and_then(|i| items.get(i));
            json_get(by_id.or(by_index)?, rest)
        }
        _ => None,
    }
}

fn json_path_exists(value: &serde_json::Value, segments: &[&str]) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return true;
    };
    match value {
        serde_json::Value::Object(map) => {
            map.get(*first).is_some_and(|v| json_path_exists(v, rest))
        }
        serde_json::Value::Array(items) => {
            let by_id = items
                .iter()
                .find(|v| v.get("id").and_then(|id| id.as_str()) == Some(*first));
            let by_index = first.parse::<usize>().ok().and_then(|i| items.get(i));
            by_id
                .or(by_index)
                .is_some_and(|v| json_path_exists(v, rest))
        }
        // A map field (e.g. `affinity`) that is empty still accepts new keys; handled above since
        // maps are objects. Scalars have no children.
        _ => false,
    }
}

fn collect_paths(value: &serde_json::Value, prefix: String, out: &mut Vec<String>) {
    let join = |p: &str, s: &str| {
        if p.is_empty() {
            s.to_string()
        } else {
            format!("{p}.{s}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_paths(v, join(&prefix, k), out);
            }
        }
        serde_json::Value::Array(items) if items.iter().all(|v| v.get("id").is_some()) => {
            if items.is_empty() {
                out.push(prefix.clone());
            }
            for item in items {
                let id = item.get("id").and_then(|i| i.as_str()).unwrap_or("?");
                collect_paths(item, join(&prefix, id), out);
            }
        }
        _ => out.push(prefix),
    }
}

/// The `k` candidates nearest to `target` by edit distance (ties by name). Candidates that cannot
/// beat the current `k`-th best are cut short, so a world of 10^5 assets still answers at once.
fn nearest_paths<'a>(candidates: &'a [String], target: &str, k: usize) -> Vec<&'a str> {
    let mut best: Vec<(usize, &str)> = Vec::with_capacity(k + 1);
    for c in candidates {
        let limit = if best.len() < k {
            usize::MAX
        } else {
            best[k - 1].0
        };
        if let Some(d) = edit_distance_within(c, target, limit) {
            best.push((d, c.as_str()));
            best.sort();
            best.truncate(k);
        }
    }
    best.into_iter().map(|(_, c)| c).collect()
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    edit_distance_within(a, b, usize::MAX).unwrap_or(usize::MAX)
}

/// Levenshtein distance if it is at most `limit`, else `None`. Stops as soon as the answer must
/// exceed `limit` (the length difference is a lower bound, and so is every row's minimum), which
/// keeps suggestions cheap for long or very different strings.
pub fn edit_distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|&d| d <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tiny.ron")
    }

    #[test]
    fn a_parsed_file_loads_like_load_file_for_any_sets() {
        let parsed = parse_file(&tiny()).expect("tiny parses");
        for sets in [
            vec![],
            vec!["nations.CHL.governance.regulatory_stability=0.4".to_string()],
            vec!["run.end_year=2030".to_string(), "run.seed=9".to_string()],
        ] {
            let a = parsed.load(&sets).expect("valid");
            let b = load_file(&tiny(), &sets).expect("valid");
            assert_eq!(a.resolved_ron(), b.resolved_ron(), "{sets:?}");
        }
        // Applying sets does not change the parsed base.
        let again = parsed.load(&[]).expect("valid");
        assert_eq!(again.scenario.scenario().run.end_year, 2026);
    }

    /// Issue 19: the direct load (no tree, no JSON) gives the general path's scenario for every
    /// shipped scenario, with or without `extends`.
    #[test]
    fn issue19_direct_load_is_the_tree_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut direct = 0;
        for dir in [root.clone(), root.join("bench")] {
            for entry in std::fs::read_dir(dir).expect("a scenarios folder") {
                let path = entry.expect("an entry").path();
                if path.extension().and_then(|e| e.to_str()) != Some("ron") {
                    continue;
                }
                let Ok(general) = parse_file(&path).and_then(|p| p.load(&[])) else {
                    continue;
                };
                let loaded = load_file(&path, &[]).expect("loads as the general path does");
                assert_eq!(
                    loaded.scenario.scenario(),
                    general.scenario.scenario(),
                    "{}",
                    path.display()
                );
                assert_eq!(loaded.resolved_ron(), general.resolved_ron());
                direct += usize::from(loaded.tree.is_none());
            }
        }
        assert!(direct >= 4, "only {direct} scenarios took the direct path");
    }

    /// Issue 19: the fast path of `Parsed::load` (scalar sets written together, one
    /// deserialisation) gives the general path's scenario, and for every set it cannot take or
    /// that fails, exactly the general path's error.
    #[test]
    fn issue19_scalar_set_fast_path_is_the_general_path() {
        let parsed = parse_file(&tiny()).expect("tiny parses");
        let cases: Vec<Vec<&str>> = vec![
            vec!["nations.CHL.governance.regulatory_stability=0.4"],
            vec!["run.end_year=2030", "run.seed=9"],
            vec!["run.end_year=2030", "run.end_year=2031"],
            vec!["run.end_year=\"late\""],
            vec!["run.end_year=2030", "run.end_year=\"late\""],
            vec!["run.end_year=1990"],
            vec!["run.end_yeer=2030"],
            vec!["run=(end_year: 2030)"],
            vec!["nations.CHL.id=\"PER\""],
            vec!["extends=\"x.ron\""],
            vec!["run.end_year"],
            vec!["nations.CHL.governance.regulatory_stability=[1]"],
            vec!["nations.0.governance.infrastructure=0.5"],
        ];
        for sets in cases {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            let fast = parsed.load(&sets);
            let general = finish(
                parsed.tree.clone(),
                parsed.sources.clone(),
                parsed.path.clone(),
                &sets,
            );
            match (fast, general) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.resolved_ron(), b.resolved_ron(), "{sets:?}");
                    assert!(a.tree.is_none() || a.tree == b.tree, "{sets:?}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{sets:?}"),
                (a, b) => panic!("{sets:?}: fast {:?} vs general {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }

    #[test]
    fn with_sets_stacks_and_errors_stay_located() {
        let parsed = parse_file(&tiny()).expect("tiny parses");
        let longer = parsed
            .with_sets(&["run.end_year=2030".into()])
            .expect("valid");
        let loaded = longer.load(&["run.seed=3".into()]).expect("valid");
        assert_eq!(loaded.scenario.scenario().run.end_year, 2030);
        assert_eq!(loaded.scenario.scenario().run.seed, 3);
        let err = longer
            .load(&["nations.CHL.governance.regulatory_stability=2".into()])
            .expect_err("out of range");
        assert!(err.to_string().contains("regulatory_stability"), "{err}");
    }

    #[test]
    fn any_serde_type_deserialises_with_located_errors() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Small {
            a: u32,
        }
        let doc: Document<Small> = deserialize_str("(a: 1)", "x.ron").expect("valid");
        assert_eq!(doc.value.a, 1);
        let err = deserialize_str::<Small>("(\n  b: 1)", "x.ron").expect_err("unknown field");
        assert!(err.to_string().starts_with("x.ron:2:3: field `b`"), "{err}");
    }

    #[test]
    fn issue18_integer_range_errors_name_the_field_and_its_max() {
        assert_eq!(
            humane_type_message(
                "invalid type: floating point `1e23`, expected u64",
                "run.seed"
            ),
            "integer too large for `run.seed` (max 18446744073709551615)"
        );
        assert_eq!(
            humane_type_message(
                "invalid value: integer `99999999999`, expected i32",
                "run.end_year"
            ),
            "integer too large for `run.end_year` (max 2147483647)"
        );
        assert_eq!(
            humane_type_message("invalid value: integer `-99999999999`, expected i32", "y"),
            "integer too small for `y` (min -2147483648)"
        );
        // Not an integer problem: serde's words, with f64 called a number.
        assert_eq!(
            humane_type_message("invalid type: floating point `1.5`, expected u64", "s"),
            "invalid type: floating point `1.5`, expected u64"
        );
        assert_eq!(
            humane_type_message("invalid value: integer `-1`, expected u64", "s"),
            "invalid value: integer `-1`, expected u64"
        );
        assert_eq!(
            humane_type_message("invalid type: string \"x\", expected f64", "a"),
            "invalid type: string \"x\", expected a number"
        );
    }

    #[test]
    fn issue18_problems_are_attributed_to_the_set_that_holds_them() {
        let sets = vec![
            "run.seed=3".to_string(),
            "nations.CHL.governance=(regulatory_stability: 2.0)".to_string(),
            "nations.CHL.governance.infrastructure=7".to_string(),
        ];
        let found = |p: &str| set_for_path(&sets, p).map(String::as_str);
        assert_eq!(
            found("nations.CHL.governance.infrastructure"),
            Some("nations.CHL.governance.infrastructure=7")
        );
        assert_eq!(
            found("nations.CHL.governance.regulatory_stability"),
            Some("nations.CHL.governance=(regulatory_stability: 2.0)")
        );
        assert_eq!(found("run.seed"), Some("run.seed=3"));
        // A prefix of a name is not a prefix of the path; an outer problem is the file's.
        assert_eq!(found("run.seeds"), None);
        assert_eq!(found("nations"), None);
    }

    #[test]
    fn issue18_syntax_kinds_quote_nothing() {
        assert_eq!(
            syntax_kind("expected a value, found `r`"),
            "syntax error (expected a value)"
        );
        assert_eq!(
            syntax_kind("trailing characters after the scenario value"),
            "syntax error (trailing characters after the scenario value)"
        );
        assert_eq!(syntax_kind("`root` is not valid"), "syntax error");
    }
}
