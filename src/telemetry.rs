//! Logging: human-readable lines by default, one JSON object per line with
//! `--log-format json`. Every line logged while a request is handled
//! carries its `request_id`: JSON lines under `"span"` (a `request` span),
//! text lines as `request{request_id=…}:`, which porthole's text format
//! prints from a task-local instead of a span (see [`RequestLogging`]).

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::future::Future;

use axum::http::{HeaderValue, Method, Uri};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The subscriber porthole logs through, writing to `writer`.
///
/// A filter that is one level (`info`, the default) is a static maximum
/// level, which tracing checks once per call site; `EnvFilter` (for
/// per-target directives) costs a lock per span entered and exited.
pub fn subscriber<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    macro_rules! finish {
        ($builder:expr) => {{
            let builder = $builder.with_writer(writer).with_ansi(false);
            match format {
                LogFormat::Text => Box::new(builder.event_format(TextFormat::default()).finish())
                    as Box<dyn Subscriber + Send + Sync>,
                LogFormat::Json => Box::new(
                    builder
                        .json()
                        .flatten_event(true)
                        .with_current_span(true)
                        .with_span_list(false)
                        .finish(),
                ),
            }
        }};
    }
    match filter.trim().parse::<LevelFilter>() {
        Ok(level) => finish!(tracing_subscriber::fmt().with_max_level(level)),
        Err(_) => finish!(tracing_subscriber::fmt().with_env_filter(EnvFilter::new(filter))),
    }
}

/// Install the process-wide subscriber on stdout. Lines are written by a
/// background thread (no blocking I/O on the runtime's workers), every line
/// waiting at once in one write (the thread flushes whenever it has caught
/// up, so a quiet server's lines are never held back); keep the returned
/// guard alive until exit so that they are flushed.
pub fn init(format: LogFormat, filter: &str) -> tracing_appender::non_blocking::WorkerGuard {
    let stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking(stdout);
    tracing::subscriber::set_global_default(subscriber(format, filter, writer))
        .expect("no other global subscriber");
    guard
}

tokio::task_local! {
    /// The id of the request this task serves, for porthole's text format.
    static REQUEST_ID: HeaderValue;
}

/// How the lines of one request get its id.
pub enum RequestLogging {
    /// Porthole's text format: from a task-local, printed as the `request`
    /// span would be. A span costs about 3,000 instructions a request
    /// (made, its fields formatted, entered and left at every poll, closed).
    TaskLocal(HeaderValue),
    /// Any other subscriber (JSON lines): a `request` span.
    Span(tracing::Span),
}

impl RequestLogging {
    /// For the request `request_id`, with the subscriber in effect now.
    pub fn new(request_id: &HeaderValue) -> Self {
        if tracing::dispatcher::get_default(|d| d.is::<TextFormat>()) {
            RequestLogging::TaskLocal(request_id.clone())
        } else {
            let id = request_id.to_str().unwrap_or_default();
            RequestLogging::Span(tracing::info_span!("request", request_id = %id))
        }
    }

    /// `request` with every line it logs carrying the id.
    pub async fn run<F: Future>(&self, request: F) -> F::Output {
        use tracing::Instrument;
        match self {
            RequestLogging::TaskLocal(id) => REQUEST_ID.scope(id.clone(), request).await,
            RequestLogging::Span(span) => request.instrument(span.clone()).await,
        }
    }

    /// `log` with its lines carrying the id.
    pub fn in_scope<R>(&self, log: impl FnOnce() -> R) -> R {
        match self {
            RequestLogging::TaskLocal(id) => REQUEST_ID.sync_scope(id.clone(), log),
            RequestLogging::Span(span) => span.in_scope(log),
        }
    }

