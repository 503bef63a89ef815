//! `rampart guard`: scan text for prompt injection, retrain the shipped detector from the
//! shared data, and evaluate it on the held-back split.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_guard::dataset::{Dataset, Example, shared_data_root};
use rampart_guard::eval::{EvalReport, evaluate};
use rampart_guard::model::DEFAULT_MODEL_SHA256;
use rampart_guard::split::{Split, SplitConfig};
use rampart_guard::train::{TrainConfig, train};
use rampart_guard::{Guard, GuardModel, MAX_SCAN_BYTES, ScanResult};
use serde_json::{Map, Value, json};

use crate::output::print_json;

/// Exit code of `rampart guard scan --fail-on-flag` when something was flagged.
pub const EXIT_FLAGGED: u8 = 3;

/// Subcommands of `rampart guard`.
#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Scan text for prompt injection: a whole file (or standard input), or JSON lines.
    Scan(ScanArgs),
    /// Retrain the detector from the shared data and write the model (reproduces the shipped one).
    Train(TrainArgs),
    /// Evaluate the detector on the held-back test split of the shared data.
    Eval(EvalArgs),
}

/// Arguments of `rampart guard scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// File to scan as one text; `-` or nothing reads standard input.
    #[arg(value_name = "FILE", conflicts_with = "jsonl")]
    pub file: Option<PathBuf>,
    /// Scan a JSON-lines file (`-` for standard input): one object per line with a `text`
    /// field; prints one JSON result per input line, in order (an `id` field is echoed).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Exit with code 3 when any text is flagged.
    #[arg(long)]
    pub fail_on_flag: bool,
    /// Longest JSON line read; a longer line yields an error result and is skipped.
    #[arg(long, default_value_t = MAX_SCAN_BYTES + 64 * 1024)]
    pub max_line_bytes: usize,
    /// False-positive rate to calibrate the threshold to (a fraction) [default: the model's, 0.01].
    #[arg(long)]
    pub target_fpr: Option<f32>,
}

/// Where the development data is, and the seed of the split.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Shared data folder [default: `$RAMPART_SHARED_DATA`, else `shared/data` beside the workspace].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Seed of the split (and of training).
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    pub seed: u64,
}

/// Arguments of `rampart guard train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Write the trained model to this file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Data and seed.
    #[command(flatten)]
    pub data: DataArgs,
}

/// Arguments of `rampart guard eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Evaluate this model file (for example one written by `guard train`) instead of the
    /// shipped one; it is loaded without a pin, for evaluation only.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Data and seed.
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `rampart guard`.
pub fn run(command: &GuardCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        GuardCommand::Scan(args) => scan(args, json),
        GuardCommand::Train(args) => train_model(args, json).map(|()| ExitCode::SUCCESS),
        GuardCommand::Eval(args) => eval(args, json).map(|()| ExitCode::SUCCESS),
    }
}

fn guard(target_fpr: Option<f32>) -> anyhow::Result<Guard> {
    let guard = Guard::load_default().context("cannot load the shipped guard model")?;
    match target_fpr {
        Some(fpr) => Ok(guard.with_target_fpr(fpr)?),
        None => Ok(guard),
    }
}

fn exit(flagged: bool, fail_on_flag: bool) -> ExitCode {
    if flagged && fail_on_flag {
        ExitCode::from(EXIT_FLAGGED)
    } else {
        ExitCode::SUCCESS
    }
}

fn scan(args: &ScanArgs, json: bool) -> anyhow::Result<ExitCode> {
    let guard = guard(args.target_fpr)?;
    if let Some(path) = &args.jsonl {
        let flagged = if path.as_os_str() == "-" {
            scan_jsonl(
                &guard,
                std::io::stdin().lock(),
                "<stdin>",
                args.max_line_bytes,
            )?
        } else {
            let file =
                File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
            let name = path.display().to_string();
            scan_jsonl(
                &guard,
                BufReader::with_capacity(1 << 16, file),
                &name,
                args.max_line_bytes,
            )?
        };
        return Ok(exit(flagged, args.fail_on_flag));
    }
    let (name, text) = read_whole(args.file.as_deref())?;
    let result = guard.scan(&text);
    if json {
        print_json(&result)?;
    } else {
        print_human(&name, &text, &result);
    }
    Ok(exit(result.flagged, args.fail_on_flag))
}

