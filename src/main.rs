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
            // Log lines are written by a background thread: no blocking I/O
            // on the runtime's workers.
            let (writer, _flush_on_exit) = tracing_appender::non_blocking(std::io::stdout());
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log_level))
                .with_writer(writer)
                .with_ansi(false)
                .init();
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
