//! Optional Parquet copies of the large tables (issue 19: "an optional columnar output … behind a
//! cargo feature and a `--format parquet` flag … CSV stays the default").
//!
//! Why copies and not a replacement: every orechain command that reads a result folder (`plot`,
//! `compare`, `report`, `--replicates` summaries, sweep `--resume` and `merge`) reads the CSV
//! tables, whose bytes are the contract (docs/output-format.md). With `--format parquet` the same
//! tables are also written as Parquet files next to them — `metrics.parquet`, `flows.parquet`,
//! `events.parquet` for a run (and each replicate of an ensemble), `results.parquet` for a sweep —
//! so that pandas, polars, DuckDB or Arrow load typed columns without parsing text. A Parquet file
//! is converted from the finished CSV file, cell by cell, so the two can never disagree: numbers
//! are parsed back from their shortest round-trip text (the exact `f64` the model produced),
//! empty cells become nulls, and text stays text.
//!
//! Column types are fixed by name, not guessed from the data, for the run tables: the integer
//! columns (`step`, `status_since_step`, `run_id`, `replicate`, `n`; `seed` as unsigned 64-bit),
//! the floating-point ones (`year`, `value`, `quantity`, `value_usd`, and the other numeric columns
//! of docs/output-format.md), and every other column as UTF-8 text, so an id spelled `123` stays
//! text. The parameter columns of a sweep's `results.csv` are the one exception: a parameter is a
//! number or a level label for every row of a sweep, so such a column is a double when every
//! non-empty cell is a number and text otherwise.
//!
//! The files are deterministic (same CSV bytes, same Parquet bytes): Snappy compression, one row
//! group per 131,072 rows, `created_by` naming the writer's version, no timestamps.

use std::path::Path;

use crate::output::manifest::ManifestFile;

/// How a run or sweep writes its large tables (`--format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    /// CSV only (the default).
    #[default]
    Csv,
    /// CSV and a Parquet copy of each large table (needs the `parquet` cargo feature).
    Parquet,
}

/// Whether this build can write Parquet (the `parquet` cargo feature).
pub const SUPPORTED: bool = cfg!(feature = "parquet");

/// The message for `--format parquet` on a build without the feature.
pub const UNSUPPORTED: &str = "`--format parquet` needs orechain built with the `parquet` \
     feature: `cargo build --release --features parquet` (or `cargo install --path . --features \
     parquet`); without it, use the default `--format csv`";

/// How the columns whose names are not known are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// As text (run tables: ids and labels).
    Text,
    /// As doubles when every non-empty cell is a number, else as text (a sweep's parameters).
    Infer,
}

/// The Parquet type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Signed 64-bit integer.
    Int,
    /// Unsigned 64-bit integer (seeds).
    UInt,
    /// IEEE double.
    Double,
    /// UTF-8 text.
    Text,
}

/// The type of a column known by name, if it is known.
pub fn known_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "step" | "status_since_step" | "run_id" | "replicate" | "n" => Kind::Int,
        "seed" => Kind::UInt,
        "year"
        | "value"
        | "quantity"
        | "value_usd"
        | "capacity_t_per_yr"
        | "utilisation"
        | "unit_opex_usd_per_t"
        | "esg"
        | "mean"
        | "sd"
        | "p05"
        | "p50"
        | "p95" => Kind::Double,
        "mineral" | "stage" | "metric" | "nation" | "partner" | "from" | "to" | "kind"
        | "asset" | "firm" | "detail" | "outcome" | "point_id" | "host" | "status" | "owners" => {
            Kind::Text
        }
        _ => return None,
    })
}

/// The Parquet file name of a CSV table: `metrics.csv` → `metrics.parquet`.
pub fn parquet_name(csv_name: &str) -> String {
    let stem = csv_name.strip_suffix(".csv").unwrap_or(csv_name);
    format!("{stem}.parquet")
}