/// Reads the whole input, refusing more than the guard scans.
fn read_whole(path: Option<&Path>) -> anyhow::Result<(String, String)> {
    let limit = u64::try_from(MAX_SCAN_BYTES).unwrap_or(u64::MAX) + 1;
    let mut bytes = Vec::new();
    let name = match path {
        None => "<stdin>".to_owned(),
        Some(p) if p.as_os_str() == "-" => "<stdin>".to_owned(),
        Some(p) => p.display().to_string(),
    };
    match path.filter(|p| p.as_os_str() != "-") {
        None => std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?,
        Some(p) => File::open(p)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read `{}`", p.display()))?,
    };
    anyhow::ensure!(
        bytes.len() <= MAX_SCAN_BYTES,
        "`{name}` is larger than {MAX_SCAN_BYTES} bytes, the most one scan reads; \
         split it and scan the parts with `--jsonl`"
    );
    Ok((name, String::from_utf8_lossy(&bytes).into_owned()))
}

fn print_human(name: &str, text: &str, result: &ScanResult) {
    let verdict = if result.flagged { "FLAGGED" } else { "clean" };
    println!("{name}: {verdict} (score {:.3})", result.score);
    for r in &result.reasons {
        let excerpt: String = text
            .get(r.span.clone())
            .unwrap_or_default()
            .chars()
            .take(60)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        println!(
            "  {} at {}..{}: {} [{}]",
            r.signal, r.span.start, r.span.end, excerpt, r.detail
        );
    }
}

/// What one bounded line read found.
enum Line {
    /// A complete line (without its newline) in the buffer.
    Complete,
    /// A line longer than the limit; it was consumed but not kept.
    TooLong(usize),
    /// End of input.
    End,
}

/// Reads one line of at most `max` bytes into `buf`, consuming (not storing) the rest of a
/// longer line, so memory stays bounded by `max` whatever the input.
fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut seen = 0usize;
    let mut any = false;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(if !any {
                Line::End
            } else if seen > max {
                Line::TooLong(seen)
            } else {
                Line::Complete
            });
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (chunk.get(..i).unwrap_or_default(), Some(i + 1)),
            None => (chunk, None),
        };
        let room = max.saturating_sub(buf.len());
        if seen <= max {
            buf.extend_from_slice(part.get(..part.len().min(room)).unwrap_or_default());
        }
        seen = seen.saturating_add(part.len());
        let consumed = done.unwrap_or(chunk.len());
        reader.consume(consumed);
        if done.is_some() {
            return Ok(if seen > max {
                Line::TooLong(seen)
            } else {
                Line::Complete
            });
        }
    }
}

/// Scans every line of `reader`; prints one JSON result per line; returns whether any text
/// was flagged.
fn scan_jsonl(
    guard: &Guard,
    mut reader: impl BufRead,
    name: &str,
    max: usize,
) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut any_flagged = false;
    loop {
        let line = read_bounded_line(&mut reader, &mut buf, max)
            .with_context(|| format!("cannot read `{name}` after line {line_no}"))?;
        line_no += 1;
        let result = match line {
            Line::End => break,
            Line::TooLong(n) => error_result(
                line_no,
                None,
                &format!("line is {n} bytes, longer than the limit of {max} (--max-line-bytes)"),
            ),
            Line::Complete => {
                let (value, flagged) = scan_line(guard, &buf, line_no);
                any_flagged |= flagged;
                value
            }
        };
        writeln!(out, "{result}").context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")?;
    Ok(any_flagged)
}

fn scan_line(guard: &Guard, bytes: &[u8], line_no: u64) -> (Value, bool) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let parsed: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return (
                error_result(line_no, None, &format!("invalid JSON: {e}")),
                false,
            );
        }
    };
    let id = parsed.get("id").cloned();
    let Some(text) = parsed.get("text").and_then(Value::as_str) else {
        return (
            error_result(line_no, id, "no `text` field with a string value"),
            false,
        );
    };
    let result = guard.scan(text);
    let mut fields = Map::new();
    fields.insert("line".to_owned(), json!(line_no));
    if let Some(id) = id {
        fields.insert("id".to_owned(), id);
    }
    if let Ok(Value::Object(scan)) = serde_json::to_value(&result) {
        fields.extend(scan);
    }
    (Value::Object(fields), result.flagged)
}

fn error_result(line_no: u64, id: Option<Value>, error: &str) -> Value {
    let mut fields = Map::new();
    fields.insert("line".to_owned(), json!(line_no));
    if let Some(id) = id {
        fields.insert("id".to_owned(), id);
    }
    fields.insert("error".to_owned(), json!(error));
    Value::Object(fields)
}

/// The dataset and its split, as training and evaluation see them.
fn load_split(args: &DataArgs) -> anyhow::Result<(Dataset, Split)> {
    let root = args.data.clone().unwrap_or_else(shared_data_root);
    anyhow::ensure!(
        root.is_dir(),
        "shared data folder `{}` not found; pass `--data DIR` or set RAMPART_SHARED_DATA",
        root.display()
    );
    let data = Dataset::load(&root).with_context(|| {
        format!(
            "cannot load the development data under `{}`",
            root.display()
        )
    })?;
    if !data.missing.is_empty() {
        tracing::warn!(missing = ?data.missing, "some data sources are missing and were skipped");
    }
    let split = Split::new(
        &data,
        SplitConfig {
            seed: args.seed,
            ..SplitConfig::default()
        },
    );
    Ok((data, split))
}

