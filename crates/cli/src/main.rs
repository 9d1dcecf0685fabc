//! `crmdb`: the command-line tool of the CRM database. Parses the command line, runs the
//! command, and turns its outcome into an exit code and, on failure, one error paragraph.

mod cli;
mod commands;
mod context;
mod exit;
mod logging;
mod logins;
mod private_file;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::install(cli.verbose);
    let out = render::Renderer::new(cli.json());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            out.error(&anyhow::Error::new(e).context("could not start the async runtime"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<exit::Exit>() {
            Some(exit) => ExitCode::from(exit.0),
            None => {
                out.error(&error);
                ExitCode::FAILURE
            }
        },
    }
}