/// Write `dir/<stem>.parquet` from `dir/<csv_name>` and return its manifest entry (path relative
/// to `dir`, prefixed with `prefix`, e.g. `seed_1/`).
#[cfg(feature = "parquet")]
pub fn write_copy(
    dir: &Path,
    csv_name: &str,
    prefix: &str,
    unknown: Unknown,
) -> Result<ManifestFile, String> {
    imp::write_copy(dir, csv_name, prefix, unknown)
}

/// Without the `parquet` feature: the error `--format parquet` gives (checked before any work).
#[cfg(not(feature = "parquet"))]
pub fn write_copy(
    _dir: &Path,
    _csv_name: &str,
    _prefix: &str,
    _unknown: Unknown,
) -> Result<ManifestFile, String> {
    Err(UNSUPPORTED.to_string())
}

#[cfg(feature = "parquet")]
mod imp {
    use std::fs::File;
    use std::io::{BufWriter, Read as _};
    use std::path::Path;
    use std::sync::Arc;

    use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;
    use sha2::{Digest as _, Sha256};

    use super::{Kind, Unknown, known_kind, parquet_name};
    use crate::output::manifest::ManifestFile;

    /// Rows per row group: bounds the memory a conversion holds (a few MB per column).
    const ROWS_PER_GROUP: usize = 1 << 17;