    /// The request's access line: `request method=… path=… status=…
    /// micros=…`. Porthole's text format gets it as one message, made here
    /// without the formatting machinery (visiting four fields cost about
    /// 2,000 instructions a request); other subscribers get the fields.
    pub fn access(&self, method: &Method, uri: &Uri, status: u16, micros: u64) {
        match self {
            RequestLogging::TaskLocal(_) => {
                if !tracing::enabled!(target: ACCESS_TARGET, Level::INFO) {
                    return;
                }
                ACCESS_LINE.with_borrow_mut(|line| {
                    line.clear();
                    write_access_line(line, method, uri, status, micros);
                    self.in_scope(
                        || tracing::info!(target: ACCESS_TARGET, message = line.as_str()),
                    );
                });
            }
            RequestLogging::Span(span) => span.in_scope(|| {
                tracing::info!(
                    target: ACCESS_TARGET,
                    method = %method,
                    path = %uri,
                    status,
                    micros,
                    "request"
                )
            }),
        }
    }
}

thread_local! {
    /// The access line being made on this thread (kept: no allocation per line).
    static ACCESS_LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// What `DefaultFields` prints for the access event's fields.
fn write_access_line(line: &mut String, method: &Method, uri: &Uri, status: u16, micros: u64) {
    line.push_str("request method=");
    line.push_str(method.as_str());
    line.push_str(" path=");
    match uri.path_and_query() {
        // Origin form (every request but a proxy's): the URI's Display.
        Some(origin) if uri.scheme().is_none() && uri.authority().is_none() => {
            line.push_str(origin.as_str())
        }
        _ => {
            let _ = write!(line, "{uri}");
        }
    }
    line.push_str(" status=");
    push_digits(line, u64::from(status));
    line.push_str(" micros=");
    push_digits(line, micros);
}

fn push_digits(line: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let used = write_digits(&mut digits, value);
    line.push_str(std::str::from_utf8(&digits[digits.len() - used..]).unwrap_or_default());
}

/// The access line's target (where `request_id_and_log` lives; log filters name it).
const ACCESS_TARGET: &str = "porthole::api::middleware";

/// tracing-subscriber's default text format (`Full`, no ANSI), written
/// straight into the line instead of through `format_args!` at every step
/// (the access line's fields too: `micros` among them), the timestamp's
/// date and time of day made once a second, and the request's id from
/// [`RequestLogging`]. Byte for byte the same lines (`tests` below compares
/// them).
#[derive(Default)]
struct TextFormat {
    full: format::Format,
}

thread_local! {
    /// The second last formatted on this thread, and its
    /// `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `SystemTime`'s `2026-11-30T16:28:14.123456Z`, then a space; `None` for
/// times `Full` would print otherwise (before 1970, after 9999).
fn write_timestamp(writer: &mut Writer<'_>) -> Option<fmt::Result> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let secs = now.as_secs();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != secs {
            let time = time::OffsetDateTime::from_unix_timestamp(secs.try_into().ok()?).ok()?;
            if !(0..=9999).contains(&time.year()) {
                return None;
            }
            let mut text = String::with_capacity(19);
            write!(
                text,
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                time.year(),
                time.month() as u8,
                time.day(),
                time.hour(),
                time.minute(),
                time.second()
            )
            .ok()?;
            *cached = (secs, text);
        }
        let mut micros = [b'0'; 6];
        write_digits(&mut micros, u64::from(now.subsec_micros()));
        Some((|| {
            writer.write_str(&cached.1)?;
            writer.write_char('.')?;
            writer.write_str(std::str::from_utf8(&micros).unwrap_or("000000"))?;
            writer.write_str("Z ")
        })())
    })
}

/// `value` right-aligned in `out`, zero-padded; the digits used.
fn write_digits(out: &mut [u8], mut value: u64) -> usize {
    let mut used = 0;
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        used += 1;
        if value == 0 {
            break;
        }
    }
    used
}

