//! The `hearth` binary.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use hearth_server::backend::Backend;
use hearth_server::config::{Cli, Command, LogFormat, ServeConfig};
use hearth_server::files::{FileSettings, FileStorage};
use hearth_server::{AppState, Settings, maintenance, migrate_data};
use tokio::net::{TcpListener, TcpSocket};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => serve(config).await,
        Command::MigrateData(config) => migrate_data::run(config).await,
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    // Logs go to stderr so stdout carries only what a script may read (the URL).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    init_logging(config.log_format);
    let backend = Backend::open(&config).await?;
    let store = backend.store();
    let mut settings = Settings {
        session_ttl: config.session_ttl(),
        event_retention: config.event_retention(),
        ..Settings::default()
    };
    settings.gateway.commands_per_minute = config.ws_commands_per_minute;
    settings.gateway.origin = config.public_origin.clone();
    settings.gateway.hub.presence_ttl = config.presence_ttl();
    settings.notify = config.notify()?;
    settings.files = FileSettings {
        storage: FileStorage::from_url(config.files.as_deref(), &config.data_dir)?,
        max_upload_bytes: config.max_upload_mb.saturating_mul(1024 * 1024),
        workspace_quota: (config.workspace_quota_mb > 0)
            .then(|| config.workspace_quota_mb.saturating_mul(1024 * 1024)),
        ..FileSettings::default()
    };
    let state = match config.bus_url()? {
        None => AppState::new(store.clone(), settings),
        Some(url) => AppState::with_redis(store.clone(), settings, url)?,
    };
    let pruner = tokio::spawn(maintenance::prune_events_forever(
        store.clone(),
        config.event_retention(),
    ));
    let indexer = tokio::spawn(maintenance::index_search_backlog(store.clone()));
    let purger = tokio::spawn(maintenance::purge_files_forever(
        store.clone(),
        state.files.clone(),
    ));

    let listener = listen(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let bus = if config.bus_url()?.is_some() {
        "Redis"
    } else {
        "in-process"
    };
    tracing::info!(database = %backend.describe(), bus, "Hearth is ready on http://{addr}");
    println!("Hearth is listening on http://{addr}");

    hearth_server::run(listener, state, shutdown_signal()).await?;
    pruner.abort();
    indexer.abort();
    purger.abort();
    backend.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Connections the kernel may hold for the server to accept, capped by the kernel
/// (`net.core.somaxconn`). After a restart every client reconnects within about a second;
/// beyond tokio's default of 1,024 the kernel drops the SYNs, and those clients retry
/// after 1, 3, 7 and 15 s.
const ACCEPT_BACKLOG: u32 = 16_384;

/// Binds `addr` as `TcpListener::bind` does (with `SO_REUSEADDR`, so a restarted server
/// takes its address back at once), with [`ACCEPT_BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