    fn open(path: &Path) -> Result<csv::Reader<File>, String> {
        csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    /// Column kinds from the header (and, for `Unknown::Infer`, one pass over the cells).
    fn kinds(path: &Path, unknown: Unknown) -> Result<(Vec<String>, Vec<Kind>), String> {
        let mut reader = open(path)?;
        let names: Vec<String> = reader
            .headers()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut kinds: Vec<Option<Kind>> = names.iter().map(|n| known_kind(n)).collect();
        let open_cols: Vec<usize> = (0..names.len()).filter(|&i| kinds[i].is_none()).collect();
        if unknown == Unknown::Text || open_cols.is_empty() {
            let kinds = kinds.into_iter().map(|k| k.unwrap_or(Kind::Text)).collect();
            return Ok((names, kinds));
        }
        // Infer: a double unless some non-empty cell is not a finite number; text if all empty.
        let mut numeric = vec![true; names.len()];
        let mut seen = vec![false; names.len()];
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        {
            for &i in &open_cols {
                let cell = record.get(i).unwrap_or("");
                if cell.is_empty() {
                    continue;
                }
                seen[i] = true;
                if !cell.parse::<f64>().is_ok_and(f64::is_finite) {
                    numeric[i] = false;
                }
            }
        }
        for &i in &open_cols {
            kinds[i] = Some(if numeric[i] && seen[i] {
                Kind::Double
            } else {
                Kind::Text
            });
        }
        Ok((
            names,
            kinds.into_iter().map(|k| k.unwrap_or(Kind::Text)).collect(),
        ))
    }

    fn schema(names: &[String], kinds: &[Kind]) -> Result<Arc<Type>, String> {
        let fields = names
            .iter()
            .zip(kinds)
            .map(|(name, kind)| {
                let (physical, logical) = match kind {
                    Kind::Int => (Physical::INT64, None),
                    Kind::UInt => (Physical::INT64, Some(LogicalType::integer(64, false))),
                    Kind::Double => (Physical::DOUBLE, None),
                    Kind::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
                };
                Type::primitive_type_builder(name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()
                    .map(Arc::new)
                    .map_err(|e| format!("Parquet schema of column `{name}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Type::group_type_builder("table")
            .with_fields(fields)
            .build()
            .map(Arc::new)
            .map_err(|e| format!("Parquet schema: {e}"))
    }

    /// One column's cells of a row group.
    enum Cells {
        Int(Vec<i64>),
        Double(Vec<f64>),
        Text(Vec<ByteArray>),
    }

    struct Column {
        cells: Cells,
        defined: Vec<i16>,
    }

    impl Column {
        fn new(kind: Kind) -> Self {
            Column {
                cells: match kind {
                    Kind::Int | Kind::UInt => Cells::Int(Vec::new()),
                    Kind::Double => Cells::Double(Vec::new()),
                    Kind::Text => Cells::Text(Vec::new()),
                },
                defined: Vec::new(),
            }
        }

        fn clear(&mut self) {
            self.defined.clear();
            match &mut self.cells {
                Cells::Int(v) => v.clear(),
                Cells::Double(v) => v.clear(),
                Cells::Text(v) => v.clear(),
            }
        }

        fn push(&mut self, cell: &str, kind: Kind) -> Result<(), String> {
            if cell.is_empty() {
                self.defined.push(0);
                return Ok(());
            }
            self.defined.push(1);
            match (&mut self.cells, kind) {
                (Cells::Int(v), Kind::Int) => v.push(cell.parse().map_err(|_| bad(cell))?),
                // Unsigned 64-bit values travel in INT64 bits, as the Parquet format specifies.
                (Cells::Int(v), _) => v.push(cell.parse::<u64>().map_err(|_| bad(cell))? as i64),
                (Cells::Double(v), _) => v.push(cell.parse().map_err(|_| bad(cell))?),
                (Cells::Text(v), _) => v.push(ByteArray::from(cell.as_bytes().to_vec())),
            }
            Ok(())
        }
    }

    fn bad(cell: &str) -> String {
        format!(
            "a numeric column holds `{}`",
            crate::scenario::error::clip(cell, 40)
        )
    }

    pub fn write_copy(
        dir: &Path,
        csv_name: &str,
        prefix: &str,
        unknown: Unknown,
    ) -> Result<ManifestFile, String> {
        let csv_path = dir.join(csv_name);
        let name = parquet_name(csv_name);
        let out_path = dir.join(&name);
        let fail = |e: parquet::errors::ParquetError| format!("cannot write {name}: {e}");
        let (names, kinds) = kinds(&csv_path, unknown)?;
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_created_by(format!(
                    "orechain {} (parquet-rs)",
                    env!("CARGO_PKG_VERSION")
                ))
                .build(),
        );
        let file = File::create(&out_path).map_err(|e| format!("cannot write {name}: {e}"))?;
        let mut writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 16, file),
            schema(&names, &kinds)?,
            props,
        )
        .map_err(fail)?;
        let mut columns: Vec<Column> = kinds.iter().map(|&k| Column::new(k)).collect();
        let mut reader = open(&csv_path)?;
        let mut record = csv::StringRecord::new();
        let mut rows = 0usize;
        let mut line = 1u64;
        loop {
            let more = reader
                .read_record(&mut record)
                .map_err(|e| format!("cannot read {csv_name}: {e}"))?;
            if more {
                line += 1;
                for (i, column) in columns.iter_mut().enumerate() {
                    column
                        .push(record.get(i).unwrap_or(""), kinds[i])
                        .map_err(|e| format!("{csv_name} line {line}: {e}"))?;
                }
                rows += 1;
            }
            if rows == ROWS_PER_GROUP || (!more && rows > 0) {
                let mut group = writer.next_row_group().map_err(fail)?;
                for column in &mut columns {
                    let Some(mut out) = group.next_column().map_err(fail)? else {
                        return Err(format!("cannot write {name}: schema and columns differ"));
                    };
                    let defined = Some(column.defined.as_slice());
                    match &column.cells {
                        Cells::Int(v) => out.typed::<Int64Type>().write_batch(v, defined, None),
                        Cells::Double(v) => out.typed::<DoubleType>().write_batch(v, defined, None),
                        Cells::Text(v) => {
                            out.typed::<ByteArrayType>().write_batch(v, defined, None)
                        }
                    }
                    .map_err(fail)?;
                    out.close().map_err(fail)?;
                    column.clear();
                }
                group.close().map_err(fail)?;
                rows = 0;
            }
            if !more {
                break;
            }
        }
        writer.close().map_err(fail)?;
        // Hash what is on disk (the writer buffers and seeks nothing; one read of a small file).
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        let mut file = File::open(&out_path).map_err(|e| format!("cannot read {name}: {e}"))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| format!("cannot read {name}: {e}"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(ManifestFile {
            path: format!("{prefix}{name}"),
            bytes,
            sha256: crate::output::manifest::hex(&hasher.finalize()),
        })
    }
}