fn level_text(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        _ => "ERROR",
    }
}

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if writer.has_ansi_escapes() {
            return self.full.format_event(ctx, writer, event);
        }
        match write_timestamp(&mut writer) {
            Some(written) => written?,
            None => return self.full.format_event(ctx, writer, event),
        }
        writer.write_str(level_text(meta.level()))?;
        writer.write_char(' ')?;
        // The request, as the root span `Full` would print it.
        let mut seen = REQUEST_ID
            .try_with(|id| -> Result<bool, fmt::Error> {
                writer.write_str("request{request_id=")?;
                writer.write_str(id.to_str().unwrap_or_default())?;
                writer.write_str("}:")?;
                Ok(true)
            })
            .unwrap_or(Ok(false))?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                seen = true;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>() {
                    if !fields.is_empty() {
                        writer.write_char('{')?;
                        writer.write_str(fields)?;
                        writer.write_char('}')?;
                    }
                }
                writer.write_char(':')?;
            }
        }
        if seen {
            writer.write_char(' ')?;
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        if meta.target() == ACCESS_TARGET {
            let mut fields = AccessFields {
                writer: writer.by_ref(),
                empty: true,
                result: Ok(()),
            };
            event.record(&mut fields);
            fields.result?;
        } else {
            ctx.format_fields(writer.by_ref(), event)?;
        }
        writer.write_char('\n')
    }
}

/// `DefaultFields`' layout of the access line's fields: the message bare,
/// then ` name=value` with values as `Debug` prints them.
struct AccessFields<'w> {
    writer: Writer<'w>,
    empty: bool,
    result: fmt::Result,
}

impl AccessFields<'_> {
    /// The separator and `name=`, or `false` for a field not printed.
    fn begin(&mut self, field: &Field) -> bool {
        if self.result.is_err() || field.name().starts_with("log.") {
            return false;
        }
        if self.empty {
            self.empty = false;
        } else {
            self.result = self.writer.write_char(' ');
        }
        let name = field.name();
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.result = self
                .result
                .and_then(|()| self.writer.write_str(name))
                .and_then(|()| self.writer.write_char('='));
        }
        self.result.is_ok()
    }
}

