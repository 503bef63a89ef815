//! Rampart's side of `bench/ml/run.sh`: loads the three labelled datasets,
//! encodes them through a fitted feature schema, writes the encoded matrices
//! and fold assignments for the reference tools, trains and times Rampart's
//! isolation forest, boosted trees and `TreeSHAP` on the same folds, and writes
//! the small committed test fixtures.
//!
//! Usage: `ml_bench <shared-data-dir> <work-dir> <fixtures-dir> [seeds]`

#![expect(
    clippy::indexing_slicing,
    reason = "a benchmark driver over fold and label arrays it builds itself; a bad index should stop it"
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rampart_ml::calibration::CalibrationMethod;
use rampart_ml::fast_treeshap::{DEFAULT_MAX_TABLE_ENTRIES, FastTreeShap};
use rampart_ml::forest::{IsolationForest, IsolationForestParams};
use rampart_ml::gbdt::{Gbdt, GbdtParams};
use rampart_ml::matrix::Matrix;
use rampart_ml::metrics::{average_precision, roc_auc};
use rampart_ml::model::{AnomalyParams, Model, ScorerParams, stratified_folds, stratified_split};
use rampart_ml::schema::{FeatureSchema, SchemaOptions};
use rampart_ml::table::Table;
use rampart_ml::tree::Tree;
use rampart_ml::treeshap::tree_shap;
use serde_json::{Value as Json, json};

type Error = Box<dyn std::error::Error>;

struct Dataset {
    name: &'static str,
    table: Table,
    labels: Vec<bool>,
    /// Fold id per row, per seed; `eval_folds` are the test folds.
    holdout: bool,
}

fn read_csv(path: &Path, has_header: bool) -> Result<(Vec<String>, Vec<Vec<String>>), Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(has_header)
        .from_path(path)?;
    let header = if has_header {
        reader.headers()?.iter().map(str::to_owned).collect()
    } else {
        Vec::new()
    };
    let rows = reader
        .records()
        .map(|r| r.map(|rec| rec.iter().map(str::to_owned).collect()))
        .collect::<Result<Vec<Vec<String>>, _>>()?;
    Ok((header, rows))
}

fn table_from(
    header: &[String],
    rows: &[Vec<String>],
    categorical: &[&str],
    drop: &[&str],
    label: &str,
) -> Result<(Table, Vec<Option<bool>>, String), Error> {
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::from_text(&names, rows, categorical)?;
    for d in drop {
        table.remove(d)?;
    }
    Ok((table, Vec::new(), label.to_owned()))
}

fn nsl(data: &Path) -> Result<Dataset, Error> {
    let dir = data.join("nsl-kdd");
    let (_, fields) = read_csv(&dir.join("field_names.csv"), false)?;
    let mut header: Vec<String> = fields.iter().filter_map(|r| r.first().cloned()).collect();
    header.push("label".into());
    header.push("difficulty".into());
    let (_, rows) = read_csv(&dir.join("KDDTrain+_20Percent.txt"), false)?;
    let (mut table, _, _) = table_from(
        &header,
        &rows,
        &["protocol_type", "service", "flag", "label"],
        &["difficulty"],
        "label",
    )?;
    let labels = table.binary_labels("label", &["normal"], &[])?;
    table.remove("label")?;
    Ok(Dataset {
        name: "nsl_kdd",
        table,
        labels: labels.into_iter().map(|l| l.unwrap_or(true)).collect(),
        holdout: true,
    })
}

fn cic(data: &Path) -> Result<Dataset, Error> {
    let dir = data.join("cic-ids2017-improved-sample");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "csv") && !p.ends_with("header_reference.csv")
        })
        .collect();
    files.sort();
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for f in &files {
        let (h, r) = read_csv(f, true)?;
        header = h;
        rows.extend(r);
    }
    let drop = [
        "id",
        "Flow ID",
        "Src IP",
        "Src Port",
        "Dst IP",
        "Timestamp",
        "Attempted Category",
    ];
    let (mut table, _, _) = table_from(&header, &rows, &["Protocol", "Label"], &drop, "Label")?;
    let labels = table.binary_labels("Label", &["BENIGN"], &[])?;
    table.remove("Label")?;
    Ok(Dataset {
        name: "cic_ids2017",
        table,
        labels: labels.into_iter().map(|l| l.unwrap_or(true)).collect(),
        holdout: false,
    })
}

