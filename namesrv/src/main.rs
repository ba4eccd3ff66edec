//! `mqnamesrv`: the FerroMQ name server, with Apache's command-line flags.

// A command-line program talks to its operator on stdout.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use ferromq_common::cli::{load_config, ServerArgs};

use ferromq_controller::ControllerConfig;
use ferromq_namesrv::NamesrvConfig;

const USAGE: &str = "usage: mqnamesrv [-c <file>] [-p] [-h]
  -c, --configFile <file>   name server config file (properties: listenPort=9876, ...)
  -p, --printConfigItem     print all config items and exit
  -h, --help                print this help and exit

Log level: RUST_LOG (default info), e.g. RUST_LOG=debug. Log format and files: logFormat
(text or json; the FERROMQ_LOG_FORMAT environment variable wins), logDir (empty: standard
error), logMaxFiles.";

fn main() -> ExitCode {
    let args = match ServerArgs::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("mqnamesrv: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let loaded = match load_config(args.config_file.as_deref(), NamesrvConfig::from_properties) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mqnamesrv: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Said once the logger is set up, which the config file configures. With the controller
    // inside, its keys are in the same file.
    let warnings = loaded.warnings(|key| {
        loaded.config.enable_controller_in_namesrv && ControllerConfig::KEYS.contains(&key)
    });
    let config_text = loaded.text;
    let config = loaded.config;
    if args.print_config {
        print!("{}", config.to_properties());
        return ExitCode::SUCCESS;
    }
    // `enableControllerInNamesrv=true`: a controller (docs/controller.md) runs in this process
    // on its own port, configured by the controller keys of the same file.
    let controller_config = if config.enable_controller_in_namesrv {
        match ControllerConfig::from_properties(&config_text) {
            Ok((c, _)) => match c.peers() {
                Ok(_) => Some(c),
                Err(e) => {
                    eprintln!("mqnamesrv: enableControllerInNamesrv: {e}");
                    return ExitCode::FAILURE;
                }
            },
            Err(e) => {
                eprintln!("mqnamesrv: enableControllerInNamesrv: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let logs = ferromq_logging::LogConfig::from_keys(
        "namesrv",
        &config.log_format,
        &config.log_dir,
        config.log_max_files,
    );
    if let Err(e) = logs.and_then(|c| ferromq_logging::init(&c).map_err(|e| format!("logDir: {e}")))
    {
        eprintln!("mqnamesrv: {e}");
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
            eprintln!("mqnamesrv: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match ferromq_namesrv::bind(&config).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mqnamesrv: {e}");
                return ExitCode::FAILURE;
            }
        };
        let controller = match controller_config {
            None => None,
            Some(c) => match start_controller(c).await {
                Ok(started) => Some(started),
                Err(e) => {
                    eprintln!("mqnamesrv: enableControllerInNamesrv: {e}");
                    return ExitCode::FAILURE;
                }
            },
        };
        let addr = listener
            .local_addr()
            .map_or_else(|_| config.listen_port.to_string(), |a| a.to_string());
        let signal = ferromq_remoting::shutdown_signal();
        println!("The Name Server boot success. serializeType=JSON, address {addr}");
        let shutdown = async {
            signal.await;
            tracing::info!("shutting down");
        };
        let served = ferromq_namesrv::run(listener, config, shutdown).await;
        if let Some((stop, task)) = controller {
            let _ = stop.send(());
            if let Ok(Err(e)) = task.await {
                tracing::warn!("controller: {e}");
            }
        }
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mqnamesrv: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// A controller stopped by sending on the channel; the task ends when it has stopped.
type RunningController = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
);

/// Binds the controller's port, starts it and serves it in the background.
async fn start_controller(config: ControllerConfig) -> Result<RunningController, String> {
    let listener = ferromq_controller::bind(&config)
        .await
        .map_err(|e| e.to_string())?;
    let controller = ferromq_controller::Controller::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ferromq_controller::run(listener, controller, async {
        let _ = stopped.await;
    }));
    Ok((stop, task))
}
