use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = archimap::admin::cli::Cli::parse();
    match archimap::admin::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("archimap: {error:#}");
            ExitCode::FAILURE
        }
    }
}
