//! `mqdashboard -n 127.0.0.1:9876 [-p 8082] [--host 127.0.0.1]`: the web console.

// The boot line (the URL to open) is the binary's output.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ferromq_client::{ClientConfig, Credentials, TlsConfig};
use ferromq_dashboard::{serve, DashboardConfig};

/// FerroMQ / RocketMQ web console.
#[derive(Parser, Debug)]
#[command(name = "mqdashboard", version)]
struct Args {
    /// Name server addresses, `;`-separated.
    #[arg(
        short = 'n',
        long = "namesrvAddr",
        env = "NAMESRV_ADDR",
        default_value = "127.0.0.1:9876"
    )]
    namesrv: String,
    /// Port to serve the console on.
    #[arg(short = 'p', long, default_value_t = 8082)]
    port: u16,
    /// Address to bind; the default serves this machine only.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Another `Host` header value to serve (a reverse proxy's name); repeatable.
    #[arg(long = "allowed-host")]
    allowed_hosts: Vec<String>,
    /// Refuse every change: topics, sends, offset resets, DLQ resends.
    #[arg(long)]
    read_only: bool,
    /// ACL access key the console's requests are signed with (with `--secret-key`).
    #[arg(long, requires = "secret_key", env = "FERROMQ_ACCESS_KEY")]
    access_key: Option<String>,
    /// ACL secret key.
    #[arg(
        long,
        requires = "access_key",
        env = "FERROMQ_SECRET_KEY",
        hide_env_values = true
    )]
    secret_key: Option<String>,
    /// Dial the cluster over TLS, trusting the CAs in this PEM file.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Dial the cluster over TLS, trusting the system's roots.
    #[arg(long, conflicts_with = "tls_ca")]
    tls: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let credentials = match (&args.access_key, &args.secret_key) {
        (Some(ak), Some(sk)) => Some(Credentials::new(ak, sk)),
        _ => None,
    };
    let tls = (args.tls || args.tls_ca.is_some()).then(|| TlsConfig {
        ca_file: args.tls_ca.clone(),
        ..TlsConfig::default()
    });
    let config = DashboardConfig {
        client: ClientConfig {
            namesrv_addr: args.namesrv.clone(),
            instance_name: "mqdashboard".to_owned(),
            credentials,
            tls,
            ..ClientConfig::default()
        },
        read_only: args.read_only,
        allowed_hosts: args.allowed_hosts.clone(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqdashboard: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.host, args.port);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mqdashboard: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let shown = match args.host {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        println!(
            "mqdashboard serving http://{shown}:{}/ for name server {}",
            args.port, args.namesrv
        );
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match serve(listener, config, stop).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mqdashboard: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
