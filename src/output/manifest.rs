//! The run manifest: a `manifest.json` written into every output folder that
//! records what produced it — engine version, git commit, compiler,
//! dependency versions, command line, scenario hash, seed, timing — and the
//! SHA-256 of every file the run wrote. With it a result can be traced back to
//! its exact inputs and checked for tampering or truncation later. Build-time
//! facts come from `build.rs` through `option_env!`, so this module still
//! compiles (reporting `unknown`) when the build script did not run.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Facts about the build of this binary, captured by `build.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Full git commit hash, with `-dirty` for uncommitted changes, or `unknown`.
    pub git_hash: String,
    /// Output of `rustc --version` for the compiler that built the binary.
    pub rustc: String,
    /// Resolved versions of the tracked dependencies, by crate name.
    pub dependencies: BTreeMap<String, String>,
}

/// Returns the build facts stamped in at compile time (`unknown` where absent).
pub fn build_info() -> BuildInfo {
    BuildInfo {
        git_hash: option_env!("ORECHAIN_GIT_HASH")
            .unwrap_or("unknown")
            .to_string(),
        rustc: option_env!("ORECHAIN_RUSTC_VERSION")
            .unwrap_or("unknown")
            .to_string(),
        dependencies: parse_dep_versions(option_env!("ORECHAIN_DEP_VERSIONS").unwrap_or("")),
    }
}