fn counts(examples: &[Example]) -> Value {
    let injections = examples.iter().filter(|e| e.is_injection()).count();
    json!({"injections": injections, "benign": examples.len() - injections})
}

fn train_model(args: &TrainArgs, json: bool) -> anyhow::Result<()> {
    let (data, split) = load_split(&args.data)?;
    let config = TrainConfig {
        seed: args.data.seed,
        ..TrainConfig::default()
    };
    let started = Instant::now();
    let model = train(
        &split.train,
        &split.calibration,
        &config,
        data.source_counts(),
    )
    .context("training failed")?;
    let seconds = started.elapsed().as_secs_f64();
    let bytes = model.to_bytes();
    let sha256 = model.sha256_hex();
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write `{}`", args.out.display()))?;
    let matches = sha256 == DEFAULT_MODEL_SHA256;
    if json {
        return print_json(&json!({
            "out": args.out,
            "bytes": bytes.len(),
            "sha256": sha256,
            "matches_shipped_pin": matches,
            "shipped_sha256": DEFAULT_MODEL_SHA256,
            "seed": config.seed,
            "train": counts(&split.train),
            "calibration": counts(&split.calibration),
            "missing_sources": data.missing,
            "train_seconds": seconds,
        }));
    }
    println!(
        "wrote {} ({} bytes) in {seconds:.1} s",
        args.out.display(),
        bytes.len()
    );
    println!("sha256 {sha256}");
    if matches {
        println!("matches the shipped model's pinned digest");
    } else {
        println!(
            "differs from the shipped pin {DEFAULT_MODEL_SHA256}; to ship it, replace \
             crates/control/guard/models/guard-default.rgm and pin this digest in DEFAULT_MODEL_SHA256"
        );
    }
    Ok(())
}

fn eval(args: &EvalArgs, json: bool) -> anyhow::Result<()> {
    let (_, split) = load_split(&args.data)?;
    let (guard, model, sha256) = match &args.model {
        None => {
            let guard = guard(None)?;
            (guard, "shipped".to_owned(), DEFAULT_MODEL_SHA256.to_owned())
        }
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            let model = GuardModel::from_bytes_unpinned(&bytes)
                .with_context(|| format!("`{}` is not a guard model", path.display()))?;
            let sha256 = model.sha256_hex();
            (Guard::new(model), path.display().to_string(), sha256)
        }
    };
    anyhow::ensure!(
        split.test.iter().any(Example::is_injection)
            && split.test.iter().any(|e| !e.is_injection()),
        "the test split needs both injections and benign texts; is the data folder complete?"
    );
    let report = evaluate(&guard, &split.test);
    if json {
        return print_json(&json!({
            "model": model,
            "sha256": sha256,
            "seed": args.data.seed,
            "test": counts(&split.test),
            "target_fpr": guard.target_fpr(),
            "report": report,
        }));
    }
    print_eval(&model, &sha256, &report);
    Ok(())
}

fn print_eval(model: &str, sha256: &str, r: &EvalReport) {
    println!(
        "model {model} (sha256 {sha256}), held-back test split, {} benign texts",
        r.negatives
    );
    for (name, d) in [
        ("direct", &r.direct),
        ("indirect", &r.indirect),
        ("all", &r.all),
    ] {
        println!(
            "  {name:>8}: {:5} injections, ROC-AUC {:.4}, TPR at 1% FPR {:.3}, TPR at the shipped threshold {:.3}",
            d.positives, d.roc_auc, d.tpr_at_1pct_fpr, d.tpr_at_shipped_threshold
        );
    }
    println!(
        "  FPR at the shipped threshold {:.4} (macro {:.4}); benign security prose FPR {:.4}",
        r.fpr_at_shipped_threshold, r.macro_fpr_at_shipped_threshold, r.fpr_security_prose
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<String, usize>> {
        let mut reader = BufReader::with_capacity(7, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_bounded_line(&mut reader, &mut buf, max).unwrap() {
                Line::End => return out,
                Line::TooLong(n) => out.push(Err(n)),
                Line::Complete => out.push(Ok(String::from_utf8(buf.clone()).unwrap())),
            }
        }
    }

    #[test]
    fn bounded_lines_skip_long_ones_and_keep_order() {
        let input = b"short\na much longer line here\n\nlast";
        assert_eq!(
            lines(input, 10),
            vec![
                Ok("short".into()),
                Err(23),
                Ok(String::new()),
                Ok("last".into())
            ]
        );
        assert_eq!(lines(b"", 10), vec![]);
        assert_eq!(lines(b"exactly10!\n", 10), vec![Ok("exactly10!".into())]);
    }
}
