//! Shards: running a slice of a sweep per machine, as the tasks of a Slurm job array.
//!
//! Shard `K` of `N` runs the runs whose id is congruent to `K` modulo `N` (0-based `K`, as
//! `SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)`). Interleaving rather than contiguous blocks
//! spreads costly corners of the design over all tasks. We do not schedule anything ourselves:
//! [`slurm_script`] writes the job array and a merge job that depends on it, for `sbatch`.

use std::path::Path;

use super::SweepError;
use super::manifest::Shard;
use super::spec::Plan;

/// Parse `--shard K/N`, or, for `slurm`, read `K` from `SLURM_ARRAY_TASK_ID` (minus
/// `SLURM_ARRAY_TASK_MIN`, so `--array=1-4` works too) and `N` from `SLURM_ARRAY_TASK_COUNT`.
pub fn parse_shard(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, SweepError> {
    let bad = |m: String| SweepError::BadInput(format!("--shard: {m}"));
    let (index, count) = if spec == "slurm" {
        let var = |name: &str| -> Result<u64, SweepError> {
            let value = env(name).ok_or_else(|| {
                bad(format!(
                    "no K/N given and `{name}` is not set (outside a Slurm job array, write \
                     --shard K/N)"
                ))
            })?;
            value
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{name}={value}` is not a whole number")))
        };
        let id = var("SLURM_ARRAY_TASK_ID")?;
        let min = env("SLURM_ARRAY_TASK_MIN")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        (id.saturating_sub(min), var("SLURM_ARRAY_TASK_COUNT")?)
    } else {
        let (k, n) = spec
            .split_once('/')
            .ok_or_else(|| bad(format!("expected K/N (e.g. 0/4), found `{spec}`")))?;
        let k = k
            .trim()
            .parse::<u64>()
            .map_err(|_| bad(format!("`{k}` is not a shard index")))?;
        let n = n
            .trim()
            .parse::<u64>()
            .map_err(|_| bad(format!("`{n}` is not a shard count")))?;
        (k, n)
    };
    if count == 0 || index >= count {
        return Err(bad(format!(
            "shard {index} of {count}: shards are numbered 0 to N-1 (as with `--array=0-{}`)",
            count.saturating_sub(1)
        )));
    }
    Ok(Shard { index, count })
}

/// Quote a string for a POSIX shell: single quotes, each `'` written as `'\''`. Inside single
/// quotes nothing is special (no `$`, backtick, `\` or glob), so any text without a NUL byte comes
/// through literally — a line break too, although [`slurm_script`] refuses those anyway.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `name` restricted to `[A-Za-z0-9_.-]` (anything else becomes `_`), at most 64 chars: safe in a
/// comment, an `#SBATCH` line and a Slurm job name whatever the sweep file says.
fn safe_label(name: &str) -> String {
    name.chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Delimiter of the job scripts' quoted heredocs.
const HEREDOC: &str = "ORECHAIN_JOB_SCRIPT_END";

/// A bash script that submits the sweep as a Slurm job array of `tasks` tasks with `cpus` cores
/// each (shard folders under `<out>-shards/`), and a merge job into `out` that runs once every
/// task has succeeded. Paths are made absolute so the jobs can start anywhere.
///
/// Nothing from the sweep file, the command line or a path is pasted unquoted: paths enter only as
/// [`sh_quote`]d assignments, the job scripts are *quoted* heredocs (`<<'…'`, nothing expanded at
/// submission), the sweep name appears only through [`safe_label`], and log paths are passed to
/// `sbatch` as quoted arguments (with Slurm's `%` doubled), not on `#SBATCH` lines. Paths with
/// control characters (a line break, a tab, an escape) are refused: no job script can carry them
/// safely through Slurm's option parsing.
pub fn slurm_script(
    plan: &Plan,
    exe: &Path,
    out: &Path,
    tasks: u64,
    cpus: u64,
    format: crate::output::parquet::TableFormat,
) -> Result<String, SweepError> {
    let absolute = |p: &Path| -> Result<String, SweepError> {
        let text = std::path::absolute(p)
            .map(|a| a.display().to_string())
            .map_err(|e| {
                SweepError::BadInput(format!(
                    "cannot resolve `{}`: {e}",
                    crate::output::folder::shown(p)
                ))
            })?;
        if text.chars().any(char::is_control) {
            return Err(SweepError::BadInput(format!(
                "--slurm-script: the path `{}` contains a control character (a line break, tab \
                 or escape); a job script cannot carry it safely, so rename it or choose another \
                 with -o",
                crate::output::folder::shown(p)
            )));
        }
        Ok(text)
    };
    let sweep = absolute(&plan.sweep_path)?;
    let out = absolute(out)?;
    let exe = absolute(exe)?;
    let shards = format!("{out}-shards");
    // Slurm expands `%x` patterns in --output; `%%` is a literal `%`.
    let logs = format!("{shards}/logs").replace('%', "%%");
    let name = safe_label(&plan.file.name);
    let runs = plan.total_runs();
    let last = tasks.saturating_sub(1);
    // A fixed flag, never user text.
    let merge_format = match format {
        crate::output::parquet::TableFormat::Csv => "",
        crate::output::parquet::TableFormat::Parquet => " --format parquet",
    };
    let (exe, sweep, out, shards, logs) = (
        sh_quote(&exe),
        sh_quote(&sweep),
        sh_quote(&out),
        sh_quote(&shards),
        sh_quote(&logs),
    );
    let array_job = format!(
        r#"#!/bin/bash
#SBATCH --job-name=orechain-{name}
#SBATCH --array=0-{last}
#SBATCH --ntasks=1
#SBATCH --cpus-per-task={cpus}
set -euo pipefail
ORECHAIN={exe}
SWEEP={sweep}
SHARDS={shards}
"$ORECHAIN" sweep "$SWEEP" --shard -j "${{SLURM_CPUS_PER_TASK:-{cpus}}}" -o "$SHARDS/shard-$SLURM_ARRAY_TASK_ID" --resume
"#
    );
    let merge_job = format!(
        r#"#!/bin/bash
#SBATCH --job-name=orechain-{name}-merge
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
set -euo pipefail
ORECHAIN={exe}
SHARDS={shards}
OUT={out}
"$ORECHAIN" merge "$SHARDS"/shard-* -o "$OUT"{merge_format}
"#
    );
    if array_job
        .lines()
        .chain(merge_job.lines())
        .any(|l| l == HEREDOC)
    {
        return Err(SweepError::Internal(
            "the job script contains its own heredoc delimiter".into(),
        ));
    }
    Ok(format!(
        r#"#!/bin/bash
# Slurm submission of the orechain sweep `{name}`: {runs} runs in a job array of {tasks} tasks
# ({cpus} cores each), then a merge job that starts when every task has succeeded.
# Submit with:  bash THIS_SCRIPT   (it calls sbatch twice and prints the job ids).
# Add the options your cluster needs (--time, --partition, --account, --mem) to both jobs.
# A task that is requeued or resubmitted continues its shard (--resume).
# Paths are single-quoted and the job scripts are quoted heredocs: nothing is expanded on submit.
set -euo pipefail
ORECHAIN={exe}
SWEEP={sweep}
OUT={out}
SHARDS={shards}
LOGS={logs}
mkdir -p -- "$SHARDS/logs"

array_job=$(sbatch --parsable "--output=$LOGS/shard-%a.out" <<'{HEREDOC}'
{array_job}{HEREDOC}
)
array_job=${{array_job%%;*}}

merge_job=$(sbatch --parsable "--dependency=afterok:$array_job" "--output=$LOGS/merge.out" <<'{HEREDOC}'
{merge_job}{HEREDOC}
)
merge_job=${{merge_job%%;*}}
printf 'array job %s ({tasks} tasks), merge job %s -> %s\n' "$array_job" "$merge_job" "$OUT"
"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn explicit_and_slurm_shards_parse() {
        let none = env(&[]);
        assert_eq!(
            parse_shard("2/4", &none).expect("valid"),
            Shard { index: 2, count: 4 }
        );
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            parse_shard("slurm", &slurm).expect("valid"),
            Shard { index: 3, count: 4 }
        );
        let one_based = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            parse_shard("slurm", &one_based).expect("valid"),
            Shard { index: 3, count: 4 }
        );
    }

    #[test]
    fn bad_shards_say_what_is_expected() {
        let none = env(&[]);
        for (spec, needle) in [
            ("4/4", "numbered 0 to N-1"),
            ("1/0", "numbered 0 to N-1"),
            ("x", "expected K/N"),
            ("slurm", "SLURM_ARRAY_TASK_ID"),
        ] {
            let err = parse_shard(spec, &none).expect_err(spec).to_string();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote("x$(touch P)`id`;\""), "'x$(touch P)`id`;\"'");
    }

    #[test]
    fn labels_keep_only_safe_characters() {
        assert_eq!(safe_label("tiny_grid-2.0"), "tiny_grid-2.0");
        assert_eq!(safe_label("x$(touch P)\n`id`"), "x__touch_P___id_");
        assert_eq!(safe_label(&"a".repeat(100)).len(), 64);
    }
}