/// Parses `name=version;name=version` (as emitted by `build.rs`) into a map.
/// Empty or malformed entries are skipped.
pub fn parse_dep_versions(s: &str) -> BTreeMap<String, String> {
    s.split(';')
        .filter_map(|entry| {
            let (name, version) = entry.split_once('=')?;
            let (name, version) = (name.trim(), version.trim());
            (!name.is_empty() && !version.is_empty())
                .then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

/// One file written by a run, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the output folder, with `/` separators.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the contents.
    pub sha256: String,
}

/// Provenance record of one run, serialised as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"orechain"`.
    pub engine: String,
    /// Crate version of the engine (`CARGO_PKG_VERSION`).
    pub version: String,
    /// Git commit of the build, see [`BuildInfo::git_hash`].
    pub git_hash: String,
    /// Compiler version, see [`BuildInfo::rustc`].
    pub rustc: String,
    /// Tracked dependency versions, see [`BuildInfo::dependencies`].
    pub dependencies: BTreeMap<String, String>,
    /// Command-line arguments of the run, program name included.
    pub args: Vec<String>,
    /// Scenario file as given on the command line, if the run used one.
    pub scenario_path: Option<String>,
    /// Lowercase hex SHA-256 of the scenario contents.
    pub scenario_sha256: String,
    /// Master RNG seed.
    pub seed: u64,
    /// Number of simulated steps.
    pub steps: u32,
    /// Wall-clock start, RFC 3339 UTC (e.g. `2026-11-27T17:07:10Z`).
    pub start_time: String,
    /// Wall-clock end, RFC 3339 UTC.
    pub end_time: String,
    /// Elapsed wall time in seconds.
    pub wall_time_s: f64,
    /// Files written by the run, sorted by path.
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// Builds a manifest with the engine name, version and [`build_info`]
    /// filled in, and every run-specific field empty or zero.
    pub fn with_build_info() -> Self {
        let info = build_info();
        Manifest {
            engine: "orechain".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_hash: info.git_hash,
            rustc: info.rustc,
            dependencies: info.dependencies,
            args: Vec::new(),
            scenario_path: None,
            scenario_sha256: String::new(),
            seed: 0,
            steps: 0,
            start_time: String::new(),
            end_time: String::new(),
            wall_time_s: 0.0,
            files: Vec::new(),
        }
    }

    /// Hashes the files `names` (paths relative to `dir`, `/`-separated) and
    /// returns their entries sorted by path, duplicates removed. Fails with
    /// an error naming the file if one cannot be read.
    pub fn file_entries(dir: &Path, names: &[&str]) -> io::Result<Vec<ManifestFile>> {
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            let rel = name.replace('\\', "/");
            let full = rel
                .split('/')
                .filter(|part| !part.is_empty())
                .fold(dir.to_path_buf(), |acc, part| acc.join(part));
            let (bytes, sha256) = hash_file(&full).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("could not hash `{}`: {e}", full.display()),
                )
            })?;
            entries.push(ManifestFile {
                path: rel,
                bytes,
                sha256,
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        Ok(entries)
    }

    /// The entries of files whose contents are in memory (the bytes just written), sorted and
    /// deduplicated like [`Self::file_entries`]. Hashing what was written, instead of reading the
    /// folder back, saves a second pass over every output file.
    pub fn entries_of(files: &[(String, Vec<u8>)]) -> Vec<ManifestFile> {
        let mut entries: Vec<ManifestFile> = files
            .iter()
            .map(|(name, bytes)| ManifestFile {
                path: name.replace('\\', "/"),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            })
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        entries
    }

    /// Pretty-printed JSON of the manifest, ending in a newline.
    pub fn to_json_pretty(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Unreachable for this plain-data struct; keep the file valid JSON.
            serde_json::json!({ "error": format!("could not serialise manifest: {e}") }).to_string()
        });
        json.push('\n');
        json
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Streams a file through SHA-256, returning its size and hex digest.
fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(&hasher.finalize())))
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Formats `t` as RFC 3339 in UTC with whole seconds, e.g.
/// `2026-11-27T17:07:10Z`. Sub-second parts are truncated toward the past;
/// times before 1970 are supported.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // Round toward negative infinity so e.g. -0.5 s is 23:59:59.
            if d.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = if m <= 2 { y + 1 } else { y };
    // Both values are within their small ranges, so the casts are lossless.
    (year, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn sha256_of_known_inputs() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(at(1_795_799_230)), "2026-11-27T17:07:10Z");
        // Leap day and the day after.
        assert_eq!(rfc3339_utc(at(1_709_164_800)), "2024-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(at(1_709_251_199)), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(at(1_709_251_200)), "2024-03-01T00:00:00Z");
        // 2000 is a leap year (divisible by 400); 2100 is not.
        assert_eq!(rfc3339_utc(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(at(4_107_542_400)), "2100-03-01T00:00:00Z");
        // Sub-second parts are truncated.
        assert_eq!(
            rfc3339_utc(at(59) + Duration::from_millis(999)),
            "1970-01-01T00:00:59Z"
        );
    }

    #[test]
    fn rfc3339_before_epoch() {
        let t = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(rfc3339_utc(t), "1969-12-31T23:59:59Z");
        let t = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(rfc3339_utc(t), "1969-12-31T23:59:59Z");
        let t = UNIX_EPOCH - Duration::from_secs(86_400 * 365);
        assert_eq!(rfc3339_utc(t), "1969-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_matches_day_by_day_walk() {
        // Walk every day from 1970 to 2400 and check the calendar advances
        // by exactly one day each time.
        let mut prev = civil_from_days(0);
        assert_eq!(prev, (1970, 1, 1));
        for days in 1..(430 * 366) {
            let cur = civil_from_days(days);
            let (py, pm, pd) = prev;
            let leap = (py % 4 == 0 && py % 100 != 0) || py % 400 == 0;
            let month_len = match pm {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if pd < month_len {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!(cur, expected, "day {days}");
            prev = cur;
        }
    }

    #[test]
    fn dep_versions_parse() {
        let m = parse_dep_versions("rand=0.10.4;serde=1.0.229;;bad;rand_core=0.6.4,0.10.1;");
        assert_eq!(m.len(), 3);
        assert_eq!(m["rand"], "0.10.4");
        assert_eq!(m["serde"], "1.0.229");
        assert_eq!(m["rand_core"], "0.6.4,0.10.1");
        assert!(parse_dep_versions("").is_empty());
    }

    #[test]
    fn build_info_is_populated() {
        let info = build_info();
        assert!(!info.git_hash.is_empty());
        assert!(info.rustc == "unknown" || info.rustc.starts_with("rustc "));
        // Whatever build.rs found must round-trip through the parser.
        for (name, version) in &info.dependencies {
            assert!(!name.is_empty() && !version.is_empty());
        }
    }

    #[test]
    fn file_entries_hash_sort_and_use_slashes() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("figures")).expect("mkdir");
        std::fs::write(dir.path().join("b.csv"), b"abc").expect("write");
        std::fs::write(dir.path().join("figures").join("a.svg"), b"").expect("write");
        std::fs::write(dir.path().join("a.json"), b"{}\n").expect("write");

        let entries = Manifest::file_entries(dir.path(), &["b.csv", "figures/a.svg", "a.json"])
            .expect("entries");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a.json", "b.csv", "figures/a.svg"]);
        assert_eq!(entries[1].bytes, 3);
        assert_eq!(entries[1].sha256, sha256_hex(b"abc"));
        assert_eq!(entries[2].bytes, 0);
        assert_eq!(entries[2].sha256, sha256_hex(b""));
    }

    #[test]
    fn entries_of_contents_match_entries_of_the_written_files() {
        let files: Vec<(String, Vec<u8>)> = vec![
            ("b.csv".into(), b"abc".to_vec()),
            ("figures/a.svg".into(), Vec::new()),
            ("a.json".into(), b"{}\n".to_vec()),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("figures")).expect("mkdir");
        for (name, bytes) in &files {
            std::fs::write(dir.path().join(name), bytes).expect("write");
        }
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let read_back = Manifest::file_entries(dir.path(), &names).expect("entries");
        assert_eq!(Manifest::entries_of(&files), read_back);
    }

    #[test]
    fn file_entries_missing_file_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Manifest::file_entries(dir.path(), &["nope.csv"]).expect_err("missing file");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("nope.csv"), "{err}");
    }

    #[test]
    fn json_has_fields_and_trailing_newline() {
        let mut m = Manifest::with_build_info();
        m.args = vec!["orechain".into(), "run".into()];
        m.scenario_path = Some("scenarios/base.ron".into());
        m.scenario_sha256 = sha256_hex(b"scenario");
        m.seed = 42;
        m.steps = 120;
        m.start_time = rfc3339_utc(at(1_795_799_230));
        m.end_time = rfc3339_utc(at(1_795_799_231));
        m.wall_time_s = 1.25;
        m.files = vec![ManifestFile {
            path: "a.csv".into(),
            bytes: 3,
            sha256: sha256_hex(b"abc"),
        }];
        let json = m.to_json_pretty();
        assert!(json.ends_with("}\n"));
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid json");
        assert_eq!(value["engine"], "orechain");
        assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(value["seed"], 42);
        assert_eq!(value["steps"], 120);
        assert_eq!(value["start_time"], "2026-11-27T17:07:10Z");
        assert_eq!(value["files"][0]["bytes"], 3);
        let back: Manifest = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, m);
    }
}
