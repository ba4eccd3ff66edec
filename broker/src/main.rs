//! `mqbroker`: the FerroMQ broker, with Apache's command-line flags.

// A command-line program talks to its operator on stdout.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use ferromq_broker::Settings;

const USAGE: &str = "usage: mqbroker [-c <file>] [-n <namesrv;namesrv>] [-p] [-h]
  -c, --configFile <file>   broker config file (properties, Apache's keys: brokerName, listenPort,
                            storePathRootDir, flushDiskType, ...)
  -n, --namesrvAddr <list>  name servers, ';'-separated (overrides namesrvAddr / NAMESRV_ADDR)
  -p, --printConfigItem     print all config items and exit
  -h, --help                print this help and exit

Log level: RUST_LOG (default info). Log format and files: logFormat (text or json; the
FERROMQ_LOG_FORMAT environment variable wins), logDir (empty: standard error), logMaxFiles.";

fn main() -> ExitCode {
    let mut config_file = None;
    let mut namesrv = None;
    let mut print = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-p" | "--printConfigItem" => print = true,
            "-c" | "--configFile" => config_file = args.next(),
            "-n" | "--namesrvAddr" => namesrv = args.next(),
            other => {
                eprintln!("mqbroker: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let mut settings = Settings::default();
    // Said once the logger is set up, which the config file configures.
    let mut warnings = Vec::new();
    if let Some(path) = &config_file {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("mqbroker: cannot read config file {path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match settings.apply_properties(&text) {
            Ok(report) => {
                for key in report.unknown_keys {
                    warnings.push(format!("unknown config key ignored: {key} (in {path})"));
                }
                for (old, new) in report.renamed_keys {
                    warnings.push(format!("old config key spelling: {old}, now {new}"));
                }
            }
            Err(e) => {
                eprintln!("mqbroker: {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = &config_file {
        // Apache's BrokerStartup records the file so; the ACL file is looked for beside it.
        settings.broker.broker_config_path = path.clone();
    }
    if let Some(n) = namesrv {
        settings.broker.namesrv_addr = n;
    }
    if print {
        print!("{}", settings.to_properties());
        return ExitCode::SUCCESS;
    }
    let b = &settings.broker;
    let logs =
        ferromq_logging::LogConfig::from_keys("broker", &b.log_format, &b.log_dir, b.log_max_files);
    if let Err(e) = logs.and_then(|c| ferromq_logging::init(&c).map_err(|e| format!("logDir: {e}")))
    {
        eprintln!("mqbroker: {e}");
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
            eprintln!("mqbroker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let (listener, fast) = match ferromq_broker::bind(&settings.broker).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mqbroker: {e}");
                return ExitCode::FAILURE;
            }
        };
        let broker = match ferromq_broker::open(settings).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("mqbroker: {e}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = ferromq_remoting::shutdown_signal();
        let settings = broker.settings();
        if let Err(e) = start_grpc(&broker, &settings.broker).await {
            eprintln!("mqbroker: {e}");
            return ExitCode::FAILURE;
        }
        let b = &settings.broker;
        println!(
            "The broker[{}, {}] boot success. serializeType=JSON and name server is {}",
            b.broker_name,
            b.broker_addr(),
            b.namesrv_addr
        );
        match ferromq_broker::run(broker, listener, fast, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mqbroker: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Starts the gRPC endpoint (Apache's proxy in "local" mode, docs/grpc.md) when `grpcServerPort`
/// is set: the same proxy as `mqproxy`, pointed at this broker's name servers.
/// With ACL on (`aclEnable`, `authenticationEnabled`, `authorizationEnabled`) the endpoint checks
/// each call with this broker's rules and signs its own requests with the broker's in-process
/// secret (`ferromq_broker::grpc`).
#[cfg(feature = "grpc")]
async fn start_grpc(
    broker: &std::sync::Arc<ferromq_broker::Broker>,
    b: &ferromq_broker::config::BrokerConfig,
) -> Result<(), String> {
    if b.grpc_server_port == 0 {
        return Ok(());
    }
    if b.namesrv_addr.trim().is_empty() {
        return Err(
            "grpcServerPort needs namesrvAddr (the gRPC endpoint routes through the name servers)"
                .to_owned(),
        );
    }
    let addr = format!("{}:{}", b.bind_address, b.grpc_server_port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (bindAddress, grpcServerPort): {e}"))?;
    let config = ferromq_proxy::ProxyConfig {
        namesrv_addr: b.namesrv_addr.clone(),
        grpc_server_port: b.grpc_server_port,
        rocketmq_cluster_name: b.broker_cluster_name.clone(),
        min_invisible_time_mills_for_recv: b.min_invisible_time_mills_for_recv,
        ..ferromq_proxy::ProxyConfig::default()
    };
    let security = ferromq_broker::grpc::security(broker);
    let proxy = ferromq_proxy::Proxy::with_security(config, ferromq_proxy::Mode::Local, security);
    tokio::spawn(async move {
        let shutdown = ferromq_remoting::shutdown_signal();
        if let Err(e) = ferromq_proxy::serve(proxy, listener, shutdown).await {
            tracing::error!(error = %e, "gRPC endpoint stopped");
        }
    });
    Ok(())
}

#[cfg(not(feature = "grpc"))]
async fn start_grpc(
    _broker: &std::sync::Arc<ferromq_broker::Broker>,
    b: &ferromq_broker::config::BrokerConfig,
) -> Result<(), String> {
    if b.grpc_server_port != 0 {
        tracing::warn!(
            "grpcServerPort is set but this mqbroker was built without the grpc feature"
        );
    }
    Ok(())
}
