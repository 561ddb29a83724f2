//! Logging: human-readable lines by default, one JSON object per line with
//! `--log-format json`. Every line logged while a request is handled sits
//! in its `request` span and so carries its `request_id` (JSON: under
//! `"span"`).

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The subscriber porthole logs through, writing to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(writer)
        .with_ansi(false);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    }
}

/// Install the process-wide subscriber on stdout. Lines are written by a
/// background thread (no blocking I/O on the runtime's workers); keep the
/// returned guard alive until exit so that they are flushed.
pub fn init(format: LogFormat, filter: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    tracing::subscriber::set_global_default(subscriber(format, filter, writer))
        .expect("no other global subscriber");
    guard
}
