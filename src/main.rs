use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = archimap::admin::cli::Cli::parse();
    let result = archimap::admin::run(cli);
    archimap::index::stop_idle_workers();
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("archimap: {error:#}");
            ExitCode::FAILURE
        }
    }
}