fn zeek(data: &Path) -> Result<Dataset, Error> {
    let dir = data.join("stratosphere-zeek-labeled");
    let mut header: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for day in ["008-zeek-mixed", "010-zeek-mixed"] {
        let text = fs::read_to_string(dir.join(day).join("data/conn.log.labeled"))?;
        for line in text.lines() {
            if let Some(fields) = line.strip_prefix("#fields\t") {
                header = fields.split('\t').map(str::to_owned).collect();
            } else if !line.starts_with('#') && !line.is_empty() {
                rows.push(line.split('\t').map(str::to_owned).collect());
            }
        }
    }
    let drop = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "tunnel_parents",
        "detailedlabel",
    ];
    let (table, _, _) = table_from(
        &header,
        &rows,
        &["proto", "service", "conn_state", "history", "label"],
        &drop,
        "label",
    )?;
    // Background rows are unlabelled: they take part in neither training nor metrics.
    let labels = table.binary_labels("label", &["Benign"], &["Background"])?;
    let keep: Vec<usize> = (0..labels.len())
        .filter(|&i| labels.get(i).copied().flatten().is_some())
        .collect();
    let mut table = table.select_rows(&keep);
    table.remove("label")?;
    Ok(Dataset {
        name: "stratosphere_zeek",
        table,
        labels: keep
            .iter()
            .filter_map(|&i| labels.get(i).copied().flatten())
            .collect(),
        holdout: false,
    })
}

fn schema_options() -> SchemaOptions {
    SchemaOptions {
        log1p_all_nonnegative: true,
        max_categories: 64,
        ..Default::default()
    }
}

fn forest_params(seed: u64) -> IsolationForestParams {
    IsolationForestParams {
        n_trees: 100,
        max_samples: 256,
        max_depth: None,
        seed,
    }
}

fn gbdt_params() -> GbdtParams {
    GbdtParams {
        n_trees: 200,
        max_depth: 6,
        max_leaves: None,
        learning_rate: 0.1,
        min_child_weight: 1e-3,
        min_samples_leaf: 20,
        l2: 1.0,
        max_bins: 255,
    }
}

/// CPU seconds used by this thread (`/proc/thread-self/schedstat`, in ns), so
/// other jobs on a shared machine do not count; wall time where it is absent.
fn cpu_seconds() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || START.get_or_init(Instant::now).elapsed().as_secs_f64(),
            |ns| ns / 1e9,
        )
}

/// Rows per CPU second of `f` over `rows` rows: the best of five windows of at
/// least 0.2 CPU seconds each (the same rule as the reference side).
fn rate(rows: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut best = 0.0_f64;
    let mut sink = 0.0;
    for _ in 0..5 {
        let start = cpu_seconds();
        let mut reps = 0usize;
        while reps < 1 || cpu_seconds() - start < 0.2 {
            sink += f();
            reps += 1;
        }
        best = best.max((rows * reps) as f64 / (cpu_seconds() - start));
    }
    std::hint::black_box(sink);
    best
}

fn write_f64(path: &Path, values: &[f64]) -> Result<(), Error> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(path, bytes)?;
    Ok(())
}

