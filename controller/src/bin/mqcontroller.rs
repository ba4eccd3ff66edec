//! `mqcontroller`: a FerroMQ controller, with Apache's command-line flags.

// A command-line program talks to its operator on stdout.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use ferromq_common::cli::{load_config, ServerArgs};

use ferromq_controller::ControllerConfig;

const USAGE: &str = "usage: mqcontroller -c <file> [-p] [-h]
  -c, --configFile <file>   controller config file (properties: controllerDLegerGroup,
                            controllerDLegerPeers=n0-127.0.0.1:9878;n1-..., controllerDLegerSelfId,
                            controllerStorePath, ...; docs/controller.md)
  -p, --printConfigItem     print all config items and exit
  -h, --help                print this help and exit

Log level: RUST_LOG (default info, openraft at warn). Log format and files: logFormat, logDir, logMaxFiles.";

fn main() -> ExitCode {
    let args = match ServerArgs::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("mqcontroller: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let loaded = match load_config(
        args.config_file.as_deref(),
        ControllerConfig::from_properties,
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mqcontroller: {e}");
            return ExitCode::FAILURE;
        }
    };
    let warnings = loaded.warnings(|_| false);
    let config = loaded.config;
    if args.print_config {
        print!("{}", config.to_properties());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = config.peers() {
        eprintln!("mqcontroller: {e}");
        return ExitCode::FAILURE;
    }
    // openraft reports every vote and state dump at info; keep its warnings only unless the
    // operator chose a filter.
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "info,openraft=warn");
    }
    let logs = ferromq_logging::LogConfig::from_keys(
        "controller",
        &config.log_format,
        &config.log_dir,
        config.log_max_files,
    );
    if let Err(e) = logs.and_then(|c| ferromq_logging::init(&c).map_err(|e| format!("logDir: {e}")))
    {
        eprintln!("mqcontroller: {e}");
        return ExitCode::FAILURE;
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqcontroller: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match ferromq_controller::bind(&config).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mqcontroller: {e}");
                return ExitCode::FAILURE;
            }
        };
        let controller = match ferromq_controller::Controller::start(config).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("mqcontroller: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listener
            .local_addr()
            .map_or_else(|_| "?".to_owned(), |a| a.to_string());
        println!("The Controller boot success, address {addr}");
        let signal = ferromq_remoting::shutdown_signal();
        let shutdown = async {
            signal.await;
            tracing::info!("shutting down");
        };
        match ferromq_controller::run(listener, controller, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mqcontroller: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
