//! `mqproxy`: FerroMQ's gRPC proxy in Apache's cluster mode (docs/grpc.md).

use std::path::PathBuf;

use clap::Parser;
use ferromq_proxy::{Mode, Proxy, ProxyConfig};

/// Command line, as Apache's `mqproxy`.
#[derive(Debug, Parser)]
#[command(
    name = "mqproxy",
    about = "FerroMQ gRPC proxy (apache.rocketmq.v2.MessagingService)"
)]
struct Args {
    /// rmq-proxy.json (Apache's `-pc` is accepted too)
    #[arg(long = "proxyConfigPath")]
    proxy_config_path: Option<PathBuf>,
    /// Name servers (overrides namesrvAddr).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
}

#[tokio::main]
async fn main() {
    tracing_subscriber_init();
    // Apache spells the short flag `-pc`, which is not a one-letter flag.
    let args = Args::parse_from(std::env::args().map(|a| {
        if a == "-pc" {
            "--proxyConfigPath".to_owned()
        } else {
            a
        }
    }));
    let mut config = match &args.proxy_config_path {
        Some(path) => match ProxyConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("mqproxy: {e}");
                std::process::exit(2);
            }
        },
        None => ProxyConfig::default(),
    };
    if let Some(n) = args.namesrv_addr {
        config.namesrv_addr = n;
    }
    let addr = format!("0.0.0.0:{}", config.grpc_server_port);
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mqproxy: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let signer = match config.cluster_signer() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mqproxy: {e}");
            std::process::exit(2);
        }
    };
    if let Some(s) = &signer {
        tracing::warn!(
            access_key = s.access_key(),
            "requests to brokers are signed with innerClientAuthenticationCredentials; gRPC \
             clients are not checked by mqproxy: expose it only to trusted clients"
        );
    }
    let security = ferromq_proxy::Security {
        guard: None,
        signer,
    };
    let proxy = Proxy::with_security(config, Mode::Cluster, security);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = ferromq_proxy::serve(proxy, listener, shutdown).await {
        eprintln!("mqproxy: {e}");
        std::process::exit(1);
    }
}

fn tracing_subscriber_init() {
    match ferromq_logging::LogConfig::from_keys("mqproxy", "text", "", 0) {
        Ok(config) => {
            if let Err(e) = ferromq_logging::init(&config) {
                eprintln!("mqproxy: logging: {e}");
            }
        }
        Err(e) => eprintln!("mqproxy: logging: {e}"),
    }
}