impl Visit for AccessFields<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.begin(field) {
            let mut digits = [0u8; 20];
            let used = write_digits(&mut digits, value);
            let text = std::str::from_utf8(&digits[digits.len() - used..]).unwrap_or_default();
            self.result = self.writer.write_str(text);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if self.begin(field) {
                self.result = self.writer.write_str(value);
            }
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.begin(field) {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Lines {
        type Writer = Lines;
        fn make_writer(&'w self) -> Lines {
            self.clone()
        }
    }

    /// The lines of `log` under tracing-subscriber's own format and under
    /// porthole's, timestamps apart.
    fn both(log: impl Fn()) -> (Vec<String>, Vec<String>) {
        let lines = |subscriber: Box<dyn Subscriber + Send + Sync>, out: Lines| {
            tracing::subscriber::with_default(subscriber, &log);
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|line| {
                    let (stamp, rest) = line.split_at(27);
                    assert!(stamp.ends_with('Z'), "{line}");
                    assert_eq!(stamp.len(), "2026-11-30T16:28:14.123456Z".len());
                    rest.to_owned()
                })
                .collect::<Vec<_>>()
        };
        let theirs = Lines::default();
        let standard = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("trace"))
            .with_writer(theirs.clone())
            .with_ansi(false)
            .finish();
        let ours = Lines::default();
        let fast = subscriber(LogFormat::Text, "trace", ours.clone());
        (lines(Box::new(standard), theirs), lines(fast, ours))
    }

    #[test]
    fn the_access_line_is_the_standard_format() {
        let (standard, fast) = both(|| {
            let span = tracing::info_span!("request", request_id = %"req-0123");
            span.in_scope(|| {
                tracing::info!(target: ACCESS_TARGET, "inside");
                tracing::info!(
                    target: ACCESS_TARGET,
                    method = %axum::http::Method::GET,
                    path = %"/v2.1/p/servers/s/os-interface?a=b",
                    status = 200u16,
                    micros = 84u64,
                    "request"
                );
                tracing::warn!(
                    target: ACCESS_TARGET,
                    r#type = "x",
                    quoted = "a \"b\"",
                    micros = 0u64,
                    count = -3i64,
                    ok = true,
                    "request"
                );
            });
            tracing::info!(target: ACCESS_TARGET, micros = 18446744073709551615u64, "outside");
        });
        assert_eq!(standard.len(), 4);
        assert_eq!(fast, standard);
        assert_eq!(
            fast[1],
            "  INFO request{request_id=req-0123}: porthole::api::middleware: request method=GET path=/v2.1/p/servers/s/os-interface?a=b status=200 micros=84"
        );
    }

    /// [`RequestLogging::access`] makes the line itself for porthole's text
    /// format; the standard format, given the fields, prints the same.
    #[test]
    fn the_access_line_made_in_one_piece_is_the_fields_line() {
        let (standard, fast) = both(|| {
            let logging = RequestLogging::new(&HeaderValue::from_static("req-7"));
            let origin: Uri = "/v2.1/p/servers/s/os-interface?a=b".parse().unwrap();
            let absolute: Uri = "http://h:1/v2.1/x?y".parse().unwrap();
            let purge = Method::from_bytes(b"PURGE").unwrap();
            logging.access(&Method::GET, &origin, 200, 84);
            logging.access(&purge, &absolute, 404, u64::MAX);
            logging.access(&Method::OPTIONS, &"*".parse().unwrap(), 0, 0);
        });
        assert_eq!(standard.len(), 3);
        assert_eq!(fast, standard);
        assert_eq!(
            fast[0],
            "  INFO request{request_id=req-7}: porthole::api::middleware: request method=GET path=/v2.1/p/servers/s/os-interface?a=b status=200 micros=84"
        );
    }

    #[test]
    fn a_request_without_a_span_logs_as_in_its_span() {
        let (standard, fast) = both(|| {
            let logging = RequestLogging::new(&HeaderValue::from_static("req-42"));
            logging.in_scope(|| {
                tracing::warn!(error = %"store down", count = 3, "cannot count a firing");
                tracing::info!(target: ACCESS_TARGET, status = 503u16, micros = 9u64, "request");
                let inner = tracing::info_span!("inner", k = 1);
                inner.in_scope(|| tracing::info!("nested"));
            });
            tracing::info!("after");
        });
        assert_eq!(standard.len(), 4);
        assert_eq!(fast, standard);
        assert!(
            fast[0].contains(" WARN request{request_id=req-42}: "),
            "{fast:?}"
        );
        assert!(
            fast[2].contains("request{request_id=req-42}:inner{k=1}: "),
            "{fast:?}"
        );
    }

    /// The task-local is what porthole's text format gets; any other
    /// subscriber gets the span (else the test above compares spans twice).
    #[test]
    fn only_the_text_format_goes_without_a_span() {
        let id = HeaderValue::from_static("req-1");
        let kind = |format| {
            let out = Lines::default();
            tracing::subscriber::with_default(subscriber(format, "info", out), || {
                match RequestLogging::new(&id) {
                    RequestLogging::TaskLocal(_) => "task-local",
                    RequestLogging::Span(_) => "span",
                }
            })
        };
        assert_eq!(kind(LogFormat::Text), "task-local");
        assert_eq!(kind(LogFormat::Json), "span");
    }

    #[test]
    fn the_timestamp_is_the_standard_one() {
        let now = time::OffsetDateTime::now_utc();
        let out = Lines::default();
        tracing::subscriber::with_default(subscriber(LogFormat::Text, "info", out.clone()), || {
            tracing::info!(target: ACCESS_TARGET, micros = 1u64, "request");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let stamp = time::PrimitiveDateTime::parse(
            &text[..26],
            time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
            ),
        )
        .unwrap()
        .assume_utc();
        assert!((stamp - now).abs() < time::Duration::seconds(5), "{text}");
    }
}