fn export(trees: &[Tree]) -> Json {
    json!(trees)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn run_dataset(
    ds: &Dataset,
    work: &Path,
    seeds: u64,
    out: &mut BTreeMap<String, Json>,
) -> Result<(), Error> {
    let t0 = Instant::now();
    let schema = FeatureSchema::fit(&ds.table, &schema_options())?;
    let (x, _) = schema.encode_table(&ds.table)?;
    let dir = work.join(ds.name);
    fs::create_dir_all(&dir)?;
    write_f64(&dir.join("X.f64"), x.as_slice())?;
    let label_bytes: Vec<u8> = ds.labels.iter().map(|&l| u8::from(l)).collect();
    fs::write(dir.join("y.u8"), &label_bytes)?;
    let mut folds_by_seed = Vec::new();
    let eval_folds: Vec<usize> = if ds.holdout {
        vec![1]
    } else {
        (0..5).collect()
    };
    for seed in 0..seeds {
        let folds = if ds.holdout {
            let (_, test) = stratified_split(&ds.labels, 0.3, seed);
            let mut f = vec![0usize; ds.labels.len()];
            for i in test {
                f[i] = 1;
            }
            f
        } else {
            stratified_folds(&ds.labels, 5, seed)
        };
        folds_by_seed.push(folds);
    }
    fs::write(
        dir.join("meta.json"),
        serde_json::to_vec_pretty(&json!({
            "rows": x.rows(), "cols": x.cols(), "feature_names": schema.feature_names(),
            "positives": ds.labels.iter().filter(|&&l| l).count(),
            "eval_folds": eval_folds, "folds": folds_by_seed,
        }))?,
    )?;
    eprintln!(
        "{}: {} rows x {} features, encoded in {:.1}s",
        ds.name,
        x.rows(),
        x.cols(),
        t0.elapsed().as_secs_f64()
    );

    let mut forest_auc = Vec::new();
    let mut forest_ap = Vec::new();
    let mut gbdt_auc = Vec::new();
    let mut gbdt_ap = Vec::new();
    let mut gbdt_fit_s = Vec::new();
    let mut timing = json!({});
    for (seed, folds) in folds_by_seed.iter().enumerate() {
        let (mut fa, mut fp, mut ga, mut gp) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &k in &eval_folds {
            let train: Vec<usize> = (0..x.rows()).filter(|&i| folds[i] != k).collect();
            let test: Vec<usize> = (0..x.rows()).filter(|&i| folds[i] == k).collect();
            let normal: Vec<usize> = train.iter().copied().filter(|&i| !ds.labels[i]).collect();
            let (xtr, xte, xn) = (
                x.select_rows(&train),
                x.select_rows(&test),
                x.select_rows(&normal),
            );
            let ytr: Vec<bool> = train.iter().map(|&i| ds.labels[i]).collect();
            let yte: Vec<bool> = test.iter().map(|&i| ds.labels[i]).collect();
            let forest = IsolationForest::fit(&xn, &forest_params(seed as u64))?;
            let scores = forest.score_batch(&xte);
            fa.push(roc_auc(&yte, &scores)?);
            fp.push(average_precision(&yte, &scores)?);
            let started = Instant::now();
            let gbdt = Gbdt::fit(&xtr, &ytr, &gbdt_params())?;
            gbdt_fit_s.push(started.elapsed().as_secs_f64());
            let margins = gbdt.margin_batch(&xte);
            ga.push(roc_auc(&yte, &margins)?);
            gp.push(average_precision(&yte, &margins)?);
            if seed == 0 && k == eval_folds[0] {
                timing = time_models(ds, &dir, &forest, &gbdt, &xte, &test)?;
            }
        }
        eprintln!(
            "{} seed {seed}: forest auc {:.4}, gbdt auc {:.4} ({:.0}s so far)",
            ds.name,
            mean(&fa),
            mean(&ga),
            t0.elapsed().as_secs_f64()
        );
        forest_auc.push(mean(&fa));
        forest_ap.push(mean(&fp));
        gbdt_auc.push(mean(&ga));
        gbdt_ap.push(mean(&gp));
    }
    out.insert(
        ds.name.to_owned(),
        json!({
            "rows": x.rows(), "features": x.cols(),
            "isolation_forest": {"roc_auc_per_seed": forest_auc, "roc_auc": mean(&forest_auc),
                                  "average_precision": mean(&forest_ap)},
            "gbdt": {"roc_auc_per_seed": gbdt_auc, "roc_auc": mean(&gbdt_auc),
                     "average_precision": mean(&gbdt_ap), "mean_fit_seconds": mean(&gbdt_fit_s)},
            "timing": timing,
        }),
    );
    Ok(())
}

/// Throughput, latency and `TreeSHAP` on seed 0's first test fold; writes the
/// exported trees and Rampart's SHAP values for the reference tools.
fn time_models(
    ds: &Dataset,
    dir: &Path,
    forest: &IsolationForest,
    gbdt: &Gbdt,
    xte: &Matrix,
    test: &[usize],
) -> Result<Json, Error> {
    let n = xte.rows();
    let forest_rows_s = rate(n, || forest.score_batch(xte).iter().sum());
    let gbdt_rows_s = rate(n, || gbdt.probability_batch(xte).iter().sum());
    // Single-event latency: one call per event, events taken one by one.
    let latency_events = n.min(20_000);
    let single_rate = rate(latency_events, || {
        (0..latency_events).map(|i| forest.score(xte.row(i))).sum()
    });
    let shap_rows = n.min(2000);
    let rows: Vec<usize> = (0..shap_rows).collect();
    let xs = xte.select_rows(&rows);
    fs::write(
        dir.join("timing_rows.json"),
        serde_json::to_vec(&json!(test))?,
    )?;
    let mut result = json!({
        "test_rows": n,
        "isolation_forest_score_rows_per_s": forest_rows_s,
        "isolation_forest_single_event_us": 1e6 / single_rate,
        "gbdt_predict_rows_per_s": gbdt_rows_s,
    });
    for (label, trees, scale, base, explainer) in [
        (
            "gbdt",
            gbdt.trees(),
            1.0,
            gbdt.base_score(),
            gbdt.explainer()?,
        ),
        (
            "isolation_forest",
            forest.trees(),
            1.0 / forest.trees().len() as f64,
            0.0,
            forest.explainer()?,
        ),
    ] {
        let fast_rate = rate(shap_rows, || explainer.explain_batch(&xs).iter().sum());
        let single_row_rate = rate(shap_rows, || {
            let mut phi = vec![0.0; xs.cols()];
            let mut scratch = Vec::new();
            for r in xs.iter_rows() {
                explainer.explain_into(r, &mut phi, &mut scratch);
            }
            phi.iter().sum()
        });
        let standard_rate = rate(shap_rows.min(200), || {
            let mut phi = vec![0.0; xs.cols()];
            for r in xs.iter_rows().take(200) {
                for t in trees {
                    tree_shap(t, r, scale, &mut phi);
                }
            }
            phi.iter().sum()
        });
        let batch = explainer.explain_batch(&xs);
        let values: Vec<Vec<f64>> = batch
            .chunks(xs.cols().max(1))
            .map(<[f64]>::to_vec)
            .collect();
        let expected: f64 = base + trees.iter().map(Tree::expected_value).sum::<f64>() * scale;
        let additivity = xs
            .iter_rows()
            .zip(&values)
            .map(|(r, phi)| {
                let out = base + trees.iter().map(|t| t.predict(r)).sum::<f64>() * scale;
                (expected + phi.iter().sum::<f64>() - out).abs()
            })
            .fold(0.0_f64, f64::max);
        fs::write(
            dir.join(format!("{label}_export.json")),
            serde_json::to_vec(
                &json!({"trees": export(trees), "scale": scale, "base_offset": base}),
            )?,
        )?;
        fs::write(
            dir.join(format!("{label}_shap.json")),
            serde_json::to_vec(&json!({"values": values, "expected_value": expected}))?,
        )?;
        result[format!("{label}_treeshap_fast_rows_per_s")] = json!(fast_rate);
        result[format!("{label}_treeshap_standard_rows_per_s")] = json!(standard_rate);
        result[format!("{label}_treeshap_fast_one_row_at_a_time_rows_per_s")] =
            json!(single_row_rate);
        result[format!("{label}_treeshap_additivity_max_error")] = json!(additivity);
        result[format!("{label}_treeshap_rows")] = json!(shap_rows);
        let _ = FastTreeShap::new(trees, scale, xs.cols(), DEFAULT_MAX_TABLE_ENTRIES)?;
    }
    let _ = ds;
    Ok(result)
}

/// Small models and rows for the committed tests (NSL-KDD, redistributable with citation).
fn fixtures(ds: &Dataset, dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir)?;
    let (train, test) = stratified_split(&ds.labels, 0.3, 0);
    let schema = FeatureSchema::fit(&ds.table, &schema_options())?;
    let train_table = ds.table.select_rows(&train);
    let ytr: Vec<bool> = train.iter().map(|&i| ds.labels[i]).collect();
    let normal: Vec<usize> = train.iter().copied().filter(|&i| !ds.labels[i]).collect();
    let digest = "fixture:nsl-kdd/KDDTrain+_20Percent.txt split seed 0";
    let scorer_params = ScorerParams {
        gbdt: GbdtParams {
            n_trees: 20,
            max_depth: 4,
            ..gbdt_params()
        },
        calibration: CalibrationMethod::Isotonic,
        ..Default::default()
    };
    let mut scorer = Model::train_scorer(
        "nsl-scorer-fixture",
        &train_table,
        &ytr,
        schema.clone(),
        &scorer_params,
        digest,
    )?;
    let anomaly_params = AnomalyParams {
        forest: IsolationForestParams {
            n_trees: 10,
            max_samples: 64,
            max_depth: None,
            seed: 0,
        },
        threshold_quantile: 0.99,
    };
    let mut anomaly = Model::train_anomaly(
        "nsl-anomaly-fixture",
        &ds.table.select_rows(&normal),
        schema.clone(),
        &anomaly_params,
        digest,
    )?;
    let test_table = ds.table.select_rows(&test);
    let yte: Vec<bool> = test.iter().map(|&i| ds.labels[i]).collect();
    let scorer_eval = scorer.evaluate(&test_table, &yte)?;
    let anomaly_eval = anomaly.evaluate(&test_table, &yte)?;
    scorer.set_metrics(scorer_eval);
    anomaly.set_metrics(anomaly_eval);
    fs::write(dir.join("nsl_scorer.model.json"), scorer.to_bytes()?)?;
    fs::write(dir.join("nsl_anomaly.model.json"), anomaly.to_bytes()?)?;
    let picked: Vec<usize> = test
        .iter()
        .copied()
        .step_by(test.len() / 12)
        .take(12)
        .collect();
    let rows = ds.table.select_rows(&picked);
    let (encoded, _) = schema.encode_table(&rows)?;
    let raw: Vec<Vec<Json>> = (0..rows.rows())
        .map(|i| {
            rows.row(i)
                .iter()
                .map(|v| match v {
                    rampart_ml::table::Value::Number(x) => json!(x),
                    rampart_ml::table::Value::Text(s) => json!(s),
                    rampart_ml::table::Value::Bool(b) => json!(b),
                    rampart_ml::table::Value::Missing => Json::Null,
                })
                .collect()
        })
        .collect();
    let features: Vec<Vec<f64>> = encoded.iter_rows().map(<[f64]>::to_vec).collect();
    fs::write(
        dir.join("nsl_rows.json"),
        serde_json::to_vec_pretty(
            &json!({"columns": rows.names(), "raw": raw, "features": features,
            "labels": picked.iter().map(|&i| ds.labels[i]).collect::<Vec<_>>()}),
        )?,
    )?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(data), Some(work), Some(fixture_dir)) = (args.get(1), args.get(2), args.get(3))
    else {
        eprintln!(
            "usage: ml_bench <shared-data-dir> <work-dir> <fixtures-dir> [seeds] [datasets,...]"
        );
        std::process::exit(2);
    };
    let seeds: u64 = args.get(4).map_or(Ok(5), |s| s.parse())?;
    let only: Option<Vec<&str>> = args.get(5).map(|s| s.split(',').collect());
    let (data, work) = (Path::new(data), Path::new(work));
    fs::create_dir_all(work)?;
    let mut out = BTreeMap::new();
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.contains(&name));
    if wanted("nsl_kdd") {
        let ds = nsl(data)?;
        fixtures(&ds, Path::new(fixture_dir))?;
        run_dataset(&ds, work, seeds, &mut out)?;
    }
    if wanted("cic_ids2017") {
        run_dataset(&cic(data)?, work, seeds, &mut out)?;
    }
    if wanted("stratosphere_zeek") {
        run_dataset(&zeek(data)?, work, seeds, &mut out)?;
    }
    let result = json!({
        "seeds": seeds,
        "isolation_forest_params": forest_params(0),
        "gbdt_params": gbdt_params(),
        "datasets": out,
    });
    fs::write(
        work.join("rampart.json"),
        serde_json::to_vec_pretty(&result)?,
    )?;
    Ok(())
}
