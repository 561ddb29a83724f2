use clap::Parser;
use porthole::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let config = match args.into_config() {
                Ok(config) => config,
                Err(message) => {
                    eprintln!("porthole: {message}");
                    return std::process::ExitCode::from(2);
                }
            };
            let _flush_on_exit = porthole::telemetry::init(config.log_format, &config.log_level);
            let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
            match runtime.block_on(run(config)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(message) => {
                    tracing::error!("{message}");
                    eprintln!("porthole: {message}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Healthcheck(args) => healthcheck(args),
    }
}

/// Exit 0 when healthy, 1 otherwise (Docker reserves 2).
fn healthcheck(args: porthole::cli::HealthcheckArgs) -> std::process::ExitCode {
    let url = match args.url {
        Some(url) => Ok(url),
        None => porthole::healthcheck::default_url(args.listen.as_deref()),
    };
    let timeout = std::time::Duration::from_secs(args.timeout);
    let result = url.and_then(|url| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime
            .block_on(porthole::healthcheck::check(&url, timeout))
            .map(|()| url)
    });
    match result {
        Ok(url) => {
            println!("porthole: healthy ({url})");
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("porthole: unhealthy: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: porthole::Config) -> Result<(), String> {
    let state = porthole::open_state(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%address, store = state.cloud.store_name(), "porthole listening");
    porthole::serve(listener, state, config.shutdown_grace)
        .await
        .map_err(|e| e.to_string())
}

// A faster allocator than glibc's for many small, short-lived allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
