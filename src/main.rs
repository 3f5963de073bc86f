//! The `orechain` binary: parse the command line, run, map errors to exit codes
//! (0 ok, 2 bad input, 1 internal failure, 130 interrupted by Ctrl-C).

use clap::Parser;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cli = match orechain::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and exit 0; usage errors exit 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    if let Err(e) = orechain::app::run_cli(cli, argv) {
        // Every error passes this one filter: control characters from ids, paths or files are
        // escaped, whichever message path quoted them. Never panic on a closed stderr (e.g. after
        // SIGHUP): the exit code still tells.
        use std::io::Write;
        let raw = e.to_string();
        let text = orechain::scenario::error::escape_message(&raw);
        let _ = writeln!(std::io::stderr(), "error: {text}");
        std::process::exit(e.exit_code());
    }
}
