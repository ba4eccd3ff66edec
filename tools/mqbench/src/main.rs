//! `mqbench`: parses the command line, owns the tokio runtime, and runs the benchmark until the
//! duration ends or Ctrl-C.

// A command-line program talks to its operator on stdout.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use ferromq_mqbench::args::{parse, USAGE};
use ferromq_mqbench::{report, run};

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("mqbench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqbench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(&options, std::io::stdout(), async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    match result {
        Ok(summary) => {
            report(&mut std::io::stdout(), &options, "summary", &summary, false);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mqbench: {e}");
            ExitCode::FAILURE
        }
    }
}
